// The Runs view's pure logic: folding executor notifications into the run's state, filtering
// the event list, and the emit → visible latency of a notification.
import type { SidecarMessage } from 'sidecar-supervisor-api'

/** The sidecar the Runs view drives (the default profile's Python executor). */
export const EXECUTOR = 'executor'
/** Most events kept, and shown, in the view. */
export const MAX_EVENTS = 5000
export const MAX_SHOWN = 300

export interface Validation {
  ok: boolean
  name?: string
  states?: number
  actions?: number
  errors: string[]
}

export interface RunState {
  runId: string | null
  status: string
  state: string | null
  done: number
  total: number
  events: SidecarMessage[]
}

export const emptyRun: RunState = { runId: null, status: 'idle', state: null, done: 0, total: 0, events: [] }

type Params = { run_id?: string; status?: string; state?: string | null; done?: number; total?: number; index?: number }

/** The run after one notification of the executor. A message of another run resets the view
 * to that run (the newest wins). */
export function applyMessage(r: RunState, m: SidecarMessage): RunState {
  const p = (m.params ?? {}) as Params
  const base = p.run_id && r.runId && p.run_id !== r.runId ? { ...emptyRun, runId: p.run_id } : r
  const events = base.events.length >= MAX_EVENTS ? base.events.slice(-(MAX_EVENTS - 1)) : base.events.slice()
  events.push(m)
  const next: RunState = { ...base, runId: p.run_id ?? base.runId, events }
  switch (m.method) {
    case 'state_changed':
      return { ...next, status: p.status ?? next.status, state: p.state ?? next.state, done: p.done ?? next.done, total: p.total ?? next.total }
    case 'action_completed':
      return { ...next, done: Math.max(next.done, (p.index ?? -1) + 1), total: p.total ?? next.total, state: p.state ?? next.state }
    case 'action_started':
      return { ...next, total: p.total ?? next.total, state: p.state ?? next.state }
    case 'error':
      return next
    default:
      return next
  }
}

/** The run after a batch of notifications, the (long) event list copied once, not per message. */
export function applyBatch(r: RunState, batch: SidecarMessage[]): RunState {
  let kept = r.events
  let next: RunState = { ...r, events: [] }
  for (const m of batch) {
    const run = next.runId
    next = applyMessage(next, m)
    if (run !== null && next.runId !== run) kept = [] // a new run: its own list
  }
  const all = kept.concat(next.events)
  return { ...next, events: all.length > MAX_EVENTS ? all.slice(-MAX_EVENTS) : all }
}

/** Whether an event passes the view's filters: its kind, and a text in its method or params. */
export function matches(m: SidecarMessage, kind: string, text: string): boolean {
  if (kind !== 'all' && m.method !== kind) return false
  const t = text.trim().toLowerCase()
  return !t || m.method.includes(t) || JSON.stringify(m.params).toLowerCase().includes(t)
}

/** Milliseconds from the sidecar's `emitted_at` (epoch ms) to `now`; null without a stamp. */
export function latencyOf(m: SidecarMessage, now: number): number | null {
  const at = (m.params as { emitted_at?: unknown } | null)?.emitted_at
  return typeof at === 'number' ? Math.max(0, now - at) : null
}

/** The p-th percentile (0..100) of `xs`, nearest rank. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

// The Timeline view's logic, pure so that it is unit-tested without a chart: the feed (oldest
// first, all app launches) becomes, for one launch, each sidecar's state spans and marks, the
// startup critical chain (what each sidecar waited for, and how long), and the profile's
// dependency graph laid out in layers. The chart code (TimelineView.tsx) only draws these.
//
// How events become states (the supervisor's machine emits them as it moves; see
// crates/sidecar-supervisor-core/src/domain/machine):
//   spawned, prepared (its prepare step runs) → starting   ready, recovered → ready
//   unhealthy → unhealthy      restarting → backoff (until it is spawned again; a restart "at
//   once" is a backoff of a few ms)      port_conflict → starting (re-spawned on a new port)
//   failed, budget_exhausted → failed    stopping → stopping    stopped → stopped
//   paused → paused            resumed → the state it was paused from
//   exited: a mark only, since the machine follows every exit at once with restarting,
//   port_conflict, failed or budget_exhausted (the span changes there); only when an exit is a
//   sidecar's last event (the app quit in between) is it stopped from the exit on.
// Before its first event a sidecar with dependencies is waiting_for_deps (from the launch's
// start). Marks: exited, restarting, kill_escalated, port_conflict, and the probe verdicts that
// kill a process (startup_timeout, liveness_failed). Other kinds change nothing.

import type { RuntimeEvent, SidecarState, SidecarStatus } from 'sidecar-supervisor-api'

export type SpanState = Exclude<SidecarState, 'pending'>
export const MARK_KINDS = ['exited', 'restarting', 'kill_escalated', 'port_conflict', 'startup_timeout', 'liveness_failed'] as const
export type MarkKind = (typeof MARK_KINDS)[number]

/** One app launch: the events from one `runtime_started` to the next. */
export interface Launch {
  index: number
  start: number
  /** When it ended (`runtime_stopped`, else its last event if a later launch exists); `null`: still running. */
  end: number | null
  events: RuntimeEvent[]
}

export interface Span {
  sidecar: string
  state: SpanState
  start: number
  end: number
  /** Still in this state at the end of the view (the launch is running). */
  open: boolean
}

export interface Mark {
  sidecar: string
  kind: MarkKind
  at: number
  message: string
}

export interface Timeline {
  /** Instance names, in first-seen order (status rows first). */
  rows: string[]
  spans: Span[]
  marks: Mark[]
}

const NEXT: Partial<Record<RuntimeEvent['kind'], SpanState>> = {
  spawned: 'starting',
  prepared: 'starting',
  ready: 'ready',
  recovered: 'ready',
  unhealthy: 'unhealthy',
  restarting: 'backoff',
  port_conflict: 'starting',
  failed: 'failed',
  budget_exhausted: 'failed',
  stopping: 'stopping',
  stopped: 'stopped',
  paused: 'paused',
}

export const at = (e: RuntimeEvent): number => Date.parse(e.at)

/** The sidecar an instance belongs to: `worker#2` → `worker`. */
export const baseName = (instance: string): string => instance.split('#')[0]

/** Splits the feed into launches, oldest first. Events before the first `runtime_started` (the
 * feed was trimmed) form a launch of their own. */
export function splitLaunches(events: RuntimeEvent[]): Launch[] {
  const out: Launch[] = []
  for (const e of events) {
    const cur = out[out.length - 1]
    if (!cur || e.kind === 'runtime_started') {
      if (cur && cur.end === null) cur.end = at(cur.events[cur.events.length - 1])
      out.push({ index: out.length, start: at(e), end: null, events: [e] })
    } else {
      cur.events.push(e)
      if (e.kind === 'runtime_stopped') cur.end = at(e)
    }
  }
  return out
}

/** Where the view of a launch ends: its end, or now while it runs (never before its last event). */
export function launchEnd(launch: Launch, now: number): number {
  if (launch.end !== null) return launch.end
  const last = launch.events.length ? at(launch.events[launch.events.length - 1]) : launch.start
  return Math.max(now, last)
}

/** Each base sidecar's `depends_on`, from the status rows. */
export function dependencyMap(sidecars: SidecarStatus[]): Record<string, string[]> {
  const deps: Record<string, string[]> = {}
  for (const s of sidecars) deps[baseName(s.name)] ??= s.depends_on
  return deps
}

/** Spans and marks of one launch up to `end`. `instances` adds rows (the current status rows,
 * for the running launch); `deps` gives waiting_for_deps spans before a sidecar's first event. */
export function deriveTimeline(
  launch: Launch,
  end: number,
  deps: Record<string, string[]> = {},
  instances: string[] = [],
): Timeline {
  const rows: string[] = [...instances]
  const current = new Map<string, Span>()
  const pausedFrom = new Map<string, SpanState>()
  const lastExit = new Map<string, number>()
  const spans: Span[] = []
  const marks: Mark[] = []
  const move = (sidecar: string, state: SpanState, t: number) => {
    const cur = current.get(sidecar)
    if (cur?.state === state) return
    if (cur) cur.end = Math.max(cur.start, t)
    const span: Span = { sidecar, state, start: t, end: t, open: false }
    spans.push(span)
    current.set(sidecar, span)
  }
  const waits = (name: string) => (deps[baseName(name)] ?? []).length > 0
  for (const e of launch.events) {
    const name = e.sidecar
    if (!name) continue
    const t = Math.max(at(e), launch.start)
    if (!rows.includes(name)) rows.push(name)
    if (!current.has(name) && waits(name) && t > launch.start) move(name, 'waiting_for_deps', launch.start)
    if ((MARK_KINDS as readonly string[]).includes(e.kind)) {
      marks.push({ sidecar: name, kind: e.kind as MarkKind, at: t, message: e.message })
    }
    if (e.kind === 'exited') lastExit.set(name, t)
    else if (e.kind !== 'command') lastExit.delete(name)
    let next = NEXT[e.kind]
    if (e.kind === 'paused') pausedFrom.set(name, current.get(name)?.state ?? 'ready')
    if (e.kind === 'resumed') next = pausedFrom.get(name) ?? resumedTo(e.message)
    if (next) move(name, next, t)
  }
  for (const name of rows) {
    if (!current.has(name) && waits(name)) move(name, 'waiting_for_deps', launch.start)
    const exit = lastExit.get(name)
    if (exit !== undefined) move(name, 'stopped', exit)
  }
  for (const span of current.values()) {
    span.end = Math.max(span.start, end)
    span.open = launch.end === null
  }
  return { rows, spans, marks }
}

/** The state a `resumed (ready)` message names, when the pause was before the view. */
function resumedTo(message: string): SpanState {
  const m = /\((\w+)\)/.exec(message)
  const s = m?.[1]
  return s === 'starting' || s === 'unhealthy' ? s : 'ready'
}

/** One sidecar instance's startup in a launch; times are ms since the launch started. */
export interface StartupRow {
  sidecar: string
  /** First `prepared` or `spawned`: when it stopped waiting. */
  launchedAt?: number
  /** First `ready`. */
  readyAt?: number
  /** How long it waited to launch (launch start → launched). */
  waited?: number
  /** How long it took to become ready once launched. */
  startup?: number
  /** Its dependencies (sidecar names) and when the last instance of each became ready. */
  waitedFor: { name: string; readyAt?: number }[]
}

/** Startup of every instance in the launch, in row order. */
export function startupRows(launch: Launch, rows: string[], deps: Record<string, string[]>): StartupRow[] {
  const launched = new Map<string, number>()
  const ready = new Map<string, number>()
  for (const e of launch.events) {
    if (!e.sidecar) continue
    const t = at(e) - launch.start
    if ((e.kind === 'spawned' || e.kind === 'prepared') && !launched.has(e.sidecar)) launched.set(e.sidecar, t)
    if (e.kind === 'ready' && !ready.has(e.sidecar)) ready.set(e.sidecar, t)
  }
  const baseReady = (base: string): number | undefined => {
    const inst = rows.filter((r) => baseName(r) === base)
    if (!inst.length || inst.some((r) => !ready.has(r))) return undefined
    return Math.max(...inst.map((r) => ready.get(r)!))
  }
  return rows.map((sidecar) => {
    const launchedAt = launched.get(sidecar)
    const readyAt = ready.get(sidecar)
    return {
      sidecar,
      launchedAt,
      readyAt,
      waited: launchedAt,
      startup: launchedAt !== undefined && readyAt !== undefined ? readyAt - launchedAt : undefined,
      waitedFor: (deps[baseName(sidecar)] ?? []).map((name) => ({ name, readyAt: baseReady(name) })),
    }
  })
}

/** The critical chain, last link first: from the instance that became ready last, each time
 * the dependency instance that became ready last (what held it up), down to one that waited for
 * nothing — the longest path in time through depends_on, as `systemd-analyze critical-chain`. */
export function criticalChain(rows: StartupRow[], deps: Record<string, string[]>): StartupRow[] {
  const latest = (cands: StartupRow[]) =>
    cands.reduce<StartupRow | undefined>((a, r) => (r.readyAt !== undefined && (!a || r.readyAt > a.readyAt!) ? r : a), undefined)
  const chain: StartupRow[] = []
  let cur = latest(rows)
  while (cur && !chain.includes(cur)) {
    chain.push(cur)
    const wanted = deps[baseName(cur.sidecar)] ?? []
    cur = latest(rows.filter((r) => wanted.includes(baseName(r.sidecar))))
  }
  return chain
}

/** `1.23s`, `2m 3.4s`: a duration or an offset from the launch's start. */
export function formatSpan(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`
  const m = Math.floor(ms / 60_000)
  if (m < 60) return `${m}m ${((ms % 60_000) / 1000).toFixed(1)}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}

/** One line of the chain as systemd-analyze prints it: `backend @1.23s +0.41s`. */
export function chainLine(r: StartupRow): string {
  const when = r.launchedAt !== undefined ? ` @${formatSpan(r.launchedAt)}` : r.readyAt !== undefined ? ` ready @${formatSpan(r.readyAt)}` : ''
  return `${r.sidecar}${when}${r.startup !== undefined ? ` +${formatSpan(r.startup)}` : ''}`
}

/** States from the worst to the best: a replicated node shows its worst instance. */
const SEVERITY: (SidecarState | 'unknown')[] = [
  'failed', 'unhealthy', 'backoff', 'stopping', 'starting', 'waiting_for_deps', 'pending', 'paused', 'stopped', 'ready', 'unknown',
]

export interface GraphNode {
  name: string
  instances: number
  state: SidecarState | 'unknown'
  /** Longest dependency path below it: 0 for a sidecar that depends on nothing. */
  depth: number
  x: number
  y: number
}

export interface GraphEdge {
  /** The dependency. */
  source: string
  /** The sidecar that waits for it. */
  target: string
  critical: boolean
}

export const LAYER_GAP = 180
export const ROW_GAP = 70

/** The profile's dependency graph: one node per sidecar (replicas together), in columns by
 * dependency depth, each column ordered by its dependencies' rows (fewer crossings), then name.
 * Edges run dependency → dependent; those between consecutive links of `chain` are critical. */
export function dependencyGraph(sidecars: SidecarStatus[], chain: string[] = []): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const deps = dependencyMap(sidecars)
  for (const ds of Object.values(deps)) for (const d of ds) deps[d] ??= []
  const names = Object.keys(deps)
  const depth = new Map<string, number>()
  const depthOf = (n: string, seen: string[] = []): number => {
    if (depth.has(n)) return depth.get(n)!
    if (seen.includes(n)) return 0 // a cycle (the profile check refuses them): cut it
    const d = Math.max(-1, ...deps[n].map((x) => depthOf(x, [...seen, n]))) + 1
    depth.set(n, d)
    return d
  }
  names.forEach((n) => depthOf(n))
  const order = new Map<string, number>()
  const layers: string[][] = []
  for (const n of names) (layers[depth.get(n)!] ??= []).push(n)
  const nodes: GraphNode[] = []
  layers.forEach((layer, d) => {
    const key = (n: string) => {
      const ps = deps[n].map((p) => order.get(p) ?? 0)
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : 0
    }
    layer.sort((a, b) => key(a) - key(b) || a.localeCompare(b))
    layer.forEach((name, i) => {
      order.set(name, i)
      const states = sidecars.filter((s) => baseName(s.name) === name).map((s) => s.state)
      const state = SEVERITY.find((s) => states.includes(s as SidecarState)) ?? 'unknown'
      nodes.push({ name, instances: states.length, state, depth: d, x: d * LAYER_GAP, y: (i - (layer.length - 1) / 2) * ROW_GAP })
    })
  })
  const chainBases = chain.map(baseName)
  const edges = names.flatMap((target) =>
    deps[target].map((source) => {
      const i = chainBases.indexOf(target)
      return { source, target, critical: i >= 0 && chainBases[i + 1] === source }
    }),
  )
  return { nodes, edges }
}

/** Text made safe for the chart's HTML tooltips. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

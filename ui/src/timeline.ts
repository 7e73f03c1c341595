// The Timeline view's logic, pure so that it is unit-tested without a chart: the feed (oldest
// first, all app launches) becomes, for one launch, each sidecar's state spans and marks, the
// startup critical chain (what each sidecar waited for, and how long), and the profile's
// dependency graph laid out in layers. The chart code (TimelineView.tsx) only draws these.
//
// How events become states. Every event that changed a sidecar's state carries the state it led
// to (`state`, set by the core's machines: crates/sidecar-supervisor-core/src/domain/machine and
// domain/remote.rs), and spans follow that field only — never an event's kind or its message:
// an immediate restart (a crash after min_uptime, a kill -9) is a `restarting` that carries
// starting; a crash loop's `restarting` carries backoff, and a `starting` event ends it;
// `waiting` leads to waiting_for_deps, `skipped` to skipped (not run in this mode), `resumed` to
// the state it returned to. Events that carry no state (spawned, exited, command...) change no
// span. A sidecar is drawn from its first such event on (pending before it is not drawn).
//
// A launch written by an older version carries no states at all (a launch "carries states" when
// any of its events does; one launch is written by one version). Only for those, the state is
// inferred from each event's kind, never from its message:
//   spawned, prepared (its prepare step runs) → starting   ready, recovered → ready
//   unhealthy → unhealthy      restarting → backoff (until it is spawned again: an immediate
//   restart shows as a backoff of a few ms)      port_conflict → starting (re-spawned on a new
//   port)    failed, budget_exhausted → failed    stopping → stopping    stopped → stopped
//   paused → paused            resumed → the state it was paused from, else ready
//   exited: a mark only, since the machine follows every exit at once with restarting,
//   port_conflict, failed or budget_exhausted (the span changes there); only when an exit is a
//   sidecar's last event (the app quit in between) is it stopped from the exit on.
// and before its first event a sidecar with dependencies is waiting_for_deps (from the launch's
// start). Marks, in every launch, come from kinds: exited, restarting, kill_escalated,
// port_conflict, and the probe verdicts that kill a process (startup_timeout, liveness_failed).
// The startup rows follow states likewise (launched: first starting, ready: first ready), with
// kinds (first spawned or prepared, first ready) for launches without states.

import { STATE_FACTS, type HealthLevel, type RuntimeEvent, type SidecarState, type SidecarStatus } from 'sidecar-supervisor-api'

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

/** The state an event of a launch without states leads to, by its kind (see the top). */
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

/** Whether the launch was written by a version whose events carry the state they led to. */
export const carriesStates = (launch: Launch): boolean => launch.events.some((e) => e.state !== undefined)

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
 * for the running launch); `deps` gives waiting_for_deps spans before a sidecar's first event in
 * a launch without states (one with states says when each sidecar waited). */
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
  const typed = carriesStates(launch)
  for (const e of launch.events) {
    const name = e.sidecar
    if (!name) continue
    const t = Math.max(at(e), launch.start)
    if (!rows.includes(name)) rows.push(name)
    if (!typed && !current.has(name) && waits(name) && t > launch.start) move(name, 'waiting_for_deps', launch.start)
    if ((MARK_KINDS as readonly string[]).includes(e.kind)) {
      marks.push({ sidecar: name, kind: e.kind as MarkKind, at: t, message: e.message })
    }
    let next: SidecarState | undefined
    if (typed) {
      next = e.state
    } else {
      // An older launch: inferred from the kind (see the top).
      if (e.kind === 'exited') lastExit.set(name, t)
      else if (e.kind !== 'command') lastExit.delete(name)
      next = NEXT[e.kind]
      if (e.kind === 'paused') pausedFrom.set(name, current.get(name)?.state ?? 'ready')
      if (e.kind === 'resumed') next = pausedFrom.get(name) ?? 'ready'
    }
    // `pending` is the state before a sidecar's first event: no event leads back to it.
    if (next && next !== 'pending') move(name, next, t)
  }
  if (!typed) {
    for (const name of rows) {
      if (!current.has(name) && waits(name)) move(name, 'waiting_for_deps', launch.start)
      const exit = lastExit.get(name)
      if (exit !== undefined) move(name, 'stopped', exit)
    }
  }
  for (const span of current.values()) {
    span.end = Math.max(span.start, end)
    span.open = launch.end === null
  }
  return { rows, spans, marks }
}

/** One sidecar instance's startup in a launch; times are ms since the launch started. */
export interface StartupRow {
  sidecar: string
  /** When it stopped waiting: its first event that leads to starting (a launch began, or a
   * remote began to be probed); in a launch without states, its first `prepared` or `spawned`. */
  launchedAt?: number
  /** Its first event that leads to ready (in a launch without states, its first `ready`). */
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
  const typed = carriesStates(launch)
  for (const e of launch.events) {
    if (!e.sidecar) continue
    const t = at(e) - launch.start
    const launches = typed ? e.state === 'starting' : e.kind === 'spawned' || e.kind === 'prepared'
    const readies = typed ? e.state === 'ready' : e.kind === 'ready'
    if (launches && !launched.has(e.sidecar)) launched.set(e.sidecar, t)
    if (readies && !ready.has(e.sidecar)) ready.set(e.sidecar, t)
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

/** The health levels worst first (the core's `HealthLevel` order, reversed). */
const WORST_FIRST: HealthLevel[] = ['failed', 'degraded', 'starting', 'ready']
/** How bad a state is by its weight in the stack's health (`STATE_FACTS`): 0 is the worst; a
 * state that does not count (skipped) comes after every other. */
const badness = (s: SidecarState): number => {
  const level = STATE_FACTS[s].level
  return level === null ? WORST_FIRST.length : WORST_FIRST.indexOf(level)
}
/** The state a replicated node shows: its worst instance's (by health level; the first
 * instance of that level in status order). */
const worstOf = (states: SidecarState[]): SidecarState | undefined =>
  states.reduce<SidecarState | undefined>((w, s) => (w === undefined || badness(s) < badness(w) ? s : w), undefined)

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
      const state = worstOf(states) ?? 'unknown'
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

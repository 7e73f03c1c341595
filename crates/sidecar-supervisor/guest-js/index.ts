// Typed bindings of the `sidecar-supervisor` Tauri plugin (design §7). The shapes mirror the
// Rust types of `sidecar-supervisor-core` (runtime/status.rs, events.rs, logs.rs).

import { invoke } from '@tauri-apps/api/core'
import { listen, type UnlistenFn } from '@tauri-apps/api/event'

export type SidecarState =
  | 'pending'
  | 'waiting_for_deps'
  | 'starting'
  | 'ready'
  | 'unhealthy'
  | 'backoff'
  | 'stopping'
  | 'stopped'
  | 'failed'

export interface Budget {
  max: number
  window_secs: number
  remaining: number
}

export interface LastProbe {
  ok: boolean
  latency_ms: number
  at: string
  detail: string
}

export interface SidecarStatus {
  name: string
  role: string | null
  state: SidecarState
  pid: number | null
  port: number | null
  url: string | null
  restarts_in_window: number
  budget: Budget
  auto_restart: boolean
  last_exit: string | null
  last_error: string | null
  uptime_ms: number | null
  last_probe: LastProbe | null
  depends_on: string[]
}

export interface RuntimeStatus {
  mode: 'local_fullstack' | 'remote_slim'
  instance_id: string
  profile_path: string
  data_dir: string
  feed_path: string
  backend_url: string | null
  auto_restart: boolean
  pid: number
  started_at: string
  stopped: boolean
  error: string | null
  sidecars: SidecarStatus[]
}

export type EventKind =
  | 'runtime_started'
  | 'runtime_stopped'
  | 'spawned'
  | 'ready'
  | 'unhealthy'
  | 'recovered'
  | 'liveness_failed'
  | 'startup_timeout'
  | 'exited'
  | 'restarting'
  | 'budget_exhausted'
  | 'failed'
  | 'port_conflict'
  | 'stopping'
  | 'stopped'
  | 'kill_escalated'
  | 'orphan_killed'
  | 'feed_recovered'
  | 'command'
  | 'prepared'

export interface RuntimeEvent {
  seq: number
  at: string
  sidecar?: string
  kind: EventKind
  message: string
  pid?: number
  port?: number
  code?: number
  signal?: string
}

export interface Diagnostics {
  feed_path: string
  events: RuntimeEvent[]
}

export interface LogLine {
  at: string
  stream: 'stdout' | 'stderr'
  line: string
}

/** What every command rejects with. */
export interface SupervisorError {
  kind: 'unknown_sidecar' | 'not_in_this_mode' | 'shutting_down' | 'engine_gone' | 'invalid_argument' | 'not_running' | 'io' | 'ipc'
  message: string
  sidecar?: string
}

export function isSupervisorError(e: unknown): e is SupervisorError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e
}

const cmd = (name: string) => `plugin:sidecar-supervisor|${name}`

export const desktopRuntimeStatus = (): Promise<RuntimeStatus> => invoke(cmd('desktop_runtime_status'))

export const desktopRuntimeDiagnostics = (limit?: number): Promise<Diagnostics> =>
  invoke(cmd('desktop_runtime_diagnostics'), { limit })

export const logs = (name: string, tail: number): Promise<LogLine[]> => invoke(cmd('logs'), { name, tail })

export const restart = (name: string): Promise<void> => invoke(cmd('restart'), { name })
export const stop = (name: string): Promise<void> => invoke(cmd('stop'), { name })
export const start = (name: string): Promise<void> => invoke(cmd('start'), { name })

export const EVENT_SIDECAR = 'sidecar-supervisor://sidecar'
export const EVENT_FEED = 'sidecar-supervisor://event'
export const EVENT_RESYNC = 'sidecar-supervisor://resync'
export const EVENT_STOPPED = 'sidecar-supervisor://stopped'

/** Calls back on every status change of a sidecar. */
export const onSidecar = (cb: (s: SidecarStatus) => void): Promise<UnlistenFn> =>
  listen<SidecarStatus>(EVENT_SIDECAR, (e) => cb(e.payload))

/** Calls back on every new runtime-feed event. */
export const onFeedEvent = (cb: (e: RuntimeEvent) => void): Promise<UnlistenFn> =>
  listen<RuntimeEvent>(EVENT_FEED, (e) => cb(e.payload))

/** Calls back when the engine stopped (app exit, or the engine failed): re-read the status. */
export const onStopped = (cb: () => void): Promise<UnlistenFn> => listen(EVENT_STOPPED, () => cb())

/** Calls back when updates were dropped: re-read the status. */
export const onResync = (cb: () => void): Promise<UnlistenFn> => listen(EVENT_RESYNC, () => cb())

/** Writes the feed events with these seqs to a JSON file under the data dir (`exports/`);
 * resolves to its path. */
export const exportEvents = (seqs: number[]): Promise<string> => invoke(cmd('export_events'), { seqs })

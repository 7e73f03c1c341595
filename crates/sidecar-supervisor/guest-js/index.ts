// Typed bindings of the `sidecar-supervisor` Tauri plugin. The types of what the commands and
// pushes carry are generated from the Rust types (bindings.ts); this file adds the calls.

import { Channel, invoke } from '@tauri-apps/api/core'
import { listen, type UnlistenFn } from '@tauri-apps/api/event'
import type {
  BackupDone,
  BackupsInfo,
  Diagnostics,
  LiveBatch,
  LogLine,
  RuntimeEvent,
  SidecarInfo,
  SidecarMessage,
  SidecarResources,
  SidecarStatus,
  StackHealth,
  SupervisorError,
  RestoreDone,
  RuntimeStatus,
} from './bindings'

export type * from './bindings'
/** What each state means, from the core's rules (`State::facts`): up for its dependents, a
 * process alive, its weight in the stack's health, the commands that fit it. Classify states by
 * this table, never by lists of state names. */
export { STATE_FACTS } from './bindings'

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
export const pause = (name: string): Promise<void> => invoke(cmd('pause'), { name })
export const resume = (name: string): Promise<void> => invoke(cmd('resume'), { name })

/** Calls `method` of a `"stdio": "jsonrpc"` sidecar; resolves to its result, rejects with a
 * `SupervisorError` (`timeout`, `process_ended`, `too_large`, `remote` with `code`/`data`...). */
export const sidecarRequest = <T = unknown>(name: string, method: string, params?: unknown, timeoutMs = 10_000): Promise<T> =>
  invoke(cmd('sidecar_request'), { name, method, params: params ?? null, timeoutMs })

/** The newest `limit` notifications of a JSON-RPC sidecar, oldest first. */
export const sidecarMessages = (name: string, limit = 1000): Promise<SidecarMessage[]> =>
  invoke(cmd('sidecar_messages'), { name, limit })

/** What a gRPC sidecar says of itself (`sidecar.v1.Control/Info`), over the plugin's gRPC channel. */
export const sidecarInfo = (name: string): Promise<SidecarInfo> => invoke(cmd('sidecar_info'), { name })

export const EVENT_MESSAGE = 'sidecar-supervisor://message'

/** Calls back with the notifications JSON-RPC sidecars send, in order: those that arrived
 * together come in one call. */
export const onSidecarMessages = (cb: (ms: SidecarMessage[]) => void): Promise<UnlistenFn> =>
  listen<SidecarMessage[]>(EVENT_MESSAGE, (e) => cb(e.payload))

export const EVENT_SIDECAR = 'sidecar-supervisor://sidecar'
export const EVENT_FEED = 'sidecar-supervisor://event'
export const EVENT_RESYNC = 'sidecar-supervisor://resync'
export const EVENT_STOPPED = 'sidecar-supervisor://stopped'
export const EVENT_HEALTH = 'sidecar-supervisor://health'

/** Calls back on every status change of a sidecar. */
export const onSidecar = (cb: (s: SidecarStatus) => void): Promise<UnlistenFn> =>
  listen<SidecarStatus>(EVENT_SIDECAR, (e) => cb(e.payload))

/** Calls back on every new runtime-feed event. */
export const onFeedEvent = (cb: (e: RuntimeEvent) => void): Promise<UnlistenFn> =>
  listen<RuntimeEvent>(EVENT_FEED, (e) => cb(e.payload))

/** Calls back on every change of the stack's health (what the tray shows too). */
export const onHealth = (cb: (h: StackHealth) => void): Promise<UnlistenFn> =>
  listen<StackHealth>(EVENT_HEALTH, (e) => cb(e.payload))

/** Calls back when the engine stopped (app exit, or the engine failed): re-read the status. */
export const onStopped = (cb: () => void): Promise<UnlistenFn> => listen(EVENT_STOPPED, () => cb())

/** Calls back when updates were dropped: re-read the status. */
export const onResync = (cb: () => void): Promise<UnlistenFn> => listen(EVENT_RESYNC, () => cb())

/** Writes the feed events with these seqs to a JSON file under the data dir (`exports/`);
 * resolves to its path. */
export const exportEvents = (seqs: number[]): Promise<string> => invoke(cmd('export_events'), { seqs })

/** "I am looking" for the next few seconds: push `log`'s lines live (if named) and sample every
 * sidecar's resources once a second (if `resources`). Renew it every 2 s while looking. */
export const watch = (log: string | null, resources: boolean): Promise<void> => invoke(cmd('watch'), { log, resources })

/** How often a watcher renews its lease (the plugin's lease is 5 s). */
export const WATCH_RENEW_MS = 2000

/** The whole rotated log of a sidecar instance, oldest first, as raw bytes (UTF-8 records
 * `<at> <stream> <line>`): streamed in `ArrayBuffer` chunks of at most 4 MiB from one snapshot
 * of the files, never JSON. */
export async function logHistory(name: string): Promise<Uint8Array> {
  const chunks: ArrayBuffer[] = []
  let got = 0
  let total = -1
  let complete = () => {}
  const all = new Promise<void>((resolve) => (complete = resolve))
  const onChunk = new Channel<ArrayBuffer>((b) => {
    chunks.push(b)
    got += b.byteLength
    if (got === total) complete()
  })
  total = await invoke<number>(cmd('log_history'), { name, onChunk })
  if (got === total) complete()
  await all
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(new Uint8Array(c), at)
    at += c.byteLength
  }
  return out
}

/** Writes the whole rotated log of `name` to `path` (from a save dialog); resolves to the bytes written. */
export const exportLog = (name: string, path: string): Promise<number> => invoke(cmd('export_log'), { name, path })

/** Writes the diagnostics bundle (zip) to `path` (from a save dialog); resolves to the bytes written. */
export const diagnosticsBundle = (path: string): Promise<number> => invoke(cmd('diagnostics_bundle'), { path })

/** Backs the database up while it runs, to `path` (from a save dialog) or, without one, under the
 * data dir's `backups/`; resolves to what was written (path, size, manifest). */
export const backup = (path?: string): Promise<BackupDone> => invoke(cmd('backup'), { path: path ?? null })

/** Restores the backup at `path` (from an open dialog): checked first; what uses the database is
 * stopped for the restore and started again. Resolves to what was done. */
export const restore = (path: string): Promise<RestoreDone> => invoke(cmd('restore'), { path })

/** The backups in the data dir's `backups/`: where they live, each one's size and time, the total. */
export const backups = (): Promise<BackupsInfo> => invoke(cmd('backups'))

export const EVENT_LOG = 'sidecar-supervisor://log'
export const EVENT_RESOURCES = 'sidecar-supervisor://resources'

/** Calls back with the lines of watched logs as they are printed (`missed` > 0: the page fell
 * behind, re-read the tail). */
export const onLogLines = (cb: (b: LiveBatch) => void): Promise<UnlistenFn> => listen<LiveBatch>(EVENT_LOG, (e) => cb(e.payload))

/** Calls back with each resources sample while they are watched. */
export const onResources = (cb: (s: SidecarResources[]) => void): Promise<UnlistenFn> =>
  listen<SidecarResources[]>(EVENT_RESOURCES, (e) => cb(e.payload))

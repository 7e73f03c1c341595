// Shapes as the plugin sends them, for the UI's unit tests.
import { STATE_FACTS, type RuntimeEvent, type RuntimeStatus, type SidecarStatus, type StackHealth } from 'sidecar-supervisor-api'

export function row(name: string, over: Partial<SidecarStatus> = {}): SidecarStatus {
  return {
    name,
    role: name === 'backend' ? 'backend' : null,
    state: 'ready',
    pid: 100,
    port: 4000,
    url: 'http://127.0.0.1:4000',
    restarts_in_window: 0,
    budget: { max: 6, window_secs: 90, remaining: 6 },
    auto_restart: true,
    last_exit: null,
    last_error: null,
    cause: null,
    uptime_ms: 5000,
    last_probe: { ok: true, latency_ms: 1.5, at: '2026-11-22T10:00:00.000Z', detail: 'GET /health/ready answered 200' },
    identity: 'proven',
    build: null,
    depends_on: [],
    resources: null,
    ...over,
  }
}

/** A plausible health for these rows, in the core's words (StackHealth::of: the worst level
 * wins, skipped rows do not count). A stand-in for tests only: the app reads the core's. */
export function healthOf(rows: SidecarStatus[]): StackHealth {
  const counted = rows.filter((r) => STATE_FACTS[r.state].level !== null)
  const names = (xs: string[]) => xs.slice(0, 3).join(', ') + (xs.length > 3 ? ` and ${xs.length - 3} more` : '')
  const failed = counted.filter((r) => r.state === 'failed').map((r) => r.name)
  if (failed.length) return { level: 'failed', summary: `failed: ${names(failed)}`, failed }
  const degraded = counted
    .filter((r) => STATE_FACTS[r.state].level === 'degraded')
    .map((r) => `${r.name} ${r.state === 'backoff' ? 'restarting' : r.state}`)
  if (degraded.length) return { level: 'degraded', summary: `degraded: ${names(degraded)}`, failed }
  const ready = counted.filter((r) => STATE_FACTS[r.state].level === 'ready').length
  if (ready < counted.length) return { level: 'starting', summary: `starting: ${ready} of ${counted.length} ready`, failed }
  const summary = counted.length === 0 ? 'no sidecars to run' : counted.length === 1 ? '1 sidecar ready' : `all ${counted.length} sidecars ready`
  return { level: 'ready', summary, failed }
}

export function status(rows: SidecarStatus[]): RuntimeStatus {
  return {
    mode: 'local_fullstack',
    instance_id: 'abcdef0123456789',
    profile_path: '/p/profile.json',
    data_dir: '/d',
    feed_path: '/d/runtime/runtime-events.json',
    backend_url: null,
    auto_restart: true,
    pid: 1,
    started_at: '2026-11-22T10:00:00.000Z',
    stopped: false,
    error: null,
    warnings: [],
    health: healthOf(rows),
    sidecars: rows,
  }
}

export function ev(seq: number, kind: RuntimeEvent['kind'], sidecar?: string, message = `${kind} happened`): RuntimeEvent {
  return { seq, at: '2026-11-22T10:00:00.000Z', sidecar, kind, message }
}

/** What the plugin's `log_history` does: `text` as raw chunks on the call's channel (split in
 * two, so the page must put them together), the total as the answer. */
export function sendChunks(args: unknown, text: string): number {
  const bytes = new TextEncoder().encode(text)
  const ch = (args as { onChunk: { onmessage: (b: ArrayBuffer) => void } }).onChunk
  const half = Math.floor(bytes.length / 2)
  ch.onmessage(bytes.slice(0, half).buffer)
  ch.onmessage(bytes.slice(half).buffer)
  return bytes.length
}

/** Start of the feed the timeline tests make. */
export const T0 = Date.parse('2026-11-22T10:00:00.000Z')

/** A sequence of feed events at offsets from T0: `at(ms, kind, sidecar?)` numbers them in order.
 * Like an older version's feed, they carry no `state` (see `withState`). */
export function timedEvents() {
  let seq = 0
  return (ms: number, kind: RuntimeEvent['kind'], sidecar?: string, message = `${kind} happened`): RuntimeEvent => ({
    seq: ++seq,
    at: new Date(T0 + ms).toISOString(),
    sidecar,
    kind,
    message,
  })
}

/** The event as the engine sends it now when it changed the sidecar's state: with the state it led to. */
export const withState = (e: RuntimeEvent, state: NonNullable<RuntimeEvent['state']>): RuntimeEvent => ({ ...e, state })

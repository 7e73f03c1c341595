// Shapes as the plugin sends them, for the UI's unit tests.
import type { RuntimeEvent, RuntimeStatus, SidecarStatus } from 'sidecar-supervisor-api'

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
    uptime_ms: 5000,
    last_probe: { ok: true, latency_ms: 1.5, at: '2026-11-22T10:00:00.000Z', detail: 'GET /health/ready answered 200' },
    identity: 'proven',
    depends_on: [],
    resources: null,
    ...over,
  }
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

/** A sequence of feed events at offsets from T0: `at(ms, kind, sidecar?)` numbers them in order. */
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

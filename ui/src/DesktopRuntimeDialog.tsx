import { useEffect, useRef, useState } from 'react'
import {
  exportEvents,
  logs,
  pause,
  restart,
  resume,
  sidecarInfo,
  start,
  stop,
  type LogLine,
  type RuntimeEvent,
  type SidecarInfo,
  type SidecarStatus,
} from 'sidecar-supervisor-api'
import { EventsPanel } from './EventsPanel'
import { formatLatency, formatUptime } from './format'
import { toError, type RuntimeView } from './runtime'

interface Props {
  runtime: RuntimeView
  onClose: () => void
}

/** What "copy diagnostics" puts on the clipboard: status and feed, as the runtime redacted them. */
export function diagnosticsText(runtime: RuntimeView): string {
  return JSON.stringify({ status: runtime.status, feed_path: runtime.feedPath, events: runtime.events }, null, 2)
}

export function DesktopRuntimeDialog({ runtime, onClose }: Props) {
  const { status, events, error } = runtime
  const [notice, setNotice] = useState<string | null>(null)
  const [logsOf, setLogsOf] = useState<string | null>(null)
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000) // live uptimes only; data is pushed
    return () => clearInterval(t)
  }, [])
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', esc)
    return () => window.removeEventListener('keydown', esc)
  }, [onClose])
  // Focus moves into the dialog when it opens and back to where it was when it closes.
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null
    box.current?.focus()
    return () => before?.focus?.()
  }, [])

  const act = async (what: string, f: () => Promise<void>) => {
    try {
      await f()
      setNotice(null)
    } catch (e) {
      setNotice(`${what}: ${toError(e).message}`)
    }
  }
  const doExport = async (shown: RuntimeEvent[]) => {
    try {
      const path = await exportEvents(shown.map((e) => e.seq))
      setNotice(`Exported ${shown.length} events to ${path}`)
    } catch (e) {
      setNotice(`Export: ${toError(e).message}`)
    }
  }
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(diagnosticsText(runtime))
      setNotice('Diagnostics copied (secrets are redacted by the runtime)')
    } catch (e) {
      setNotice(`Copy failed: ${String(e)}`)
    }
  }

  return (
    <div className="overlay" role="presentation" onClick={onClose}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="runtime-title"
        data-testid="runtime-dialog"
        ref={box}
        tabIndex={-1}
        onClick={(e) => e.stopPropagation()}
      >
        <header className="dialog-head">
          <h2 id="runtime-title">Desktop Runtime</h2>
          {status && (
            <span className="muted">
              {status.mode} · instance {status.instance_id.slice(0, 8)}
            </span>
          )}
          <span className="spacer" />
          <button type="button" onClick={copy}>
            Copy diagnostics
          </button>
          <button type="button" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {error && <p className="error-text" role="alert">{error.message}</p>}
        {notice && <p className="notice" role="status">{notice}</p>}
        <div className="table-wrap">
          <table className="sidecars">
            <thead>
              <tr>
                <th>Sidecar</th>
                <th>State</th>
                <th>PID</th>
                <th>Port</th>
                <th>Uptime</th>
                <th>Restarts</th>
                <th>Probe</th>
                <th>Identity</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {status?.sidecars.map((r) => (
                <SidecarRow
                  key={r.name}
                  row={r}
                  uptime={r.uptime_ms == null ? null : r.uptime_ms + Math.max(0, now - (runtime.receivedAt[r.name] ?? now))}
                  onRestart={() => act(`Restart ${r.name}`, () => restart(r.name))}
                  onStop={() => act(`Stop ${r.name}`, () => stop(r.name))}
                  onPause={() => act(`Pause ${r.name}`, () => pause(r.name))}
                  onResume={() => act(`Resume ${r.name}`, () => resume(r.name))}
                  onStart={() => act(`Start ${r.name}`, () => start(r.name))}
                  onLogs={() => setLogsOf(logsOf === r.name ? null : r.name)}
                />
              ))}
            </tbody>
          </table>
        </div>
        {logsOf && (
          <LogTail name={logsOf} events={events} pid={status?.sidecars.find((r) => r.name === logsOf)?.pid ?? null} />
        )}
        <EventsPanel events={events} sidecars={status?.sidecars.map((r) => r.name) ?? []} onExport={doExport} />
      </div>
    </div>
  )
}

interface RowProps {
  row: SidecarStatus
  uptime: number | null
  onRestart: () => void
  onStop: () => void
  onPause: () => void
  onResume: () => void
  onStart: () => void
  onLogs: () => void
}

const RUNNING = new Set(['starting', 'ready', 'unhealthy', 'stopping', 'paused'])
const PAUSABLE = new Set(['starting', 'ready', 'unhealthy'])

/** What each identity tier means, for the badge's tooltip. */
const IDENTITY_HELP: Record<NonNullable<SidecarStatus['identity']>, string> = {
  proven: 'Its /runtime/info names this launch and proves the launch key',
  echoed: 'Its /runtime/info names this launch, without a key proof',
  unverified: 'It serves no /runtime/info: nothing says whose server answers on the port',
  foreign: 'Another program or an older instance answers on its port: never taken as ready',
}

function SidecarRow({ row, uptime, onRestart, onStop, onStart, onPause, onResume, onLogs }: RowProps) {
  const used = row.budget.max - row.budget.remaining
  return (
    <>
      <tr data-testid={`row-${row.name}`} data-state={row.state}>
        <td className="name">{row.name}</td>
        <td>
          <span className={`badge state-${row.state}`}>{row.state.replace(/_/g, ' ')}</span>
        </td>
        <td>{row.pid ?? '—'}</td>
        <td>{row.port ?? '—'}</td>
        <td>{RUNNING.has(row.state) ? formatUptime(uptime) : '—'}</td>
        <td title={`${row.restarts_in_window} restarts in the last ${row.budget.window_secs}s`}>
          {used} / {row.budget.max}
        </td>
        <td title={row.last_probe?.detail}>
          {row.last_probe ? (
            <span className={row.last_probe.ok ? 'ok' : 'bad'}>{formatLatency(row.last_probe.latency_ms)}</span>
          ) : (
            '—'
          )}
        </td>
        <td>
          {row.identity ? (
            <span className={`badge identity-${row.identity}`} title={IDENTITY_HELP[row.identity]} data-testid={`identity-${row.name}`}>
              {row.identity}
            </span>
          ) : (
            '—'
          )}
        </td>
        <td className="actions">
          <button type="button" onClick={onRestart} aria-label={`Restart ${row.name}`}>
            Restart
          </button>
          {RUNNING.has(row.state) ? (
            <button type="button" onClick={onStop} disabled={row.state === 'stopping'} aria-label={`Stop ${row.name}`}>
              Stop
            </button>
          ) : (
            <button type="button" onClick={onStart} aria-label={`Start ${row.name}`}>
              Start
            </button>
          )}
          {row.state === 'paused' ? (
            <button type="button" onClick={onResume} aria-label={`Resume ${row.name}`}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={onPause} disabled={!PAUSABLE.has(row.state) || row.pid == null} aria-label={`Pause ${row.name}`}>
              Pause
            </button>
          )}
          <button type="button" onClick={onLogs} aria-label={`Logs of ${row.name}`}>
            Logs
          </button>
        </td>
      </tr>
      {row.last_error && (
        <tr className="error-row">
          <td colSpan={8}>
            <pre className="last-error">{row.last_error}</pre>
          </td>
        </tr>
      )}
    </>
  )
}

/** The last lines of a sidecar's output. */
function LogTail({ name, events, pid }: { name: string; events: RuntimeEvent[]; pid: number | null }) {
  const [lines, setLines] = useState<LogLine[]>([])
  const [err, setErr] = useState<string | null>(null)
  const lastSeq = events.filter((e) => e.sidecar === name).at(-1)?.seq ?? 0
  useEffect(() => {
    let gone = false
    // Output is not pushed (only state is): re-read while the panel is open, and at once when
    // the feed says something about this sidecar.
    const read = () =>
      logs(name, 200)
        .then((l) => !gone && (setLines(l), setErr(null)))
        .catch((e) => !gone && setErr(toError(e).message))
    const first = setTimeout(read, 0)
    const every = setInterval(read, 1000)
    return () => {
      gone = true
      clearTimeout(first)
      clearInterval(every)
    }
  }, [name, lastSeq])
  return (
    <section className="logs" aria-label={`Logs of ${name}`}>
      <h3>Logs · {name}</h3>
      <About name={name} pid={pid} />
      {err && <p className="error-text">{err}</p>}
      <pre data-testid="log-tail">
        {lines.map((l, i) => (
          <span key={i} className={l.stream}>
            {l.line}
            {'\n'}
          </span>
        ))}
      </pre>
    </section>
  )
}

/** What a gRPC sidecar says of itself (sidecar.v1.Control/Info, over the plugin's gRPC channel
 * to it), asked again when its process changes. */
function About({ name, pid }: { name: string; pid: number | null }) {
  // Keyed by process: an answer about an earlier process is not shown.
  const key = `${name}:${pid}`
  const [got, setGot] = useState<{ key: string; info?: SidecarInfo; why?: string } | null>(null)
  useEffect(() => {
    let gone = false
    if (pid == null) return
    sidecarInfo(name)
      .then((info) => !gone && setGot({ key: `${name}:${pid}`, info }))
      .catch((e) => !gone && setGot({ key: `${name}:${pid}`, why: toError(e).message }))
    return () => {
      gone = true
    }
  }, [name, pid])
  if (pid == null || got?.key !== key) return null
  if (got.info)
    return (
      <p className="about" data-testid="sidecar-about">
        {got.info.name} {got.info.version} · pid {got.info.pid} · instance {got.info.instance_id.slice(0, 8)} (gRPC
        Control/Info)
      </p>
    )
  return (
    <p className="about muted" data-testid="sidecar-about" title={got.why}>
      no gRPC Control/Info
    </p>
  )
}

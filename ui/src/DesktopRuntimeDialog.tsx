import { lazy, Suspense, useEffect, useRef, useState } from 'react'
import { invoke } from '@tauri-apps/api/core'
import { open, save } from '@tauri-apps/plugin-dialog'
import {
  backup,
  backups,
  diagnosticsBundle,
  exportEvents,
  onResources,
  pause,
  restart,
  restore,
  resume,
  start,
  STATE_FACTS,
  stop,
  type BackupsInfo,
  type ResourceUsage,
  type RuntimeEvent,
  type SidecarResources,
  type SidecarStatus,
  type Verb,
} from 'sidecar-supervisor-api'
import { EventsPanel } from './EventsPanel'
import { formatLatency, formatUptime } from './format'
import { LogsView } from './LogsView'
import { addSample, formatBytes, formatCpu, type History } from './resources'
import { toError, type RuntimeView } from './runtime'
import { Sparkline } from './Sparkline'
import { useWatch } from './useWatch'
import { Warnings } from './Warnings'

// The charts library is large: it loads when the Timeline tab first opens.
const TimelineView = lazy(() => import('./TimelineView').then((m) => ({ default: m.TimelineView })))

export type Tab = 'events' | 'logs' | 'timeline'

interface Props {
  runtime: RuntimeView
  onClose: () => void
  /** The row to open on (a notification about it was clicked). */
  focus?: string | null
}

/** The file name the save dialog proposes for the diagnostics bundle. */
export function bundleName(now = new Date()): string {
  return `desktop-runtime-diagnostics-${now.toISOString().replace(/[:.]/g, '-').slice(0, 19)}.zip`
}

/** The file name the save dialog proposes for a backup. */
export function backupName(now = new Date()): string {
  return `desktop-runtime-backup-${now.toISOString().replace(/[:.]/g, '-').slice(0, 19)}.backup.zip`
}

/** What "copy diagnostics" puts on the clipboard: status and feed, as the runtime redacted them. */
export function diagnosticsText(runtime: RuntimeView): string {
  return JSON.stringify({ status: runtime.status, feed_path: runtime.feedPath, events: runtime.events }, null, 2)
}

export function DesktopRuntimeDialog({ runtime, onClose, focus = null }: Props) {
  const { status, events, error } = runtime
  const [notice, setNotice] = useState<string | null>(null)
  const [tab, setTab] = useState<Tab>('events')
  const [logsOf, setLogsOf] = useState<string | null>(null)
  const [history, setHistory] = useState<History>({})
  const [latest, setLatest] = useState<Record<string, SidecarResources>>({})
  const pids = useRef<Record<string, number>>({})
  // Where the data dir's backups live and how much disk they take; read when the dialog opens
  // and after each backup or restore (nothing to read meanwhile: files change only then).
  const [kept, setKept] = useState<BackupsInfo | null>(null)
  const readBackups = () =>
    backups().then(setKept, () => setKept(null))
  useEffect(() => void readBackups(), [])
  useEffect(() => {
    pids.current = Object.fromEntries((status?.sidecars ?? []).flatMap((r) => (r.pid == null ? [] : [[r.name, r.pid]])))
  }, [status])
  // Resources are sampled (once a second) only while the dialog is open.
  useWatch(null, true)
  useEffect(() => {
    const p = onResources((sample) => {
      setHistory((h) => addSample(h, sample, pids.current))
      setLatest(Object.fromEntries(sample.map((s) => [s.name, s])))
    })
    return () => void p.then((u) => u())
  }, [])
  // Opened from a notification: that row is highlighted and scrolled to.
  useEffect(() => {
    if (!focus) return
    const rows = [...document.querySelectorAll<HTMLElement>('tr[data-testid^="row-"]')]
    rows.find((r) => r.dataset.testid === `row-${focus}`)?.scrollIntoView?.({ block: 'nearest' })
  }, [focus, status])
  const names = status?.sidecars.map((r) => r.name) ?? []
  const shownLog = logsOf ?? names[0] ?? null
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
  const bundle = async () => {
    try {
      const path = await save({
        defaultPath: bundleName(),
        title: 'Save the diagnostics bundle',
        filters: [{ name: 'Zip archive', extensions: ['zip'] }],
      })
      if (!path) return
      const bytes = await diagnosticsBundle(path)
      setNotice(`Diagnostics bundle saved to ${path} (${Math.ceil(bytes / 1024)} KiB; secrets redacted)`)
    } catch (e) {
      setNotice(`Diagnostics bundle: ${toError(e).message}`)
    }
  }
  const backUp = async () => {
    try {
      const path = await save({
        defaultPath: backupName(),
        title: 'Back up the database',
        filters: [{ name: 'Desktop Runtime backup', extensions: ['zip'] }],
      })
      if (!path) return
      setNotice('Backing up…')
      const done = await backup(path)
      const m = done.manifest
      void readBackups()
      setNotice(`Backed up database ${m.database} (PostgreSQL ${m.postgres_major}) to ${done.path} (${formatBytes(done.bytes)}, ${done.took_ms} ms)`)
    } catch (e) {
      setNotice(`Back up: ${toError(e).message}`)
    }
  }
  const restoreFrom = async () => {
    try {
      const path = await open({
        title: 'Restore a backup',
        multiple: false,
        directory: false,
        filters: [{ name: 'Desktop Runtime backup', extensions: ['zip'] }],
      })
      if (typeof path !== 'string') return
      const sure = window.confirm(
        `Restore ${path}?\n\nThe database is replaced by the backup; what changed since it was made is lost. The sidecars that use it are stopped meanwhile and started again.`,
      )
      if (!sure) return
      setNotice('Restoring…')
      const done = await restore(path)
      const m = done.manifest
      const again = done.restarted.length ? `; restarted ${done.restarted.join(', ')}` : ''
      setNotice(`Restored database ${m.database} from the backup of ${m.created_at} (app ${m.app_version})${again}`)
    } catch (e) {
      setNotice(`Restore: ${toError(e).message}`)
    }
  }
  const openFolder = async (which: 'data' | 'logs') => {
    try {
      await invoke('open_folder', { which })
    } catch (e) {
      setNotice(`Open ${which} folder: ${toError(e).message}`)
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
          {status && (
            <span className={`pill ${status.health.level === 'ready' ? 'ok' : 'warn'}`} data-testid="dialog-health" data-level={status.health.level}>
              {status.health.summary}
            </span>
          )}
          <span className="spacer" />
          <button type="button" onClick={bundle} data-testid="save-bundle">
            Diagnostics bundle…
          </button>
          <button type="button" onClick={backUp} data-testid="back-up">
            Back up now…
          </button>
          <button type="button" onClick={restoreFrom} data-testid="restore">
            Restore…
          </button>
          <button type="button" onClick={() => openFolder('data')}>
            Open data folder
          </button>
          <button type="button" onClick={() => openFolder('logs')}>
            Open logs folder
          </button>
          <button type="button" onClick={copy}>
            Copy
          </button>
          <button type="button" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {error && <p className="error-text" role="alert">{error.message}</p>}
        {notice && <p className="notice" role="status">{notice}</p>}
        <Warnings warnings={status?.warnings ?? []} />
        {kept && (
          <p className="muted" data-testid="backups-info">
            {kept.files.length === 0
              ? `No backups in ${kept.dir} yet`
              : `${kept.files.length} backup${kept.files.length === 1 ? '' : 's'} in ${kept.dir} (${formatBytes(kept.bytes)}), the newest ${kept.files[0].modified}`}
          </p>
        )}
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
                <th>CPU</th>
                <th>Memory</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {status?.sidecars.map((r) => (
                <SidecarRow
                  key={r.name}
                  row={r}
                  focused={r.name === focus}
                  history={history[r.name] ?? []}
                  resources={latest[r.name]?.pid === r.pid ? latest[r.name].resources : r.resources}
                  uptime={r.uptime_ms == null ? null : r.uptime_ms + Math.max(0, now - (runtime.receivedAt[r.name] ?? now))}
                  onRestart={() => act(`Restart ${r.name}`, () => restart(r.name))}
                  onStop={() => act(`Stop ${r.name}`, () => stop(r.name))}
                  onPause={() => act(`Pause ${r.name}`, () => pause(r.name))}
                  onResume={() => act(`Resume ${r.name}`, () => resume(r.name))}
                  onStart={() => act(`Start ${r.name}`, () => start(r.name))}
                  onLogs={() => {
                    setLogsOf(r.name)
                    setTab('logs')
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
        <nav className="tabs dialog-tabs" role="tablist" aria-label="Diagnostics">
          {(['events', 'logs', 'timeline'] as const).map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={tab === t}
              className={tab === t ? 'tab active' : 'tab'}
              onClick={() => setTab(t)}
              data-testid={`dialog-tab-${t}`}
            >
              {t[0].toUpperCase() + t.slice(1)}
            </button>
          ))}
        </nav>
        {tab === 'events' && <EventsPanel events={events} sidecars={names} onExport={doExport} />}
        {tab === 'logs' && shownLog && (
          <LogsView
            names={names}
            name={shownLog}
            pid={status?.sidecars.find((r) => r.name === shownLog)?.pid ?? null}
            onPick={setLogsOf}
            onNotice={setNotice}
          />
        )}
        {tab === 'timeline' && (
          <Suspense fallback={<p className="muted">Loading the timeline…</p>}>
            <TimelineView events={events} sidecars={status?.sidecars ?? []} now={now} />
          </Suspense>
        )}
      </div>
    </div>
  )
}

interface RowProps {
  row: SidecarStatus
  focused: boolean
  history: { cpu: number; rss: number }[]
  resources: ResourceUsage | null
  uptime: number | null
  onRestart: () => void
  onStop: () => void
  onPause: () => void
  onResume: () => void
  onStart: () => void
  onLogs: () => void
}

/** The build a sidecar states, for the identity badge's tooltip (empty when it states none). */
export function buildText(build: SidecarStatus['build']): string {
  if (!build) return ''
  const which = build.build ? `build ${build.build}` : 'no build hash'
  const judged = build.matches === false ? " — not the app's build" : build.matches ? " — the app's build" : ''
  return `\nversion ${build.version || '?'}, ${which}${judged}`
}

/** What each identity tier means, for the badge's tooltip. */
const IDENTITY_HELP: Record<NonNullable<SidecarStatus['identity']>, string> = {
  proven: 'Its /runtime/info names this launch and proves the launch key',
  echoed: 'Its /runtime/info names this launch, without a key proof',
  unverified: 'It serves no /runtime/info: nothing says whose server answers on the port',
  foreign: 'Another program or an older instance answers on its port: never taken as ready',
}

function SidecarRow({ row, focused, history, resources, uptime, onRestart, onStop, onStart, onPause, onResume, onLogs }: RowProps) {
  const used = row.budget.max - row.budget.remaining
  // What the state means and which commands fit it: the core's rules, never a list of names here.
  const facts = STATE_FACTS[row.state]
  const fits = (v: Verb) => facts.verbs.includes(v)
  return (
    <>
      <tr data-testid={`row-${row.name}`} data-state={row.state} className={focused ? 'focused' : undefined}>
        <td className="name">{row.name}</td>
        <td>
          <span className={`badge state-${row.state}`}>{row.state.replace(/_/g, ' ')}</span>
        </td>
        <td>{row.pid ?? '—'}</td>
        <td>{row.port ?? '—'}</td>
        <td>{facts.has_process ? formatUptime(uptime) : '—'}</td>
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
            <span
              className={`badge identity-${row.identity}`}
              title={IDENTITY_HELP[row.identity] + buildText(row.build)}
              data-testid={`identity-${row.name}`}
            >
              {row.identity}
            </span>
          ) : (
            '—'
          )}
        </td>
        <td className="resource" data-testid={`cpu-${row.name}`} data-value={resources?.cpu_percent ?? ''}>
          {formatCpu(resources?.cpu_percent)}
          <Sparkline values={history.map((p) => p.cpu)} label={`CPU of ${row.name}, last minute`} />
        </td>
        <td className="resource" data-testid={`rss-${row.name}`} data-value={resources?.rss_bytes ?? ''}>
          {formatBytes(resources?.rss_bytes)}
          {resources && resources.processes > 1 && <span className="muted"> · {resources.processes} procs</span>}
          <Sparkline values={history.map((p) => p.rss)} label={`Memory of ${row.name}, last minute`} />
        </td>
        <td className="actions">
          <button type="button" onClick={onRestart} disabled={!fits('restart')} aria-label={`Restart ${row.name}`}>
            Restart
          </button>
          {facts.has_process ? (
            <button type="button" onClick={onStop} disabled={!fits('stop')} aria-label={`Stop ${row.name}`}>
              Stop
            </button>
          ) : (
            <button type="button" onClick={onStart} disabled={!fits('start')} aria-label={`Start ${row.name}`}>
              Start
            </button>
          )}
          {fits('resume') ? (
            <button type="button" onClick={onResume} aria-label={`Resume ${row.name}`}>
              Resume
            </button>
          ) : (
            // A pause also needs a process (not a launch still preparing), as the engine checks.
            <button type="button" onClick={onPause} disabled={!fits('pause') || row.pid == null} aria-label={`Pause ${row.name}`}>
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
          <td colSpan={11}>
            <pre className="last-error">{row.last_error}</pre>
          </td>
        </tr>
      )}
    </>
  )
}

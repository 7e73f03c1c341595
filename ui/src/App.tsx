import { useCallback, useEffect, useRef, useState } from 'react'
import { listen } from '@tauri-apps/api/event'
import { backendReady, backendUrl, createJob, handoff, listJobs, type Job } from './backend'
import { DesktopRuntimeDialog } from './DesktopRuntimeDialog'
import { RunsView } from './RunsView'
import { EXECUTOR } from './runs'
import { useRuntime } from './runtime'

/** Emitted by the app's "Desktop Runtime…" menu item. */
export const EVENT_OPEN_DIALOG = 'app://open-desktop-runtime'

export function App() {
  const runtime = useRuntime()
  const [dialog, setDialog] = useState(false)
  const [focus, setFocus] = useState<string | null>(null)
  const [view, setView] = useState<'jobs' | 'runs'>('jobs')
  const [jobs, setJobs] = useState<Job[]>([])
  const [text, setText] = useState('')
  const [jobError, setJobError] = useState<string | null>(null)
  const url = backendUrl(runtime.status)
  const ready = backendReady(runtime.status)
  const key = handoff().apiKey

  useEffect(() => {
    // From the menu (no payload) or a failure notification (`{sidecar}`: open on that row).
    const p = listen<{ sidecar?: string | null } | null>(EVENT_OPEN_DIALOG, (e) => {
      setFocus(e.payload?.sidecar ?? null)
      setDialog(true)
    })
    return () => void p.then((u) => u())
  }, [])

  // Each list read and each create takes a number; a list answer is applied only if nothing
  // newer was started meanwhile (a slow read must not hide a job created after it began).
  const generation = useRef(0)
  const reload = useCallback(async () => {
    if (!url || !ready) return
    const mine = ++generation.current
    try {
      const list = await listJobs(url, key)
      if (mine === generation.current) {
        setJobs(list)
        setJobError(null)
      }
    } catch (e) {
      if (mine === generation.current) setJobError(String((e as Error).message ?? e))
    }
  }, [url, ready, key])

  // Jobs live in the backend's database: refresh while some are unfinished.
  const open = jobs.some((j) => j.status !== 'done')
  useEffect(() => {
    const tick = () => void reload()
    const first = setTimeout(tick, 0)
    const every = open ? setInterval(tick, 500) : undefined
    return () => {
      clearTimeout(first)
      clearInterval(every)
    }
  }, [reload, open])

  const submit = async (e: React.FormEvent) => {
    e.preventDefault()
    if (!url || !text.trim()) return
    try {
      ++generation.current
      const job = await createJob(url, key, text)
      setJobs((js) => [job, ...js.filter((j) => j.id !== job.id)])
      setText('')
      setJobError(null)
    } catch (err) {
      setJobError(String((err as Error).message ?? err))
    }
  }

  const states = runtime.status?.sidecars ?? []
  // The stack's health as the core computes it: the same rule (and words) as the tray's.
  const health = runtime.status?.health
  return (
    <div className="app">
      <header className="top">
        <nav className="tabs" aria-label="Views">
          <button type="button" className={view === 'jobs' ? 'tab active' : 'tab'} onClick={() => setView('jobs')} data-testid="tab-jobs">
            Jobs
          </button>
          <button type="button" className={view === 'runs' ? 'tab active' : 'tab'} onClick={() => setView('runs')} data-testid="tab-runs">
            Runs
          </button>
        </nav>
        <span className={`pill ${health?.level === 'ready' ? 'ok' : 'warn'}`} data-testid="runtime-summary" data-level={health?.level ?? ''}>
          {health ? health.summary : runtime.error ? 'runtime not running' : 'runtime starting'}
        </span>
        <span className="spacer" />
        <button
          type="button"
          onClick={() => {
            setFocus(null)
            setDialog(true)
          }}
          data-testid="open-runtime"
        >
          Desktop Runtime
        </button>
      </header>
      {view === 'runs' && <RunsView executor={states.find((r) => r.name === EXECUTOR)} />}
      {view === 'jobs' && !ready && (
        <div className="banner" role="status" data-testid="backend-banner">
          {runtime.error ? runtime.error.message : 'The backend is not ready yet; jobs can be created once it is.'}
        </div>
      )}
      <main hidden={view !== 'jobs'}>
        <form className="new-job" onSubmit={submit}>
          <textarea
            aria-label="Job text"
            placeholder="Text to count and hash…"
            value={text}
            onChange={(e) => setText(e.target.value)}
            rows={3}
          />
          <button type="submit" disabled={!ready || !text.trim()} data-testid="create-job">
            Create job
          </button>
        </form>
        {jobError && <p className="error-text" role="alert">{jobError}</p>}
        <table className="jobs" data-testid="jobs">
          <thead>
            <tr>
              <th>#</th>
              <th>Text</th>
              <th>Status</th>
              <th>Words</th>
              <th>SHA-256</th>
              <th>Worker</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-testid={`job-${j.id}`} data-status={j.status}>
                <td>{j.id}</td>
                <td className="text">{j.text}</td>
                <td>
                  <span className={`badge job-${j.status}`}>{j.status}</span>
                </td>
                <td>{j.word_count ?? '—'}</td>
                <td className="mono">{j.sha256 ? `${j.sha256.slice(0, 12)}…` : '—'}</td>
                <td>{j.worker ?? '—'}</td>
              </tr>
            ))}
            {!jobs.length && (
              <tr>
                <td colSpan={6} className="empty">
                  No jobs yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </main>
      {dialog && <DesktopRuntimeDialog runtime={runtime} focus={focus} onClose={() => setDialog(false)} />}
    </div>
  )
}

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { open } from '@tauri-apps/plugin-dialog'
import { onSidecarMessages, sidecarRequest, type SidecarMessage, type SidecarStatus } from 'sidecar-supervisor-api'
import { serves, toError } from './runtime'
import {
  EXECUTOR,
  MAX_SHOWN,
  applyBatch,
  emptyRun,
  latencyOf,
  matches,
  type RunState,
  type Validation,
} from './runs'

declare global {
  interface Window {
    /** Emit → visible latencies (ms) of executor notifications, for the e2e's figures. */
    __runLatencies?: number[]
  }
}

/** The executor sidecar's runs: choose a config, see it validated, drive it, watch its events. */
export function RunsView({ executor }: { executor: SidecarStatus | undefined }) {
  const [path, setPath] = useState('')
  const [validation, setValidation] = useState<Validation | null>(null)
  const [run, setRun] = useState<RunState>(emptyRun)
  const [error, setError] = useState<string | null>(null)
  const [kind, setKind] = useState('all')
  const [text, setText] = useState('')
  // Messages arrive in bursts (thousands a second): those that arrive together are applied in
  // one render.
  const pending = useRef<SidecarMessage[]>([])
  const frame = useRef<number | null>(null)
  const fresh = useRef<SidecarMessage[]>([])

  useEffect(() => {
    const unlisten = onSidecarMessages((ms) => {
      const mine = ms.filter((m) => m.sidecar === EXECUTOR)
      if (!mine.length) return
      pending.current.push(...mine)
      if (frame.current == null) {
        // A task, not an animation frame: WebKitGTK may run frames late (measured in the e2e:
        // emit → visible p50 38–57 ms with requestAnimationFrame, 23–28 ms like this); pushes
        // that arrive together still land in one render.
        frame.current = window.setTimeout(() => {
          frame.current = null
          const batch = pending.current
          pending.current = []
          fresh.current = fresh.current.concat(batch)
          setRun((r) => applyBatch(r, batch))
        })
      }
    })
    return () => {
      void unlisten.then((u) => u())
      if (frame.current != null) clearTimeout(frame.current)
    }
  }, [])

  // Once the events are in the DOM: how long after the sidecar emitted them.
  useLayoutEffect(() => {
    if (!fresh.current.length) return
    const now = Date.now()
    const lat = (window.__runLatencies ??= [])
    for (const m of fresh.current) {
      const l = latencyOf(m, now)
      if (l != null) lat.push(l)
    }
    fresh.current = []
  }, [run])

  const ready = executor ? serves(executor.state) : false
  const call = async <T,>(method: string, params?: unknown): Promise<T | null> => {
    try {
      const r = await sidecarRequest<T>(EXECUTOR, method, params, 15_000)
      setError(null)
      return r
    } catch (e) {
      setError(`${method}: ${toError(e).message}`)
      return null
    }
  }

  const validate = async (p: string) => {
    setPath(p)
    setValidation(null)
    if (!p.trim()) return
    setValidation(await call<Validation>('validate', { path: p }))
  }

  const choose = async () => {
    try {
      const picked = await open({ multiple: false, directory: false, filters: [{ name: 'Run config', extensions: ['json'] }] })
      if (typeof picked === 'string') await validate(picked)
    } catch (e) {
      setError(`choose a file: ${toError(e).message}`)
    }
  }

  const start = async () => {
    window.__runLatencies = []
    setRun(emptyRun)
    const r = await call<{ run_id: string; actions: number }>('start', { path })
    if (r) setRun((s) => ({ ...s, runId: r.run_id, total: r.actions, status: s.runId === r.run_id ? s.status : 'running' }))
  }

  const shown = useMemo(() => run.events.filter((e) => matches(e, kind, text)).slice(-MAX_SHOWN), [run.events, kind, text])
  const active = run.status === 'running' || run.status === 'paused'
  const pct = run.total ? Math.round((run.done / run.total) * 100) : 0

  return (
    <section className="runs" data-testid="runs-view">
      {!executor && <p className="banner">This profile has no `executor` sidecar.</p>}
      {executor && !ready && (
        <p className="banner" role="status">
          The executor is {executor.state.replace(/_/g, ' ')}; runs can start once it is ready.
        </p>
      )}
      <form
        className="run-config"
        onSubmit={(e) => {
          e.preventDefault()
          void validate(path)
        }}
      >
        <input
          aria-label="Config file"
          data-testid="run-config-path"
          placeholder="Path of a run config (.json)"
          value={path}
          onChange={(e) => setPath(e.target.value)}
        />
        <button type="button" onClick={() => void choose()} disabled={!ready}>
          Choose…
        </button>
        <button type="submit" disabled={!ready || !path.trim()} data-testid="run-validate">
          Validate
        </button>
      </form>
      {validation && (
        <div className={validation.ok ? 'ok-text' : 'error-text'} data-testid="run-validation" data-ok={validation.ok}>
          {validation.ok ? (
            `Valid: ${validation.name}, ${validation.states} states, ${validation.actions} actions`
          ) : (
            <ul>
              {validation.errors.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="run-controls">
        <button type="button" data-testid="run-start" disabled={!ready || !validation?.ok || active} onClick={() => void start()}>
          Start
        </button>
        <button type="button" data-testid="run-pause" disabled={run.status !== 'running'} onClick={() => void call('pause')}>
          Pause
        </button>
        <button type="button" data-testid="run-resume" disabled={run.status !== 'paused'} onClick={() => void call('resume')}>
          Resume
        </button>
        <button type="button" data-testid="run-stop" disabled={!active} onClick={() => void call('stop')}>
          Stop
        </button>
        <span className={`badge run-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        <progress max={run.total || 1} value={run.done} aria-label="Progress" />
        <span data-testid="run-progress">
          {run.done}/{run.total} ({pct}%){run.state ? ` · ${run.state}` : ''}
        </span>
      </div>
      <div className="run-filter">
        <select aria-label="Event kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="all">all events</option>
          <option value="state_changed">state_changed</option>
          <option value="action_started">action_started</option>
          <option value="action_completed">action_completed</option>
          <option value="error">error</option>
        </select>
        <input aria-label="Filter events" placeholder="Filter…" value={text} onChange={(e) => setText(e.target.value)} />
        <span className="muted" data-testid="run-event-count">
          {run.events.length} events
        </span>
      </div>
      <ol className="run-events" data-testid="run-events">
        {shown.map((e) => (
          <li key={e.seq} className={`ev-${e.method}`}>
            <span className="mono">{e.method}</span> {describe(e)}
          </li>
        ))}
      </ol>
    </section>
  )
}

function describe(m: SidecarMessage): string {
  const p = (m.params ?? {}) as Record<string, unknown>
  switch (m.method) {
    case 'state_changed':
      return `${p.status}${p.state ? ` · ${p.state}` : ''} (${p.done}/${p.total})`
    case 'action_started':
      return `${p.state} · ${p.action}`
    case 'action_completed':
      return `${p.state} · ${p.action} in ${p.ms} ms`
    case 'error':
      return `${p.action ? `${p.action}: ` : ''}${p.message}`
    default:
      return JSON.stringify(p)
  }
}

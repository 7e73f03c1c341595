// A sidecar's log, live: the whole rotated history read once as raw bytes, then the lines the
// plugin pushes while the view is open (never polled). Search, a stdout/stderr filter, follow or
// pause, and export of the whole log through a save dialog.

import { useEffect, useMemo, useRef, useState } from 'react'
import { save } from '@tauri-apps/plugin-dialog'
import { exportLog, logHistory, onLogLines, sidecarInfo, type LiveLine, type LogLine, type SidecarInfo } from 'sidecar-supervisor-api'
import { appendLive, exportName, parseHistory, splitMatches, visibleLines, type StreamFilter } from './logview'
import { toError } from './runtime'
import { useWatch } from './useWatch'

/** Most matching lines drawn at once (the newest); search narrows the rest down. */
export const DRAWN = 2000

interface Props {
  names: string[]
  name: string
  pid: number | null
  onPick: (name: string) => void
  onNotice: (text: string) => void
}

export function LogsView(props: Props) {
  // A new sidecar, or a reload after falling behind, starts from a fresh pane.
  const [reload, setReload] = useState(0)
  return <LogPane key={`${props.name}:${reload}`} {...props} onBehind={() => setReload((n) => n + 1)} />
}

function LogPane({ names, name, pid, onPick, onNotice, onBehind }: Props & { onBehind: () => void }) {
  const [lines, setLines] = useState<LogLine[]>([])
  const [loading, setLoading] = useState(true)
  const [err, setErr] = useState<string | null>(null)
  const [stream, setStream] = useState<StreamFilter>('all')
  const [query, setQuery] = useState('')
  const [follow, setFollow] = useState(true)
  const [held, setHeld] = useState<LiveLine[]>([]) // arrived while paused
  const followRef = useRef(follow)
  useEffect(() => {
    followRef.current = follow
  }, [follow])
  useWatch(name, false, (e) => setErr(toError(e).message))

  useEffect(() => {
    let gone = false
    let loaded = false
    let early: LiveLine[] = []
    const unlisten = onLogLines((b) => {
      if (gone) return
      if (b.missed > 0) {
        onBehind() // fell behind: read the history again
        return
      }
      const mine = b.lines.filter((l) => l.sidecar === name)
      if (!mine.length) return
      if (!loaded) early = early.concat(mine)
      else if (followRef.current) setLines((ls) => appendLive(ls, mine, name))
      else setHeld((h) => h.concat(mine))
    })
    logHistory(name)
      .then((bytes) => {
        if (gone) return
        const hist = parseHistory(bytes)
        // Lines pushed while the history was read may be in both: keep the history's copy.
        const tail = new Set(hist.slice(-early.length - 1).map((l) => `${l.at} ${l.stream} ${l.line}`))
        const extra = early.filter((l) => !tail.has(`${l.at} ${l.stream} ${l.line}`))
        loaded = true
        setLines(appendLive(hist, extra, name))
        setErr(null)
      })
      .catch((e) => !gone && setErr(toError(e).message))
      .finally(() => !gone && setLoading(false))
    return () => {
      gone = true
      void unlisten.then((u) => u())
    }
    // onBehind remounts this pane; it need not restart the effect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [name])

  const shown = useMemo(() => visibleLines(lines, stream, query), [lines, stream, query])
  const drawn = shown.slice(Math.max(0, shown.length - DRAWN))
  const box = useRef<HTMLPreElement>(null)
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight
  }, [follow, lines, stream, query])

  const resume = () => {
    setLines((ls) => appendLive(ls, held, name))
    setHeld([])
    setFollow(true)
  }
  const doExport = async () => {
    try {
      const path = await save({ defaultPath: exportName(name), title: `Export the log of ${name}` })
      if (!path) return
      const bytes = await exportLog(name, path)
      onNotice(`Exported the whole log of ${name} (${(bytes / 1048576).toFixed(1)} MB) to ${path}`)
    } catch (e) {
      onNotice(`Export of the log of ${name}: ${toError(e).message}`)
    }
  }

  return (
    <section className="logs" aria-label={`Logs of ${name}`} data-testid="logs-view">
      <div className="logs-bar">
        <select aria-label="Sidecar" value={name} onChange={(e) => onPick(e.target.value)}>
          {names.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
        <select aria-label="Stream" value={stream} onChange={(e) => setStream(e.target.value as StreamFilter)}>
          <option value="all">stdout + stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <input
          type="search"
          aria-label="Search the log"
          placeholder="Search the whole log…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="log-search"
        />
        <span className="muted" data-testid="log-count">
          {loading ? 'reading…' : `${shown.length} of ${lines.length} lines`}
        </span>
        <span className="spacer" />
        {follow ? (
          <button type="button" onClick={() => setFollow(false)} data-testid="log-pause" aria-label="Pause following the log">
            Pause
          </button>
        ) : (
          <button type="button" onClick={resume} data-testid="log-follow">
            Follow{held.length ? ` (${held.length} new)` : ''}
          </button>
        )}
        <button type="button" onClick={doExport}>
          Export…
        </button>
      </div>
      <About name={name} pid={pid} />
      {err && <p className="error-text">{err}</p>}
      {shown.length > drawn.length && (
        <p className="muted small">
          Showing the newest {drawn.length} of {shown.length} matching lines: search to narrow them down.
        </p>
      )}
      <pre data-testid="log-tail" ref={box} onWheel={() => follow && setFollow(false)}>
        {drawn.map((i) => (
          <span key={i} className={lines[i].stream}>
            {splitMatches(lines[i].line, query).map((p, j) => (j % 2 ? <mark key={j}>{p}</mark> : p))}
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

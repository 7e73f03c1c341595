// Live view of the desktop runtime: one status read and one feed read at start, then only the
// plugin's pushes (no polling). A resync push (the UI fell behind) re-reads the status.

import { useCallback, useEffect, useRef, useState } from 'react'
import {
  desktopRuntimeDiagnostics,
  desktopRuntimeStatus,
  isSupervisorError,
  onFeedEvent,
  onResync,
  onSidecar,
  type RuntimeEvent,
  type RuntimeStatus,
  type SidecarStatus,
  type SupervisorError,
} from 'sidecar-supervisor-api'

/** Most feed events kept in memory (the persisted feed keeps 1000 by default). */
export const MAX_EVENTS = 1000

export interface RuntimeView {
  status: RuntimeStatus | null
  /** When each row was last received (for live uptimes). */
  receivedAt: Record<string, number>
  events: RuntimeEvent[]
  feedPath: string | null
  error: SupervisorError | null
  refresh: () => Promise<void>
}

export function toError(e: unknown): SupervisorError {
  if (isSupervisorError(e)) return e
  return { kind: 'not_running', message: typeof e === 'string' ? e : String(e) }
}

/** Merges one pushed row into the status (rows keep their order). */
export function mergeRow(status: RuntimeStatus, row: SidecarStatus): RuntimeStatus {
  const i = status.sidecars.findIndex((r) => r.name === row.name)
  const sidecars = i < 0 ? [...status.sidecars, row] : status.sidecars.map((r, j) => (j === i ? row : r))
  return { ...status, sidecars }
}

/** Appends pushed events, once each, oldest first, bounded. */
export function appendEvents(events: RuntimeEvent[], more: RuntimeEvent[]): RuntimeEvent[] {
  const last = events.length ? events[events.length - 1].seq : -1
  const fresh = more.filter((e) => e.seq > last)
  if (!fresh.length) return events
  const all = [...events, ...fresh]
  return all.length > MAX_EVENTS ? all.slice(all.length - MAX_EVENTS) : all
}

export function useRuntime(): RuntimeView {
  const [status, setStatus] = useState<RuntimeStatus | null>(null)
  const [receivedAt, setReceivedAt] = useState<Record<string, number>>({})
  const [events, setEvents] = useState<RuntimeEvent[]>([])
  const [feedPath, setFeedPath] = useState<string | null>(null)
  const [error, setError] = useState<SupervisorError | null>(null)
  const pending = useRef<SidecarStatus[]>([])

  const refresh = useCallback(async () => {
    try {
      const [st, diag] = await Promise.all([desktopRuntimeStatus(), desktopRuntimeDiagnostics()])
      const now = Date.now()
      setStatus(pending.current.reduce(mergeRow, st))
      pending.current = []
      setReceivedAt(Object.fromEntries(st.sidecars.map((r) => [r.name, now])))
      setEvents((old) => appendEvents(old.length ? old : [], diag.events))
      setFeedPath(diag.feed_path)
      setError(null)
    } catch (e) {
      setError(toError(e))
    }
  }, [])

  useEffect(() => {
    let gone = false
    const unlisten: Array<() => void> = []
    const keep = (p: Promise<() => void>) =>
      p.then((u) => (gone ? u() : unlisten.push(u))).catch((e) => setError(toError(e)))
    keep(
      onSidecar((row) => {
        setReceivedAt((r) => ({ ...r, [row.name]: Date.now() }))
        setStatus((st) => {
          if (!st) {
            pending.current.push(row) // before the first read answered
            return st
          }
          return mergeRow(st, row)
        })
      }),
    )
    keep(onFeedEvent((e) => setEvents((old) => appendEvents(old, [e]))))
    keep(onResync(() => void refresh()))
    void refresh()
    return () => {
      gone = true
      unlisten.forEach((u) => u())
    }
  }, [refresh])

  return { status, receivedAt, events, feedPath, error, refresh }
}

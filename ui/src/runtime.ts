// Live view of the desktop runtime: one status read and one feed read at start, then only the
// plugin's pushes (rows, feed events, the stack's health; no polling). A resync push (the UI
// fell behind) re-reads the status.

import { useCallback, useEffect, useRef, useState } from 'react'
import {
  desktopRuntimeDiagnostics,
  desktopRuntimeStatus,
  isSupervisorError,
  onFeedEvent,
  onHealth,
  onResync,
  onSidecar,
  onStopped,
  STATE_FACTS,
  type RuntimeEvent,
  type RuntimeStatus,
  type SidecarState,
  type SidecarStatus,
  type StackHealth,
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
  // Not from the plugin: Tauri itself refused (a permission, a bad argument).
  return { kind: 'ipc', message: typeof e === 'string' ? e : String(e) }
}

/** Merges one pushed row into the status (rows keep their order). */
export function mergeRow(status: RuntimeStatus, row: SidecarStatus): RuntimeStatus {
  const i = status.sidecars.findIndex((r) => r.name === row.name)
  const sidecars = i < 0 ? [...status.sidecars, row] : status.sidecars.map((r, j) => (j === i ? row : r))
  return { ...status, sidecars }
}

/** Whether a sidecar in this state serves requests now: its weight in the health is `ready`
 * (the core's rule, `STATE_FACTS`). */
export const serves = (state: SidecarState): boolean => STATE_FACTS[state].level === 'ready'

/** Sets the pushed health of the stack on the status (the core computes it: the UI never does). */
export function withHealth(status: RuntimeStatus, health: StackHealth): RuntimeStatus {
  return { ...status, health }
}

/** Merges events into the feed: each seq once, oldest first, bounded. Order of arrival does not
 * matter (a push may land before the first read, a re-read after later pushes). */
export function appendEvents(events: RuntimeEvent[], more: RuntimeEvent[]): RuntimeEvent[] {
  if (!more.length) return events
  const bySeq = new Map<number, RuntimeEvent>()
  for (const e of events) bySeq.set(e.seq, e)
  let added = false
  for (const e of more) {
    if (!bySeq.has(e.seq)) {
      bySeq.set(e.seq, e)
      added = true
    }
  }
  if (!added) return events
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  return all.length > MAX_EVENTS ? all.slice(all.length - MAX_EVENTS) : all
}

export function useRuntime(): RuntimeView {
  const [status, setStatus] = useState<RuntimeStatus | null>(null)
  const [receivedAt, setReceivedAt] = useState<Record<string, number>>({})
  const [events, setEvents] = useState<RuntimeEvent[]>([])
  const [feedPath, setFeedPath] = useState<string | null>(null)
  const [error, setError] = useState<SupervisorError | null>(null)
  // Pushes that arrived before the first read answered: applied over it (they are newer).
  const pending = useRef<SidecarStatus[]>([])
  const pendingHealth = useRef<StackHealth | null>(null)
  const loaded = useRef(false)

  const refresh = useCallback(async () => {
    try {
      const [st, diag] = await Promise.all([desktopRuntimeStatus(), desktopRuntimeDiagnostics()])
      const now = Date.now()
      const merged = loaded.current ? st : pending.current.reduce(mergeRow, st)
      const health = loaded.current ? null : pendingHealth.current
      setStatus(health ? withHealth(merged, health) : merged)
      pending.current = []
      pendingHealth.current = null
      loaded.current = true
      setReceivedAt(Object.fromEntries(st.sidecars.map((r) => [r.name, now])))
      setEvents((old) => appendEvents(old, diag.events))
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
        if (!loaded.current) pending.current.push(row) // before the first read answered
        setStatus((st) => (st ? mergeRow(st, row) : st))
      }),
    )
    keep(onFeedEvent((e) => setEvents((old) => appendEvents(old, [e]))))
    keep(
      onHealth((h) => {
        if (!loaded.current) pendingHealth.current = h // before the first read answered
        setStatus((st) => (st ? withHealth(st, h) : st))
      }),
    )
    keep(onResync(() => void refresh()))
    // The engine stopped (app exit, or it failed): show what it last wrote.
    keep(onStopped(() => void refresh()))
    void refresh()
    return () => {
      gone = true
      unlisten.forEach((u) => u())
    }
  }, [refresh])

  return { status, receivedAt, events, feedPath, error, refresh }
}

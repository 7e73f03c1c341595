import { useMemo, useState } from 'react'
import type { RuntimeEvent } from 'sidecar-supervisor-api'
import { formatTime } from './format'

export interface EventFilter {
  sidecar: string
  kind: string
  query: string
}

/** Events matching every part of the filter (empty parts match all), newest first. */
export function filterEvents(events: RuntimeEvent[], f: EventFilter): RuntimeEvent[] {
  const q = f.query.trim().toLowerCase()
  return events
    .filter((e) => !f.sidecar || (e.sidecar ?? '') === f.sidecar)
    .filter((e) => !f.kind || e.kind === f.kind)
    .filter((e) => !q || `${e.sidecar ?? ''} ${e.kind} ${e.message}`.toLowerCase().includes(q))
    .slice()
    .reverse()
}

interface Props {
  events: RuntimeEvent[]
  sidecars: string[]
  onExport: (events: RuntimeEvent[]) => void
}

export function EventsPanel({ events, sidecars, onExport }: Props) {
  const [filter, setFilter] = useState<EventFilter>({ sidecar: '', kind: '', query: '' })
  const kinds = useMemo(() => [...new Set(events.map((e) => e.kind))].sort(), [events])
  const shown = useMemo(() => filterEvents(events, filter), [events, filter])
  return (
    <section className="events" aria-label="Runtime events">
      <div className="events-bar">
        <h3>Runtime events</h3>
        <select
          aria-label="Filter by sidecar"
          value={filter.sidecar}
          onChange={(e) => setFilter({ ...filter, sidecar: e.target.value })}
        >
          <option value="">all sidecars</option>
          {sidecars.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Filter by kind" value={filter.kind} onChange={(e) => setFilter({ ...filter, kind: e.target.value })}>
          <option value="">all kinds</option>
          {kinds.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
        <input
          type="search"
          aria-label="Search events"
          placeholder="Search…"
          value={filter.query}
          onChange={(e) => setFilter({ ...filter, query: e.target.value })}
        />
        <button type="button" onClick={() => onExport(shown.slice().reverse())}>
          Export
        </button>
      </div>
      <ol className="event-list" data-testid="event-list">
        {shown.map((e) => (
          <li key={e.seq} className={`event kind-${e.kind}`} data-kind={e.kind} data-sidecar={e.sidecar ?? ''}>
            <time>{formatTime(e.at)}</time>
            <span className="event-sidecar">{e.sidecar ?? 'runtime'}</span>
            <span className="event-kind">{e.kind}</span>
            <span className="event-message">{e.message}</span>
          </li>
        ))}
        {!shown.length && <li className="empty">No events match.</li>}
      </ol>
    </section>
  )
}

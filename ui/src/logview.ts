// The log viewer's pure side: parsing the raw history bytes into lines, merging live lines,
// filtering by stream and search, and bounding what is kept. Unit-tested in logview.test.ts.

import type { LiveLine, LogLine } from 'sidecar-supervisor-api'

/** Lines kept in the viewer (older ones drop off the top; the file keeps them all). */
export const MAX_VIEW_LINES = 50_000

export type StreamFilter = 'all' | 'stdout' | 'stderr'

/** One record of the log file: `<at> <stream> <line>`. A line that does not fit (a file
 * edited by hand) is kept whole as stdout. */
export function parseRecord(text: string): LogLine {
  const a = text.indexOf(' ')
  const b = a < 0 ? -1 : text.indexOf(' ', a + 1)
  const stream = a < 0 ? '' : text.slice(a + 1, b < 0 ? undefined : b)
  if (a > 0 && (stream === 'stdout' || stream === 'stderr')) {
    return { at: text.slice(0, a), stream, line: b < 0 ? '' : text.slice(b + 1) }
  }
  return { at: '', stream: 'stdout', line: text }
}

/** The raw history (UTF-8 records, oldest first) as lines, the newest `max` of them. */
export function parseHistory(bytes: ArrayBuffer | Uint8Array, max = MAX_VIEW_LINES): LogLine[] {
  const text = new TextDecoder().decode(bytes)
  const records = text.split('\n')
  if (records.at(-1) === '') records.pop()
  return records.slice(Math.max(0, records.length - max)).map(parseRecord)
}

/** `lines` with the live lines of `name` appended, bounded to `max` (newest kept). */
export function appendLive(lines: LogLine[], live: LiveLine[], name: string, max = MAX_VIEW_LINES): LogLine[] {
  const mine = live.filter((l) => l.sidecar === name).map(({ at, stream, line }) => ({ at, stream, line }))
  if (!mine.length) return lines
  const all = lines.concat(mine)
  return all.length > max ? all.slice(all.length - max) : all
}

/** Indexes of the lines shown: those of the stream asked for that contain the query (case-
 * insensitive; empty matches all). */
export function visibleLines(lines: LogLine[], stream: StreamFilter, query: string): number[] {
  const q = query.trim().toLowerCase()
  const out: number[] = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (stream !== 'all' && l.stream !== stream) continue
    if (q && !l.line.toLowerCase().includes(q)) continue
    out.push(i)
  }
  return out
}

/** `text` split around the matches of `query` (case-insensitive) for highlighting: odd parts
 * are matches. */
export function splitMatches(text: string, query: string): string[] {
  const q = query.trim().toLowerCase()
  if (!q) return [text]
  const lower = text.toLowerCase()
  const parts: string[] = []
  let at = 0
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
    parts.push(text.slice(at, i), text.slice(i, i + q.length))
    at = i + q.length
  }
  parts.push(text.slice(at))
  return parts
}

/** The file name a save dialog proposes for a sidecar's log. */
export function exportName(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19)
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}.log`
}

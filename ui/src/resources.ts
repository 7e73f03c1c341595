// Resources per sidecar as the dialog shows them: a bounded history of samples per sidecar
// instance (for the sparkline), and the formatters. Pure; unit-tested in resources.test.ts.

import type { SidecarResources } from 'sidecar-supervisor-api'

/** Samples kept per sidecar (one a second while the dialog is open: the last minute). */
export const HISTORY = 60

export interface Point {
  cpu: number
  rss: number
}

export type History = Record<string, Point[]>

/** Adds one sample of every sidecar; a sidecar missing from it (no process) gets no point. A
 * new process (pid changed) starts its history afresh. */
export function addSample(h: History, sample: SidecarResources[], pids: Record<string, number>, max = HISTORY): History {
  const next: History = { ...h }
  for (const s of sample) {
    const key = s.name
    const fresh = pids[key] !== undefined && pids[key] !== s.pid
    const old = fresh ? [] : (next[key] ?? [])
    const pts = old.concat({ cpu: s.resources.cpu_percent, rss: s.resources.rss_bytes })
    next[key] = pts.length > max ? pts.slice(pts.length - max) : pts
  }
  return next
}

export function formatBytes(n: number | null | undefined): string {
  if (n == null) return '—'
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1 << 10) return `${Math.round(n / 1024)} KiB`
  return `${n} B`
}

export function formatCpu(p: number | null | undefined): string {
  if (p == null) return '—'
  return p < 10 ? `${p.toFixed(1)} %` : `${Math.round(p)} %`
}

/** The SVG polyline points of `values` in a `w`×`h` box (max at the top; a flat series sits
 * on the bottom line). */
export function sparkPoints(values: number[], w: number, h: number): string {
  if (!values.length) return ''
  const max = Math.max(...values, 1e-9)
  const step = values.length > 1 ? w / (values.length - 1) : 0
  return values.map((v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * (h - 1) - 0.5).toFixed(1)}`).join(' ')
}

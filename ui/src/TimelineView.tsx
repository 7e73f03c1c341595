// The Timeline view of the Desktop Runtime dialog: every sidecar's states over one app launch
// as coloured spans with exits and restarts as marks (zoomable), the startup critical chain,
// and the profile's dependency graph. The logic is in timeline.ts; this file draws it with
// Apache ECharts (tree-shaken, SVG renderer) in the colours of the state badges (styles.css),
// read from the page so that a dark theme carries over. A visually hidden list repeats the spans
// and marks for screen readers and the WebDriver tests.

import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react'
import type { CustomSeriesRenderItem } from 'echarts'
import { CustomChart, GraphChart, ScatterChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { graphic, init, use as registerParts, type EChartsCoreOption } from 'echarts/core'
import { SVGRenderer } from 'echarts/renderers'
import type { RuntimeEvent, SidecarStatus } from 'sidecar-supervisor-api'
import {
  baseName,
  chainLine,
  criticalChain,
  dependencyGraph,
  dependencyMap,
  deriveTimeline,
  escapeHtml,
  formatSpan,
  launchEnd,
  MARK_KINDS,
  splitLaunches,
  startupRows,
  type GraphNode,
  type Launch,
  type MarkKind,
  type SpanState,
  type Timeline,
} from './timeline'

registerParts([CustomChart, GraphChart, ScatterChart, DataZoomComponent, GridComponent, LegendComponent, TooltipComponent, SVGRenderer])

export interface TimelineViewProps {
  /** The runtime feed, oldest first (all launches). */
  events: RuntimeEvent[]
  /** The current status rows (instances, their states and depends_on). */
  sidecars: SidecarStatus[]
  /** Now (ms): spans still open end here. */
  now: number
}

type ColorState = SpanState | 'pending' | 'unknown'
const STATES: ColorState[] = ['waiting_for_deps', 'starting', 'ready', 'unhealthy', 'backoff', 'stopping', 'stopped', 'failed', 'paused', 'skipped', 'pending', 'unknown']
/** Span draw order (and legend order): the life of a sidecar. */
const SPAN_STATES: SpanState[] = ['waiting_for_deps', 'starting', 'ready', 'unhealthy', 'backoff', 'paused', 'stopping', 'stopped', 'failed', 'skipped']

interface Colors {
  fg: string
  muted: string
  line: string
  card: string
  accent: string
  state: Record<ColorState, { fg: string; bg: string }>
}

// What styles.css says (light), for when it is not loaded (unit tests).
const OK = { fg: '#1f8a4c', bg: '#e3f4ea' }
const WARN = { fg: '#b7791f', bg: '#fdf2dc' }
const BAD = { fg: '#c0392b', bg: '#fbe4e1' }
const PLAIN = { fg: '#667085', bg: '#eef0f4' }
const FALLBACK: Colors = {
  fg: '#1d2230', muted: '#667085', line: '#dde1e8', card: '#ffffff', accent: '#2f5bd3',
  state: {
    ready: OK, starting: WARN, waiting_for_deps: WARN, backoff: WARN, stopping: WARN, unhealthy: BAD, failed: BAD,
    paused: { fg: '#2f5597', bg: '#e4ebf7' }, stopped: PLAIN, skipped: PLAIN, pending: PLAIN, unknown: PLAIN,
  },
}

/** The badge colours of each state and the page's colours, as the stylesheet has them now. */
function readColors(scheme: string): Colors {
  if (scheme === 'none') return FALLBACK
  const root = getComputedStyle(document.documentElement)
  const v = (name: string, fb: string) => root.getPropertyValue(name).trim() || fb
  const probe = document.createElement('span')
  document.body.appendChild(probe)
  probe.className = 'badge'
  const styled = !/^(rgba\(0, 0, 0, 0\)|transparent|)$/.test(getComputedStyle(probe).backgroundColor)
  const state = { ...FALLBACK.state }
  for (const s of styled ? STATES : []) {
    probe.className = `badge state-${s}`
    const cs = getComputedStyle(probe)
    state[s] = { fg: cs.color || state[s].fg, bg: cs.backgroundColor || state[s].bg }
  }
  probe.remove()
  const f = FALLBACK
  return { fg: v('--fg', f.fg), muted: v('--muted', f.muted), line: v('--line', f.line), card: v('--card', f.card), accent: v('--accent', f.accent), state }
}

// Re-read the colours when the system scheme or the page's theme attributes change.
const darkQuery = () => (typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null)
function subscribeScheme(cb: () => void): () => void {
  const q = darkQuery()
  q?.addEventListener('change', cb)
  const mo = new MutationObserver(cb)
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'data-theme', 'style'] })
  return () => {
    q?.removeEventListener('change', cb)
    mo.disconnect()
  }
}
const schemeSnapshot = () => {
  const el = document.documentElement
  return `${darkQuery()?.matches ? 'dark' : 'light'} ${el.className} ${el.dataset.theme ?? ''} ${el.getAttribute('style') ?? ''}`
}

/** How a state's span is filled: states that share a badge colour differ in fill and border. */
const SPAN_LOOK: Partial<Record<SpanState, { pale?: boolean; dash?: number[]; opacity?: number }>> = {
  waiting_for_deps: { pale: true, dash: [3, 2] },
  backoff: { pale: true },
  unhealthy: { opacity: 0.55 },
  stopping: { opacity: 0.55 },
  stopped: { opacity: 0.35 },
  skipped: { pale: true, dash: [1, 3] },
}
function spanStyle(s: SpanState, c: Colors) {
  const { fg, bg } = c.state[s]
  const look = SPAN_LOOK[s] ?? {}
  return { fill: look.pale ? bg : fg, stroke: look.pale ? fg : undefined, lineDash: look.dash, opacity: look.opacity ?? 1 }
}

// Exits above the span, restarts below it, what caused them on it: marks at one moment stay apart.
const MARK_LOOK: Record<MarkKind, { symbol: string; rotate?: number; tone: 'bad' | 'warn' | 'accent'; lane: -1 | 0 | 1 }> = {
  exited: { symbol: 'triangle', rotate: 180, tone: 'bad', lane: -1 },
  restarting: { symbol: 'circle', tone: 'accent', lane: 1 },
  kill_escalated: { symbol: 'diamond', tone: 'bad', lane: 0 },
  port_conflict: { symbol: 'rect', tone: 'warn', lane: 0 },
  startup_timeout: { symbol: 'triangle', tone: 'bad', lane: 0 },
  liveness_failed: { symbol: 'triangle', tone: 'bad', lane: 0 },
}

const tooltipLook = (c: Colors) => ({ confine: true, backgroundColor: c.card, borderColor: c.line, textStyle: { color: c.fg, fontSize: 12 } })
const label = (s: string) => s.replace(/_/g, ' ')
const clock = (t: number) => {
  const d = new Date(t)
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`
}
const ROW_H = 30

const renderSpan = (c: Colors, s: SpanState): CustomSeriesRenderItem => (params, api) => {
  const row = api.value(0)
  const a = api.coord([api.value(1), row])
  const b = api.coord([api.value(2), row])
  const h = Math.min(14, (api.size?.([0, 1]) as number[])[1] * 0.5)
  const box = params.coordSys as unknown as { x: number; y: number; width: number; height: number }
  const shape = graphic.clipRectByRect({ x: a[0], y: a[1] - h / 2, width: Math.max(b[0] - a[0], 1.5), height: h }, box)
  const { fill, stroke, lineDash, opacity } = spanStyle(s, c)
  return shape && { type: 'rect', shape: { ...shape, r: 2 }, style: { fill, stroke, lineDash, opacity } }
}

/** The span chart's option: one custom series per state, one scatter per mark kind. */
function spanOption(tl: Timeline, launch: Launch, end: number, c: Colors): EChartsCoreOption {
  const rowOf = new Map(tl.rows.map((r, i) => [r, i]))
  const since = (t: number) => `+${formatSpan(t - launch.start)}`
  const states = SPAN_STATES.filter((s) => tl.spans.some((x) => x.state === s))
  const marks = MARK_KINDS.filter((k) => tl.marks.some((m) => m.kind === k))
  const tone = { bad: c.state.failed.fg, warn: c.state.starting.fg, accent: c.accent }
  const nameWidth = Math.min(150, 16 + 7 * Math.max(4, ...tl.rows.map((r) => r.length)))
  return {
    animation: false,
    textStyle: { color: c.fg },
    // Room for the names (truncated beyond): the chart measures no text before it draws.
    grid: { left: nameWidth + 14, right: 16, top: 34, bottom: 56, outerBoundsMode: 'none' },
    legend: { type: 'scroll', top: 4, left: 8, right: 8, itemWidth: 14, itemHeight: 10, textStyle: { color: c.fg }, pageTextStyle: { color: c.muted } },
    tooltip: {
      ...tooltipLook(c),
      trigger: 'item',
      formatter: (p: { seriesName?: string; data?: unknown }) => {
        const d = p.data as (number | string)[] | { value: [number, number]; message: string }
        if (Array.isArray(d)) {
          const [r, a, b] = d as number[]
          return `<b>${escapeHtml(tl.rows[r])}</b>: ${escapeHtml(p.seriesName ?? '')}<br>${clock(a)} → ${clock(b)} (${formatSpan(b - a)})<br>${since(a)} after the launch`
        }
        const [t, r] = d.value
        return `<b>${escapeHtml(tl.rows[r])}</b>: ${escapeHtml(p.seriesName ?? '')} at ${clock(t)} (${since(t)})<br>${escapeHtml(d.message)}`
      },
    },
    xAxis: {
      type: 'time',
      min: launch.start,
      max: Math.max(end, launch.start + 1000),
      axisLabel: { color: c.muted, hideOverlap: true },
      axisLine: { lineStyle: { color: c.line } },
      splitLine: { show: true, lineStyle: { color: c.line, opacity: 0.6 } },
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: tl.rows,
      axisLabel: { color: c.fg, width: nameWidth, overflow: 'truncate' },
      axisLine: { lineStyle: { color: c.line } },
      axisTick: { show: false },
    },
    dataZoom: [
      // The wheel scrolls the view; ctrl+wheel (a pinch) zooms, a drag pans.
      { type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter', zoomOnMouseWheel: 'ctrl', moveOnMouseWheel: false },
      {
        type: 'slider', xAxisIndex: 0, filterMode: 'weakFilter', height: 18, bottom: 6, showDetail: false,
        borderColor: c.line, textStyle: { color: c.muted }, fillerColor: 'rgba(47, 91, 211, 0.15)',
      },
    ],
    series: [
      ...states.map((s) => ({
        type: 'custom',
        name: label(s),
        renderItem: renderSpan(c, s),
        itemStyle: { color: spanStyle(s, c).fill, borderColor: c.state[s].fg },
        encode: { x: [1, 2], y: 0 },
        data: tl.spans.filter((x) => x.state === s).map((x) => [rowOf.get(x.sidecar)!, x.start, x.end]),
        z: 2,
      })),
      ...marks.map((k) => ({
        type: 'scatter',
        name: label(k),
        symbol: MARK_LOOK[k].symbol,
        symbolRotate: MARK_LOOK[k].rotate ?? 0,
        symbolSize: 10,
        symbolOffset: [0, MARK_LOOK[k].lane * 10],
        itemStyle: { color: tone[MARK_LOOK[k].tone], borderColor: c.card, borderWidth: 1 },
        data: tl.marks.filter((m) => m.kind === k).map((m) => ({ value: [m.at, rowOf.get(m.sidecar)!], message: m.message })),
        z: 3,
      })),
    ],
  }
}

function graphOption(nodes: GraphNode[], edges: ReturnType<typeof dependencyGraph>['edges'], chain: string[], c: Colors): EChartsCoreOption {
  return {
    animation: false,
    tooltip: {
      ...tooltipLook(c),
      formatter: (p: { dataType?: string; data?: { name?: string; state?: string; source?: string; target?: string } }) =>
        p.dataType === 'edge'
          ? `${escapeHtml(p.data?.target ?? '')} waits for ${escapeHtml(p.data?.source ?? '')}`
          : `<b>${escapeHtml(p.data?.name ?? '')}</b>: ${escapeHtml(label(p.data?.state ?? ''))}`,
    },
    series: [
      {
        type: 'graph',
        layout: 'none',
        roam: false,
        left: 80, right: 80, top: 20, bottom: 34,
        symbol: 'circle',
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 9,
        lineStyle: { curveness: 0.12 },
        label: { show: true, position: 'bottom', distance: 4, fontSize: 12, width: 140, overflow: 'truncate' },
        data: nodes.map((n) => ({
          name: n.name,
          x: n.x,
          y: n.y,
          state: n.state,
          symbolSize: chain.includes(n.name) ? 22 : 16,
          itemStyle: { color: c.state[n.state].fg, borderColor: chain.includes(n.name) ? c.accent : c.card, borderWidth: 2 },
          label: { color: c.fg, fontWeight: chain.includes(n.name) ? 'bold' : 'normal', formatter: n.instances > 1 ? `${n.name} ×${n.instances}` : n.name },
        })),
        links: edges.map((e) => ({ ...e, lineStyle: { color: e.critical ? c.accent : c.muted, width: e.critical ? 2.5 : 1.2, opacity: 0.9, curveness: 0.12 } })),
      },
    ],
  }
}

type Chart = ReturnType<typeof init>
const size = (el: HTMLElement) => ({ width: el.clientWidth || 720, height: el.clientHeight || Number.parseFloat(el.style.height) || 240 })

/** One ECharts instance in a div (SVG); `zoom` (its `n` counts the requests) zooms the time axis. */
function EChart({ option, height, label: name, zoom }: { option: EChartsCoreOption; height: number; label: string; zoom?: { n: number; from?: number; to?: number } }) {
  const host = useRef<HTMLDivElement>(null)
  const chart = useRef<Chart | null>(null)
  useEffect(() => {
    const el = host.current!
    const c = init(el, null, { renderer: 'svg', ...size(el) })
    chart.current = c
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => c.resize(size(el))) : null
    ro?.observe(el)
    return () => {
      ro?.disconnect()
      c.dispose()
      chart.current = null
    }
  }, [])
  useEffect(() => {
    if (host.current) chart.current?.resize(size(host.current))
  }, [height])
  useEffect(() => {
    chart.current?.setOption(option, { replaceMerge: ['series'] })
  }, [option])
  useEffect(() => {
    if (!zoom?.n) return
    chart.current?.dispatchAction(zoom.from === undefined ? { type: 'dataZoom', start: 0, end: 100 } : { type: 'dataZoom', startValue: zoom.from, endValue: zoom.to })
  }, [zoom])
  return <div ref={host} className="timeline-canvas" style={{ height }} role="img" aria-label={name} />
}

export function TimelineView({ events, sidecars, now }: TimelineViewProps) {
  const launches = useMemo(() => splitLaunches(events), [events])
  const [picked, setPicked] = useState<number | null>(null) // the first seq of a launch; null: the latest
  const launch = launches.find((l) => l.events[0].seq === picked) ?? launches[launches.length - 1]
  const latest = launch === launches[launches.length - 1]
  const scheme = useSyncExternalStore(subscribeScheme, schemeSnapshot, () => 'none')
  const colors = useMemo(() => readColors(scheme), [scheme])
  const [zoom, setZoom] = useState<{ n: number; from?: number; to?: number }>({ n: 0 })

  const deps = useMemo(() => dependencyMap(sidecars), [sidecars])
  const instances = useMemo(() => (latest ? sidecars.map((s) => s.name) : []), [latest, sidecars])
  const end = launch ? launchEnd(launch, now) : now
  const tl = useMemo(() => (launch ? deriveTimeline(launch, end, deps, instances) : { rows: instances, spans: [], marks: [] }), [launch, end, deps, instances])
  const rows = useMemo(() => (launch ? startupRows(launch, tl.rows, deps) : []), [launch, tl.rows, deps])
  const chain = useMemo(() => criticalChain(rows, deps), [rows, deps])
  const chainKey = chain.map((r) => r.sidecar).join('\n') // the chain, not a new array each tick
  const chainNames = useMemo(() => (chainKey ? chainKey.split('\n') : []), [chainKey])
  const graph = useMemo(() => dependencyGraph(sidecars, chainNames), [sidecars, chainNames])
  const spans = useMemo(() => (launch && tl.rows.length ? spanOption(tl, launch, end, colors) : null), [tl, launch, end, colors])
  const graphOpt = useMemo(() => graphOption(graph.nodes, graph.edges, chainNames.map(baseName), colors), [graph, chainNames, colors])
  const layers = Math.max(1, ...graph.nodes.map((n) => graph.nodes.filter((m) => m.depth === n.depth).length))
  const lastReady = Math.max(...rows.map((r) => r.readyAt ?? 0))

  return (
    <section className="timeline" aria-label="Timeline">
      <div className="timeline-bar">
        <h3>Timeline</h3>
        <span className="about muted">ctrl+wheel or the slider zooms; drag pans</span>
        {launches.length > 1 && (
          <select aria-label="Launch" value={launch?.events[0].seq ?? ''} onChange={(e) => setPicked(Number(e.target.value))}>
            {launches.map((l, i) => (
              <option key={l.events[0].seq} value={l.events[0].seq}>
                Launch {i + 1} · {new Date(l.start).toLocaleString(undefined, { hour12: false })}
                {l.end === null ? ' (running)' : ''}
              </option>
            ))}
          </select>
        )}
        <span className="spacer" />
        <button type="button" disabled={!spans || lastReady <= 0} onClick={() => setZoom((z) => ({ n: z.n + 1, from: launch!.start, to: launch!.start + lastReady * 1.15 + 200 }))}>
          Zoom to startup
        </button>
        <button type="button" disabled={!spans} onClick={() => setZoom((z) => ({ n: z.n + 1 }))}>
          Whole launch
        </button>
      </div>
      <div className="timeline-chart" data-testid="timeline-chart">
        {spans ? (
          <EChart option={spans} height={86 + tl.rows.length * ROW_H} label="Sidecar states over time" zoom={zoom} />
        ) : (
          <p className="empty">No sidecar events in the feed yet.</p>
        )}
      </div>
      <ul className="timeline-sr-only" data-testid="timeline-spans" aria-label="State spans">
        {tl.spans.map((s, i) => (
          <li key={i} data-sidecar={s.sidecar} data-state={s.state} data-start={s.start} data-end={s.end}>
            {s.sidecar} {label(s.state)} from {clock(s.start)} for {formatSpan(s.end - s.start)}
            {s.open ? ' (now)' : ''}
          </li>
        ))}
      </ul>
      <ul className="timeline-sr-only" data-testid="timeline-marks" aria-label="Exits and restarts">
        {tl.marks.map((m, i) => (
          <li key={i} data-sidecar={m.sidecar} data-mark={m.kind} data-at={m.at}>
            {m.sidecar} {label(m.kind)} at {clock(m.at)}: {m.message}
          </li>
        ))}
      </ul>
      <div className="timeline-lower">
        <section className="timeline-chain" data-testid="critical-chain" aria-label="Startup critical chain">
          <h4>Startup critical chain</h4>
          <p className="about muted">@ launched, after the app started · + from launch to ready</p>
          {chain.length ? (
            <ol className="chain-tree mono">
              {chain.map((r, i) => (
                <li key={r.sidecar} data-sidecar={r.sidecar} style={{ paddingLeft: `${Math.max(0, i - 1) * 2}ch` }}>
                  {i ? '└─' : ''}
                  {chainLine(r)}
                </li>
              ))}
            </ol>
          ) : (
            <p className="empty">No sidecar became ready in this launch.</p>
          )}
          <table className="chain-table">
            <thead>
              <tr><th>Sidecar</th><th title="From the app's start to its launch">Waited</th><th title="From its launch to ready">Startup</th><th>Waited for</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.sidecar} className={chainNames.includes(r.sidecar) ? 'on-chain' : undefined} data-on-chain={chainNames.includes(r.sidecar)}>
                  <td>{r.sidecar}</td>
                  <td>{r.waited !== undefined ? formatSpan(r.waited) : '—'}</td>
                  <td>{r.startup !== undefined ? formatSpan(r.startup) : r.launchedAt !== undefined ? 'not ready' : '—'}</td>
                  <td>{r.waitedFor.map((d) => `${d.name} ${d.readyAt !== undefined ? `ready @${formatSpan(d.readyAt)}` : '(not ready)'}`).join(', ') || 'nothing'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="timeline-graph" data-testid="dependency-graph" aria-label="Dependency graph">
          <h4>Dependencies</h4>
          <p className="about muted">Arrows run from a dependency to the sidecar that waits for it; colours are the current states; the critical chain is outlined.</p>
          {graph.nodes.length ? (
            <EChart option={graphOpt} height={Math.min(340, 60 + layers * 62)} label="Dependency graph of the profile" />
          ) : (
            <p className="empty">No sidecars.</p>
          )}
        </section>
      </div>
    </section>
  )
}

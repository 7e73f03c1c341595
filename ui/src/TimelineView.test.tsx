// The Timeline view renders its three parts from the feed and the status rows: the span chart
// (ECharts, SVG, drawn into jsdom), the critical chain and the dependency graph.
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { getInstanceByDom } from 'echarts/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { row, T0, timedEvents, withState } from './test-fixtures'
import { TimelineView } from './TimelineView'

/** An event `ms` after T0. */
const e = timedEvents()

const events = [
  // an earlier launch
  e(-60_000, 'runtime_started'),
  e(-59_900, 'spawned', 'db'),
  e(-59_000, 'failed', 'db', 'db failed <badly>'),
  e(-58_000, 'runtime_stopped'),
  // the latest
  e(0, 'runtime_started'),
  e(50, 'spawned', 'db'),
  e(300, 'ready', 'db'),
  e(320, 'spawned', 'backend'),
  e(900, 'ready', 'backend'),
  e(920, 'spawned', 'worker#1'),
  e(930, 'spawned', 'worker#2'),
  e(1100, 'ready', 'worker#1'),
  e(1400, 'ready', 'worker#2'),
  e(2000, 'exited', 'worker#1', 'exited with code 1'),
  e(2000, 'restarting', 'worker#1', 'crash loop: restarting in 200 ms'),
  e(2200, 'spawned', 'worker#1'),
  e(2300, 'ready', 'worker#1'),
]
const sidecars = [
  row('db'),
  row('backend', { depends_on: ['db'] }),
  row('worker#1', { depends_on: ['backend'] }),
  row('worker#2', { depends_on: ['backend'], state: 'unhealthy' }),
]

beforeEach(() => {
  // jsdom has no canvas: ECharts then measures text by its built-in table.
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null)
})
afterEach(() => {
  cleanup()
  vi.restoreAllMocks()
})

const spans = (sidecar: string, state?: string) =>
  screen.getByTestId('timeline-spans').querySelectorAll(`li[data-sidecar="${sidecar}"]${state ? `[data-state="${state}"]` : ''}`)

describe('TimelineView', () => {
  it('draws every sidecar of the latest launch as spans and marks in an SVG chart', () => {
    render(<TimelineView events={events} sidecars={sidecars} now={T0 + 5000} />)
    const chart = screen.getByTestId('timeline-chart')
    const svg = chart.querySelector('svg')!
    expect(svg).not.toBeNull()
    const text = [...svg.querySelectorAll('text')].map((t) => t.textContent)
    for (const name of ['db', 'backend', 'worker#1', 'worker#2']) expect(text).toContain(name)
    expect(text).toEqual(expect.arrayContaining(['starting', 'ready', 'backoff', 'waiting for deps', 'exited', 'restarting'])) // the legend
    expect(svg.querySelectorAll('path').length).toBeGreaterThan(10) // spans, marks, axes
    expect(spans('db')).toHaveLength(2)
    expect(spans('worker#1', 'ready')).toHaveLength(2)
    expect(spans('worker#1', 'backoff')).toHaveLength(1)
    expect(spans('worker#1', 'waiting_for_deps')).toHaveLength(1)
    expect(spans('db', 'failed')).toHaveLength(0) // that was the earlier launch
    const marks = screen.getByTestId('timeline-marks').querySelectorAll('li')
    expect([...marks].map((m) => `${m.dataset.sidecar} ${m.dataset.mark}`)).toEqual(['worker#1 exited', 'worker#1 restarting'])
  })

  it('shows the critical chain like systemd-analyze, highlighted in the table', () => {
    render(<TimelineView events={events} sidecars={sidecars} now={T0 + 5000} />)
    const chain = screen.getByTestId('critical-chain')
    const lines = [...chain.querySelectorAll('.chain-tree li')].map((l) => l.textContent)
    expect(lines).toEqual(['worker#2 @0.93s +0.47s', '└─backend @0.32s +0.58s', '└─db @0.05s +0.25s'])
    const onChain = [...chain.querySelectorAll('tr.on-chain td:first-child')].map((c) => c.textContent)
    expect(onChain).toEqual(['db', 'backend', 'worker#2'])
    expect(within(chain).getAllByText('backend ready @0.90s')).toHaveLength(2) // what each worker waited for
  })

  it('lays out the dependency graph with replicas together', () => {
    render(<TimelineView events={events} sidecars={sidecars} now={T0 + 5000} />)
    const svg = screen.getByTestId('dependency-graph').querySelector('svg')!
    const text = [...svg.querySelectorAll('text')].map((t) => t.textContent)
    expect(text).toEqual(expect.arrayContaining(['db', 'backend', 'worker ×2']))
    expect(svg.querySelectorAll('path').length).toBeGreaterThanOrEqual(2 + 3) // two edges, three nodes
  })

  it('follows now while the launch runs, picks an earlier launch, and zooms', () => {
    const { rerender } = render(<TimelineView events={events} sidecars={sidecars} now={T0 + 5000} />)
    expect(spans('db', 'ready')[0].getAttribute('data-end')).toBe(String(T0 + 5000))
    rerender(<TimelineView events={events} sidecars={sidecars} now={T0 + 9000} />)
    expect(spans('db', 'ready')[0].getAttribute('data-end')).toBe(String(T0 + 9000))
    const chart = getInstanceByDom(screen.getByRole('img', { name: 'Sidecar states over time' }))!
    const zoomed = () => {
      const z = (chart.getOption().dataZoom as { startValue: number; endValue: number }[])[0]
      return [z.startValue - T0, z.endValue - T0]
    }
    expect(zoomed()).toEqual([0, 9000])
    fireEvent.click(screen.getByRole('button', { name: 'Zoom to startup' }))
    expect(zoomed()).toEqual([0, 1810]) // the last first-ready (1.4 s) and a margin
    rerender(<TimelineView events={events} sidecars={sidecars} now={T0 + 10_000} />)
    expect(zoomed()).toEqual([0, 1810]) // the next tick keeps the zoom
    fireEvent.click(screen.getByRole('button', { name: 'Whole launch' }))
    expect(zoomed()).toEqual([0, 10_000])

    const launch = screen.getByLabelText('Launch') as HTMLSelectElement
    expect(launch.options).toHaveLength(2)
    fireEvent.change(launch, { target: { value: launch.options[0].value } })
    expect(spans('db', 'failed')).toHaveLength(1)
    expect(spans('backend')).toHaveLength(0) // only what that launch's feed had
    expect(screen.getByTestId('timeline-spans').textContent).toContain('db failed from')
    expect(screen.getByTestId('critical-chain').textContent).toContain('No sidecar became ready in this launch.')
  })

  it('paints spans in the colours of the state badges the stylesheet has', () => {
    const css = document.createElement('style')
    css.textContent = '.badge { background: #eef0f4; color: #667085 } .badge.state-ready { background: #102030; color: #0a7b3c }'
    document.head.appendChild(css)
    try {
      render(<TimelineView events={events} sidecars={sidecars} now={T0 + 5000} />)
      const fills = [...screen.getByTestId('timeline-chart').querySelectorAll('path')].map((p) => p.getAttribute('fill'))
      expect(fills).toContain('rgb(10, 123, 60)') // ready, as .badge.state-ready says
      expect(fills).toContain('rgb(238, 240, 244)') // waiting_for_deps: pale, the plain badge's background here
      expect(fills).not.toContain('#1f8a4c') // not the built-in ready
    } finally {
      css.remove()
    }
  })

  it('draws a sidecar this mode does not run as skipped, from its event', () => {
    const slim = [
      e(10_000, 'runtime_started'),
      withState(e(10_002, 'skipped', 'database', 'not run in remote_slim mode'), 'skipped'),
      withState(e(10_003, 'starting', 'backend', 'probing the remote backend'), 'starting'),
      withState(e(10_400, 'ready', 'backend'), 'ready'),
    ]
    const rows = [row('database', { state: 'skipped', pid: null }), row('backend', { depends_on: ['database'] })]
    render(<TimelineView events={slim} sidecars={rows} now={T0 + 12_000} />)
    expect(spans('database')).toHaveLength(1)
    expect(spans('database', 'skipped')).toHaveLength(1)
    expect(spans('backend', 'waiting_for_deps')).toHaveLength(0) // the events say when it started
    const text = [...screen.getByTestId('timeline-chart').querySelectorAll('svg text')].map((t) => t.textContent)
    expect(text).toContain('skipped') // the legend
  })

  it('says so when the feed is empty', () => {
    render(<TimelineView events={[]} sidecars={[]} now={T0} />)
    expect(screen.getByTestId('timeline-chart').textContent).toBe('No sidecar events in the feed yet.')
    expect(screen.getByTestId('dependency-graph').textContent).toContain('No sidecars.')
    expect((screen.getByRole('button', { name: 'Zoom to startup' }) as HTMLButtonElement).disabled).toBe(true)
  })
})

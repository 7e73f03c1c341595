// The Timeline view's logic: launches, state spans and marks from the feed, the startup critical
// chain and the dependency graph's layout (timeline.ts).
import type { RuntimeEvent } from 'sidecar-supervisor-api'
import { describe, expect, it } from 'vitest'
import { row, T0, timedEvents, withState } from './test-fixtures'
import {
  baseName,
  carriesStates,
  chainLine,
  criticalChain,
  dependencyGraph,
  dependencyMap,
  deriveTimeline,
  escapeHtml,
  formatSpan,
  launchEnd,
  LAYER_GAP,
  ROW_GAP,
  splitLaunches,
  startupRows,
  type Launch,
} from './timeline'

/** An event `ms` after T0. */
const e = timedEvents()
const launchOf = (...events: RuntimeEvent[]): Launch => splitLaunches([e(0, 'runtime_started'), ...events])[0]
/** `state start-end` of each span of one sidecar, times in ms after T0. */
const spansOf = (launch: Launch, name: string, end = 10_000, deps: Record<string, string[]> = {}, rows: string[] = []) =>
  deriveTimeline(launch, T0 + end, deps, rows)
    .spans.filter((s) => s.sidecar === name)
    .map((s) => `${s.state} ${s.start - T0}-${s.end - T0}${s.open ? ' open' : ''}`)

describe('launches', () => {
  it('splits the feed at each runtime_started; a launch ends at runtime_stopped, or at its last event', () => {
    const ls = splitLaunches([
      e(0, 'spawned', 'db'), // before the first runtime_started: the feed was trimmed
      e(10, 'runtime_started'),
      e(20, 'spawned', 'db'),
      e(30, 'runtime_stopped'),
      e(100, 'runtime_started'),
      e(150, 'spawned', 'db'), // the app died: no runtime_stopped
      e(500, 'runtime_started'),
      e(600, 'ready', 'db'),
    ])
    expect(ls.map((l) => [l.index, l.start - T0, l.end === null ? null : l.end - T0, l.events.length])).toEqual([
      [0, 0, 0, 1],
      [1, 10, 30, 3],
      [2, 100, 150, 2],
      [3, 500, null, 2],
    ])
    expect(splitLaunches([])).toEqual([])
  })

  it('a running launch is viewed until now, never before its last event', () => {
    const l = launchOf(e(800, 'spawned', 'db'))
    expect(launchEnd(l, T0 + 5000)).toBe(T0 + 5000)
    expect(launchEnd(l, T0 + 100)).toBe(T0 + 800)
    expect(launchEnd({ ...l, end: T0 + 900 }, T0 + 5000)).toBe(T0 + 900)
  })
})

describe('state spans', () => {
  it('spawned → starting, ready → ready (open until now); dependents wait from the launch start', () => {
    const l = launchOf(e(100, 'spawned', 'backend'), e(500, 'ready', 'backend'), e(600, 'spawned', 'ui'), e(900, 'ready', 'ui'))
    const deps = { ui: ['backend'], backend: [] }
    expect(spansOf(l, 'backend', 10_000, deps)).toEqual(['starting 100-500', 'ready 500-10000 open'])
    expect(spansOf(l, 'ui', 10_000, deps)).toEqual(['waiting_for_deps 0-600', 'starting 600-900', 'ready 900-10000 open'])
  })

  it('a crash: the exit and the restart are marks, backoff lasts until the next spawn', () => {
    const l = launchOf(
      e(100, 'spawned', 'api'),
      e(200, 'ready', 'api'),
      e(1000, 'exited', 'api', 'exited with code 1'),
      e(1000, 'restarting', 'api', 'crash loop: restarting in 500 ms'),
      e(1500, 'spawned', 'api'),
      e(1600, 'ready', 'api'),
    )
    expect(spansOf(l, 'api')).toEqual(['starting 100-200', 'ready 200-1000', 'backoff 1000-1500', 'starting 1500-1600', 'ready 1600-10000 open'])
    const marks = deriveTimeline(l, T0 + 10_000).marks
    expect(marks.map((m) => `${m.kind} ${m.at - T0} ${m.message}`)).toEqual([
      'exited 1000 exited with code 1',
      'restarting 1000 crash loop: restarting in 500 ms',
    ])
  })

  it('an immediate restart (a crash after min_uptime, a kill -9) goes straight to starting: the events say so', () => {
    // As the engine sends them: every event that changes a state carries the state it leads to.
    const s = (ev: RuntimeEvent, state: RuntimeEvent['state']): RuntimeEvent => ({ ...ev, state })
    const l = launchOf(
      s(e(100, 'starting', 'backend'), 'starting'),
      e(110, 'spawned', 'backend'),
      s(e(200, 'ready', 'backend'), 'ready'),
      e(1000, 'exited', 'backend', 'killed by SIGKILL'),
      s(e(1000, 'restarting', 'backend', 'restarting at once (restart 1 of 6 in the window)'), 'starting'),
      e(1001, 'spawned', 'backend'),
      s(e(1100, 'ready', 'backend'), 'ready'),
    )
    expect(spansOf(l, 'backend')).toEqual(['starting 100-200', 'ready 200-1000', 'starting 1000-1100', 'ready 1100-10000 open'])
  })

  it('a crash loop: restarting carries backoff, and a starting event (the backoff is over) ends it', () => {
    const s = withState
    const l = launchOf(
      s(e(100, 'starting', 'api'), 'starting'),
      e(110, 'spawned', 'api'),
      s(e(200, 'ready', 'api'), 'ready'),
      e(1000, 'exited', 'api', 'exited with code 1'),
      s(e(1000, 'restarting', 'api', 'crash loop: restarting in 500 ms'), 'backoff'),
      s(e(1500, 'starting', 'api', 'the backoff is over: starting'), 'starting'),
      e(1510, 'spawned', 'api'), // carries no state: changes nothing
      s(e(1600, 'ready', 'api'), 'ready'),
    )
    expect(spansOf(l, 'api')).toEqual(['starting 100-200', 'ready 200-1000', 'backoff 1000-1500', 'starting 1500-1600', 'ready 1600-10000 open'])
    expect(deriveTimeline(l, T0 + 10_000).marks.map((m) => `${m.kind} ${m.at - T0}`)).toEqual(['exited 1000', 'restarting 1000'])
  })

  it('waiting leads to waiting_for_deps from its event, and starting ends it when the dependencies are up', () => {
    const s = withState
    const l = launchOf(
      s(e(5, 'starting', 'backend'), 'starting'),
      s(e(6, 'waiting', 'ui', 'waiting for its dependencies'), 'waiting_for_deps'),
      s(e(500, 'ready', 'backend'), 'ready'),
      s(e(500, 'starting', 'ui', 'its dependencies are up: starting'), 'starting'),
      e(510, 'spawned', 'ui'),
      s(e(900, 'ready', 'ui'), 'ready'),
    )
    const deps = { ui: ['backend'], backend: [] }
    // From the event on, not from the launch's start: the events say when it began to wait.
    expect(spansOf(l, 'ui', 10_000, deps)).toEqual(['waiting_for_deps 6-500', 'starting 500-900', 'ready 900-10000 open'])
    expect(spansOf(l, 'backend', 10_000, deps)).toEqual(['starting 5-500', 'ready 500-10000 open'])
  })

  it('a sidecar this mode does not run (remote_slim\'s database) is drawn skipped', () => {
    const s = withState
    const l = launchOf(
      s(e(2, 'skipped', 'database', 'not run in remote_slim mode'), 'skipped'),
      s(e(3, 'starting', 'backend', 'probing the remote backend'), 'starting'),
      s(e(400, 'ready', 'backend'), 'ready'),
    )
    const deps = { database: [], backend: [], worker: ['backend'] }
    expect(spansOf(l, 'database', 10_000, deps)).toEqual(['skipped 2-10000 open'])
    // A launch with states draws only what its events say: no wait is made up for a row without events.
    expect(spansOf(l, 'worker#1', 10_000, deps, ['database', 'backend', 'worker#1'])).toEqual([])
    expect(deriveTimeline(l, T0 + 10_000, deps).marks).toEqual([])
  })

  it('resumed leads to the state it carries, whatever its message and whether the pause was seen', () => {
    const s = withState
    const l = launchOf(
      s(e(100, 'starting', 'a'), 'starting'),
      s(e(200, 'ready', 'a'), 'ready'),
      s(e(300, 'unhealthy', 'a'), 'unhealthy'),
      s(e(400, 'paused', 'a'), 'paused'),
      s(e(800, 'resumed', 'a', 'resumed (ready)'), 'unhealthy'), // the state, not the message
      s(e(900, 'recovered', 'a'), 'ready'),
      s(e(1000, 'resumed', 'b', 'resumed'), 'starting'), // paused before the view began
    )
    expect(spansOf(l, 'a')).toEqual(['starting 100-200', 'ready 200-300', 'unhealthy 300-400', 'paused 400-800', 'unhealthy 800-900', 'ready 900-10000 open'])
    expect(spansOf(l, 'b')).toEqual(['starting 1000-10000 open'])
  })

  it('events without states (an older version\'s launch) fall back to their kinds; a launch with states never does', () => {
    const s = withState
    const feed = splitLaunches([
      // written by an older version: no states
      e(0, 'runtime_started'),
      e(100, 'spawned', 'api'),
      e(200, 'ready', 'api'),
      e(1000, 'exited', 'api', 'killed by SIGKILL'),
      e(1000, 'restarting', 'api', 'restarting at once'),
      e(1001, 'spawned', 'api'),
      e(1100, 'ready', 'api'),
      e(1500, 'resumed', 'api', 'resumed (unhealthy)'), // no pause seen: ready, the message is not read
      e(2000, 'exited', 'api'), // the last event: the app quit in between
      e(3000, 'runtime_stopped'),
      // written now: the same kinds, with states
      e(5000, 'runtime_started'),
      s(e(5100, 'starting', 'api'), 'starting'),
      e(5110, 'spawned', 'api'),
      s(e(5200, 'ready', 'api'), 'ready'),
      e(6000, 'exited', 'api', 'killed by SIGKILL'),
      s(e(6000, 'restarting', 'api', 'restarting at once'), 'starting'),
      e(6001, 'spawned', 'api'),
      s(e(6100, 'ready', 'api'), 'ready'),
      e(7000, 'exited', 'api'), // carries no state: nothing is inferred from it
    ])
    expect(feed.map(carriesStates)).toEqual([false, true])
    const spans = (i: number) =>
      deriveTimeline(feed[i], launchEnd(feed[i], T0 + 9000)).spans.map((x) => `${x.state} ${x.start - T0}-${x.end - T0}`)
    expect(spans(0)).toEqual(['starting 100-200', 'ready 200-1000', 'backoff 1000-1001', 'starting 1001-1100', 'ready 1100-2000', 'stopped 2000-3000'])
    expect(spans(1)).toEqual(['starting 5100-5200', 'ready 5200-6000', 'starting 6000-6100', 'ready 6100-9000'])
  })

  it('startup timeout and spent budget end failed; unhealthy and recovered; stopping and stopped', () => {
    const l = launchOf(
      e(100, 'spawned', 'a'),
      e(5100, 'startup_timeout', 'a'),
      e(5150, 'exited', 'a'),
      e(5150, 'failed', 'a'),
      e(100, 'spawned', 'b'),
      e(300, 'ready', 'b'),
      e(2000, 'unhealthy', 'b'),
      e(2500, 'recovered', 'b'),
      e(3000, 'liveness_failed', 'b'),
      e(3010, 'exited', 'b'),
      e(3010, 'budget_exhausted', 'b'),
      e(100, 'spawned', 'c'),
      e(150, 'ready', 'c'),
      e(4000, 'stopping', 'c'),
      e(4100, 'kill_escalated', 'c'),
      e(4200, 'stopped', 'c'),
    )
    expect(spansOf(l, 'a')).toEqual(['starting 100-5150', 'failed 5150-10000 open'])
    expect(spansOf(l, 'b')).toEqual(['starting 100-300', 'ready 300-2000', 'unhealthy 2000-2500', 'ready 2500-3010', 'failed 3010-10000 open'])
    expect(spansOf(l, 'c')).toEqual(['starting 100-150', 'ready 150-4000', 'stopping 4000-4200', 'stopped 4200-10000 open'])
    expect(deriveTimeline(l, T0 + 10_000).marks.map((m) => `${m.sidecar} ${m.kind}`)).toEqual([
      'a startup_timeout',
      'a exited',
      'b liveness_failed',
      'b exited',
      'c kill_escalated',
    ])
  })

  it('a port conflict re-spawns at once: starting stays, a mark says why', () => {
    const l = launchOf(e(100, 'spawned', 'api'), e(150, 'exited', 'api'), e(150, 'port_conflict', 'api'), e(160, 'spawned', 'api'))
    expect(spansOf(l, 'api')).toEqual(['starting 100-10000 open'])
    expect(deriveTimeline(l, T0 + 10_000).marks.map((m) => m.kind)).toEqual(['exited', 'port_conflict'])
  })

  it('an exit that is the last event (the app quit in between) is stopped from the exit on', () => {
    const l = launchOf(e(100, 'spawned', 'api'), e(200, 'ready', 'api'), e(700, 'exited', 'api'), e(700, 'command', 'api'))
    expect(spansOf(l, 'api')).toEqual(['starting 100-200', 'ready 200-700', 'stopped 700-10000 open'])
  })

  it('resumed returns to the state it was paused from', () => {
    const l = launchOf(
      e(100, 'spawned', 'a'),
      e(200, 'paused', 'a'),
      e(300, 'resumed', 'a', 'resumed (starting)'),
      e(400, 'ready', 'a'),
      e(500, 'paused', 'a'),
      e(900, 'resumed', 'a', 'resumed (ready)'),
      e(1000, 'resumed', 'b', 'resumed (unhealthy)'), // paused before the view began
    )
    expect(spansOf(l, 'a')).toEqual(['starting 100-200', 'paused 200-300', 'starting 300-400', 'ready 400-500', 'paused 500-900', 'ready 900-10000 open'])
    // Its message is never read (only an event's `state` says more): ready.
    expect(spansOf(l, 'b')).toEqual(['ready 1000-10000 open'])
  })

  it('replicas are rows of their own; a status row without events waits while its dependency does not come', () => {
    const l = launchOf(e(100, 'spawned', 'worker#2'), e(120, 'spawned', 'worker#1'), e(300, 'ready', 'worker#1'), e(150, 'prepared', 'db'))
    const tl = deriveTimeline(l, T0 + 1000, { ui: ['worker'] }, ['ui', 'worker#1'])
    expect(tl.rows).toEqual(['ui', 'worker#1', 'worker#2', 'db'])
    expect(spansOf(l, 'ui', 1000, { ui: ['worker'] }, ['ui'])).toEqual(['waiting_for_deps 0-1000 open'])
    expect(spansOf(l, 'worker#1', 1000)).toEqual(['starting 120-300', 'ready 300-1000 open'])
    expect(spansOf(l, 'db', 1000)).toEqual(['starting 150-1000 open'])
  })

  it('an ended launch closes its spans at its end, not now; events without a sidecar change no row', () => {
    const ls = splitLaunches([e(0, 'runtime_started'), e(100, 'spawned', 'db'), e(900, 'stopped', 'db'), e(950, 'runtime_stopped'), e(5000, 'runtime_started')])
    const tl = deriveTimeline(ls[0], launchEnd(ls[0], T0 + 99_999))
    expect(tl.rows).toEqual(['db'])
    expect(tl.spans.map((s) => [s.state, s.end - T0, s.open])).toEqual([
      ['starting', 900, false],
      ['stopped', 950, false],
    ])
  })
})

// db ← backend ← {frontend, worker×2} ← ui
const startup = () =>
  launchOf(
    e(50, 'spawned', 'db'),
    e(300, 'ready', 'db'),
    e(320, 'spawned', 'backend'),
    e(900, 'ready', 'backend'),
    e(910, 'spawned', 'frontend'),
    e(920, 'spawned', 'worker#1'),
    e(930, 'spawned', 'worker#2'),
    e(1000, 'ready', 'frontend'),
    e(1100, 'ready', 'worker#1'),
    e(1400, 'ready', 'worker#2'),
    e(1410, 'spawned', 'ui'),
    e(1600, 'ready', 'ui'),
    e(3000, 'exited', 'db'), // later restarts do not count
    e(3000, 'restarting', 'db'),
    e(3100, 'spawned', 'db'),
    e(3200, 'ready', 'db'),
  )
const DEPS = { db: [], backend: ['db'], frontend: ['backend'], worker: ['backend'], ui: ['worker', 'frontend'] }
const ROWS = ['db', 'backend', 'frontend', 'worker#1', 'worker#2', 'ui']

describe('startup and the critical chain', () => {
  it('each instance: waited until launched, startup until first ready, and when its dependencies were ready', () => {
    const rows = startupRows(startup(), ROWS, DEPS)
    const ui = rows.find((r) => r.sidecar === 'ui')!
    expect(ui).toEqual({
      sidecar: 'ui',
      launchedAt: 1410,
      readyAt: 1600,
      waited: 1410,
      startup: 190,
      waitedFor: [
        { name: 'worker', readyAt: 1400 }, // its last replica
        { name: 'frontend', readyAt: 1000 },
      ],
    })
    expect(rows.find((r) => r.sidecar === 'db')).toMatchObject({ launchedAt: 50, readyAt: 300, startup: 250, waitedFor: [] })
  })

  it('a dependency with a replica never ready has no ready time; a sidecar never ready has no startup', () => {
    const l = launchOf(e(10, 'spawned', 'worker#1'), e(20, 'ready', 'worker#1'), e(30, 'spawned', 'worker#2'), e(40, 'spawned', 'ui'))
    const rows = startupRows(l, ['worker#1', 'worker#2', 'ui'], { ui: ['worker'] })
    expect(rows[1]).toMatchObject({ launchedAt: 30, readyAt: undefined, startup: undefined })
    expect(rows[2].waitedFor).toEqual([{ name: 'worker', readyAt: undefined }])
  })

  it('runs from the last to become ready through the dependency that became ready last', () => {
    const rows = startupRows(startup(), ROWS, DEPS)
    const chain = criticalChain(rows, DEPS)
    expect(chain.map(chainLine)).toEqual(['ui @1.41s +0.19s', 'worker#2 @0.93s +0.47s', 'backend @0.32s +0.58s', 'db @0.05s +0.25s'])
  })

  it('is empty when nothing became ready; a remote backend (ready, never spawned) shows when it was ready; cycles end', () => {
    expect(criticalChain(startupRows(launchOf(e(10, 'spawned', 'a')), ['a'], {}), {})).toEqual([])
    const remote = startupRows(launchOf(e(500, 'ready', 'backend')), ['backend'], {})
    expect(criticalChain(remote, {}).map(chainLine)).toEqual(['backend ready @0.50s'])
    const cyc = { a: ['b'], b: ['a'] }
    const rows = startupRows(launchOf(e(1, 'spawned', 'a'), e(2, 'ready', 'a'), e(3, 'spawned', 'b'), e(4, 'ready', 'b')), ['a', 'b'], cyc)
    expect(criticalChain(rows, cyc).map((r) => r.sidecar)).toEqual(['b', 'a'])
  })

  it('with states: launched at its first starting (a launch, or a remote probed), ready at its first ready', () => {
    const s = withState
    const l = launchOf(
      s(e(10, 'waiting', 'ui'), 'waiting_for_deps'),
      s(e(20, 'starting', 'backend', 'probing the remote backend'), 'starting'),
      s(e(500, 'ready', 'backend'), 'ready'),
      s(e(510, 'starting', 'ui', 'its dependencies are up: starting'), 'starting'),
      e(530, 'spawned', 'ui'),
      s(e(800, 'ready', 'ui'), 'ready'),
    )
    const deps = { ui: ['backend'] }
    const rows = startupRows(l, ['backend', 'ui'], deps)
    expect(rows[1]).toMatchObject({ launchedAt: 510, readyAt: 800, waited: 510, startup: 290, waitedFor: [{ name: 'backend', readyAt: 500 }] })
    expect(criticalChain(rows, deps).map(chainLine)).toEqual(['ui @0.51s +0.29s', 'backend @0.02s +0.48s'])
  })

  it('formats offsets and durations', () => {
    expect(formatSpan(0)).toBe('0.00s')
    expect(formatSpan(1234)).toBe('1.23s')
    expect(formatSpan(61_500)).toBe('1m 1.5s')
    expect(formatSpan(3_700_000)).toBe('1h 1m')
    expect(chainLine({ sidecar: 'x', launchedAt: 10, waitedFor: [] })).toBe('x @0.01s')
  })
})

describe('dependency graph', () => {
  const sidecars = [
    row('db', { state: 'ready' }),
    row('backend', { depends_on: ['db'] }),
    row('frontend', { depends_on: ['backend'] }),
    row('worker#1', { depends_on: ['backend'], state: 'ready' }),
    row('worker#2', { depends_on: ['backend'], state: 'backoff' }),
    row('ui', { depends_on: ['worker', 'frontend', 'auth'] }),
  ]

  it('one node per sidecar, in columns by dependency depth, replicas together in their worst state', () => {
    const { nodes } = dependencyGraph(sidecars)
    const at = (n: string) => nodes.find((x) => x.name === n)!
    expect(nodes.map((n) => `${n.name}:${n.depth}`)).toEqual(['auth:0', 'db:0', 'backend:1', 'frontend:2', 'worker:2', 'ui:3'])
    expect(at('worker')).toMatchObject({ instances: 2, state: 'backoff', x: 2 * LAYER_GAP })
    expect(at('auth')).toMatchObject({ instances: 0, state: 'unknown' }) // named in depends_on, not running
    expect([at('frontend').y, at('worker').y]).toEqual([-ROW_GAP / 2, ROW_GAP / 2])
    expect(at('backend').y).toBe(0)
    expect(dependencyMap(sidecars).worker).toEqual(['backend'])
  })

  it('edges run from the dependency to the dependent; those along the critical chain are marked', () => {
    const { edges } = dependencyGraph(sidecars, ['ui', 'worker#2', 'backend', 'db'])
    expect(edges.filter((x) => x.critical).map((x) => `${x.source}→${x.target}`)).toEqual(['db→backend', 'backend→worker', 'worker→ui'])
    expect(edges).toHaveLength(6)
  })

  it('a node shows its worst instance by health level; skipped counts least', () => {
    const { nodes } = dependencyGraph([
      row('database', { state: 'skipped' }),
      row('worker#1', { state: 'skipped' }),
      row('worker#2', { state: 'ready' }),
      row('api#1', { state: 'paused' }),
      row('api#2', { state: 'starting' }),
    ])
    expect(nodes.map((n) => `${n.name}:${n.state}`).sort()).toEqual(['api:paused', 'database:skipped', 'worker:ready'])
  })

  it('orders a column by its dependencies, and survives a cycle', () => {
    const { nodes } = dependencyGraph([row('b'), row('a'), row('y', { depends_on: ['b'] }), row('x', { depends_on: ['a'] })])
    expect(nodes.map((n) => n.name)).toEqual(['a', 'b', 'x', 'y'])
    const cyc = dependencyGraph([row('a', { depends_on: ['b'] }), row('b', { depends_on: ['a'] })])
    expect(cyc.nodes).toHaveLength(2)
  })
})

describe('helpers', () => {
  it('names an instance by its sidecar and escapes tooltip text', () => {
    expect(baseName('worker#3')).toBe('worker')
    expect(baseName('db')).toBe('db')
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe('&#60;img src=x onerror=&#34;a(&#39;b&#39;)&#34;&#62;&#38;')
  })
})

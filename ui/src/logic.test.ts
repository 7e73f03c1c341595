import { describe, expect, it } from 'vitest'
import { backendReady, backendUrl, isLoopback } from './backend'
import { filterEvents } from './EventsPanel'
import { formatLatency, formatUptime } from './format'
import { appendEvents, MAX_EVENTS, mergeRow, serves, withHealth } from './runtime'
import { ev, row, status } from './test-fixtures'

describe('status merging', () => {
  it('replaces a pushed row in place and appends a new one', () => {
    const st = status([row('database'), row('backend')])
    const next = mergeRow(st, row('database', { state: 'failed' }))
    expect(next.sidecars.map((r) => [r.name, r.state])).toEqual([
      ['database', 'failed'],
      ['backend', 'ready'],
    ])
    expect(mergeRow(st, row('worker#1')).sidecars).toHaveLength(3)
    expect(st.sidecars[0].state).toBe('ready') // not mutated
  })

  it('takes the pushed health as it is (the core computes it)', () => {
    const st = status([row('database'), row('backend')])
    const h = { level: 'degraded' as const, summary: 'degraded: backend paused', failed: [] }
    expect(withHealth(st, h)).toEqual({ ...st, health: h })
    expect(st.health.summary).toBe('all 2 sidecars ready') // not mutated
  })
})

describe('feed', () => {
  it('appends each event once, in order, bounded', () => {
    const a = appendEvents([], [ev(1, 'spawned'), ev(2, 'ready')])
    expect(appendEvents(a, [ev(2, 'ready'), ev(3, 'exited')]).map((e) => e.seq)).toEqual([1, 2, 3])
    const many = Array.from({ length: MAX_EVENTS + 5 }, (_, i) => ev(i + 1, 'spawned'))
    const kept = appendEvents([], many)
    expect(kept).toHaveLength(MAX_EVENTS)
    expect(kept[0].seq).toBe(6)
  })

  it('keeps every event whatever the order of arrival (push before the first read, re-read after pushes)', () => {
    const pushedFirst = appendEvents([], [ev(9, 'ready')])
    expect(appendEvents(pushedFirst, [ev(1, 'spawned'), ev(2, 'ready'), ev(9, 'ready')]).map((e) => e.seq)).toEqual([1, 2, 9])
    const gap = appendEvents([ev(1, 'spawned'), ev(5, 'exited')], [ev(1, 'spawned'), ev(2, 'ready'), ev(3, 'exited'), ev(4, 'ready'), ev(5, 'exited')])
    expect(gap.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
  })

  it('filters by sidecar, kind and text, newest first', () => {
    const events = [ev(1, 'spawned', 'backend'), ev(2, 'exited', 'backend', 'killed by SIGKILL'), ev(3, 'exited', 'worker#1')]
    expect(filterEvents(events, { sidecar: 'backend', kind: '', query: '' }).map((e) => e.seq)).toEqual([2, 1])
    expect(filterEvents(events, { sidecar: '', kind: 'exited', query: '' }).map((e) => e.seq)).toEqual([3, 2])
    expect(filterEvents(events, { sidecar: '', kind: '', query: 'sigkill' }).map((e) => e.seq)).toEqual([2])
  })
})

describe('backend', () => {
  it('follows the backend row, or the remote URL in remote_slim', () => {
    const h = { apiKey: 'k', remoteBackendUrl: null, mode: 'local_fullstack' }
    expect(backendUrl(status([row('backend', { url: 'http://127.0.0.1:4321' })]), h)).toBe('http://127.0.0.1:4321')
    expect(backendUrl(null, h)).toBe(null)
    const slim = { ...status([]), mode: 'remote_slim' as const, backend_url: 'https://jobs.example.com/?token=[redacted]' }
    const remote = 'https://jobs.example.com/?token=t0k'
    expect(backendUrl(slim, { ...h, remoteBackendUrl: remote })).toBe(remote)
    expect(backendUrl(slim, h)).toBe('https://jobs.example.com/?token=[redacted]')
    expect(backendReady(status([row('backend', { state: 'starting' })]))).toBe(false)
    expect(backendReady(status([row('backend')]))).toBe(true)
    expect(backendReady(status([row('backend', { state: 'paused' })]))).toBe(false)
    expect(backendReady(status([row('backend', { state: 'unhealthy' })]))).toBe(false)
    expect(backendReady(status([]))).toBe(false)
    // Serving is the ready health level of a state (STATE_FACTS), nothing else.
    expect((['ready', 'unhealthy', 'paused', 'skipped', 'starting'] as const).map(serves)).toEqual([true, false, false, false, false])
    expect(isLoopback('http://127.0.0.1:4000')).toBe(true)
    expect(isLoopback('https://jobs.example.com')).toBe(false)
  })
})

describe('formatting', () => {
  it('formats uptimes and latencies', () => {
    expect(formatUptime(null)).toBe('—')
    expect(formatUptime(59_000)).toBe('59s')
    expect(formatUptime(125_000)).toBe('2m 5s')
    expect(formatUptime(3_725_000)).toBe('1h 2m')
    expect(formatLatency(1.234)).toBe('1.2 ms')
    expect(formatLatency(42.6)).toBe('43 ms')
  })
})

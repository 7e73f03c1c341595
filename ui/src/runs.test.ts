import { describe, expect, it } from 'vitest'
import { applyBatch, applyMessage, emptyRun, latencyOf, matches, percentile } from './runs'
import type { SidecarMessage } from 'sidecar-supervisor-api'

let seq = 0
const msg = (method: string, params: Record<string, unknown>): SidecarMessage => ({
  sidecar: 'executor',
  seq: ++seq,
  at: '2026-12-03T10:00:00Z',
  method,
  params,
})

describe('runs', () => {
  it('folds notifications into the run: status, state, progress', () => {
    let r = applyMessage(emptyRun, msg('state_changed', { run_id: 'r1', status: 'running', state: 's0', done: 0, total: 3 }))
    r = applyMessage(r, msg('action_started', { run_id: 'r1', state: 's0', action: 'a', index: 0, total: 3 }))
    r = applyMessage(r, msg('action_completed', { run_id: 'r1', state: 's0', action: 'a', index: 0, total: 3 }))
    expect([r.runId, r.status, r.state, r.done, r.total, r.events.length]).toEqual(['r1', 'running', 's0', 1, 3, 3])
    r = applyMessage(r, msg('state_changed', { run_id: 'r1', status: 'paused', state: 's0', done: 1, total: 3 }))
    expect(r.status).toBe('paused')
    // A new run replaces the old one's events.
    r = applyMessage(r, msg('state_changed', { run_id: 'r2', status: 'running', state: null, done: 0, total: 9 }))
    expect([r.runId, r.done, r.total, r.events.length]).toEqual(['r2', 0, 9, 1])
  })

  it('applies a batch as its messages one by one would', () => {
    const ms = [
      msg('state_changed', { run_id: 'r1', status: 'running', state: 's0', done: 0, total: 2 }),
      msg('action_completed', { run_id: 'r1', state: 's0', action: 'a', index: 0, total: 2 }),
      msg('state_changed', { run_id: 'r2', status: 'running', state: 'x', done: 0, total: 5 }),
      msg('action_completed', { run_id: 'r2', state: 'x', action: 'b', index: 0, total: 5 }),
    ]
    const one = ms.reduce(applyMessage, emptyRun)
    const all = applyBatch(emptyRun, ms)
    expect(all).toEqual(one)
    expect(all.events.map((e) => e.seq)).toEqual(ms.slice(2).map((e) => e.seq))
  })

  it('filters by kind and by text in the params', () => {
    const m = msg('action_completed', { action: 'fetch-users', state: 'load' })
    expect(matches(m, 'all', '')).toBe(true)
    expect(matches(m, 'error', '')).toBe(false)
    expect(matches(m, 'action_completed', 'USERS')).toBe(true)
    expect(matches(m, 'all', 'nothing-like-it')).toBe(false)
  })

  it('measures emit → visible and takes percentiles', () => {
    expect(latencyOf(msg('x', { emitted_at: 1000.5 }), 1010)).toBeCloseTo(9.5)
    expect(latencyOf(msg('x', {}), 1010)).toBeNull()
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect([percentile(xs, 50), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 99, 100])
  })
})

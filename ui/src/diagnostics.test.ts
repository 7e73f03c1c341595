import { describe, expect, it } from 'vitest'
import { appendLive, exportName, parseHistory, parseRecord, splitMatches, visibleLines } from './logview'
import { addSample, formatBytes, formatCpu, sparkPoints } from './resources'

const enc = (s: string) => new TextEncoder().encode(s).buffer

describe('log viewer logic', () => {
  it('parses records, keeping an odd line whole', () => {
    expect(parseRecord('2026-11-22T10:00:00.000Z stderr boom: x y')).toEqual({
      at: '2026-11-22T10:00:00.000Z',
      stream: 'stderr',
      line: 'boom: x y',
    })
    expect(parseRecord('2026-11-22T10:00:00.000Z stdout ')).toEqual({ at: '2026-11-22T10:00:00.000Z', stream: 'stdout', line: '' })
    expect(parseRecord('hand edited line')).toEqual({ at: '', stream: 'stdout', line: 'hand edited line' })
  })

  it('reads raw history bytes, UTF-8, newest kept when over the bound', () => {
    const bytes = enc('t1 stdout a\nt2 stderr é ü\nt3 stdout c\n')
    expect(parseHistory(bytes).map((l) => l.line)).toEqual(['a', 'é ü', 'c'])
    expect(parseHistory(bytes, 2).map((l) => l.line)).toEqual(['é ü', 'c'])
    expect(parseHistory(enc(''))).toEqual([])
  })

  it('appends only the live lines of its sidecar, bounded', () => {
    const base = [{ at: 't1', stream: 'stdout' as const, line: 'a' }]
    const live = [
      { sidecar: 'db', at: 't2', stream: 'stderr' as const, line: 'b' },
      { sidecar: 'api', at: 't2', stream: 'stdout' as const, line: 'not mine' },
    ]
    expect(appendLive(base, live, 'db').map((l) => l.line)).toEqual(['a', 'b'])
    expect(appendLive(base, live, 'db', 1).map((l) => l.line)).toEqual(['b'])
    expect(appendLive(base, [live[1]], 'db')).toBe(base)
  })

  it('filters by stream and case-insensitive search, and splits matches for highlighting', () => {
    const lines = parseHistory(enc('t stdout Ready on 4000\nt stderr WARN slow\nt stdout warn again\n'))
    expect(visibleLines(lines, 'all', 'warn')).toEqual([1, 2])
    expect(visibleLines(lines, 'stderr', '')).toEqual([1])
    expect(visibleLines(lines, 'stdout', '  ')).toEqual([0, 2])
    expect(splitMatches('a Warn b warn', 'warn')).toEqual(['a ', 'Warn', ' b ', 'warn', ''])
    expect(splitMatches('abc', '')).toEqual(['abc'])
  })

  it('proposes a safe export name', () => {
    expect(exportName('worker#1', new Date('2026-12-03T10:11:12.345Z'))).toBe('worker_1-2026-12-03T10-11-12.log')
  })
})

describe('resources logic', () => {
  const s = (name: string, pid: number, cpu: number, rss: number) => ({
    name,
    pid,
    resources: { cpu_percent: cpu, rss_bytes: rss, processes: 1 },
  })

  it('keeps a bounded history per sidecar and starts afresh for a new process', () => {
    let h = addSample({}, [s('db', 1, 5, 100)], { db: 1 })
    h = addSample(h, [s('db', 1, 7, 110)], { db: 1 }, 2)
    h = addSample(h, [s('db', 1, 9, 120)], { db: 1 }, 2)
    expect(h.db).toEqual([
      { cpu: 7, rss: 110 },
      { cpu: 9, rss: 120 },
    ])
    // The row now shows pid 2: the old process's points go.
    h = addSample(h, [s('db', 2, 1, 50)], { db: 1 })
    expect(h.db).toEqual([{ cpu: 1, rss: 50 }])
  })

  it('formats bytes and CPU', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(3 * 1024)).toBe('3 KiB')
    expect(formatBytes(5.5 * 1048576)).toBe('5.5 MiB')
    expect(formatBytes(null)).toBe('—')
    expect(formatCpu(3.25)).toBe('3.3 %')
    expect(formatCpu(142.4)).toBe('142 %')
    expect(formatCpu(undefined)).toBe('—')
  })

  it('draws a sparkline inside its box, max at the top', () => {
    const pts = sparkPoints([0, 10, 5], 60, 16).split(' ').map((p) => p.split(',').map(Number))
    expect(pts.map((p) => p[0])).toEqual([0, 30, 60])
    expect(pts[1][1]).toBeLessThan(pts[2][1])
    expect(pts[2][1]).toBeLessThan(pts[0][1])
    for (const [, y] of pts) expect(y >= 0 && y <= 16).toBe(true)
    expect(sparkPoints([], 60, 16)).toBe('')
  })
})

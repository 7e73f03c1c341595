// The dialog's diagnostics views against the plugin's IPC mocked: logs (raw history, live
// pushes, search, stream filter, pause/follow, export), resources and their sparklines, the
// warnings, the diagnostics bundle, backup and restore, the folder buttons and the timeline tab.
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { App } from './App'
import { ev, row, sendChunks, status } from './test-fixtures'

type Call = { cmd: string; args: Record<string, unknown> }
let calls: Call[]
let saveAnswer: string | null
let backupsAnswer: unknown

const HISTORY = ['t1 stdout listening on 4000', 't2 stderr WARN slow query', 't3 stdout request done'].join('\n') + '\n'

beforeEach(() => {
  calls = []
  saveAnswer = '/home/me/out.file'
  backupsAnswer = { dir: '/d/backups', files: [], bytes: 0 }
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> })
      switch (cmd) {
        case 'plugin:sidecar-supervisor|desktop_runtime_status':
          return {
            ...status([row('database', { pid: 11 }), row('backend', { pid: 22, identity: 'unverified' })]),
            warnings: [
              { kind: 'no_identity_proof', sidecar: 'backend', message: '`backend` is not proven to be this launch\'s' },
              { kind: 'feed_fallback', message: 'the event feed is kept in /home/me/.desktop-runtime' },
            ],
          }
        case 'plugin:sidecar-supervisor|desktop_runtime_diagnostics':
          return {
            feed_path: '/d/runtime/runtime-events.json',
            events: [ev(1, 'runtime_started'), ev(2, 'spawned', 'database'), ev(3, 'ready', 'database')],
          }
        case 'plugin:sidecar-supervisor|log_history':
          return sendChunks(args, HISTORY)
        case 'plugin:sidecar-supervisor|export_log':
          return 3 * 1048576
        case 'plugin:sidecar-supervisor|diagnostics_bundle':
          return 20480
        case 'plugin:dialog|save':
          return saveAnswer
        case 'plugin:dialog|open':
          return '/home/me/old.backup.zip'
        case 'plugin:sidecar-supervisor|backup':
          return {
            path: (args as { path: string }).path,
            bytes: 2 * 1048576,
            took_ms: 280,
            manifest: { format: 1, app: 'a', app_version: '1.0.0', created_at: '2026-12-08T03:00:00Z', sidecar: 'database', database: 'app', postgres_major: 18, dump_bytes: 2000000, dump_sha256: 'ab' },
          }
        case 'plugin:sidecar-supervisor|backups':
          return backupsAnswer
        case 'plugin:sidecar-supervisor|restore':
          return {
            restarted: ['backend', 'worker#1'],
            took_ms: 140,
            manifest: { format: 1, app: 'a', app_version: '1.0.0', created_at: '2026-12-08T03:00:00Z', sidecar: 'database', database: 'app', postgres_major: 18, dump_bytes: 2000000, dump_sha256: 'ab' },
          }
        default:
          return null
      }
    },
    { shouldMockEvents: true },
  )
})

afterEach(async () => {
  cleanup()
  await new Promise((r) => setTimeout(r, 0))
  clearMocks()
})

const openDialog = async () => {
  render(<App />)
  fireEvent.click(screen.getByTestId('open-runtime'))
  const d = await screen.findByTestId('runtime-dialog')
  await waitFor(() => expect(within(d).getByTestId('row-backend')).toBeTruthy())
  return d
}

const openLogs = async (d: HTMLElement, name = 'database') => {
  fireEvent.click(within(within(d).getByTestId(`row-${name}`)).getByText('Logs'))
  const tail = await within(d).findByTestId('log-tail')
  await waitFor(() => expect(tail.textContent).toContain('request done'))
  return tail
}

const lines = (tail: HTMLElement) => [...tail.children].map((c) => c.textContent?.trim())

describe('dialog diagnostics views', () => {
  it('streams pushed lines into the log and searches and filters the whole of it', async () => {
    const d = await openDialog()
    const tail = await openLogs(d)
    await act(async () => {
      await emit('sidecar-supervisor://log', {
        missed: 0,
        lines: [
          { sidecar: 'database', at: 't4', stream: 'stderr', line: 'checkpoint complete' },
          { sidecar: 'backend', at: 't4', stream: 'stdout', line: 'someone else' },
        ],
      })
    })
    await waitFor(() => expect(lines(tail)).toContain('checkpoint complete'))
    expect(lines(tail)).not.toContain('someone else')
    fireEvent.change(within(d).getByTestId('log-search'), { target: { value: 'WARN' } })
    expect(lines(tail)).toEqual(['WARN slow query'])
    expect(tail.querySelector('mark')?.textContent).toBe('WARN')
    fireEvent.change(within(d).getByTestId('log-search'), { target: { value: '' } })
    fireEvent.change(within(d).getByLabelText('Stream'), { target: { value: 'stderr' } })
    expect(lines(tail)).toEqual(['WARN slow query', 'checkpoint complete'])
    expect(within(d).getByTestId('log-count').textContent).toBe('2 of 4 lines')
  })

  it('holds pushed lines while paused and shows them on follow', async () => {
    const d = await openDialog()
    const tail = await openLogs(d)
    fireEvent.click(within(d).getByTestId('log-pause'))
    await act(async () => {
      await emit('sidecar-supervisor://log', { missed: 0, lines: [{ sidecar: 'database', at: 't5', stream: 'stdout', line: 'held back' }] })
    })
    expect(lines(tail)).not.toContain('held back')
    const follow = await within(d).findByTestId('log-follow')
    expect(follow.textContent).toBe('Follow (1 new)')
    fireEvent.click(follow)
    expect(lines(tail)).toContain('held back')
  })

  it('reads the history again when the page fell behind', async () => {
    const d = await openDialog()
    await openLogs(d)
    const reads = () => calls.filter((c) => c.cmd.endsWith('|log_history')).length
    expect(reads()).toBe(1)
    await act(async () => {
      await emit('sidecar-supervisor://log', { missed: 12, lines: [] })
    })
    await waitFor(() => expect(reads()).toBe(2))
  })

  it('exports the whole log and saves the diagnostics bundle where the user chose', async () => {
    const d = await openDialog()
    await openLogs(d)
    fireEvent.click(within(d).getByText('Export…'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|export_log'))?.args).toEqual({ name: 'database', path: '/home/me/out.file' }))
    expect((await within(d).findByRole('status')).textContent).toBe(
      'Exported the whole log of database (3.0 MB) to /home/me/out.file',
    )
    fireEvent.click(within(d).getByTestId('save-bundle'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|diagnostics_bundle'))?.args).toEqual({ path: '/home/me/out.file' }))
    await waitFor(() => expect(within(d).getByRole('status').textContent).toContain('Diagnostics bundle saved to /home/me/out.file (20 KiB'))
    // Cancelled save dialog: nothing written.
    saveAnswer = null
    const before = calls.filter((c) => c.cmd.endsWith('|diagnostics_bundle')).length
    fireEvent.click(within(d).getByTestId('save-bundle'))
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'plugin:dialog|save').length).toBe(3))
    expect(calls.filter((c) => c.cmd.endsWith('|diagnostics_bundle')).length).toBe(before)
  })

  it('backs the database up where the user chose and restores a chosen backup once confirmed', async () => {
    const d = await openDialog()
    await waitFor(() => expect(within(d).getByTestId('backups-info').textContent).toBe('No backups in /d/backups yet'))
    backupsAnswer = { dir: '/d/backups', bytes: 3 * 1048576, files: [{ name: 'b.backup.zip', bytes: 3 * 1048576, modified: '2026-12-08T03:00:00Z' }] }
    fireEvent.click(within(d).getByTestId('back-up'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|backup'))?.args).toEqual({ path: '/home/me/out.file' }))
    await waitFor(() =>
      expect(within(d).getByRole('status').textContent).toBe(
        'Backed up database app (PostgreSQL 18) to /home/me/out.file (2.0 MiB, 280 ms)',
      ),
    )
    await waitFor(() =>
      expect(within(d).getByTestId('backups-info').textContent).toBe('1 backup in /d/backups (3.0 MiB), the newest 2026-12-08T03:00:00Z'),
    )
    const answers = [false, true]
    window.confirm = () => answers.shift() ?? false
    fireEvent.click(within(d).getByTestId('restore'))
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'plugin:dialog|open').length).toBe(1))
    await new Promise((r) => setTimeout(r, 0))
    expect(calls.some((c) => c.cmd.endsWith('|restore')), 'not confirmed: nothing restored').toBe(false)
    fireEvent.click(within(d).getByTestId('restore'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|restore'))?.args).toEqual({ path: '/home/me/old.backup.zip' }))
    await waitFor(() =>
      expect(within(d).getByRole('status').textContent).toBe(
        'Restored database app from the backup of 2026-12-08T03:00:00Z (app 1.0.0); restarted backend, worker#1',
      ),
    )
  })

  it('watches resources while open and shows pushed samples with a sparkline', async () => {
    const d = await openDialog()
    await waitFor(() => expect(calls.some((c) => c.cmd.endsWith('|watch') && c.args.resources === true)).toBe(true))
    for (const [cpu, rss] of [
      [2.5, 10 * 1048576],
      [40, 12 * 1048576],
    ])
      await act(async () => {
        await emit('sidecar-supervisor://resources', [
          { name: 'database', pid: 11, resources: { cpu_percent: cpu, rss_bytes: rss, processes: 3 } },
        ])
      })
    const cpu = within(d).getByTestId('cpu-database')
    expect(cpu.textContent).toContain('40 %')
    expect(within(d).getByTestId('rss-database').textContent).toContain('12.0 MiB · 3 procs')
    expect(cpu.querySelector('polyline')?.getAttribute('points')?.split(' ').length).toBe(2)
    expect(within(d).getByTestId('cpu-backend').textContent).toBe('—')
  })

  it('shows the warnings, and opens folders through the app command', async () => {
    const d = await openDialog()
    const w = within(d).getByTestId('warnings')
    expect([...w.querySelectorAll('li')].map((l) => l.dataset.kind)).toEqual(['no_identity_proof', 'feed_fallback'])
    expect(w.textContent).toContain('No identity proof')
    fireEvent.click(within(d).getByText('Open logs folder'))
    await waitFor(() => expect(calls.find((c) => c.cmd === 'open_folder')?.args).toEqual({ which: 'logs' }))
  })

  it('shows the timeline of the feed in its tab', async () => {
    const d = await openDialog()
    fireEvent.click(within(d).getByTestId('dialog-tab-timeline'))
    const spans = await within(d).findByTestId('timeline-spans', {}, { timeout: 4000 })
    expect(spans.querySelector('li[data-sidecar="database"]')).toBeTruthy()
    expect(within(d).getByTestId('critical-chain')).toBeTruthy()
  })
})

describe('opened from a failure notification', () => {
  it('opens the dialog with that row highlighted', async () => {
    render(<App />)
    await act(async () => {
      await emit('app://open-desktop-runtime', { sidecar: 'backend' })
    })
    const d = await screen.findByTestId('runtime-dialog')
    await waitFor(() => expect(within(d).getByTestId('row-backend').className).toBe('focused'))
    expect(within(d).getByTestId('row-database').className).toBe('')
  })
})

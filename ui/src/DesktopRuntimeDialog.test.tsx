import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { App } from './App'
import { ev, row, sendChunks, status } from './test-fixtures'

type Call = { cmd: string; args: unknown }

let calls: Call[]
let restartFails = false
/** What the status read answers (a test may replace it). */
let statusAnswer: () => unknown

const startingStatus = () =>
  status([
    row('database', { identity: null }),
    row('backend', { state: 'starting', pid: null, uptime_ms: null, identity: 'foreign' }),
    row('worker#1', { identity: 'echoed' }),
  ])

beforeEach(() => {
  calls = []
  restartFails = false
  statusAnswer = startingStatus
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args })
      switch (cmd) {
        case 'plugin:sidecar-supervisor|desktop_runtime_status':
          return statusAnswer()
        case 'plugin:sidecar-supervisor|desktop_runtime_diagnostics':
          return { feed_path: '/d/runtime/runtime-events.json', events: [ev(1, 'runtime_started'), ev(2, 'ready', 'database')] }
        case 'plugin:sidecar-supervisor|log_history':
          return sendChunks(args, '2026-11-22T10:00:00.000Z stderr database system is ready\n')
        case 'plugin:sidecar-supervisor|sidecar_info':
          return { name: 'database', instance_name: 'database', version: '9.9.9', pid: 4242, instance_id: 'abcdef0123456789' }
        case 'plugin:sidecar-supervisor|restart':
          if (restartFails) throw { kind: 'unknown_sidecar', message: 'unknown sidecar `x`; known: database', sidecar: 'x' }
          return null
        default:
          return null
      }
    },
    { shouldMockEvents: true },
  )
})

afterEach(async () => {
  cleanup()
  // Unmounting unlistens asynchronously; let that finish before the mocks go.
  await new Promise((r) => setTimeout(r, 0))
  clearMocks()
})

const openDialog = async () => {
  render(<App />)
  fireEvent.click(screen.getByTestId('open-runtime'))
  return screen.findByTestId('runtime-dialog')
}

describe('Desktop Runtime dialog', () => {
  it('shows one row per sidecar and the banner while the backend is not ready', async () => {
    const dialog = await openDialog()
    await waitFor(() => expect(within(dialog).getByTestId('row-worker#1')).toBeTruthy())
    expect(within(dialog).getByTestId('row-backend').dataset.state).toBe('starting')
    expect(within(dialog).getByTestId('row-database').textContent).toContain('0 / 6')
    expect(screen.getByTestId('backend-banner')).toBeTruthy()
  })

  it('shows each sidecar\'s identity tier, and explains it', async () => {
    const dialog = await openDialog()
    await waitFor(() => expect(within(dialog).getByTestId('identity-worker#1').textContent).toBe('echoed'))
    const foreign = within(dialog).getByTestId('identity-backend')
    expect(foreign.textContent).toBe('foreign')
    expect(foreign.title).toContain('Another program or an older instance')
    expect(within(dialog).queryByTestId('identity-database')).toBeNull()
    expect(within(dialog).getByTestId('row-database').textContent).toContain('—')
  })

  it('pauses a running sidecar and offers resume once it is paused', async () => {
    const dialog = await openDialog()
    const r = await within(dialog).findByTestId('row-database')
    fireEvent.click(within(r).getByText('Pause'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|pause'))?.args).toEqual({ name: 'database' }))
    await act(async () => {
      await emit('sidecar-supervisor://sidecar', row('database', { state: 'paused' }))
    })
    const paused = within(dialog).getByTestId('row-database')
    expect(paused.dataset.state).toBe('paused')
    fireEvent.click(within(paused).getByText('Resume'))
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|resume'))?.args).toEqual({ name: 'database' }))
    expect((within(dialog).getByLabelText('Pause backend') as HTMLButtonElement).disabled).toBe(true)
  })

  it('updates a row and the feed from pushes, without polling', async () => {
    const dialog = await openDialog()
    await waitFor(() => expect(within(dialog).getByTestId('row-backend')).toBeTruthy())
    const reads = calls.filter((c) => c.cmd.endsWith('desktop_runtime_status')).length
    await act(async () => {
      await emit('sidecar-supervisor://sidecar', row('backend', { state: 'ready', pid: 4242 }))
      await emit('sidecar-supervisor://event', ev(3, 'ready', 'backend', 'ready after 12 ms'))
    })
    await waitFor(() => expect(within(dialog).getByTestId('row-backend').dataset.state).toBe('ready'))
    expect(within(dialog).getByTestId('row-backend').textContent).toContain('4242')
    expect(within(dialog).getByTestId('event-list').textContent).toContain('ready after 12 ms')
    expect(calls.filter((c) => c.cmd.endsWith('desktop_runtime_status')).length).toBe(reads)
    await waitFor(() => expect(screen.queryByTestId('backend-banner')).toBeNull())
  })

  it('restarts a sidecar, and shows a structured error as a sentence', async () => {
    const dialog = await openDialog()
    const r = await within(dialog).findByTestId('row-database')
    fireEvent.click(within(r).getByText('Restart'))
    await waitFor(() => expect(calls.some((c) => c.cmd.endsWith('|restart'))).toBe(true))
    expect(calls.find((c) => c.cmd.endsWith('|restart'))?.args).toEqual({ name: 'database' })
    restartFails = true
    fireEvent.click(within(r).getByText('Restart'))
    expect(await within(dialog).findByRole('status')).toHaveProperty(
      'textContent',
      'Restart database: unknown sidecar `x`; known: database',
    )
  })

  it('filters the feed and shows the whole log, read as raw bytes', async () => {
    const dialog = await openDialog()
    await waitFor(() => expect(within(dialog).getByTestId('event-list').children.length).toBe(2))
    fireEvent.change(within(dialog).getByLabelText('Filter by sidecar'), { target: { value: 'database' } })
    expect(within(dialog).getByTestId('event-list').children.length).toBe(1)
    fireEvent.click(within(within(dialog).getByTestId('row-database')).getByText('Logs'))
    const tail = await within(dialog).findByTestId('log-tail')
    await waitFor(() => expect(tail.textContent).toContain('database system is ready'))
    expect((calls.find((c) => c.cmd.endsWith('|log_history'))?.args as { name: string }).name).toBe('database')
    expect(calls.some((c) => c.cmd.endsWith('|watch') && (c.args as { log: string }).log === 'database')).toBe(true)
    // The sidecar's own account of itself, asked over gRPC (Control/Info).
    const about = await within(dialog).findByTestId('sidecar-about')
    expect(about.textContent).toBe('database 9.9.9 · pid 4242 · instance abcdef01 (gRPC Control/Info)')
    expect(calls.find((c) => c.cmd.endsWith('|sidecar_info'))?.args).toEqual({ name: 'database' })
  })

  it('takes the focus when it opens, and gives it back when Escape closes it', async () => {
    render(<App />)
    const button = screen.getByTestId('open-runtime')
    button.focus()
    fireEvent.click(button)
    const dialog = await screen.findByTestId('runtime-dialog')
    expect(document.activeElement).toBe(dialog)
    fireEvent.keyDown(window, { key: 'Escape' })
    await waitFor(() => expect(screen.queryByTestId('runtime-dialog')).toBeNull())
    expect(document.activeElement).toBe(button)
  })

  it('offers the commands that fit each state (STATE_FACTS), keeping every button in its place', async () => {
    statusAnswer = () =>
      status([
        row('database', { state: 'skipped', pid: null, port: null, uptime_ms: null, last_probe: null, identity: null }),
        row('backend', { state: 'stopping', uptime_ms: 7000 }),
        row('worker#1', { state: 'paused' }),
        row('worker#2', { state: 'failed', pid: null, uptime_ms: null, last_error: 'exited with code 1', cause: 'exited' }),
      ])
    const dialog = await openDialog()
    await waitFor(() => expect(within(dialog).getByTestId('row-worker#2')).toBeTruthy())
    const button = (label: string) => within(dialog).queryByLabelText(label) as HTMLButtonElement | null
    // Not run in this mode: nothing to do with it.
    const db = within(dialog).getByTestId('row-database')
    expect(db.querySelector('.badge.state-skipped')?.textContent).toBe('skipped')
    expect([button('Restart database')?.disabled, button('Start database')?.disabled, button('Pause database')?.disabled]).toEqual([true, true, true])
    expect(button('Stop database')).toBeNull()
    expect(button('Resume database')).toBeNull()
    // Stopping: its process is still there (Stop, not Start), but a second stop does not fit.
    expect(button('Stop backend')?.disabled).toBe(true)
    expect(button('Start backend')).toBeNull()
    expect(button('Pause backend')?.disabled).toBe(true)
    expect(button('Restart backend')?.disabled).toBe(false)
    expect(within(dialog).getByTestId('row-backend').textContent).toContain('7s') // uptime: a process is alive
    // Paused: resume (in the pause button's place) and stop.
    expect(button('Resume worker#1')?.disabled).toBe(false)
    expect(button('Pause worker#1')).toBeNull()
    expect(button('Stop worker#1')?.disabled).toBe(false)
    // Failed: start or restart it; nothing to pause.
    expect([button('Start worker#2')?.disabled, button('Restart worker#2')?.disabled, button('Pause worker#2')?.disabled]).toEqual([false, false, true])
    fireEvent.click(button('Start worker#2')!)
    await waitFor(() => expect(calls.find((c) => c.cmd.endsWith('|start'))?.args).toEqual({ name: 'worker#2' }))
    // The overall line is the core's health.
    expect(within(dialog).getByTestId('dialog-health').textContent).toBe('failed: worker#2')
  })
})

describe('header pill', () => {
  const pill = () => screen.getByTestId('runtime-summary')

  it('is amber with the core\'s summary while a sidecar is still starting', async () => {
    render(<App />)
    await waitFor(() => expect(pill().textContent).toBe('starting: 2 of 3 ready'))
    expect(pill().className).toBe('pill warn')
  })

  it('is green for remote_slim when everything it runs is ready: the skipped database does not count', async () => {
    statusAnswer = () => ({
      ...status([
        row('database', { state: 'skipped', pid: null, port: null, url: null, uptime_ms: null, last_probe: null, identity: null }),
        row('backend', { pid: null, port: null, url: 'https://jobs.example.com', uptime_ms: null, identity: null }),
        row('worker#1'),
        row('worker#2'),
      ]),
      mode: 'remote_slim',
    })
    render(<App />)
    await waitFor(() => expect(pill().textContent).toBe('all 3 sidecars ready'))
    expect(pill().className).toBe('pill ok')
  })

  it('follows the health pushes, not the rows', async () => {
    statusAnswer = () => status([row('database'), row('backend')])
    render(<App />)
    await waitFor(() => expect(pill().className).toBe('pill ok'))
    expect(pill().textContent).toBe('all 2 sidecars ready')
    await act(async () => {
      await emit('sidecar-supervisor://health', { level: 'degraded', summary: 'degraded: backend unhealthy', failed: [] })
    })
    expect(pill().textContent).toBe('degraded: backend unhealthy')
    expect(pill().className).toBe('pill warn')
    await act(async () => {
      await emit('sidecar-supervisor://health', { level: 'ready', summary: 'all 2 sidecars ready', failed: [] })
    })
    expect(pill().className).toBe('pill ok')
  })

  it('keeps a health push that arrives before the first read answered', async () => {
    let answer: (st: unknown) => void = () => {}
    statusAnswer = () => new Promise((resolve) => (answer = resolve))
    render(<App />)
    expect(pill().textContent).toBe('runtime starting')
    await waitFor(() => expect(calls.some((c) => c.cmd.endsWith('desktop_runtime_status'))).toBe(true))
    await act(async () => {
      await emit('sidecar-supervisor://health', { level: 'failed', summary: 'failed: worker#1', failed: ['worker#1'] })
      answer(status([row('database'), row('worker#1')])) // read before the push: says ready
    })
    await waitFor(() => expect(pill().textContent).toBe('failed: worker#1'))
    expect(pill().className).toBe('pill warn')
  })

  it('says the runtime is not running when there is no status to read', async () => {
    statusAnswer = () => {
      throw { kind: 'not_running', message: 'the desktop runtime is not running' }
    }
    render(<App />)
    await waitFor(() => expect(pill().textContent).toBe('runtime not running'))
    expect(pill().className).toBe('pill warn')
  })
})

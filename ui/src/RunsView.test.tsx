import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RunsView } from './RunsView'
import { row } from './test-fixtures'

let calls: { cmd: string; args: Record<string, unknown> }[]

beforeEach(() => {
  calls = []
  mockIPC(
    (cmd, args) => {
      const a = args as Record<string, unknown>
      calls.push({ cmd, args: a })
      if (cmd !== 'plugin:sidecar-supervisor|sidecar_request') return null
      switch (a.method) {
        case 'validate':
          return (a.params as { path: string }).path === '/bad.json'
            ? { ok: false, errors: ['/bad.json: states[0].actions[1].ms: an integer 0..60000 is required'] }
            : { ok: true, name: 'demo', states: 2, actions: 4, errors: [] }
        case 'start':
          return { run_id: 'r1', states: 2, actions: 4 }
        default:
          return { run_id: 'r1', status: 'paused', done: 1, total: 4 }
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

const push = (method: string, params: Record<string, unknown>, seq: number) =>
  emit('sidecar-supervisor://message', [
    { sidecar: 'executor', seq, at: 'x', method, params: { run_id: 'r1', emitted_at: Date.now(), ...params } },
  ])

describe('Runs view', () => {
  it('shows what is wrong with a config, and validates a good one before it can start', async () => {
    render(<RunsView executor={row('executor')} />)
    fireEvent.change(screen.getByLabelText('Config file'), { target: { value: '/bad.json' } })
    fireEvent.click(screen.getByTestId('run-validate'))
    const v = await screen.findByTestId('run-validation')
    expect(v.textContent).toContain('states[0].actions[1].ms')
    expect((screen.getByTestId('run-start') as HTMLButtonElement).disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('Config file'), { target: { value: '/good.json' } })
    fireEvent.click(screen.getByTestId('run-validate'))
    await waitFor(() => expect(screen.getByTestId('run-validation').textContent).toBe('Valid: demo, 2 states, 4 actions'))
    expect((screen.getByTestId('run-start') as HTMLButtonElement).disabled).toBe(false)
  })

  it('starts a run, follows its events live, filters them, and pauses it', async () => {
    render(<RunsView executor={row('executor')} />)
    fireEvent.change(screen.getByLabelText('Config file'), { target: { value: '/good.json' } })
    fireEvent.click(screen.getByTestId('run-validate'))
    await waitFor(() => expect((screen.getByTestId('run-start') as HTMLButtonElement).disabled).toBe(false))
    fireEvent.click(screen.getByTestId('run-start'))
    await waitFor(() => expect(calls.some((c) => c.args.method === 'start')).toBe(true))
    expect(calls.find((c) => c.args.method === 'start')?.args).toMatchObject({ name: 'executor', params: { path: '/good.json' } })
    await act(async () => {
      await push('state_changed', { status: 'running', state: 's0', done: 0, total: 4 }, 1)
      await push('action_started', { state: 's0', action: 'fetch', index: 0, total: 4 }, 2)
      await push('action_completed', { state: 's0', action: 'fetch', index: 0, total: 4, ms: 1 }, 3)
      await push('error', { action: 'boom', message: 'it broke' }, 4)
    })
    await waitFor(() => expect(screen.getByTestId('run-progress').textContent).toBe('1/4 (25%) · s0'))
    expect(screen.getByTestId('run-status').textContent).toBe('running')
    expect(screen.getByTestId('run-events').children.length).toBe(4)
    expect(window.__runLatencies?.length).toBe(4)
    fireEvent.change(screen.getByLabelText('Event kind'), { target: { value: 'error' } })
    expect(screen.getByTestId('run-events').textContent).toBe('error boom: it broke')
    fireEvent.change(screen.getByLabelText('Event kind'), { target: { value: 'all' } })
    fireEvent.change(screen.getByLabelText('Filter events'), { target: { value: 'fetch' } })
    expect(screen.getByTestId('run-events').children.length).toBe(2)
    fireEvent.click(screen.getByTestId('run-pause'))
    await waitFor(() => expect(calls.some((c) => c.args.method === 'pause')).toBe(true))
  })

  it('says when there is no executor, or it is not ready', () => {
    render(<RunsView executor={row('executor', { state: 'starting' })} />)
    expect(screen.getByRole('status').textContent).toContain('The executor is starting')
    expect((screen.getByTestId('run-validate') as HTMLButtonElement).disabled).toBe(true)
  })
})

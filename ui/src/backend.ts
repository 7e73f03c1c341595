// The app's own backend (a sidecar): its URL and this launch's API key come from the
// initialization script the app runs before the page (`window.__DESKTOP_RUNTIME__`); the URL
// follows the backend's status row when it comes back on another port.

import type { RuntimeStatus } from 'sidecar-supervisor-api'

export interface Handoff {
  apiKey: string | null
  backendUrl: string | null
  mode: string | null
}

declare global {
  interface Window {
    __DESKTOP_RUNTIME__?: Handoff
  }
}

export function handoff(): Handoff {
  return window.__DESKTOP_RUNTIME__ ?? { apiKey: null, backendUrl: null, mode: null }
}

/** The backend's URL: the remote one in remote_slim, else the local backend's row. */
export function backendUrl(status: RuntimeStatus | null, h: Handoff = handoff()): string | null {
  // The handoff has the URL as configured; the status shows it with secrets redacted.
  if (status?.mode === 'remote_slim') return h.backendUrl ?? status.backend_url
  const row = status?.sidecars.find((r) => r.role === 'backend')
  return row?.url ?? h.backendUrl
}

/** Whether the backend can take requests now. */
export function backendReady(status: RuntimeStatus | null): boolean {
  if (!status) return false
  if (status.mode === 'remote_slim') return true
  const row = status.sidecars.find((r) => r.role === 'backend')
  return row?.state === 'ready'
}

export interface Job {
  id: number
  text: string
  status: 'queued' | 'running' | 'done'
  attempts: number
  worker: string | null
  word_count: number | null
  sha256: string | null
  created_at: string
  finished_at: string | null
}

export class BackendError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

async function call<T>(base: string, key: string | null, path: string, init?: RequestInit): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  // The launch's key is for this machine's sidecars only, never for a remote backend.
  if (key && isLoopback(base)) headers['x-api-key'] = key
  const resp = await fetch(`${base}${path}`, { ...init, headers })
  const body = await resp.json().catch(() => ({}))
  if (!resp.ok) throw new BackendError(body?.error ?? `${resp.status} ${resp.statusText}`, resp.status)
  return body as T
}

export function isLoopback(url: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)
  } catch {
    return false
  }
}

export function createJob(base: string, key: string | null, text: string): Promise<Job> {
  return call<Job>(base, key, '/api/jobs', { method: 'POST', body: JSON.stringify({ text }) })
}

export async function listJobs(base: string, key: string | null): Promise<Job[]> {
  return (await call<{ jobs: Job[] }>(base, key, '/api/jobs?limit=50')).jobs
}

// The app's own backend (a sidecar): this launch's API key (and, in remote_slim, the remote
// backend's URL) come from the initialization script the app runs before the page
// (`window.__DESKTOP_RUNTIME__`); the URL follows the backend's status row when it comes back
// on another port.

import type { RuntimeStatus, SidecarStatus } from 'sidecar-supervisor-api'
import { serves } from './runtime'

export interface Handoff {
  apiKey: string | null
  /** remote_slim: the remote backend's URL as configured (the status shows it redacted). */
  remoteBackendUrl: string | null
  mode: string | null
}

declare global {
  interface Window {
    __DESKTOP_RUNTIME__?: Handoff
  }
}

export function handoff(): Handoff {
  return window.__DESKTOP_RUNTIME__ ?? { apiKey: null, remoteBackendUrl: null, mode: null }
}

/** The status row of the sidecar whose role is `backend`. */
export function backendRow(status: RuntimeStatus | null): SidecarStatus | undefined {
  return status?.sidecars.find((r) => r.role === 'backend')
}

/** The backend's URL: the remote one in remote_slim, else the local backend's row. */
export function backendUrl(status: RuntimeStatus | null, h: Handoff = handoff()): string | null {
  if (status?.mode === 'remote_slim') return h.remoteBackendUrl ?? status.backend_url
  return backendRow(status)?.url ?? null
}

/** Whether the backend can take requests now. */
export function backendReady(status: RuntimeStatus | null): boolean {
  if (!status) return false
  if (status.mode === 'remote_slim') return true
  const row = backendRow(status)
  return row ? serves(row.state) : false
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

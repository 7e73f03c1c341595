// What the runtime wants a person to know beyond each row's state (the feed in its home-dir
// fallback, a sidecar without identity proof, a taken fixed port, a log file that cannot be
// written, a sidecar of another build than the app's): shown, never only logged.

import type { RuntimeWarning } from 'sidecar-supervisor-api'

const TITLE: Record<RuntimeWarning['kind'], string> = {
  feed_fallback: 'Event feed moved',
  no_identity_proof: 'No identity proof',
  fixed_port_taken: 'Port taken',
  log_not_writable: 'Log not written',
  build_mismatch: 'Old build running',
}

export function Warnings({ warnings }: { warnings: RuntimeWarning[] }) {
  if (!warnings.length) return null
  return (
    <ul className="warnings" aria-label="Warnings" data-testid="warnings">
      {warnings.map((w, i) => (
        <li key={`${w.kind}-${w.sidecar ?? ''}-${i}`} data-kind={w.kind} data-sidecar={w.sidecar ?? ''}>
          <strong>{TITLE[w.kind]}</strong> {w.message}
        </li>
      ))}
    </ul>
  )
}

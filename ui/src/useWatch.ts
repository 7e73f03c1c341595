// "I am looking": while a view that shows live data is mounted it renews the plugin's watch
// lease, so lines and samples are pushed only while someone looks (and stop by themselves when
// the page goes away without saying so).

import { useEffect } from 'react'
import { watch, WATCH_RENEW_MS } from 'sidecar-supervisor-api'

export function useWatch(log: string | null, resources: boolean, onError?: (e: unknown) => void) {
  useEffect(() => {
    if (!log && !resources) return
    const renew = () => void watch(log, resources).catch((e) => onError?.(e))
    renew()
    const t = setInterval(renew, WATCH_RENEW_MS)
    return () => clearInterval(t)
    // onError is a callback for reporting only: a new one must not restart the lease.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [log, resources])
}

// A tiny line of the last minute's samples beside a number (CPU, memory): enough to see a trend
// or a spike at a glance, no axes.

import { sparkPoints } from './resources'

const W = 60
const H = 16

export function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return null
  return (
    <svg className="sparkline" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
      <polyline points={sparkPoints(values, W, H)} fill="none" stroke="currentColor" strokeWidth="1.2" />
    </svg>
  )
}

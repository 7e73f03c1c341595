//! Crash-loop backoff: `initial` doubling up to a cap, reset after a sustained ready period.
//!
//! The cap is clamped to `window / (max_restarts + 1)` so that `max_restarts` back-to-back quick
//! crashes always fit inside the window: the budget can actually trip (a curve whose delays
//! exceed the window would make the limit unreachable).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    level: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, window: Duration, max_restarts: u32) -> Self {
        let fit = window / max_restarts.saturating_add(1);
        let cap = max.min(fit).max(initial.min(fit));
        Backoff { initial: initial.min(cap), cap, level: 0 }
    }

    /// The delay before the next restart of a process that died young; grows each call.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.level.min(31)).unwrap_or(u32::MAX);
        let d = self.initial.saturating_mul(factor).min(self.cap);
        self.level = self.level.saturating_add(1);
        d
    }

    pub fn reset(&mut self) {
        self.level = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_to_cap_and_resets() {
        let mut b = Backoff::new(MS(100), MS(1000), Duration::from_secs(90), 6);
        let seq: Vec<u64> = (0..6).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(seq, vec![100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), MS(100));
    }

    #[test]
    fn cap_is_clamped_so_budget_trips_inside_window() {
        // A profile asking for a 60 s cap with 6 restarts in 90 s would never trip.
        for (max_restarts, window_s, cap_ms) in
            [(6u32, 90u64, 60_000u64), (3, 10, 100_000), (20, 5, 5000), (1, 1, 10_000)]
        {
            let window = Duration::from_secs(window_s);
            let mut b = Backoff::new(MS(100), MS(cap_ms), window, max_restarts);
            let total: Duration = (0..max_restarts).map(|_| b.next_delay()).sum();
            assert!(total < window, "{max_restarts} restarts in {window_s}s: total {total:?}");
        }
    }
}

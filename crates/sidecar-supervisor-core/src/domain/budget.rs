//! Restart budget: at most `max` restarts inside any sliding window of `window`.
//!
//! A sliding window, not a counter reset by a healthy probe (which would let a crash loop
//! restart forever): a restart leaves the budget only when it is older than the window.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RestartBudget {
    max: u32,
    window: Duration,
    restarts: VecDeque<Duration>,
}

impl RestartBudget {
    pub fn new(max: u32, window: Duration) -> Self {
        RestartBudget { max, window, restarts: VecDeque::new() }
    }

    fn prune(&mut self, now: Duration) {
        while let Some(&t) = self.restarts.front() {
            if now.saturating_sub(t) >= self.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }

    /// Takes one restart from the budget; `false` when it is spent.
    pub fn try_consume(&mut self, now: Duration) -> bool {
        self.prune(now);
        if self.restarts.len() as u32 >= self.max {
            return false;
        }
        self.restarts.push_back(now);
        true
    }

    /// Restarts counted in the window ending at `now`.
    pub fn used(&self, now: Duration) -> u32 {
        self.restarts.iter().filter(|&&t| now.saturating_sub(t) < self.window).count() as u32
    }

    pub fn remaining(&self, now: Duration) -> u32 {
        self.max.saturating_sub(self.used(now))
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// A manual restart from the user gives the whole budget back.
    pub fn reset(&mut self) {
        self.restarts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn seventh_restart_in_window_is_refused() {
        let mut b = RestartBudget::new(6, S(90));
        for i in 0..6 {
            assert!(b.try_consume(S(i * 10)), "restart {} allowed", i + 1);
        }
        assert!(!b.try_consume(S(60)));
        assert_eq!(b.remaining(S(60)), 0);
    }

    #[test]
    fn window_slides() {
        let mut b = RestartBudget::new(2, S(90));
        assert!(b.try_consume(S(0)));
        assert!(b.try_consume(S(10)));
        assert!(!b.try_consume(S(89)));
        // At 90 s the first restart has left the window.
        assert!(b.try_consume(S(90)));
        assert_eq!(b.used(S(90)), 2);
        assert_eq!(b.used(S(100)), 1);
    }

    #[test]
    fn reset_restores_everything() {
        let mut b = RestartBudget::new(1, S(90));
        assert!(b.try_consume(S(0)));
        assert!(!b.try_consume(S(1)));
        b.reset();
        assert!(b.try_consume(S(2)));
    }
}

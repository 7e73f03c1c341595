//! CPU and memory per sidecar, summed over its whole process group (job), sampled only while
//! someone looks.
//!
//! Why on demand: an idle runtime with nobody watching should cost what it cost before this
//! existed. Nothing here runs until [`Resources::watch`] (the dialog renews a lease while it is
//! open; a sampler thread lives only while a lease runs) or [`Resources::sample`] (the runner's
//! `status` asks once). Samples are at most one a second, whoever asks; CPU % is the group's CPU
//! time over the wall time between two readings (100 % = one core busy), so a first reading
//! takes a second one a moment later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::GroupUsage;

/// What a sidecar's process tree uses now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResourceUsage {
    /// CPU time over wall time since the previous reading, summed over the tree: 100 = one core.
    pub cpu_percent: f64,
    /// Resident memory of every process in the tree.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rss_bytes: u64,
    /// Processes alive in the tree.
    pub processes: u32,
}

/// One sidecar's sample, as pushed while the resources are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SidecarResources {
    pub name: String,
    pub pid: u32,
    pub resources: ResourceUsage,
}

/// Samples are never closer than this.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// A first reading's partner follows this much later.
const FIRST_GAP: Duration = Duration::from_millis(250);
/// A previous reading older than this is not used for CPU % (the rate would be smeared).
const STALE: Duration = Duration::from_secs(10);
/// A sample older than this is not shown in the status.
const SHOWN_FOR: Duration = Duration::from_secs(3);

/// CPU % between two readings of one group (`None` if time did not advance). CPU time that
/// went down (a process of the group ended and took its time along) counts as none.
pub fn cpu_percent(before: (Instant, Duration), after: (Instant, Duration)) -> Option<f64> {
    let wall = after.0.checked_duration_since(before.0)?.as_secs_f64();
    if wall <= 0.0 {
        return None;
    }
    let cpu = after.1.saturating_sub(before.1).as_secs_f64();
    Some((cpu / wall * 1000.0).round() / 10.0)
}

/// The readings of one moment, by group leader pid.
#[derive(Clone, Default)]
struct Reading {
    at: Option<Instant>,
    usage: HashMap<u32, GroupUsage>,
}

/// The usage of `targets` (name, leader pid) from two readings, where both saw the group.
fn usage_between(before: &Reading, after: &Reading, targets: &[(String, u32)]) -> Vec<SidecarResources> {
    let (Some(t0), Some(t1)) = (before.at, after.at) else { return Vec::new() };
    targets
        .iter()
        .filter_map(|(name, pid)| {
            let now = after.usage.get(pid)?;
            let cpu = before.usage.get(pid).and_then(|b| cpu_percent((t0, b.cpu), (t1, now.cpu))).unwrap_or(0.0);
            Some(SidecarResources {
                name: name.clone(),
                pid: *pid,
                resources: ResourceUsage { cpu_percent: cpu, rss_bytes: now.rss_bytes, processes: now.processes },
            })
        })
        .collect()
}

#[derive(Default)]
struct State {
    last: Reading,
    latest: Vec<SidecarResources>,
    watched_until: Option<Instant>,
    sampler_running: bool,
}

/// The sampler of one runtime. Cheap to clone.
#[derive(Clone, Default)]
pub struct Resources {
    state: Arc<Mutex<State>>,
    /// Serializes readings (a watch tick and a `status` ask at the same moment take one).
    reading: Arc<Mutex<()>>,
}

impl Resources {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sample of `targets` (instance name, leader pid): the latest one if it is under a second
    /// old, else a new reading (blocking up to a quarter second when there is no recent one to
    /// compare with). Call it off any async runtime's threads.
    pub fn sample(&self, targets: &[(String, u32)]) -> Vec<SidecarResources> {
        let _one = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        let prev = {
            let st = self.state();
            if st.last.at.is_some_and(|t| t.elapsed() < MIN_INTERVAL) {
                return st.latest.clone();
            }
            st.last.clone()
        };
        let prev = match prev.at {
            Some(t) if t.elapsed() <= STALE => prev,
            _ => {
                let first = read(targets);
                std::thread::sleep(FIRST_GAP);
                first
            }
        };
        let now = read(targets);
        let latest = usage_between(&prev, &now, targets);
        let mut st = self.state();
        st.last = now;
        st.latest = latest.clone();
        latest
    }

    /// The latest sample if it is recent enough to show (no reading is taken).
    pub fn shown(&self) -> Vec<SidecarResources> {
        let st = self.state();
        match st.last.at {
            Some(t) if t.elapsed() <= SHOWN_FOR => st.latest.clone(),
            _ => Vec::new(),
        }
    }

    /// Samples once a second for the next `lease`, handing each sample to `publish`, then
    /// stops (a watcher renews the lease while it looks). `targets` says what to sample now.
    pub fn watch<T, P>(&self, lease: Duration, targets: T, publish: P)
    where
        T: Fn() -> Vec<(String, u32)> + Send + 'static,
        P: Fn(Vec<SidecarResources>) + Send + 'static,
    {
        let mut st = self.state();
        st.watched_until = Some(Instant::now() + lease);
        if st.sampler_running {
            return;
        }
        st.sampler_running = true;
        drop(st);
        let me = self.clone();
        let spawned = std::thread::Builder::new().name("resource-sampler".into()).spawn(move || loop {
            let tick = Instant::now();
            publish(me.sample(&targets()));
            let mut st = me.state();
            if st.watched_until.is_none_or(|u| Instant::now() >= u) {
                st.sampler_running = false;
                st.watched_until = None;
                return;
            }
            drop(st);
            std::thread::sleep(MIN_INTERVAL.saturating_sub(tick.elapsed()));
        });
        if spawned.is_err() {
            self.state().sampler_running = false;
        }
    }

    /// Whether a sampler thread is running (for tests of the idle cost).
    pub fn is_sampling(&self) -> bool {
        self.state().sampler_running
    }
}

fn read(targets: &[(String, u32)]) -> Reading {
    let pids: Vec<u32> = targets.iter().map(|(_, p)| *p).collect();
    let usage = crate::platform::group_usage(&pids);
    Reading {
        at: Some(Instant::now()),
        usage: pids.into_iter().zip(usage).filter_map(|(p, u)| u.map(|u| (p, u))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_cpu_time_over_wall_time() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(cpu_percent((t0, Duration::from_secs(1)), (t1, Duration::from_secs(2))), Some(50.0));
        // Two cores busy.
        assert_eq!(cpu_percent((t0, Duration::ZERO), (t1, Duration::from_secs(4))), Some(200.0));
        // A process that ended took its time along: not negative.
        assert_eq!(cpu_percent((t0, Duration::from_secs(3)), (t1, Duration::from_secs(1))), Some(0.0));
        assert_eq!(cpu_percent((t1, Duration::ZERO), (t0, Duration::ZERO)), None);
        assert_eq!(cpu_percent((t0, Duration::ZERO), (t0, Duration::ZERO)), None);
    }

    #[test]
    fn usage_needs_the_group_in_the_later_reading_only() {
        let t0 = Instant::now();
        let g = |ms, rss, n| GroupUsage { cpu: Duration::from_millis(ms), rss_bytes: rss, processes: n };
        let before = Reading { at: Some(t0), usage: [(10, g(100, 1, 1))].into() };
        let after =
            Reading { at: Some(t0 + Duration::from_secs(1)), usage: [(10, g(350, 5, 2)), (20, g(900, 7, 1))].into() };
        let targets = [("a".to_string(), 10), ("b".to_string(), 20), ("gone".to_string(), 30)];
        let got = usage_between(&before, &after, &targets);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].resources, ResourceUsage { cpu_percent: 25.0, rss_bytes: 5, processes: 2 });
        // New since the earlier reading: memory now, no rate yet.
        assert_eq!(got[1].resources, ResourceUsage { cpu_percent: 0.0, rss_bytes: 7, processes: 1 });
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_busy_group_shows_cpu_and_samples_are_at_most_one_a_second() {
        use std::os::unix::process::CommandExt;
        let mut busy =
            std::process::Command::new("sh").args(["-c", "while :; do :; done"]).process_group(0).spawn().unwrap();
        let r = Resources::default();
        let targets = [("busy".to_string(), busy.id())];
        let first = r.sample(&targets);
        let again = r.sample(&targets);
        let _ = busy.kill();
        let _ = busy.wait();
        assert_eq!(first.len(), 1);
        assert!(first[0].resources.cpu_percent > 10.0, "{first:?}");
        assert!(first[0].resources.rss_bytes > 0 && first[0].resources.processes == 1, "{first:?}");
        assert_eq!(first, again, "a second ask within the second gets the same sample");
        assert!(!r.is_sampling(), "asking once starts no sampler");
    }
}

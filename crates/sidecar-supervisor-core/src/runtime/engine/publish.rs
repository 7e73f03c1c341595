//! Publishing state: the shared status snapshot, push notifications, `status.json`, and the
//! instance record of live children (for the next launch's leftover cleanup).

use super::Engine;
use crate::domain::State;
use crate::runtime::instance::{self, ChildRecord};
use crate::runtime::status::{Budget, SidecarStatus};

impl Engine {
    pub(crate) fn sidecar_status(&self, i: usize) -> SidecarStatus {
        let u = &self.units[i];
        let now = self.now();
        let m = &u.machine;
        SidecarStatus {
            name: u.name.clone(),
            role: u.spec.role.clone(),
            state: if u.skipped { State::Stopped } else { m.state() },
            pid: u.pid,
            port: u.port,
            url: match (u.skipped, u.spec.role.as_deref()) {
                // remote_slim: the backend the UI talks to is the remote one.
                (true, Some("backend")) => {
                    self.cfg.backend_url.as_deref().map(|b| self.redactor.redact(b).into_owned())
                }
                _ => u.port.map(|p| format!("http://127.0.0.1:{p}")),
            },
            restarts_in_window: m.restarts_in_window(now),
            budget: Budget {
                max: m.budget_max(),
                window_secs: m.window().as_secs(),
                remaining: m.budget_remaining(now),
            },
            auto_restart: m.auto_restart(),
            last_exit: m.last_exit().map(|e| self.redactor.redact(e).into_owned()),
            last_error: if u.skipped {
                Some(match (u.spec.role.as_deref(), &self.cfg.backend_url) {
                    (Some("backend"), Some(url)) => {
                        format!(
                            "not run in {} mode: the remote backend {} is used",
                            self.cfg.mode.as_str(),
                            self.redactor.redact(url)
                        )
                    }
                    _ => format!("not run in {} mode", self.cfg.mode.as_str()),
                })
            } else {
                m.last_error().map(|e| self.redactor.redact(e).into_owned())
            },
            uptime_ms: u.spawned_at.map(|t| t.elapsed().as_millis() as u64),
            last_probe: u.last_probe.clone(),
            depends_on: u.depends_on.clone(),
        }
    }

    /// A state change: the row moves to the end of this turn's list (rows are sent in the order
    /// of their latest state change) and status.json is rewritten.
    pub(super) fn publish(&mut self, i: usize) {
        self.dirty_rows.retain(|&j| j != i);
        self.dirty_rows.push(i);
        self.status_dirty = true;
    }

    /// A change subscribers should hear of (a probe outcome), not a state change: it neither
    /// reorders the row nor rewrites status.json.
    pub(super) fn publish_quietly(&mut self, i: usize) {
        if !self.dirty_rows.contains(&i) {
            self.dirty_rows.push(i);
        }
    }

    /// Snapshot only: `status()` readers see it, nobody is woken.
    pub(super) fn refresh_snapshot(&mut self, i: usize) -> SidecarStatus {
        let st = self.sidecar_status(i);
        if let Ok(mut s) = self.shared.write() {
            s.status.sidecars[i] = st.clone();
            s.spawned_at[i] = self.units[i].spawned_at;
        }
        st
    }

    pub(crate) fn publish_all(&mut self) {
        for i in 0..self.units.len() {
            self.publish(i);
        }
    }

    pub(super) fn write_status(&self) {
        if let Some(path) = &self.status_file {
            let snapshot = crate::runtime::snapshot(&self.shared);
            if let Ok(bytes) = serde_json::to_vec_pretty(&snapshot) {
                self.writer.write(path.clone(), bytes);
            }
        }
    }

    pub(super) fn write_record(&self) {
        let mut rec = self.record_base.clone();
        rec.children = self
            .units
            .iter()
            .filter_map(|u| {
                u.pid.map(|pid| ChildRecord { name: u.name.clone(), pid, pgid: pid, start_ticks: u.start_ticks })
            })
            .collect();
        if let Ok(bytes) = serde_json::to_vec_pretty(&rec) {
            self.writer.write(instance::record_path(&self.runtime_dir), bytes);
        }
    }
}

//! Shared rig for the engine tests against real `test-sidecar` processes.
//!
//! Everything waits on the engine's notifications (`subscribe`, `wait_for`); timeouts are
//! generous upper bounds for a loaded CI machine, never a means of synchronisation.

#![allow(dead_code)]

use std::ops::Deref;
use std::time::Duration;

use serde_json::Value;
use sidecar_supervisor_core::testing::{config_in, options, row};
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::Supervisor;
use sidecar_supervisor_core::{EventKind, RuntimeEvent};
use sidecar_supervisor_core::{Notification, RuntimeStatus, SidecarStatus};
use tokio::sync::broadcast::error::RecvError;

/// How a forced kill ends a process: SIGKILL on Unix; on Windows, its job terminated with
/// exit code 1.
#[cfg(unix)]
pub const FORCE_KILLED: &str = "killed by SIGKILL";
#[cfg(windows)]
pub const FORCE_KILLED: &str = "exited with code 1";

/// Whether an event carries the exit of a forced kill.
pub fn force_killed(ev: &RuntimeEvent) -> bool {
    if cfg!(unix) {
        ev.signal.as_deref() == Some("SIGKILL")
    } else {
        ev.code == Some(1)
    }
}

/// Upper bound for anything the engine should do "soon".
pub const T: Duration = Duration::from_secs(20);

/// A running supervisor in its own temp dir; dropping it shuts the engine down (also when a
/// test panics), before the temp dir goes.
pub struct Rig {
    pub sup: Supervisor,
    pub tmp: tempfile::TempDir,
}

impl Deref for Rig {
    type Target = Supervisor;
    fn deref(&self) -> &Supervisor {
        &self.sup
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // `shutdown_blocking` must not run inside a tokio runtime: use a plain thread.
        let sup = self.sup.clone();
        let _ = std::thread::spawn(move || sup.shutdown_blocking()).join();
    }
}

/// A profile with these sidecars (JSON objects).
pub fn profile(sidecars: Value) -> Value {
    serde_json::json!({ "sidecars": sidecars })
}

impl Rig {
    /// Starts a supervisor for `profile` in a fresh temp dir.
    pub fn start(profile: Value) -> Rig {
        let tmp = tempfile::tempdir().expect("tempdir");
        Self::start_in(tmp, profile)
    }

    /// Starts a supervisor in `tmp` (for profiles that name paths inside it).
    pub fn start_in(tmp: tempfile::TempDir, profile: Value) -> Rig {
        let cfg = config_in(tmp.path(), &profile.to_string());
        let sup = Supervisor::start(options(cfg)).expect("supervisor starts");
        Rig { sup, tmp }
    }

    /// Shuts down and hands back the temp dir, for a second launch on the same data dir.
    pub async fn into_tmp(mut self) -> tempfile::TempDir {
        self.shutdown().await;
        std::mem::replace(&mut self.tmp, tempfile::tempdir().expect("tempdir"))
    }

    pub fn row(&self, name: &str) -> SidecarStatus {
        row(&self.sup.status(), name).clone()
    }

    /// Waits until `pred` holds for sidecar `name`; panics with the status and the feed if not.
    pub async fn wait_row(&self, name: &str, what: &str, pred: impl Fn(&SidecarStatus) -> bool) -> SidecarStatus {
        match self.sup.wait_for(T, |st: &RuntimeStatus| pred(row(st, name))).await {
            Ok(st) => row(&st, name).clone(),
            Err(st) => panic!(
                "timed out waiting for `{name}` to be {what}\nstatus: {:#?}\nevents: {}",
                row(&st, name),
                self.feed_dump()
            ),
        }
    }

    pub async fn wait_state(&self, name: &str, state: State) -> SidecarStatus {
        self.wait_row(name, state.as_str(), |r| r.state == state).await
    }

    /// Waits until the feed holds an event matching `pred` and returns the first such event.
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&RuntimeEvent) -> bool) -> RuntimeEvent {
        let mut rx = self.sup.subscribe();
        let deadline = tokio::time::Instant::now() + T;
        loop {
            if let Some(e) = self.sup.events(None).into_iter().find(|e| pred(e)) {
                return e;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => {
                    panic!("timed out waiting for event: {what}\nevents: {}", self.feed_dump())
                }
                Ok(_) => {}
            }
        }
    }

    /// Waits for the first event of `kind` for sidecar `name` with `seq > after`.
    pub async fn wait_kind(&self, name: &str, kind: EventKind, after: u64) -> RuntimeEvent {
        self.wait_event(&format!("{} of {name} after seq {after}", kind.as_str()), |e| {
            e.kind == kind && e.sidecar.as_deref() == Some(name) && e.seq > after
        })
        .await
    }

    /// Events of `kind` for sidecar `name`, oldest first.
    pub fn events_of(&self, name: &str, kind: EventKind) -> Vec<RuntimeEvent> {
        self.sup.events(None).into_iter().filter(|e| e.kind == kind && e.sidecar.as_deref() == Some(name)).collect()
    }

    /// The seq of the newest event so far (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.sup.events(None).last().map_or(0, |e| e.seq)
    }

    /// Log lines of `name` (text only).
    pub fn log_lines(&self, name: &str) -> Vec<String> {
        self.sup.logs(name, 1000).expect("known sidecar").into_iter().map(|l| l.line).collect()
    }

    pub fn feed_dump(&self) -> String {
        self.sup
            .events(None)
            .iter()
            .map(|e| {
                format!(
                    "\n  #{} {} {} pid={:?} port={:?} code={:?} signal={:?}: {}",
                    e.seq,
                    e.sidecar.as_deref().unwrap_or("-"),
                    e.kind.as_str(),
                    e.pid,
                    e.port,
                    e.code,
                    e.signal,
                    e.message
                )
            })
            .collect()
    }

    pub async fn shutdown(&self) {
        self.sup.shutdown().await;
    }
}

/// Collects sidecar notifications until `pred` holds for one of `name`'s; panics on timeout.
pub async fn next_row_matching(
    rx: &mut tokio::sync::broadcast::Receiver<Notification>,
    name: &str,
    pred: impl Fn(&SidecarStatus) -> bool,
) -> SidecarStatus {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Notification::Sidecar(s))) if s.name == name && pred(&s) => return s,
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Lagged(n))) => panic!("notification receiver lagged by {n}"),
            Ok(Err(RecvError::Closed)) => panic!("engine ended before `{name}` matched"),
            Err(_) => panic!("timed out waiting for a status of `{name}`"),
        }
    }
}

/// Does `text` hold a run of at least `n` lowercase hex digits (an API key is 64)?
pub fn has_hex_run(text: &str, n: usize) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

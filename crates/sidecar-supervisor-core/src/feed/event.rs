//! The feed's record: a [`NewEvent`] stamped with its sequence number and time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::{EventKind, NewEvent, State};

/// One entry of the feed. `seq` grows by one per event across app restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuntimeEvent {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// RFC 3339, UTC, millisecond precision: `2026-11-22T10:00:00.123Z`.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sidecar: Option<String>,
    pub kind: EventKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub code: Option<i32>,
    /// Signal name, e.g. `SIGKILL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub signal: Option<String>,
    /// The state the sidecar is in once this happened, on every event that changed it: readers
    /// (the dialog's timeline) follow states from here, never from the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub state: Option<State>,
}

impl RuntimeEvent {
    /// `ev` stamped as the feed's `seq`-th event at `at`.
    pub fn stamped(seq: u64, at: String, ev: NewEvent) -> RuntimeEvent {
        let NewEvent { sidecar, kind, message, pid, port, code, signal, state } = ev;
        RuntimeEvent { seq, at, sidecar, kind, message, pid, port, code, signal, state }
    }
}

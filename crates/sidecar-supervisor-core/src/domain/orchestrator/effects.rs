//! The orchestrator's vocabulary with the effect side: what it asks to have done ([`Effect`])
//! and what comes back ([`Report`]).

use crate::domain::event::NewEvent;
use crate::domain::types::{Cause, Exit, IdentityFound, ProbeKind, StepEnd, Stop};

/// Something to do, for the engine to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Begin launch `gen` of `unit`: its port (per `port`) and its program. Report
    /// [`Report::PortAssigned`] when a port was picked, then [`Report::Located`] or
    /// [`Report::LaunchFailed`]. `prepared`: how many of its prepare steps are done (a lookup
    /// need not wait for their helpers).
    Launch {
        unit: usize,
        gen: u64,
        port: PortPlan,
        prepared: usize,
    },
    /// Read the data directory of launch `gen`'s PostgreSQL server; report
    /// [`Report::DataChecked`].
    CheckData {
        unit: usize,
        gen: u64,
    },
    /// Remove the stale `postmaster.pid` of launch `gen`'s data directory; report
    /// [`Report::PidFileRemoved`].
    RemovePidFile {
        unit: usize,
        gen: u64,
    },
    /// Run prepare step `step` of launch `gen` (or find it not needed); report
    /// [`Report::PrepareStarted`] and [`Report::PrepareEnded`].
    Prepare {
        unit: usize,
        gen: u64,
        step: usize,
    },
    /// Start the process of launch `gen` now, its templates rendered with the current ports;
    /// report [`Report::Spawned`] or [`Report::LaunchFailed`], and later [`Report::Exited`].
    Exec {
        unit: usize,
        gen: u64,
    },
    /// Stop the process tree led by `pid` (the unit's process or its prepare step); a graceful
    /// way that fails is reported ([`Report::StopFailed`]).
    Stop {
        unit: usize,
        pid: u32,
        how: Stop,
    },
    /// Suspend the process tree led by `pid` (pause), or continue it; a failure is reported
    /// ([`Report::SuspendFailed`]).
    Suspend {
        unit: usize,
        pid: u32,
    },
    Continue {
        unit: usize,
        pid: u32,
    },
    /// Run a probe of launch `gen`; `identity`: also rank whose server answers.
    Probe {
        unit: usize,
        gen: u64,
        kind: ProbeKind,
        identity: bool,
    },
    /// Probe the remote `unit` runs as (a unit without a process); report
    /// [`Report::RemoteProbed`].
    ProbeRemote {
        unit: usize,
    },
    /// A feed event (stamped with the unit's name, the pid it is about and the unit's port).
    Event {
        unit: usize,
        event: NewEvent,
    },
    /// The unit's status changed (state, pid or port): publish it.
    Publish {
        unit: usize,
    },
}

/// The port a launch uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// No port, or one the sidecar will announce.
    None,
    /// The port of the previous process.
    Keep(u16),
    /// Pick a free loopback port and report it ([`Report::PortAssigned`]).
    PickFree,
    /// The profile's fixed port: fail the launch at once if it is taken.
    CheckFixed(u16),
}

/// What the effect side reports about a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    PortAssigned {
        port: u16,
    },
    /// Port and program are in hand.
    Located,
    /// What the data directory holds.
    DataChecked {
        facts: crate::domain::pg_data::DataFacts,
    },
    PidFileRemoved {
        result: Result<(), String>,
    },
    PrepareStarted {
        step: usize,
        pid: u32,
        what: String,
    },
    PrepareEnded {
        step: usize,
        end: StepEnd,
    },
    /// Anything before the process ran failed (program not found, port taken, the spawn).
    LaunchFailed {
        error: String,
        cause: Cause,
    },
    Spawned {
        pid: u32,
    },
    /// The process said on stderr that its address is in use.
    AddrInUse,
    /// The process announced its port on stdout.
    Announced {
        port: u16,
    },
    /// The process ended (its whole group is gone); `stderr_tail`: its last stderr lines.
    Exited {
        exit: Exit,
        stderr_tail: String,
    },
    /// A probe's health check and, when asked for (and the health check passed), what its
    /// identity check found.
    Probe {
        kind: ProbeKind,
        ok: bool,
        detail: String,
        identity: Option<IdentityFound>,
    },
    /// The current process's identity answer states its build.
    BuildFound {
        build: crate::domain::build::SidecarBuild,
    },
    /// A graceful stop of `pid` could not be made: why.
    StopFailed {
        pid: u32,
        why: String,
    },
    /// The tree of `pid` could not be suspended (or continued, `resume`): why.
    SuspendFailed {
        pid: u32,
        resume: bool,
        why: String,
    },
    /// The remote a unit runs as answered 2xx (`ok`) or not, and what the probe said.
    RemoteProbed {
        ok: bool,
        detail: String,
    },
}

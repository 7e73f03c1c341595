//! How a sidecar is stopped ([`StopPlan`]): the graceful way the plan picks for it on this OS,
//! the plain stop to fall back on when that way fails, and how long to wait before the whole
//! tree is killed.

use std::time::Duration;

use crate::domain::types::{GracefulStop, StopMechanism};
use crate::profile::{SidecarSpec, StopSignal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPlan {
    /// How the sidecar is asked to stop.
    pub how: GracefulStop,
    /// The OS's plain stop (SIGTERM; Ctrl-Break without signals): what follows a `how` that
    /// failed (a stop command that exits non-zero, a control call nobody answers), and how a
    /// prepare step is stopped (the stop command and the control call are for the sidecar).
    pub fallback: GracefulStop,
    /// How long after asking the whole process tree is killed.
    pub timeout: Duration,
}

impl StopPlan {
    pub fn of(spec: &SidecarSpec, stops: StopMechanism) -> StopPlan {
        StopPlan {
            how: graceful_stop(spec, stops),
            fallback: plain_stop(stops),
            timeout: Duration::from_millis(spec.stop_timeout_ms),
        }
    }
}

/// How a sidecar is asked to stop: its `stop_command` when it has one (every OS); else its stop
/// signal, except where there are no signals (Windows), where a sidecar with a port gets
/// `sidecar.v1.Control/Shutdown` and one without gets Ctrl-Break.
pub fn graceful_stop(spec: &SidecarSpec, stops: StopMechanism) -> GracefulStop {
    match (stops, spec.stop_command.is_some(), spec.port.is_some()) {
        (_, true, _) => GracefulStop::Command,
        (StopMechanism::ConsoleEvents, false, true) => GracefulStop::Control,
        (StopMechanism::ConsoleEvents, false, false) => GracefulStop::CtrlBreak,
        (StopMechanism::Signals, false, _) => GracefulStop::Signal(spec.stop_signal.unwrap_or(StopSignal::Term)),
    }
}

/// The OS's plain graceful stop of a process tree: SIGTERM, or Ctrl-Break without signals.
pub const fn plain_stop(stops: StopMechanism) -> GracefulStop {
    match stops {
        StopMechanism::Signals => GracefulStop::Signal(StopSignal::Term),
        StopMechanism::ConsoleEvents => GracefulStop::CtrlBreak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ExecSpec, PortKeyword, PortSpec};

    #[test]
    fn a_stop_command_wins_everywhere_and_windows_asks_sidecars_with_a_port_over_grpc() {
        let mut s = SidecarSpec::new("db", "postgres");
        s.stop_signal = Some(StopSignal::Int);
        let (unix, windows) = (StopMechanism::Signals, StopMechanism::ConsoleEvents);
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Signal(StopSignal::Int));
        assert_eq!(graceful_stop(&s, windows), GracefulStop::CtrlBreak, "no port: Ctrl-Break");
        s.port = Some(PortSpec::Keyword(PortKeyword::Auto));
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Signal(StopSignal::Int));
        assert_eq!(graceful_stop(&s, windows), GracefulStop::Control);
        s.stop_command = Some(ExecSpec { command: "pg_ctl".into(), args: vec!["stop".into()] });
        assert_eq!(graceful_stop(&s, unix), GracefulStop::Command);
        assert_eq!(graceful_stop(&s, windows), GracefulStop::Command);
        assert_eq!(StopPlan::of(&s, windows).fallback, GracefulStop::CtrlBreak);
        assert_eq!(StopPlan::of(&s, unix).fallback, GracefulStop::Signal(StopSignal::Term));
    }
}

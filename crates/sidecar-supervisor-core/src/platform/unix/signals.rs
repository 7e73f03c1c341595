//! Stopping process groups and reading how a process ended, in signals.

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::domain::{Exit, GracefulStop, Stop};
use crate::profile::StopSignal;

fn signal_of(how: Stop) -> Signal {
    match how {
        Stop::Force => Signal::SIGKILL,
        Stop::Graceful(GracefulStop::Signal(s)) => match s {
            StopSignal::Term => Signal::SIGTERM,
            StopSignal::Int => Signal::SIGINT,
            StopSignal::Quit => Signal::SIGQUIT,
            StopSignal::Hup => Signal::SIGHUP,
        },
        // Carried out by the engine (a gRPC call, a command); here, as their fallback: SIGTERM.
        // Ctrl-Break is Windows' (never planned on Unix).
        Stop::Graceful(GracefulStop::Control | GracefulStop::Command | GracefulStop::CtrlBreak) => Signal::SIGTERM,
    }
}

/// Stops every process of the group led by `pgid`: its stop signal, or SIGKILL when forced.
/// `false` if the group is gone.
pub fn stop_group(pgid: u32, how: Stop) -> bool {
    pgid > 1 && killpg(Pid::from_raw(pgid as i32), signal_of(how)).is_ok()
}

/// Kills every process of the group led by `pgid` at once.
pub fn kill_group(pgid: u32) -> bool {
    stop_group(pgid, Stop::Force)
}

/// Suspends every process of the group led by `pgid` (SIGSTOP; pause). `false` if it is gone.
pub fn suspend_group(pgid: u32) -> bool {
    pgid > 1 && killpg(Pid::from_raw(pgid as i32), Signal::SIGSTOP).is_ok()
}

/// Continues every process of the group led by `pgid` (SIGCONT; resume).
pub fn resume_group(pgid: u32) -> bool {
    pgid > 1 && killpg(Pid::from_raw(pgid as i32), Signal::SIGCONT).is_ok()
}

/// Kills one process at once.
pub fn kill_process(pid: u32) -> bool {
    pid > 1 && kill(Pid::from_raw(pid as i32), Signal::SIGKILL).is_ok()
}

/// `SIGKILL`, or `signal 42` for a number without a name.
pub fn signal_name(n: i32) -> String {
    match Signal::try_from(n) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("signal {n}"),
    }
}

/// How a process ended, from a `waitpid` status.
pub fn exit_of_wait_status(status: libc::c_int) -> Exit {
    if libc::WIFEXITED(status) {
        Exit { code: Some(libc::WEXITSTATUS(status)), signal: None }
    } else if libc::WIFSIGNALED(status) {
        Exit { code: None, signal: Some(signal_name(libc::WTERMSIG(status))) }
    } else {
        Exit::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_and_signal_names() {
        assert_eq!(exit_of_wait_status(3 << 8), Exit::code(3));
        assert_eq!(exit_of_wait_status(libc::SIGKILL), Exit::signal("SIGKILL"));
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(200), "signal 200");
    }
}

//! Performance targets of the runtime (README, "Performance"), each measured against a baseline in the same run and
//! printed as a ratio (no timed assertions anywhere):
//!
//! 1. crash → new process: kill -9 the child, time until the replacement has started, for our
//!    engine and for a bare `while true; do cmd; done` bash loop on the same command. Twice: with
//!    `test-sidecar` as the child (it reports its own start over a socket), and with a trivial
//!    child, `/bin/sleep`, watched from outside like any tool would (the new pid appears among
//!    the supervisor's children), so the supervisor's own cost is not hidden by a heavy exec.
//! 2. readiness noticed: from the instant the sidecar starts answering ready to the instant the
//!    engine reports `ready`.
//! 3. idle cost of the headless runner with 3 sidecars probed every second: CPU and RSS; then
//!    the same while resources are watched (sampled once a second, as with the dialog open).
//!    `BENCH_BIN_DIR` points it at another build's runner and test-sidecar (before/after).
//!
//! The sidecar reports "start <pid> <ns>" / "ready <pid> <ns>" (CLOCK_MONOTONIC, shared by
//! all processes) over a unix datagram socket, so both sides are timed by the same clock.
//! Run: `cargo xtask bench` (release build). `BENCH_TRIALS` (default 20), `BENCH_ROUNDS` and
//! `BENCH_KILLS` (6 rounds of 15 for the trivial child), `BENCH_IDLE_SECS` (default 10) tune it;
//! `cargo xtask bench respawn idle` runs only those parts (of respawn, readiness, idle, scale).

#[cfg(target_os = "linux")]
#[path = "targets/linux.rs"]
mod linux;

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("the benchmarks measure the Linux runner (they read /proc); run them on Linux");
}

//! A child's output and its end: lines go to its log as they arrive (never waiting for EOF, so
//! a line printed without exiting is seen at once), the port announcement and the stdout
//! readiness line are recognised on the way, an "address in use" on stderr is noted, and the
//! exit is awaited without polling.

use std::time::Duration;

use crate::platform::Output;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::context::Context;
use super::Msg;
use crate::domain::{ProbeKind, Report};
use crate::logs::{SidecarLog, Stream};

/// Copies both pipes into `log` until EOF, calling `on_out`/`on_err` with each line first.
pub(super) async fn pump(
    stdout: Output,
    stderr: Output,
    log: SidecarLog,
    mut on_out: impl FnMut(&str),
    mut on_err: impl FnMut(&str),
) {
    let (out_log, err_log) = (log.clone(), log);
    tokio::join!(
        read_lines(stdout, move |l| {
            // Logged first: whoever sees the state this line causes also finds the line.
            out_log.push(Stream::Stdout, l);
            on_out(l);
        }),
        read_lines(stderr, move |l| {
            on_err(l);
            err_log.push(Stream::Stderr, l);
        }),
    );
}

/// Reads the output of process `pid` (launch `gen` of `unit`) and awaits its end; the engine
/// hears of announcements, the readiness line, "address in use" and, last, the exit.
#[allow(clippy::too_many_arguments)]
pub(super) fn watch(
    ctx: &Context,
    tx: &UnboundedSender<Msg>,
    unit: usize,
    gen: u64,
    pid: u32,
    mut child: crate::platform::Child,
    stdout: Output,
    stderr: Output,
) {
    let plan = &ctx.plan.units[unit];
    let announce = plan.port == crate::domain::PortPolicy::Announce;
    let ready_line = plan.spec.ready.as_ref().and_then(|r| r.stdout.clone());
    let log = ctx.logs[unit].clone();
    let (done_tx, done) = oneshot::channel::<()>();
    {
        let (out_tx, err_tx) = (tx.clone(), tx.clone());
        let report = move |tx: &UnboundedSender<Msg>, report| {
            let _ = tx.send(Msg::Report { unit, gen, report });
        };
        let (mut announced, mut matched) = (!announce, ready_line.is_none());
        tokio::spawn(async move {
            pump(
                stdout,
                stderr,
                log,
                |line| {
                    if !announced {
                        if let Some(port) = crate::runtime::ports::parse_announcement(line) {
                            announced = true;
                            report(&out_tx, Report::Announced { port });
                        }
                    }
                    if !matched && ready_line.as_deref().is_some_and(|m| line.contains(m)) {
                        matched = true;
                        let detail = format!("stdout said {:?}", ready_line.as_deref().unwrap_or_default());
                        report(&out_tx, Report::Probe { kind: ProbeKind::Ready, ok: true, detail, identity: None });
                    }
                },
                |line| {
                    if crate::runtime::ports::is_addr_in_use(line) {
                        report(&err_tx, Report::AddrInUse);
                    }
                },
            )
            .await;
            let _ = done_tx.send(());
        });
    }
    let tx = tx.clone();
    tokio::spawn(async move {
        let exit = child.wait().await.unwrap_or_default();
        // The leader is gone: what it left in its group goes too (this also closes pipes a
        // grandchild held, so the readers reach EOF). Then let the readers drain what the
        // child wrote before it died (its last error, an "address in use"), bounded in case
        // a descendant that left the group still holds a pipe.
        crate::platform::kill_group(pid);
        let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
        let _ = tx.send(Msg::Exited { unit, gen, pid, exit });
    });
}

/// Calls `on_line` for each line as it arrives, without the line ending; invalid UTF-8 is
/// replaced, not fatal.
async fn read_lines<R: AsyncRead + Unpin>(r: R, mut on_line: impl FnMut(&str)) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    while let Ok(n) = r.read_until(b'\n', &mut buf).await {
        if n == 0 {
            break;
        }
        on_line(String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']));
        buf.clear();
    }
}

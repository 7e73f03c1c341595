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
/// `rpc`: a stdout line it takes (a JSON-RPC message) is not logged.
pub(super) async fn pump(
    stdout: Output,
    stderr: Output,
    log: SidecarLog,
    mut rpc: impl FnMut(Line<'_>) -> bool,
    mut on_out: impl FnMut(&str),
    mut on_err: impl FnMut(&str),
) {
    let (out_log, err_log) = (log.clone(), log);
    tokio::join!(
        read_lines(stdout, move |l| match l {
            l if rpc(l) => {}
            Line::Text(l) => {
                // Logged first: whoever sees the state this line causes also finds the line.
                out_log.push(Stream::Stdout, l);
                on_out(l);
            }
            Line::TooLong(n, _) => out_log.push(Stream::Stdout, &too_long(n)),
        }),
        read_lines(stderr, move |l| match l {
            Line::Text(l) => {
                on_err(l);
                err_log.push(Stream::Stderr, l);
            }
            Line::TooLong(n, _) => err_log.push(Stream::Stderr, &too_long(n)),
        }),
    );
}

/// Longest line kept (a JSON-RPC message's limit): a longer one is dropped whole, so a
/// sidecar that prints without newlines costs at most this much memory here.
pub(super) const MAX_LINE: usize = crate::runtime::doors::jsonrpc::MAX_MESSAGE;

fn too_long(n: usize) -> String {
    format!("[desktop-runtime: a line of {n} bytes was dropped: lines (and JSON-RPC messages) are at most {MAX_LINE} bytes]")
}

#[derive(Clone, Copy)]
pub(super) enum Line<'a> {
    Text(&'a str),
    /// A line over [`MAX_LINE`] bytes (this many, or more at EOF), dropped; with its first
    /// bytes (up to [`HEAD`]: enough to see which JSON-RPC call it answered).
    TooLong(usize, &'a [u8]),
}

const HEAD: usize = 128;

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
    peer: Option<std::sync::Arc<crate::runtime::doors::jsonrpc::Peer>>,
) {
    let plan = &ctx.plan.units[unit];
    let channels = ctx.channels.clone();
    let announce = plan.port == crate::domain::PortPolicy::Announce;
    let ready_line = match plan.ready.as_ref().map(|r| &r.probe) {
        Some(crate::domain::plan::Probe::StdoutLine { text }) => Some(text.clone()),
        _ => None,
    };
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
                |line| match (peer.as_ref(), line) {
                    (Some(p), Line::Text(l)) => channels.deliver(unit, p, l),
                    // An answer too long to take fails its call at once (and is still noted
                    // in the log, like any over-long line).
                    (Some(p), Line::TooLong(n, head)) => {
                        p.refuse_too_long(head, n);
                        false
                    }
                    (None, _) => false,
                },
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
/// replaced, not fatal. Holds at most [`MAX_LINE`] bytes of a line: a longer one is skipped to
/// its newline and reported by its length.
pub(super) async fn read_lines<R: AsyncRead + Unpin>(r: R, mut on_line: impl FnMut(Line<'_>)) {
    let mut r = BufReader::new(r);
    let mut buf: Vec<u8> = Vec::new();
    // Bytes of an over-long line seen so far, while skipping it, and its first bytes.
    let mut skipping: Option<usize> = None;
    let mut head: Vec<u8> = Vec::new();
    while let Ok(chunk) = r.fill_buf().await {
        if chunk.is_empty() {
            match skipping {
                Some(n) => on_line(Line::TooLong(n, &head)),
                None if !buf.is_empty() => on_line(Line::Text(String::from_utf8_lossy(&buf).trim_end_matches('\r'))),
                None => {}
            }
            break;
        }
        let (part, newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], true),
            None => (chunk, false),
        };
        let used = part.len() + usize::from(newline);
        match skipping.as_mut() {
            Some(n) => *n += part.len(),
            None if buf.len() + part.len() > MAX_LINE => {
                skipping = Some(buf.len() + part.len());
                head = buf.iter().chain(part).take(HEAD).copied().collect();
                buf = Vec::new(); // give the memory back, not only the length
            }
            None => buf.extend_from_slice(part),
        }
        r.consume(used);
        if newline {
            match skipping.take() {
                Some(n) => on_line(Line::TooLong(n, &head)),
                None => on_line(Line::Text(String::from_utf8_lossy(&buf).trim_end_matches('\r'))),
            }
            buf.clear();
        }
    }
}

//! Human output of the runner: one line per state change, the status table, event lines.

use sidecar_supervisor_core::DataDirLayout;
use std::collections::HashMap;
use std::fmt::Write;

use sidecar_supervisor_core::RuntimeEvent;
use sidecar_supervisor_core::State;
use sidecar_supervisor_core::{Notification, RuntimeStatus};

pub struct StatePrinter {
    last: HashMap<String, State>,
    last_message: HashMap<String, String>,
    width: usize,
}

impl StatePrinter {
    pub fn new(st: &RuntimeStatus) -> Self {
        let width = st.sidecars.iter().map(|s| s.name.len()).max().unwrap_or(8).max(8);
        StatePrinter { last: HashMap::new(), last_message: HashMap::new(), width }
    }

    pub fn on(&mut self, n: &Notification) {
        match n {
            Notification::Event(e) => {
                if let Some(s) = &e.sidecar {
                    self.last_message.insert(s.clone(), e.message.clone());
                }
            }
            Notification::Sidecar(s) => {
                if self.last.get(&s.name) == Some(&s.state) {
                    return;
                }
                self.last.insert(s.name.clone(), s.state);
                let mut line = format!("{} {:w$} {:16}", clock(), s.name, s.state.as_str(), w = self.width);
                if let Some(pid) = s.pid {
                    let _ = write!(line, " pid {pid}");
                }
                if let Some(port) = s.port {
                    let _ = write!(line, " port {port}");
                }
                if let Some(m) = self.last_message.get(&s.name) {
                    let _ = write!(line, "  {m}");
                }
                println!("{line}");
            }
            Notification::Stopped | Notification::Message(_) | Notification::Resources(_) | Notification::Health(_) => {
            }
        }
    }
}

/// HH:MM:SS.mmm in UTC, as the feed stamps its events.
fn clock() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let s = t.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:03}", s / 3600, s / 60 % 60, s % 60, t.subsec_millis())
}

/// Is the runner that wrote this status still alive (same pid, same start time)?
pub fn runner_alive(layout: &DataDirLayout, st: &RuntimeStatus) -> bool {
    if st.stopped {
        return false;
    }
    sidecar_supervisor_core::instance_alive(layout, &st.instance_id)
}

pub fn status_table(st: &RuntimeStatus, running: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "instance {} · mode {} · runner pid {} ({}) · started {}",
        st.instance_id,
        st.mode.as_str(),
        st.pid,
        if running { "running" } else { "not running; last known status" },
        st.started_at
    );
    let w = st.sidecars.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:w$}  {:16} {:>7} {:>6} {:>9} {:>8} {:>6} {:>9} {:>5}  {:20}  LAST ERROR",
        "NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "CPU%", "MEMORY", "PROCS", "BUILD"
    );
    for s in &st.sidecars {
        let r = s.resources.filter(|_| running);
        let _ = writeln!(
            out,
            "{:w$}  {:16} {:>7} {:>6} {:>9} {:>8} {:>6} {:>9} {:>5}  {:20}  {}",
            s.name,
            s.state.as_str(),
            s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            s.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            s.uptime_ms.filter(|_| running).map(human_ms).unwrap_or_else(|| "-".into()),
            format!("{}/{}", s.restarts_in_window, s.budget.max),
            r.map(|r| format!("{:.1}", r.cpu_percent)).unwrap_or_else(|| "-".into()),
            r.map(|r| human_bytes(r.rss_bytes)).unwrap_or_else(|| "-".into()),
            r.map(|r| r.processes.to_string()).unwrap_or_else(|| "-".into()),
            build_cell(s.build.as_deref()),
            s.last_error.as_deref().unwrap_or("")
        );
    }
    for w in &st.warnings {
        let _ = writeln!(out, "warning: {}", w.message);
    }
    out
}

/// `0.1.0@5644cc9cfbda`, `!` appended when it is not the app's build; `-` when it states none.
fn build_cell(b: Option<&sidecar_supervisor_core::SidecarBuild>) -> String {
    let Some(b) = b else { return "-".into() };
    let hash: String = b.build.chars().take(12).collect();
    let text = match (b.version.as_str(), hash.as_str()) {
        ("", "") => "-".to_string(),
        (v, "") => v.to_string(),
        ("", h) => h.to_string(),
        (v, h) => format!("{v}@{h}"),
    };
    if b.matches == Some(false) {
        format!("{text}!")
    } else {
        text
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n => format!("{}K", n >> 10),
    }
}

fn human_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{}s", ms / 1000),
        60_000..=3_599_999 => format!("{}m{}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

pub fn event_line(e: &RuntimeEvent) -> String {
    let mut s = format!(
        "{:>5} {} {:12} {:18} {}",
        e.seq,
        e.at,
        e.sidecar.as_deref().unwrap_or("-"),
        e.kind.as_str(),
        e.message
    );
    if let Some(p) = e.pid {
        let _ = write!(s, " [pid {p}]");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_supervisor_core::SidecarBuild;

    #[test]
    fn the_build_cell_names_version_and_hash_and_marks_another_build() {
        let b = |version: &str, build: &str, matches| SidecarBuild {
            version: version.into(),
            build: build.into(),
            matches,
        };
        assert_eq!(build_cell(None), "-");
        assert_eq!(build_cell(Some(&b("0.1.0", "5644cc9cfbda-dirty", Some(true)))), "0.1.0@5644cc9cfbda");
        assert_eq!(build_cell(Some(&b("0.1.0", "abc", Some(false)))), "0.1.0@abc!");
        assert_eq!(build_cell(Some(&b("0.1.0", "", None))), "0.1.0");
    }
}

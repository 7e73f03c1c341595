//! The wall clock, for the timestamps people read (feed events, log lines, messages). Decisions
//! never read it: they run on the monotonic `now` the engine passes in.

/// Current UTC time as RFC 3339 with milliseconds (`...T10:00:00.123Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

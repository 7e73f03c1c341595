//! The verdict on a PostgreSQL data directory before its server starts (a sidecar with a
//! `postgres` block). The effect side reads the facts — the major version the directory was
//! made by (`PG_VERSION`), the major of the `postgres` program found, and what its
//! `postmaster.pid` names — and [`judge`] decides, here, with no I/O:
//!
//! - a `postmaster.pid` whose process is gone, or is not this directory's server, is stale:
//!   it is removed and said so. PostgreSQL removes one whose pid is free by itself, but refuses
//!   to start while *any* process holds that pid ("lock file already exists"), and after a
//!   crash and a reboot pids are reused: that alone can keep a desktop app's database down;
//! - a directory a live PostgreSQL server runs on is refused, never killed: it belongs to
//!   another runtime, or to someone who started it by hand;
//! - a directory made by a newer major than the program is refused (a downgrade), never
//!   opened; one made by an older major is refused with what to do.

use super::cause::Cause;

/// What a `postmaster.pid` says and who holds its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidFile {
    /// There is none (the last server stopped cleanly, or there never was one).
    Absent,
    /// It exists but names no pid (empty, cut short, not text): why.
    Unreadable(String),
    /// It names `pid`, which is held by `holder`.
    Names { pid: u32, holder: Holder },
}

/// Who holds a pid a `postmaster.pid` names, as far as this OS lets the runtime see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// No process has that pid.
    Gone,
    /// A program that is not PostgreSQL (its name, e.g. `sleep`).
    Program(String),
    /// A PostgreSQL server whose data directory is this one.
    ThisDirsServer,
    /// A PostgreSQL server of another data directory (which one).
    OtherDirsServer(String),
    /// A PostgreSQL server whose data directory this OS does not show.
    ServerOfUnknownDir,
}

/// The major version a data directory was made by, from its `PG_VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataVersion {
    /// No cluster yet (no `PG_VERSION`): `initdb` makes one.
    None,
    Major(u32),
    /// `PG_VERSION` exists but is not a version: why.
    Unreadable(String),
}

/// What the effect side found, for [`judge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFacts {
    /// The data directory, as people should read it in messages.
    pub dir: String,
    pub data: DataVersion,
    /// The major of the `postgres` program that will run it (`postgres -V`), or why it is not
    /// known (then versions are not compared: PostgreSQL's own check still refuses).
    pub server: Result<u32, String>,
    pub pid_file: PidFile,
}

/// What to do before the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start it; first remove the stale `postmaster.pid` when `remove_pid_file` says why.
    Start { remove_pid_file: Option<String> },
    /// Do not start it: why, for people, and the cause, for readers that decide on it.
    Refuse { error: String, cause: Cause },
}

/// The verdict on a data directory (module docs).
pub fn judge(f: &DataFacts) -> Verdict {
    let dir = &f.dir;
    let refuse = |error: String, cause| Verdict::Refuse { error, cause };
    let stale = |why: String| format!("removed a stale postmaster.pid from {dir}: {why}");
    let remove_pid_file = match &f.pid_file {
        PidFile::Absent => None,
        PidFile::Unreadable(why) => Some(stale(format!("it names no process ({why})"))),
        PidFile::Names { pid, holder } => match holder {
            Holder::Gone => Some(stale(format!("pid {pid} is not running"))),
            Holder::Program(name) => Some(stale(format!("pid {pid} is now `{name}`, not a PostgreSQL server"))),
            Holder::OtherDirsServer(other) => {
                Some(stale(format!("pid {pid} is the PostgreSQL server of another directory ({other})")))
            }
            Holder::ThisDirsServer | Holder::ServerOfUnknownDir => {
                let whose = match holder {
                    Holder::ThisDirsServer => "runs on it",
                    _ => "holds its postmaster.pid",
                };
                return refuse(
                    format!(
                        "the database directory {dir} is in use: a PostgreSQL server this runtime did not \
                         start (pid {pid}) {whose}. It is left running; stop it (`pg_ctl stop -D {dir}`) or \
                         quit the other app that runs it, then start this sidecar again"
                    ),
                    Cause::DataDirInUse,
                );
            }
        },
    };
    let (data, server) = match (&f.data, &f.server) {
        (DataVersion::Major(d), Ok(s)) => (*d, *s),
        (DataVersion::Unreadable(why), _) => {
            return refuse(
                format!(
                    "the database directory {dir} has an unreadable PG_VERSION ({why}): it is not opened. \
                     Restore a backup, or move the directory away to start with an empty database"
                ),
                Cause::DataUnreadable,
            )
        }
        _ => return Verdict::Start { remove_pid_file },
    };
    if data > server {
        return refuse(
            format!(
                "the database in {dir} was made by PostgreSQL {data}, newer than this app's PostgreSQL {server} \
                 (the app was downgraded): it is not opened, so nothing in it changes. Install the newer \
                 version of the app again, or restore a backup made with this version"
            ),
            Cause::DataNewerThanServer,
        );
    }
    if data < server {
        return refuse(
            format!(
                "the database in {dir} was made by PostgreSQL {data}; this app runs PostgreSQL {server}, which \
                 cannot open it. It is not opened, so nothing in it changes. Restore a backup made with this \
                 version, or run the app version that made it and back the data up"
            ),
            Cause::DataOlderThanServer,
        );
    }
    Verdict::Start { remove_pid_file }
}

/// The major version in a `PG_VERSION` file's text (`"17\n"`; before 10, `"9.6"` → 9).
pub fn parse_pg_version(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let major = t.split('.').next().unwrap_or_default();
    major.parse::<u32>().ok().filter(|m| *m > 0).ok_or_else(|| format!("{:?} is not a version", shorten(t)))
}

/// The major version in `postgres -V`'s answer: `postgres (PostgreSQL) 17.2 (Debian 17.2-1)`,
/// `postgres (PostgreSQL) 18beta1`, `postgres (PostgreSQL) 9.6.24` → 9.
pub fn parse_server_version(text: &str) -> Result<u32, String> {
    let after = text.split("(PostgreSQL)").nth(1).ok_or_else(|| format!("{:?} is not PostgreSQL's", shorten(text)))?;
    let digits: String = after.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<u32>().map_err(|_| format!("no version in {:?}", shorten(text)))
}

/// The pid on a `postmaster.pid`'s first line.
pub fn parse_pid_file(text: &str) -> Result<u32, String> {
    let first = text.lines().next().unwrap_or_default().trim();
    match first.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ if first.is_empty() => Err("it is empty".into()),
        _ => Err(format!("its first line is {:?}", shorten(first))),
    }
}

fn shorten(t: &str) -> String {
    t.trim().chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(data: DataVersion, server: Result<u32, String>, pid_file: PidFile) -> DataFacts {
        DataFacts { dir: "/d/pg".into(), data, server, pid_file }
    }

    fn start(f: &DataFacts) -> Option<String> {
        match judge(f) {
            Verdict::Start { remove_pid_file } => remove_pid_file,
            v => panic!("expected a start, got {v:?}"),
        }
    }

    fn refused(f: &DataFacts) -> (String, Cause) {
        match judge(f) {
            Verdict::Refuse { error, cause } => (error, cause),
            v => panic!("expected a refusal, got {v:?}"),
        }
    }

    #[test]
    fn a_clean_directory_of_the_same_major_or_none_yet_starts_as_it_is() {
        assert_eq!(start(&facts(DataVersion::Major(17), Ok(17), PidFile::Absent)), None);
        assert_eq!(start(&facts(DataVersion::None, Ok(17), PidFile::Absent)), None);
        // The program's version unknown: PostgreSQL's own check is left to refuse.
        assert_eq!(start(&facts(DataVersion::Major(16), Err("timed out".into()), PidFile::Absent)), None);
    }

    #[test]
    fn a_pid_file_whose_process_is_not_this_directorys_server_is_removed_and_said_so() {
        let cases = [
            (Holder::Gone, "pid 42 is not running"),
            (Holder::Program("sleep".into()), "pid 42 is now `sleep`, not a PostgreSQL server"),
            (Holder::OtherDirsServer("/other/pg".into()), "another directory (/other/pg)"),
        ];
        for (holder, says) in cases {
            let f = facts(DataVersion::Major(17), Ok(17), PidFile::Names { pid: 42, holder });
            let why = start(&f).expect("removed");
            assert!(why.starts_with("removed a stale postmaster.pid from /d/pg: "), "{why}");
            assert!(why.contains(says), "{why}");
        }
        let f = facts(DataVersion::Major(17), Ok(17), PidFile::Unreadable("it is empty".into()));
        assert!(start(&f).expect("removed").contains("it names no process (it is empty)"));
    }

    #[test]
    fn a_live_server_on_the_directory_is_refused_never_killed() {
        for holder in [Holder::ThisDirsServer, Holder::ServerOfUnknownDir] {
            let f = facts(DataVersion::Major(17), Ok(17), PidFile::Names { pid: 42, holder });
            let (error, cause) = refused(&f);
            assert_eq!(cause, Cause::DataDirInUse);
            assert!(error.contains("in use") && error.contains("pid 42") && error.contains("left running"), "{error}");
            assert!(error.contains("pg_ctl stop -D /d/pg"), "says how: {error}");
        }
    }

    #[test]
    fn a_newer_directory_is_a_downgrade_and_an_older_one_cannot_be_opened() {
        let (error, cause) = refused(&facts(DataVersion::Major(18), Ok(17), PidFile::Absent));
        assert_eq!(cause, Cause::DataNewerThanServer);
        assert!(error.contains("PostgreSQL 18, newer than this app's PostgreSQL 17"), "{error}");
        assert!(error.contains("not opened"), "{error}");
        let (error, cause) = refused(&facts(DataVersion::Major(16), Ok(17), PidFile::Absent));
        assert_eq!(cause, Cause::DataOlderThanServer);
        assert!(error.contains("made by PostgreSQL 16; this app runs PostgreSQL 17"), "{error}");
        let (error, cause) =
            refused(&facts(DataVersion::Unreadable("\"x\" is not a version".into()), Ok(17), PidFile::Absent));
        assert_eq!(cause, Cause::DataUnreadable);
        assert!(error.contains("unreadable PG_VERSION"), "{error}");
    }

    #[test]
    fn a_server_in_use_is_named_before_its_version_is_judged() {
        let live = PidFile::Names { pid: 7, holder: Holder::ThisDirsServer };
        assert_eq!(refused(&facts(DataVersion::Major(18), Ok(17), live)).1, Cause::DataDirInUse);
    }

    #[test]
    fn versions_and_pid_files_parse_as_postgresql_writes_them() {
        assert_eq!(parse_pg_version("17\n"), Ok(17));
        assert_eq!(parse_pg_version("9.6\n"), Ok(9));
        assert!(parse_pg_version("").is_err());
        assert!(parse_pg_version("seventeen").unwrap_err().contains("not a version"));
        assert_eq!(parse_server_version("postgres (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)\n"), Ok(15));
        assert_eq!(parse_server_version("postgres (PostgreSQL) 18beta1"), Ok(18));
        assert_eq!(parse_server_version("postgres (PostgreSQL) 9.6.24"), Ok(9));
        assert!(parse_server_version("sleep (GNU coreutils) 9.1").is_err());
        assert_eq!(parse_pid_file("1234\n/d/pg\n1700000000\n5432\n"), Ok(1234));
        assert_eq!(parse_pid_file(""), Err("it is empty".into()));
        assert!(parse_pid_file("abc\n").unwrap_err().contains("\"abc\""));
    }
}

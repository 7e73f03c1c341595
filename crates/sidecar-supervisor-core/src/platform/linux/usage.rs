//! CPU time and memory of process groups, from `/proc/<pid>/stat`: one pass over `/proc` per
//! sample serves every sidecar (a group is the processes whose `pgrp` is the leader's pid).

use std::collections::HashMap;
use std::time::Duration;

use crate::platform::GroupUsage;

/// Usage of the groups led by `leaders`, in the same order (`None`: no live process in it).
pub fn group_usage(leaders: &[u32]) -> Vec<Option<GroupUsage>> {
    // SAFETY: sysconf has no preconditions.
    let (tick, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
    let (tick, page) = (tick.max(1) as u64, page.max(1) as u64);
    let mut by_group: HashMap<u32, GroupUsage> = leaders.iter().map(|l| (*l, GroupUsage::default())).collect();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()).is_none() {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            let Some((pgrp, ticks, rss_pages)) = parse_stat(&stat) else { continue };
            if let Some(u) = by_group.get_mut(&pgrp) {
                u.cpu += Duration::from_nanos(ticks * 1_000_000_000 / tick);
                u.rss_bytes += rss_pages * page;
                u.processes += 1;
            }
        }
    }
    leaders.iter().map(|l| by_group.get(l).copied().filter(|u| u.processes > 0)).collect()
}

/// `(pgrp, utime+stime+cutime+cstime in ticks, rss in pages)` of a live (not zombie) process.
/// The children's times count too: a short-lived child reaped inside the group keeps its CPU
/// time in the sum instead of vanishing with it.
fn parse_stat(stat: &str) -> Option<(u32, u64, u64)> {
    // Fields after the command name (in parentheses, may hold spaces); `f[0]` is field 3.
    let f: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    if f.first() == Some(&"Z") {
        return None;
    }
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = n(11)? + n(12)? + n(13)? + n(14)?;
    Some((n(2)? as u32, ticks, n(21)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_has_spaces_and_parens() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 999 1000000 250 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((4242, 13, 250)));
        let zombie = "4243 (x) Z 1 4242 4242 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 999 0 0 0";
        assert_eq!(parse_stat(zombie), None);
    }

    #[test]
    fn this_process_group_has_cpu_time_and_memory() {
        // SAFETY: getpgrp has no preconditions.
        let me = unsafe { libc::getpgrp() } as u32;
        let u = group_usage(&[me, u32::MAX - 7]);
        let mine = u[0].expect("our own group is alive");
        assert!(mine.processes >= 1 && mine.rss_bytes > 0, "{mine:?}");
        assert_eq!(u[1], None);
    }
}

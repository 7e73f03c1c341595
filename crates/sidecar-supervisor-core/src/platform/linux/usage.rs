//! CPU time and memory of process trees, from `/proc/<pid>/stat`: one pass over `/proc` per
//! sample serves every sidecar. A sidecar's tree is its process group (the processes whose
//! `pgrp` is the leader's pid) plus every descendant of the leader: programs that give each
//! child a session of its own (PostgreSQL does, for every backend) are counted whole too.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::platform::GroupUsage;

/// One live process as `/proc/<pid>/stat` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    ppid: u32,
    pgrp: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    ticks: u64,
    rss_pages: u64,
}

/// Usage of the trees led by `leaders`, in the same order (`None`: no live process in it).
pub fn group_usage(leaders: &[u32]) -> Vec<Option<GroupUsage>> {
    // SAFETY: sysconf has no preconditions.
    let (tick, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
    let (tick, page) = (tick.max(1) as u64, page.max(1) as u64);
    let mut procs = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            if let Some(p) = parse_stat(&stat) {
                procs.insert(pid, p);
            }
        }
    }
    let children = children_of(&procs);
    leaders
        .iter()
        .map(|&l| {
            let tree = tree_of(l, &procs, &children);
            let mut u = GroupUsage::default();
            for pid in tree {
                let p = procs[&pid];
                u.cpu += Duration::from_nanos(p.ticks * 1_000_000_000 / tick);
                u.rss_bytes += p.rss_pages * page;
                u.processes += 1;
            }
            (u.processes > 0).then_some(u)
        })
        .collect()
}

fn children_of(procs: &HashMap<u32, Proc>) -> HashMap<u32, Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, p) in procs {
        children.entry(p.ppid).or_default().push(pid);
    }
    children
}

/// The group led by `leader` and every descendant of the leader (or of a group member).
fn tree_of(leader: u32, procs: &HashMap<u32, Proc>, children: &HashMap<u32, Vec<u32>>) -> HashSet<u32> {
    let mut tree: HashSet<u32> = procs.iter().filter(|(_, p)| p.pgrp == leader).map(|(pid, _)| *pid).collect();
    if procs.contains_key(&leader) {
        tree.insert(leader);
    }
    let mut todo: Vec<u32> = tree.iter().copied().collect();
    while let Some(pid) = todo.pop() {
        for &c in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            if tree.insert(c) {
                todo.push(c);
            }
        }
    }
    tree
}

/// A live (not zombie) process's `stat` line. The children's times count too: a short-lived
/// child reaped inside the tree keeps its CPU time in the sum instead of vanishing with it.
fn parse_stat(stat: &str) -> Option<Proc> {
    // Fields after the command name (in parentheses, may hold spaces); `f[0]` is field 3.
    let f: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    if f.first() == Some(&"Z") {
        return None;
    }
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(Proc { ppid: n(1)? as u32, pgrp: n(2)? as u32, ticks: n(11)? + n(12)? + n(13)? + n(14)?, rss_pages: n(21)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_has_spaces_and_parens() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 999 1000000 250 18446744073709551615";
        assert_eq!(parse_stat(stat), Some(Proc { ppid: 1, pgrp: 4242, ticks: 13, rss_pages: 250 }));
        let zombie = "4243 (x) Z 1 4242 4242 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 999 0 0 0";
        assert_eq!(parse_stat(zombie), None);
    }

    #[test]
    fn the_tree_is_the_group_plus_descendants_in_sessions_of_their_own() {
        let p = |ppid, pgrp| Proc { ppid, pgrp, ticks: 0, rss_pages: 0 };
        // 10 leads; 11 in its group; 12 a child with its own session (as PostgreSQL's
        // backends), 13 that one's child; 14 in the group but reparented to init; 20 unrelated.
        let procs: HashMap<u32, Proc> =
            [(10, p(1, 10)), (11, p(10, 10)), (12, p(10, 12)), (13, p(12, 12)), (14, p(1, 10)), (20, p(1, 20))].into();
        let children = children_of(&procs);
        let mut t: Vec<u32> = tree_of(10, &procs, &children).into_iter().collect();
        t.sort();
        assert_eq!(t, [10, 11, 12, 13, 14]);
        assert!(tree_of(99, &procs, &children).is_empty());
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

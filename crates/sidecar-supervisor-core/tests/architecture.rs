//! The crate's shape, checked. docs/architecture.md promises that nothing outside `platform/`
//! names an operating system ("The platform boundary"), that the top-level modules depend on
//! each other one way only, layer by layer, and that the parts of `domain/` and of `runtime/`
//! form no cycle. A review easily misses one new `crate::runtime::` in `profile/` or one
//! `cfg!(windows)` in the engine; these tests read the source and keep the doc true.
//!
//! They use only `std` and a small scanner, not a Rust parser. Comments and the insides of
//! string and char literals are blanked first (so offsets and line numbers stay the original's),
//! then every `#[cfg(test)] mod ... { ... }` block; files in a `tests/` directory or named
//! `tests.rs` are skipped whole. Test code may reach anywhere.
//!
//! When a test fails, move the code to the layer it belongs in (or the OS-specific part behind
//! `platform/`). Change `LAYERS` only together with docs/architecture.md.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules each module may name (`crate::<module>`). It mirrors the layer list in
/// docs/architecture.md: change both together. `testing` is not listed: only tests may use it.
#[rustfmt::skip]
const LAYERS: &[(&str, &[&str])] = &[
    ("profile", &[]),
    ("layout", &[]),
    ("redact", &[]),
    ("wallclock", &[]),
    ("domain", &["profile"]),
    ("platform", &["domain", "profile"]),
    ("atomic_file", &["platform"]),
    ("writer", &["atomic_file"]),
    ("log_files", &["atomic_file"]),
    ("logs", &["atomic_file", "log_files", "platform", "redact", "writer", "domain", "wallclock"]),
    ("feed", &["atomic_file", "domain", "layout", "redact", "writer", "wallclock"]),
    ("runtime", &["profile", "domain", "platform", "atomic_file", "layout", "redact", "writer", "log_files", "logs",
        "feed", "wallclock"]),
    ("diagnostics", &["runtime", "profile", "domain", "platform", "atomic_file", "layout", "redact", "writer",
        "log_files", "logs", "feed", "wallclock"]),
];

/// The modules whose children (`src/<module>/<child>.rs` or `src/<module>/<child>/`) must not
/// depend on each other in a cycle.
const NO_CYCLE_INSIDE: &[&str] = &["domain", "runtime"];

/// Folders that group modules by kind rather than by layer: each module in one is a node of its
/// own (`runtime/doors/`: the control socket serves the handle, the JSON-RPC channel serves the
/// engine; both are side doors).
const GROUPS: &[(&str, &str)] = &[("runtime", "doors")];

/// The node a module is in, among the children of `parent`: its child of `parent`, or for a
/// module in a group, `group::module`.
fn node_of(module: &[String], parent: &[String]) -> Option<String> {
    let child = module.get(parent.len())?;
    let grouped = parent.len() == 1 && GROUPS.iter().any(|(p, g)| *p == parent[0] && g == child);
    match (grouped, module.get(parent.len() + 1)) {
        (true, Some(inner)) => Some(format!("{child}::{inner}")),
        (true, None) => None,
        (false, _) => Some(child.clone()),
    }
}

/// The words that make a `cfg` predicate name an operating system.
const OS_WORDS: &[&str] = &["windows", "unix", "target_os", "target_family", "target_env"];

fn src_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

#[test]
fn nothing_outside_platform_names_an_os() {
    let mut hits = Vec::new();
    for file in sources().iter().filter(|s| s.module.first().is_none_or(|m| m != "platform")) {
        let mut found = os_cfgs(&file.code);
        let consts = paths(&file.code, &["consts"]).into_iter().filter(|p| p.segments.len() == 2);
        found.extend(consts.filter(|p| ["OS", "FAMILY"].contains(&p.segments[1].as_str())).map(|p| p.at));
        found.sort_unstable();
        found.dedup();
        hits.extend(found.into_iter().map(|at| file.place(at)));
    }
    assert!(
        hits.is_empty(),
        "OS specifics belong in platform/ (see docs/architecture.md, 'The platform boundary'), found outside it:\n  {}\n",
        hits.join("\n  ")
    );
}

#[test]
fn modules_follow_the_layers_and_form_no_cycle() {
    let sources = sources();
    let mut problems = Vec::new();
    let top: BTreeSet<String> = sources.iter().filter_map(|s| s.module.first().cloned()).collect();
    for module in top.iter().filter(|m| *m != "testing" && !LAYERS.iter().any(|(name, _)| name == m)) {
        problems.push(format!("`{module}` is missing from LAYERS: add it there and to docs/architecture.md"));
    }
    for ((from, to), at) in edges(&sources, &[], &top) {
        let allowed = LAYERS.iter().find(|(name, _)| *name == from).map_or(&[][..], |(_, deps)| deps);
        if !allowed.contains(&to.as_str()) {
            problems.push(format!("{from} -> {to} is not allowed by LAYERS, e.g. {at}"));
        }
    }
    for parent in NO_CYCLE_INSIDE {
        let parent = [parent.to_string()];
        let inside = sources.iter().filter(|s| s.module.len() > 1 && s.module.starts_with(&parent));
        let children: BTreeSet<String> = inside.filter_map(|s| node_of(&s.module, &parent)).collect();
        let edges = edges(&sources, &parent, &children);
        for cycle in cycles(&edges) {
            let mut text = format!("a cycle in {}/: {}", parent[0], cycle.join(" -> "));
            for pair in cycle.windows(2) {
                text += &format!("\n      {} -> {}: {}", pair[0], pair[1], edges[&(pair[0].clone(), pair[1].clone())]);
            }
            problems.push(text);
        }
    }
    assert!(problems.is_empty(), "the modules break docs/architecture.md's layers:\n  {}\n", problems.join("\n  "));
}

/// The dependencies between the children of module `parent` (`[]`: between the top-level
/// modules), each with one example `path:line: text`. A name the parent re-exports counts as its
/// child's; paths to the parent itself, to nothing known or to `testing` are no dependency.
fn edges(sources: &[Source], parent: &[String], children: &BTreeSet<String>) -> BTreeMap<(String, String), String> {
    let reexported = reexports(sources, parent, children);
    let mut edges = BTreeMap::new();
    let inside =
        |s: &&Source| s.module.len() > parent.len() && s.module.starts_with(parent) && s.module[0] != "testing";
    for file in sources.iter().filter(inside) {
        let Some(from) = (if parent.is_empty() { file.module.first().cloned() } else { node_of(&file.module, parent) })
        else {
            continue;
        };
        for path in paths(&file.code, &["crate", "super"]) {
            let here: Vec<String> = file.module.iter().chain(&path.inline).cloned().collect();
            let abs = absolute(&here, &path.segments);
            if !abs.starts_with(parent) {
                continue;
            }
            let node = if parent.is_empty() { abs.first().cloned() } else { node_of(&abs, parent) };
            let Some(name) = node else { continue };
            let Some(to) = children.get(&name).or_else(|| reexported.get(&name)) else { continue };
            if *to != from && to != "testing" {
                edges.entry((from.clone(), to.clone())).or_insert_with(|| file.place(path.at));
            }
        }
    }
    edges
}

/// The names `parent` re-exports from its children, mapped to the child: `pub use child::{A, B}`,
/// `pub use self::child::C`, and for `pub use child::*` the child's top-level `pub` items.
fn reexports(sources: &[Source], parent: &[String], children: &BTreeSet<String>) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let Some(file) = sources.iter().find(|s| s.module == parent) else { return names };
    for (offset, line) in lines(&file.code) {
        let prefix = ["pub use ", "pub(crate) use ", "pub(super) use "].into_iter().find(|p| line.starts_with(p));
        let Some(prefix) = prefix else { continue };
        let mut found = Vec::new();
        read_path(&file.code, offset + prefix.len(), vec!["self".to_string()], &mut found);
        for (segments, _) in found {
            let abs = absolute(parent, &segments);
            let Some(child) = abs.get(parent.len()).filter(|c| abs.starts_with(parent) && children.contains(*c)) else {
                continue;
            };
            let items = match abs.last() {
                Some(last) if last == "*" => pub_items(sources, &abs[..abs.len() - 1]),
                last => last.cloned().into_iter().collect(),
            };
            names.extend(items.into_iter().map(|name| (name, child.clone())));
        }
    }
    names
}

/// The names of the top-level `pub` items (struct, enum, fn, ...) in the file of `module`.
fn pub_items(sources: &[Source], module: &[String]) -> Vec<String> {
    let Some(file) = sources.iter().find(|s| s.module == module) else { return Vec::new() };
    let mut names = Vec::new();
    for (_, line) in lines(&file.code).filter(|(_, line)| line.starts_with("pub")) {
        let words = line.split(|c: char| !(c == '_' || c.is_ascii_alphanumeric())).filter(|w| !w.is_empty());
        let mut words = words.skip(1).skip_while(|w| ["crate", "super", "async", "unsafe"].contains(w));
        let (mut kind, mut name) = (words.next(), words.next());
        if (kind, name) == (Some("const"), Some("fn")) {
            (kind, name) = (name, words.next());
        }
        let kinds = ["struct", "enum", "fn", "trait", "type", "const", "static", "mod", "union"];
        names.extend(name.filter(|_| kind.is_some_and(|k| kinds.contains(&k))).map(String::from));
    }
    names
}

/// The shortest cycle through each edge that is on one, as `[a, b, ..., a]`; each cycle once.
fn cycles(edges: &BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    let (mut found, mut seen) = (Vec::new(), BTreeSet::new());
    for (a, b) in edges.keys() {
        // Breadth first from b; `came_from` leads from each module reached back to b.
        let (mut came_from, mut queue) = (BTreeMap::new(), VecDeque::from([b]));
        while let Some(node) = queue.pop_front() {
            for (_, to) in edges.keys().filter(|(from, _)| from == node) {
                if to != b && !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    queue.push_back(to);
                }
            }
        }
        let (mut cycle, mut node) = (vec![a.clone()], a);
        while node != b {
            let Some(&previous) = came_from.get(node) else { break };
            node = previous;
            cycle.insert(1, node.clone());
        }
        cycle.push(a.clone());
        if node == b && seen.insert(cycle.iter().cloned().collect::<BTreeSet<String>>()) {
            found.push(cycle);
        }
    }
    found
}

/// One non-test source file.
struct Source {
    /// As printed: `src/domain/plan.rs`, with `/` on every OS.
    shown: String,
    /// `["domain", "plan"]`; a `mod.rs` is its directory's module, `lib.rs` is `[]`.
    module: Vec<String>,
    /// The text with comments, literals and test modules blanked, byte for byte.
    code: Vec<u8>,
    /// The text as it is, for printing lines.
    text: String,
}

impl Source {
    /// `path:line: text` of the line holding byte `at`.
    fn place(&self, at: usize) -> String {
        let line = self.code[..at].iter().filter(|&&c| c == b'\n').count();
        format!("{}:{}: {}", self.shown, line + 1, self.text.lines().nth(line).unwrap_or_default().trim())
    }
}

/// Every `.rs` file under `src/` but test files, in a stable order.
fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("a directory entry").path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if path.is_dir() && name != "tests" {
                walk(&path, out);
            } else if name.ends_with(".rs") && name != "tests.rs" {
                out.push(path);
            }
        }
    }
    let (src, mut files) = (src_dir(), Vec::new());
    walk(&src, &mut files);
    let mut sources = Vec::new();
    for path in files {
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let relative = path.strip_prefix(&src).expect("a file under src");
        let mut module: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
        let stem = module.pop().expect("a file name").trim_end_matches(".rs").to_string();
        if stem != "mod" && !(stem == "lib" && module.is_empty()) {
            module.push(stem);
        }
        let mut code = blank_comments_and_literals(&text);
        blank_test_modules(&mut code);
        let shown = format!("src/{}", relative.to_string_lossy().replace('\\', "/"));
        sources.push(Source { shown, module, code, text });
    }
    sources
}

/// `text` with comments and string/char literals turned into spaces (newlines kept). Block
/// comments are taken as unnested.
fn blank_comments_and_literals(text: &str) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    let mut i = 0;
    while i < b.len() {
        let (word, after_word) = ident(&b, i);
        let hashes = b[after_word..].iter().take_while(|&&c| c == b'#').count();
        let end = if b[i..].starts_with(b"//") {
            (i..b.len()).find(|&j| b[j] == b'\n').unwrap_or(b.len())
        } else if b[i..].starts_with(b"/*") {
            (i + 2..b.len()).find(|&j| b[j..].starts_with(b"*/")).map_or(b.len(), |j| j + 2)
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if ["r", "br", "cr"].contains(&word.as_str()) && b.get(after_word + hashes) == Some(&b'"') {
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            (after_word + hashes + 1..b.len())
                .find(|&j| b[j..].starts_with(&close))
                .map_or(b.len(), |j| j + close.len())
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}', 'é'), else a lifetime ('a).
            let lead = b.get(i + 1).copied().unwrap_or(0);
            let width = 1 + usize::from(lead >= 0xC0) + usize::from(lead >= 0xE0) + usize::from(lead >= 0xF0);
            if b.get(i + 1) == Some(&b'\\') {
                (i + 3..b.len()).find(|&j| b[j] == b'\'').map_or(b.len(), |j| j + 1)
            } else if b.get(i + 1 + width) == Some(&b'\'') {
                i + 2 + width
            } else {
                i + 1
            }
        } else {
            i = after_word.max(i + 1);
            continue;
        };
        let end = end.min(b.len());
        blank(&mut b[i..end]);
        i = end;
    }
    b
}

/// Blanks each line that is exactly `#[cfg(test)]` together with the `mod ... { ... }` under it.
fn blank_test_modules(code: &mut [u8]) {
    let starts: Vec<usize> = lines(code).filter(|(_, line)| line.trim() == "#[cfg(test)]").map(|(at, _)| at).collect();
    for start in starts {
        let Some(open) = (start..code.len()).find(|&j| code[j] == b'{' || code[j] == b';') else { continue };
        let head = String::from_utf8_lossy(&code[start..open]).into_owned();
        if code[open] == b'{' && head.split_whitespace().any(|w| w == "mod") {
            let mut depth = 0;
            let close = (open..code.len()).find(|&j| {
                depth += i32::from(code[j] == b'{') - i32::from(code[j] == b'}');
                depth == 0
            });
            let end = close.map_or(code.len(), |j| j + 1);
            blank(&mut code[start..end]);
        }
    }
}

/// Where a `cfg(..)`, `cfg!(..)` or `cfg_attr(..)` predicate names an OS.
fn os_cfgs(code: &[u8]) -> Vec<usize> {
    let (mut hits, mut i) = (Vec::new(), 0);
    while i < code.len() {
        let (word, end) = ident(code, i);
        i = end.max(i + 1);
        if word != "cfg" && word != "cfg_attr" {
            continue;
        }
        let mut open = skip_ws(code, end);
        if word == "cfg" && code.get(open) == Some(&b'!') {
            open = skip_ws(code, open + 1);
        }
        if code.get(open) == Some(&b'(') {
            // The predicate ends at the closing parenthesis (for cfg_attr, at the first comma).
            let mut depth = 0;
            let close = (open..code.len()).find(|&j| {
                depth += i32::from(code[j] == b'(') - i32::from(code[j] == b')');
                depth == 0 || (word == "cfg_attr" && depth == 1 && code[j] == b',')
            });
            let predicate = String::from_utf8_lossy(&code[open..close.unwrap_or(code.len())]);
            if predicate.split(|c: char| !(c == '_' || c.is_ascii_alphanumeric())).any(|w| OS_WORDS.contains(&w)) {
                hits.push(end - word.len());
            }
        }
    }
    hits
}

/// A path in the code. A group `a::{b, c::{d, e}}` gives one per leaf: `a::b`, `a::c::d`, ...
struct PathRef {
    segments: Vec<String>,
    /// Where the leaf's part of the path starts (the line worth showing).
    at: usize,
    /// The inline modules (`mod unix { ... }`) it sits in, outermost first.
    inline: Vec<String>,
}

/// Every path starting with one of `roots` (`crate`, `super`, ...).
fn paths(code: &[u8], roots: &[&str]) -> Vec<PathRef> {
    let (mut out, mut inline, mut pending, mut depth, mut i) = (Vec::new(), Vec::<(String, usize)>::new(), None, 0, 0);
    while i < code.len() {
        match code[i] {
            b'{' => {
                depth += 1;
                inline.extend(pending.take().map(|name| (name, depth)));
            }
            b'}' => {
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            b';' => pending = None,
            _ => {}
        }
        let (word, end) = ident(code, i);
        if word == "mod" {
            pending = Some(ident(code, skip_ws(code, end)).0).filter(|name| !name.is_empty());
        }
        if roots.contains(&word.as_str()) && code[skip_ws(code, end)..].starts_with(b"::") {
            let mut found = Vec::new();
            i = read_path(code, i, Vec::new(), &mut found);
            let here: Vec<String> = inline.iter().map(|m| m.0.clone()).collect();
            out.extend(found.into_iter().map(|(segments, at)| PathRef { segments, at, inline: here.clone() }));
        } else {
            i = end.max(i + 1);
        }
    }
    out
}

/// Reads the path at `i` following `prefix`, pushing every full path (and where it starts).
fn read_path(code: &[u8], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<(Vec<String>, usize)>) -> usize {
    let start = i;
    loop {
        i = skip_ws(code, i);
        if code.get(i) == Some(&b'{') {
            i += 1;
            loop {
                i = skip_ws(code, i);
                match code.get(i) {
                    None => return i,
                    Some(b'}') => return i + 1,
                    Some(b',') => i += 1,
                    Some(_) if ident(code, i).0 == "as" => i = ident(code, skip_ws(code, ident(code, i).1)).1,
                    Some(_) => i = read_path(code, i, prefix.clone(), out).max(i + 1),
                }
            }
        }
        let (word, end) = if code.get(i) == Some(&b'*') { ("*".to_string(), i + 1) } else { ident(code, i) };
        if word.is_empty() {
            break;
        }
        prefix.push(word);
        i = end;
        if !code[skip_ws(code, i)..].starts_with(b"::") {
            break;
        }
        i = skip_ws(code, i) + 2;
    }
    out.push((prefix, start));
    i
}

/// The module path (without `crate`) that `segments` name from module `here`.
fn absolute(here: &[String], segments: &[String]) -> Vec<String> {
    let mut abs = here.to_vec();
    for segment in segments {
        match segment.as_str() {
            "crate" => abs.clear(),
            "self" => {}
            "super" => drop(abs.pop()),
            _ => abs.push(segment.clone()),
        }
    }
    abs
}

/// Each line with the offset of its first byte.
fn lines(code: &[u8]) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut at = 0;
    code.split(|&c| c == b'\n').map(move |line| {
        at += line.len() + 1;
        (at - line.len() - 1, String::from_utf8_lossy(line).into_owned())
    })
}

fn blank(bytes: &mut [u8]) {
    bytes.iter_mut().filter(|c| **c != b'\n').for_each(|c| *c = b' ');
}

fn is_ident(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

fn skip_ws(code: &[u8], i: usize) -> usize {
    (i..code.len()).find(|&j| !code[j].is_ascii_whitespace()).unwrap_or(code.len())
}

/// The identifier starting at `i` (empty if none) and where it ends.
fn ident(code: &[u8], i: usize) -> (String, usize) {
    if i > 0 && is_ident(code[i - 1]) {
        return (String::new(), i);
    }
    let end = (i..code.len()).find(|&j| !is_ident(code[j])).unwrap_or(code.len());
    (String::from_utf8_lossy(&code[i..end]).into_owned(), end)
}

//! The crates' module layering, read from their own source: for each
//! crate the import graph between top-level modules has no cycle. The
//! harness's commands are nodes of their own (`cmd/NAME`), and no `cmd`
//! module imports another except the shared flag groups in `cmd/flags.rs`.
//!
//! One reader serves every crate: [`check_layering`] takes the crate's
//! `src` directory and its [`Layering`] rules, so another crate is one more
//! call.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The one `cmd` module the other commands may import.
const SHARED_FLAGS: &str = "cmd/flags";

/// Module → the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// What is particular to one crate's graph.
struct Layering<'a> {
    /// Directories under `src` whose files are each a node of their own
    /// (`cmd/check`), and inside which `super::` names a sibling; any other
    /// directory is one node (`strategy`).
    split: &'a [&'a str],
    /// Nodes that must be in the graph, so a reader that finds nothing
    /// (a moved directory, a changed path syntax) cannot pass.
    known: &'a [&'a str],
}

/// The `src` directory of the workspace crate in directory `krate`.
fn src_of(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

/// Reads the crate under `src`, checks that `rules.known` nodes were read
/// and that the graph has no cycle, and returns the graph for the crate's
/// own checks.
fn check_layering(src: &Path, rules: &Layering<'_>) -> Graph {
    let graph = import_graph(src, rules.split);
    let missing: Vec<&str> = rules
        .known
        .iter()
        .copied()
        .filter(|node| !graph.contains_key(*node))
        .collect();
    assert!(
        missing.is_empty(),
        "the graph of {} was not read (missing {missing:?}): {graph:?}",
        src.display()
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between modules of {}: {}",
            src.display(),
            cycle.join(" -> ")
        );
    }
    graph
}

#[test]
fn harness_modules_form_no_cycle_and_commands_import_only_the_shared_flags() {
    let graph = check_layering(
        &src_of("harness"),
        &Layering {
            split: &["cmd"],
            known: &["cmd/check", "check"],
        },
    );
    let sideways: Vec<String> = graph
        .iter()
        .filter(|(from, _)| from.starts_with("cmd/"))
        .flat_map(|(from, tos)| {
            tos.iter()
                .filter(|to| (*to == "cmd" || to.starts_with("cmd/")) && *to != SHARED_FLAGS)
                .map(move |to| format!("{from} -> {to}"))
        })
        .collect();
    assert!(
        sideways.is_empty(),
        "cmd modules import other cmd modules: {sideways:?}"
    );
}

#[test]
fn generators_modules_form_no_cycle() {
    let graph = check_layering(
        &src_of("generators"),
        &Layering {
            split: &[],
            known: &[
                "text", "secret", "scheme", "profile", "builtin", "provider", "sign",
            ],
        },
    );
    // Edges the reader must see, through a module path, a grouped import
    // and a crate-root re-export: the vocabulary is below the aggregate.
    for (from, to) in [
        ("sign", "key"),
        ("provider", "builtin"),
        ("provider", "catalog"),
        ("hostile", "envelope"),
    ] {
        assert!(
            graph.get(from).is_some_and(|tos| tos.contains(to)),
            "{from} -> {to} not read: {graph:?}"
        );
    }
    for bottom in ["text", "secret", "seed"] {
        assert!(
            graph.get(bottom).is_some_and(BTreeSet::is_empty),
            "{bottom} must import nothing from the crate: {graph:?}"
        );
    }
}

#[test]
fn reports_modules_form_no_cycle() {
    let graph = check_layering(
        &src_of("reports"),
        &Layering {
            split: &[],
            known: &[
                "request", "report", "stats", "finding", "render", "merge", "diff",
            ],
        },
    );
    // A finding's request and the stats' excerpts come from `request`,
    // below the report; renderers read the report, never the reverse.
    for (from, to) in [
        ("finding", "request"),
        ("render", "report"),
        ("report", "stats"),
    ] {
        assert!(
            graph.get(from).is_some_and(|tos| tos.contains(to)),
            "{from} -> {to} not read: {graph:?}"
        );
    }
    assert!(
        graph
            .get("request")
            .is_some_and(|tos| !tos.contains("report")),
        "request must sit below the report: {graph:?}"
    );
}

#[test]
fn the_reader_sees_grouped_nested_and_sibling_imports() {
    let modules: BTreeSet<String> = ["check", "cmd", "load", "verdict"].map(String::from).into();
    let aliases = BTreeMap::from([("usage".to_string(), "verdict".to_string())]);
    let text = "use crate::{check::{self, Plan}, load};\n\
                use super::check::Args; // crate::ignored\n\
                fn f() { crate::cmd::flags::x(); crate::usage(\"\"); }";
    let found = imports("cmd/run", text, &modules, &aliases, &["cmd"]);
    let expected: BTreeSet<String> = ["check", "load", "cmd/check", "cmd/flags", "verdict"]
        .map(String::from)
        .into();
    assert_eq!(found, expected);

    let cyclic = Graph::from([
        ("a".into(), ["b".to_string()].into()),
        ("b".into(), ["c".to_string()].into()),
        ("c".into(), ["a".to_string()].into()),
    ]);
    assert_eq!(
        find_cycle(&cyclic).unwrap(),
        ["a", "b", "c", "a"].map(String::from)
    );
}

#[test]
fn reexports_span_lines_and_single_items() {
    let lib = "pub mod a;\npub use a::{\n    X, Y,\n    Z as V,\n};\npub use b::W;\n";
    let aliases = reexports(lib);
    let expected: BTreeMap<String, String> = [("X", "a"), ("Y", "a"), ("V", "a"), ("W", "b")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    assert_eq!(aliases, expected);
}

/// Reads every `.rs` file under `src` into the module graph; files under
/// the `split` directories are nodes of their own.
fn import_graph(src: &Path, split: &[&str]) -> Graph {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .expect("src is readable")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            Some(name.strip_suffix(".rs").unwrap_or(&name).to_string())
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let aliases = reexports(&std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let Some(node) = node_of(relative, split) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source is readable");
        let mut edges = imports(&node, &text, &modules, &aliases, split);
        edges.remove(&node);
        graph.entry(node).or_default().extend(edges);
    }
    graph
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The node a file belongs to: its top-level module, or `DIR/NAME` for a
/// file under a `split` directory (`None` for the crate root).
fn node_of(relative: &Path, split: &[&str]) -> Option<String> {
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [root] if root == "lib" || root == "main" => None,
        [dir, name, ..] if split.contains(&dir.as_str()) && name != "mod" => {
            Some(format!("{dir}/{name}"))
        }
        [first, ..] => Some(first.clone()),
        [] => None,
    }
}

/// `pub use verdict::{usage, ...};` in lib.rs (on one line or several):
/// item → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items
            .trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace())
            .split(',')
        {
            // `pub use a::{X as Y}` is known to the crate as `Y`.
            let item = item.rsplit(" as ").next().unwrap_or(item).trim();
            if !item.is_empty() {
                aliases.insert(item.to_string(), module.trim().to_string());
            }
        }
    }
    aliases
}

/// The nodes `text` (a file of `node`) refers to through `crate::` paths
/// (grouped or not) and, inside a `split` directory, through `super::`
/// paths (its siblings).
fn imports(
    node: &str,
    text: &str,
    modules: &BTreeSet<String>,
    aliases: &BTreeMap<String, String>,
    split: &[&str],
) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        paths.extend(expand(&code[at + "crate::".len()..]));
    }
    let dir = split
        .iter()
        .find(|dir| node.strip_prefix(**dir).is_some_and(|r| r.starts_with('/')));
    if let Some(dir) = dir {
        for (at, _) in code.match_indices("super::") {
            paths.extend(
                expand(&code[at + "super::".len()..])
                    .into_iter()
                    .map(|p| format!("{dir}::{p}")),
            );
        }
    }
    paths
        .iter()
        .filter_map(|path| {
            let mut segments = path.split("::");
            let first = segments.next()?;
            if split.contains(&first) {
                return Some(match segments.next() {
                    Some(name) if name != "self" => format!("{first}/{name}"),
                    _ => first.to_string(),
                });
            }
            if modules.contains(first) {
                Some(first.to_string())
            } else {
                aliases.get(first).cloned()
            }
        })
        .collect()
}

/// The paths a `use` tree starting at `rest` names, e.g. `{a::b, c}` →
/// `a::b`, `c`, and `a::{b, c}` → `a::b`, `a::c`.
fn expand(rest: &str) -> Vec<String> {
    let ident_end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (head, tail) = rest.split_at(ident_end);
    if head.is_empty() {
        return match tail.strip_prefix('{') {
            Some(group) => group_items(group).iter().flat_map(|i| expand(i)).collect(),
            None => Vec::new(),
        };
    }
    match tail.strip_prefix("::") {
        Some(more) if more.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '{') => {
            let inner = expand(more);
            if inner.is_empty() {
                vec![head.to_string()]
            } else {
                inner.into_iter().map(|p| format!("{head}::{p}")).collect()
            }
        }
        _ => vec![head.to_string()],
    }
}

/// The comma-separated items of a `{...}` group whose opening brace is
/// already consumed (nested groups stay whole).
fn group_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group[start..i].trim());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.into_iter().filter(|i| !i.is_empty()).collect()
}

/// A cycle in `graph` as the path that closes it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

//! The library's layers, read from its `use` lines: no module imports a
//! module that imports it back (no cycle, however long), no module imports
//! the crate's own re-exports (`crate::write_atomic` instead of
//! `crate::write::write_atomic`), and `docs/design.md` draws the layers the
//! code has.
//!
//! A module is a file of `safeatomic/src`; a directory module is one node
//! (its files use each other through `super::`), except a directory whose
//! `mod.rs` only declares submodules (`checksum/`): its files are layers of
//! their own. A module's layer is one more than the highest layer it imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../safeatomic/src");
const DESIGN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/design.md");

/// Every `.rs` file under `dir`, with its module path (`["checksum", "digest"]`).
fn sources(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            let mut sub = prefix.to_vec();
            sub.push(p.file_name().unwrap().to_string_lossy().into_owned());
            sources(&p, &sub, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let mut path = prefix.to_vec();
            if name != "mod" && name != "lib" {
                path.push(name);
            }
            out.push((path, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// The code without comments, string and character literals (so that a
/// `crate::` in a doc comment or a message is not taken for an import).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            (b'r', Some(b'#' | b'"'))
                if i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') =>
            {
                // A raw string: r"…", r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            (b'"', _) => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            (b'\'', _) if b.get(i + 2) == Some(&b'\'') || (b.get(i + 1) == Some(&b'\\')) => {
                // A character literal ('x', '\n', '\u{..}'), not a lifetime.
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            (c, _) => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// The paths after each `keyword::` (`crate` or `super`), braces expanded:
/// `crate::{a::{b, c}, d}` gives `a::b`, `a::c`, `d`.
fn paths_after(code: &str, keyword: &str) -> Vec<String> {
    let mut out = Vec::new();
    let needle = format!("{keyword}::");
    let mut from = 0;
    while let Some(at) = code[from..].find(&needle) {
        let start = from + at;
        from = start + needle.len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        let rest = &code[from..];
        if rest.starts_with('{') {
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            out.extend(expand(&rest[1..end]));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            out.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

fn expand(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    let mut out = Vec::new();
    for item in items {
        let item: String = item.split_whitespace().collect::<Vec<_>>().join(" ");
        if item.is_empty() {
            continue;
        }
        match item.split_once("::{") {
            Some((prefix, inner)) => {
                for sub in expand(&inner[..inner.len() - 1]) {
                    out.push(format!("{prefix}::{sub}"));
                }
            }
            // `path as alias`: the path.
            None => out.push(item.split(" as ").next().unwrap().trim().to_owned()),
        }
    }
    out
}

/// The module graph: node → the nodes it imports; and the imports of the
/// crate's own re-exports (file, path).
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
    upward: Vec<(String, String)>,
}

fn graph() -> Graph {
    let mut files = Vec::new();
    sources(Path::new(SRC), &[], &mut files);
    // Directory modules whose mod.rs only declares submodules.
    let namespaces: BTreeSet<String> = files
        .iter()
        .filter(|(path, src)| {
            path.len() == 1
                && files.iter().any(|(p, _)| p.len() > 1 && p[0] == path[0])
                && code_only(src)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .all(|l| {
                        let l = l
                            .strip_prefix("pub(crate) ")
                            .or(l.strip_prefix("pub "))
                            .unwrap_or(l);
                        l.starts_with("mod ") && l.ends_with(';')
                    })
        })
        .map(|(path, _)| path[0].clone())
        .collect();
    let node_of = |path: &[String]| -> String {
        match path {
            [] => "lib".to_owned(),
            [ns, sub, ..] if namespaces.contains(ns) => format!("{ns}::{sub}"),
            [first, ..] => first.clone(),
        }
    };
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(path, _)| path.first().cloned())
        .collect();
    let mut g = Graph {
        edges: BTreeMap::new(),
        upward: Vec::new(),
    };
    for (path, src) in &files {
        let me = node_of(path);
        g.edges.entry(me.clone()).or_default();
        // Unit tests are not layers (and their `super` is the file itself).
        let code = code_only(src);
        let code = match code.find("#[cfg(test)]\nmod tests") {
            Some(at) => code[..at].to_owned(),
            None => code,
        };
        let file = format!("{}.rs", path.join("/"));
        for p in paths_after(&code, "crate") {
            let segs: Vec<String> = p.split("::").map(str::to_owned).collect();
            if !modules.contains(&segs[0]) {
                g.upward.push((file.clone(), format!("crate::{p}")));
                continue;
            }
            let target = node_of(&segs);
            if target != me {
                g.edges.get_mut(&me).unwrap().insert(target);
            }
        }
        for p in paths_after(&code, "super") {
            let mut full: Vec<String> = path[..path.len().saturating_sub(1)].to_vec();
            full.extend(p.split("::").map(str::to_owned).filter(|s| s != "self"));
            let target = node_of(&full);
            if target != me {
                g.edges.get_mut(&me).unwrap().insert(target);
            }
        }
    }
    g
}

/// Layers by the longest import chain; `Err` with a cycle.
fn layers(edges: &BTreeMap<String, BTreeSet<String>>) -> Result<BTreeMap<String, usize>, String> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeMap<String, usize>,
        stack: &mut Vec<String>,
    ) -> Result<usize, String> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(n.to_owned());
            return Err(cycle.join(" -> "));
        }
        if let Some(l) = done.get(n) {
            return Ok(*l);
        }
        stack.push(n.to_owned());
        let mut layer = 0;
        for d in edges.get(n).into_iter().flatten() {
            layer = layer.max(visit(d, edges, done, stack)? + 1);
        }
        stack.pop();
        done.insert(n.to_owned(), layer);
        Ok(layer)
    }
    let mut done = BTreeMap::new();
    for n in edges.keys() {
        visit(n, edges, &mut done, &mut Vec::new())?;
    }
    Ok(done)
}

/// `| layer | modules |` rows, as `docs/design.md` shows them.
fn table(layers: &BTreeMap<String, usize>) -> String {
    let mut by: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (n, l) in layers {
        // The crate root and a namespace's own file are no layer.
        if n != "lib" && n != "checksum" {
            by.entry(*l).or_default().push(n);
        }
    }
    by.iter()
        .map(|(l, ns)| {
            format!(
                "| {l} | {} |",
                ns.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_module_graph_has_no_cycle_and_no_import_of_the_crates_own_reexports() {
    let g = graph();
    assert!(
        g.upward.is_empty(),
        "modules import the crate's own re-exports (import the defining module instead): {:#?}",
        g.upward
    );
    let layers = layers(&g.edges).unwrap_or_else(|cycle| panic!("an import cycle: {cycle}"));
    // Sanity: the analysis sees the layers it must (a parser that saw no
    // import at all would find no cycle either).
    assert_eq!(layers["sys"], 0);
    assert!(layers["commit"] > layers["lock"] && layers["lock"] > layers["resolve"]);
    assert!(layers["store"] > layers["commit"]);
}

#[test]
fn design_md_draws_the_layers_the_code_has() {
    let g = graph();
    let layers = layers(&g.edges).expect("no cycle");
    let design = std::fs::read_to_string(DESIGN).expect("docs/design.md");
    let begin = "<!-- layers: begin (checked by tests/layers.rs) -->";
    let drawn = design
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once("<!-- layers: end -->"))
        .map(|(t, _)| t)
        .expect("docs/design.md has the layer table between its markers");
    let drawn: Vec<&str> = drawn
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| layer"))
        .collect();
    let computed = table(&layers);
    assert_eq!(
        drawn.join("\n"),
        computed,
        "docs/design.md's layer table differs from the code's; the code has:\n{computed}"
    );
}

#[test]
fn the_parser_reads_braces_comments_and_strings() {
    let code = code_only(
        "use crate::{a::{b, c as d}, e};\n// crate::x\nlet s = \"crate::y\"; let r = r#\"crate::z\"#;\nlet c = '\"'; super::f();",
    );
    assert_eq!(paths_after(&code, "crate"), ["a::b", "a::c", "e"]);
    assert_eq!(paths_after(&code, "super"), ["f"]);
}

//! The crate's structure, checked on every test run (see `ARCHITECTURE.md`):
//! no source file over 500 lines, no import circle between modules, the
//! splat and field renderers never import each other, and the bottom layers
//! (data model, IO) never reach up into Bevy glue or the renderer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file with one of `extensions` under `dir`, recursively.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files(&path, extensions, out);
        } else if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut all = Vec::new();
    for dir in ["src", "shaders", "tests", "examples", "benches"] {
        files(&root().join(dir), &["rs", "wgsl"], &mut all);
    }
    let long: Vec<String> = all
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).expect("source file").lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.strip_prefix(root()).unwrap_or(path).display()))
        })
        .collect();
    assert!(all.len() > 50, "found only {} source files", all.len());
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

type Module = Vec<String>;

/// The library's modules (test modules and test support left out), by path.
fn modules() -> BTreeMap<Module, PathBuf> {
    let src = root().join("src");
    let mut all = Vec::new();
    files(&src, &["rs"], &mut all);
    let mut out = BTreeMap::new();
    for path in all {
        let relative = path.strip_prefix(&src).expect("under src").with_extension("");
        let mut module: Module = relative.iter().map(|c| c.to_string_lossy().into_owned()).collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        if module.iter().any(|c| c == "tests" || c == "testing") {
            continue;
        }
        out.insert(module, path);
    }
    out
}

/// The code of a file without comments and without its inline test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("source file");
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads `a::b::{c, d::e}` at the start of `s` into full paths.
fn read_paths(s: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        prefix.push(rest[..end].to_string());
        rest = &rest[end..];
        let Some(next) = rest.strip_prefix("::") else {
            return vec![prefix];
        };
        rest = next;
        if let Some(group) = rest.strip_prefix('{') {
            // Split the group at top-level commas.
            let (mut depth, mut start, mut out) = (0, 0, Vec::new());
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(&group[start..i]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return out
                .into_iter()
                .flat_map(|item| read_paths(item.trim()))
                .map(|tail| prefix.iter().cloned().chain(tail).collect())
                .collect();
        }
    }
    vec![prefix]
}

/// The longest prefix of `path` that is a module.
fn resolve(path: &[String], modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let path: Vec<String> = path.iter().filter(|c| *c != "self").cloned().collect();
    (0..=path.len()).rev().map(|k| path[..k].to_vec()).find(|m| modules.contains_key(m))
}

/// Which modules each module uses (`crate::…` and `super::…` paths), leaving
/// out uses between a module and its own ancestors.
fn module_graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (module, path) in &modules {
        let code = code(path);
        let mut uses = BTreeSet::new();
        let mut add = |target: Vec<String>| {
            if let Some(t) = resolve(&target, &modules) {
                let related = t.starts_with(module) || module.starts_with(&t);
                if !related {
                    uses.insert(t);
                }
            }
        };
        for (at, _) in code.match_indices("crate::") {
            if at > 0 && code[..at].ends_with(is_ident) {
                continue;
            }
            for p in read_paths(&code[at + "crate::".len()..]) {
                add(p);
            }
        }
        for (at, _) in code.match_indices("super::") {
            if code[..at].ends_with("super::") || (at > 0 && code[..at].ends_with(is_ident)) {
                continue;
            }
            let mut rest = &code[at..];
            let mut base = module.clone();
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            for p in read_paths(rest) {
                add(base.iter().cloned().chain(p).collect());
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

fn name(m: &Module) -> String {
    if m.is_empty() { "crate".into() } else { m.join("::") }
}

#[test]
fn no_import_circle() {
    let graph = module_graph();
    assert!(graph.len() > 40, "found only {} modules", graph.len());
    // Depth-first search for a back edge; report the circle.
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, u8>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for next in &graph[m] {
            match state.get(next) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == next).expect("on the stack");
                    return Some(stack[from..].iter().cloned().chain([next.clone()]).collect());
                }
                Some(_) => {}
                None => {
                    if let Some(circle) = visit(next, graph, state, stack) {
                        return Some(circle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if !state.contains_key(m)
            && let Some(circle) = visit(m, &graph, &mut state, &mut Vec::new())
        {
            panic!("import circle: {}", circle.iter().map(name).collect::<Vec<_>>().join(" → "));
        }
    }
}

#[test]
fn layers_only_use_layers_below() {
    let graph = module_graph();
    // What each top-level module may use (ARCHITECTURE.md's layer table).
    let allowed: &[(&str, &[&str])] = &[
        ("camera", &[]),
        ("image", &[]),
        ("timeline", &[]),
        ("splat", &["camera", "image"]),
        ("field", &["camera", "image"]),
        ("io", &["splat", "field", "camera"]),
        ("loader", &["io", "splat", "field"]),
        ("scene", &["splat", "field", "timeline", "camera"]),
        ("sequence", &["io", "scene", "splat", "field", "timeline"]),
        ("render", &["scene", "splat", "field", "timeline", "camera", "image"]),
        ("plugin", &["loader", "render", "scene", "sequence", "splat", "field", "timeline"]),
        ("headless", &["plugin", "render", "scene", "splat", "field", "camera", "image"]),
        ("inspector", &["io", "render", "scene", "sequence", "splat", "field", "timeline", "camera"]),
    ];
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        let Some(top) = module.first() else { continue };
        let Some((_, may)) = allowed.iter().find(|(m, _)| m == top) else {
            wrong.push(format!("{} is not in the layer table", name(module)));
            continue;
        };
        for target in uses {
            let Some(other) = target.first() else { continue };
            if other != top && !may.contains(&other.as_str()) {
                wrong.push(format!("{} uses {}", name(module), name(target)));
            }
            let renderer = |m: &Module| (m.len() >= 2 && m[0] == "render").then(|| m[1].clone());
            if let (Some(a), Some(b)) = (renderer(module), renderer(target))
                && ((a == "splat" && b == "field") || (a == "field" && b == "splat"))
            {
                wrong.push(format!("renderers import each other: {} uses {}", name(module), name(target)));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

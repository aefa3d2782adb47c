//! The crate's layering holds (docs/ARCHITECTURE.md "Layering"): a module imports only from
//! modules below it — `model ← book ← storage ← venue ← record ← commands` — shared helpers
//! (`estimate`, `process`) sit below the commands, no module imports `cli`, and no command
//! imports another. Read from the source, so a new upward `use` fails here.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module and its layer; a module may use modules of a lower layer, and
/// (except commands) its own.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("book", 1),
    ("storage", 2),
    ("venue", 3),
    ("record", 4),
    ("estimate", 5),
    ("process", 5),
    ("collect", 6),
    ("import", 6),
    ("simulate", 6),
    ("verify", 6),
    ("calibrate", 6),
    ("spread", 6),
    ("backtest", 6),
    ("sql", 6),
    ("compact", 6),
    ("cluster", 6),
    ("cli", 7),
];
const COMMANDS: u8 = 6;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_import_points_upward_and_no_command_imports_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        let Some(&own) = layer.get(module.as_str()) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let used: String = code[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let Some(&theirs) = layer.get(used.as_str()) else { continue };
                let same = used == module;
                let upward = theirs > own;
                let sideways = theirs == own && own == COMMANDS && !same;
                if upward || sideways {
                    wrong.push(format!("{}:{}: {module} uses {used}", rel.display(), n + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering:\n{}", wrong.join("\n"));
    for (module, _) in LAYERS {
        let file = src.join(format!("{module}.rs"));
        let dir = src.join(module).join("mod.rs");
        assert!(file.exists() || dir.exists(), "{module} is not a module of src/");
    }
}

//! The layers of `src/`: a module may use modules of its own layer or below, never above, so
//! data flows one way (discover -> parse -> filter -> plan -> write) and each layer can be read
//! without the ones above it. This test reads every source file and fails on a back-arrow: a
//! `crate::<module>` (or, in the binary, `memtree::<module>`) path to a higher layer, in code or
//! in a `use`, outside comments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;

/// Every module of the crate, bottom layer first. Documented in docs/ARCHITECTURE.md.
const LAYERS: &[&[&str]] = &[
    &["model", "env", "scope", "limits", "failpoint"],
    &["source", "redact", "git", "id", "slug"],
    &["filter", "plan", "ledger"],
    &["store", "localdb"],
    &["import", "report", "output", "browse", "status", "views"],
    &["watch", "service"],
    &["cli", "main"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to (`src/import/chunks.rs` -> `import`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

/// The modules `text` refers to, with the line of each reference; comments are skipped.
fn references(text: &str, crate_name: &str) -> Vec<(usize, String)> {
    let path = Regex::new(&format!(r"\b{crate_name}::([a-z_][a-z0-9_]*)")).unwrap();
    // `use crate::{a, b::c}` names several modules at once.
    let group = Regex::new(&format!(r"\b{crate_name}::\{{([^}}]*)")).unwrap();
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for capture in path.captures_iter(code) {
            found.push((index + 1, capture[1].to_owned()));
        }
        for capture in group.captures_iter(code) {
            for item in capture[1].split(',') {
                let module = item.trim().split("::").next().unwrap_or_default();
                if !module.is_empty() {
                    found.push((index + 1, module.to_owned()));
                }
            }
        }
    }
    found
}

/// Every reference from a module of `src` to a module of a higher layer.
fn back_arrows(src: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for file in rust_files(src) {
        let module = module_of(src, &file);
        if module == "lib" {
            continue; // declares the modules, uses none
        }
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` has no layer in LAYERS",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let crate_name = if module == "main" { "memtree" } else { "crate" };
        for (line, used) in references(&text, crate_name) {
            match layer_of(&used) {
                Some(layer) if layer > own => problems.push(format!(
                    "{}:{line}: `{module}` (layer {own}) uses `{used}` (layer {layer})",
                    file.display()
                )),
                Some(_) => {}
                None => problems.push(format!(
                    "{}:{line}: `{used}` is not a module with a layer in LAYERS",
                    file.display()
                )),
            }
        }
    }
    problems
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = back_arrows(&src);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_module_declared_in_lib_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared = Regex::new(r"(?m)^pub mod ([a-z_]+);").unwrap();
    let modules: Vec<&str> = declared
        .captures_iter(&lib)
        .map(|capture| capture.get(1).unwrap().as_str())
        .collect();
    assert!(modules.len() >= 15, "{modules:?}");
    for module in modules {
        assert!(layer_of(module).is_some(), "`{module}` has no layer");
    }
}

#[test]
fn a_back_arrow_is_found() {
    // The check itself, on a tree made for it: a source module that uses the planner, a store
    // that uses the model, and a comment naming the import (not a use).
    let dir = tempfile::tempdir().unwrap();
    let files: BTreeMap<&str, &str> = BTreeMap::from([
        ("lib.rs", "pub mod source;\n"),
        (
            "source/mod.rs",
            "//! See `crate::import`.\nuse crate::model::Session;\nuse crate::{env, plan::MAX_CONTENT_BYTES};\n",
        ),
        ("store/mod.rs", "fn f() -> crate::model::Tool { todo!() } // crate::cli\n"),
    ]);
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let problems = back_arrows(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].ends_with("source/mod.rs:3: `source` (layer 1) uses `plan` (layer 2)"),
        "{problems:?}"
    );
}

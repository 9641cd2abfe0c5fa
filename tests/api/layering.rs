//! The layers, checked on the source: the pure core knows neither the web framework nor
//! the database library; the use cases (`app`) know the store only through `db`, and not
//! HTTP; the store (`db`) knows neither the handlers nor the use cases nor HTTP errors.
//! The pages (`src/pages/`) are HTTP layer, like the handlers: nothing below knows them.
//! ARCHITECTURE.md explains the layers.

use std::path::{Path, PathBuf};

fn sources(under: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(under);
    if root.extension().is_some() {
        return vec![root];
    }
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Lines of code (not comments) of the layer's files that mention any of `words`.
fn mentions(layer: &str, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in sources(layer) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if let Some(w) = words.iter().find(|w| code.contains(**w)) {
                found.push(format!("{}:{}: {w}", file.display(), n + 1));
            }
        }
    }
    found
}

const CORE: [&str; 10] = [
    "domain",
    "scores",
    "knock",
    "progress.rs",
    "spatial",
    "routing",
    "experiments",
    "walk",
    "export.rs",
    "voter_file",
];

#[test]
fn the_pure_core_knows_neither_the_web_framework_nor_the_database_library() {
    for layer in CORE {
        let found = mentions(
            layer,
            &[
                "actix",
                "diesel",
                "crate::db",
                "crate::routes",
                "crate::pages",
            ],
        );
        assert!(found.is_empty(), "{layer}: {found:#?}");
    }
}

#[test]
fn use_cases_know_the_store_only_through_db_and_nothing_of_http() {
    let found = mentions(
        "app",
        &[
            "actix",
            "diesel",
            "crate::routes",
            "crate::pages",
            "askama",
            "ApiError",
            "HttpResponse",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_store_knows_neither_handlers_nor_use_cases_nor_http_errors() {
    let found = mentions(
        "db",
        &[
            "crate::routes",
            "crate::pages",
            "crate::app",
            "crate::import",
            "ApiError",
            "HttpResponse",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn store_modules_do_not_import_each_other_in_a_circle() {
    // The tallies are read by the progress figures, never the other way round.
    let found = mentions("db/tallies.rs", &["super::progress", "db::progress"]);
    assert!(found.is_empty(), "{found:#?}");
}

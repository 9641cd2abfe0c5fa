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

/// The length in lines of every `async fn` in `layer` (a handler or a helper it
/// awaits), from its signature to its closing brace at the same indentation.
fn async_fn_lengths(layer: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for file in sources(layer) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            let indent = line.len() - code.len();
            let is_async_fn = code.starts_with("async fn ")
                || (code.starts_with("pub") && code.contains(" async fn "));
            if !is_async_fn {
                continue;
            }
            let close = format!("{}}}", " ".repeat(indent));
            let name = code.split('(').next().unwrap_or(code).to_owned();
            // A function whose end cannot be found counts as endless, so the check
            // never passes by not seeing it.
            let end = lines[i..]
                .iter()
                .position(|l| *l == close)
                .map_or(usize::MAX, |end| end + 1);
            out.push((format!("{}: {name}", file.display()), end));
        }
    }
    out
}

#[test]
fn handlers_only_parse_call_and_shape_the_answer() {
    // A handler longer than this is doing a use case's work: move it to `src/app`.
    const MOST_LINES: usize = 40;
    for layer in ["routes", "pages"] {
        let long: Vec<_> = async_fn_lengths(layer)
            .into_iter()
            .filter(|(_, n)| *n > MOST_LINES)
            .collect();
        assert!(
            long.is_empty(),
            "handlers over {MOST_LINES} lines: {long:#?}"
        );
    }
}

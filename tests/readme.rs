//! The README's code blocks. Each is a complete program kept in
//! `tests/readme/`: this checks the README shows each file exactly,
//! compiles every one with the features it needs, and runs those that need
//! no server or network.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::collections::BTreeSet;
use std::path::Path;

// Each program in a module of its own, run by a test beside it.
mod verify {
    include!("readme/verify.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod typed_events {
    include!("readme/typed_events.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod sign {
    include!("readme/sign.rs");

    #[test]
    fn runs() {
        main();
    }
}

mod retries {
    include!("readme/retries.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod subscriptions {
    include!("readme/subscriptions.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

#[cfg(feature = "queue")]
mod webhooks {
    include!("readme/webhooks.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

// These start servers or reach the network: compiled, not run.
#[cfg(feature = "axum")]
#[allow(dead_code)]
mod axum_receiver {
    include!("readme/axum_receiver.rs");
}

#[cfg(feature = "reqwest")]
#[allow(dead_code)]
mod deliver {
    include!("readme/deliver.rs");
}

#[cfg(all(feature = "reqwest", feature = "sqlite"))]
#[allow(dead_code)]
mod durable {
    include!("readme/durable.rs");
}

#[cfg(all(feature = "server", feature = "sqlite"))]
#[allow(dead_code)]
mod management_api {
    include!("readme/management_api.rs");
}

#[cfg(feature = "client")]
#[allow(dead_code)]
mod client {
    include!("readme/client.rs");
}

#[cfg(feature = "postgres")]
#[allow(dead_code)]
mod outbox {
    include!("readme/outbox.rs");
}

#[cfg(all(feature = "reqwest", feature = "postgres"))]
#[allow(dead_code)]
mod worker_name {
    include!("readme/worker_name.rs");
}

const FENCE: &str = "```rust\n";

/// Each `rust` block in the README, with the file its marker comment names.
fn readme_programs() -> Vec<(String, String)> {
    let readme = include_str!("../README.md");
    let mut programs = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find(FENCE) {
        let marker = rest[..start].trim_end().lines().last().unwrap_or_default();
        let path = marker
            .strip_prefix("<!-- ")
            .and_then(|marker| marker.strip_suffix(" -->"))
            .unwrap_or_else(|| panic!("a rust block without a file marker, after {marker:?}"));
        let code_start = start + FENCE.len();
        let code_end = code_start + rest[code_start..].find("```\n").expect("an unclosed block");
        programs.push((path.to_owned(), rest[code_start..code_end].to_owned()));
        rest = &rest[code_end..];
    }
    programs
}

#[test]
fn every_readme_block_is_a_program_kept_here() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let programs = readme_programs();
    for (path, code) in &programs {
        let file =
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|err| panic!("{path}: {err}"));
        assert_eq!(code, &file, "the README's block differs from {path}");
    }
    let shown: BTreeSet<&str> = programs.iter().map(|(path, _)| path.as_str()).collect();
    let kept: BTreeSet<String> = std::fs::read_dir(root.join("tests/readme"))
        .unwrap()
        .map(|entry| {
            format!(
                "tests/readme/{}",
                entry.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    assert_eq!(
        shown,
        kept.iter().map(String::as_str).collect(),
        "every kept program is shown once"
    );
    assert_eq!(programs.len(), kept.len(), "no program is shown twice");
}

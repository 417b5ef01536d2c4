//! Helpers shared by the command's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use titan_webhooks::http::{HeaderMap, HeaderName, HeaderValue};

/// The command, with colour off and no secret variables inherited.
pub fn cmd() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("titan-webhooks");
    cmd.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    cmd
}

/// The binary's path, for processes a test drives itself.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("titan-webhooks")
}

/// Writes `contents` to `name` in `dir`.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// The `headers` object of `sign --json` as a header map.
pub fn headers_of(sign_json: &[u8]) -> HeaderMap {
    let document: serde_json::Value = serde_json::from_slice(sign_json).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in document["headers"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    headers
}

/// `--header` arguments for every header in `headers`.
pub fn header_args(headers: &HeaderMap) -> Vec<String> {
    headers
        .iter()
        .flat_map(|(name, value)| {
            [
                "--header".to_owned(),
                format!("{name}: {}", value.to_str().unwrap()),
            ]
        })
        .collect()
}

/// A secret each scheme accepts: `whsec_` for Standard Webhooks and Svix.
pub fn secret_for(scheme: &str) -> &'static str {
    match scheme {
        "standard-webhooks" | "svix" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "stripe" => "whsec_test_secret",
        _ => "your-secret-signing-key",
    }
}

/// Every scheme `--scheme` takes.
pub const SCHEMES: [&str; 7] = [
    "titan",
    "titanx",
    "eventium",
    "github",
    "stripe",
    "standard-webhooks",
    "svix",
];

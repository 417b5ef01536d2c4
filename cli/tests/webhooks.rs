//! `titan-webhooks webhooks` and `titan-webhooks deliveries` against the
//! example server (`examples/server.rs` of the library), started as a child
//! process on a free port with a fresh SQLite database.

#![allow(clippy::restriction, clippy::pedantic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use common::{cmd, write};
use predicates::prelude::*;
use serde_json::Value;

const TOKEN: &str = "twk_test_cli_token_0123456789";

/// The example server's binary, built once per test run with the features
/// it needs, in the same target directory as this test.
fn server_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // <target>/<profile>/deps/<this test>
        let exe = std::env::current_exe().unwrap();
        let profile = exe.parent().and_then(Path::parent).unwrap().to_owned();
        let target = profile.parent().unwrap().to_owned();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--example",
                "server",
                "--features",
                "server,sqlite",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target);
        if profile.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        let output = build
            .output()
            .unwrap_or_else(|err| panic!("cannot run cargo to build the example server: {err}"));
        assert!(
            output.status.success(),
            "`cargo build --example server --features server,sqlite` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = profile
            .join("examples")
            .join(format!("server{}", std::env::consts::EXE_SUFFIX));
        assert!(
            binary.is_file(),
            "no example server at {}",
            binary.display()
        );
        binary
    })
}

/// The example server on a free port, killed when dropped.
struct ExampleServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl ExampleServer {
    /// Starts it with a temporary database and waits for the line that
    /// says where it listens; fails loudly if it does not say so.
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(server_binary())
            .env("TITAN_WEBHOOKS_ADDR", "127.0.0.1:0")
            .env("TITAN_WEBHOOKS_DB", dir.path().join("webhooks.db"))
            .env("TITAN_WEBHOOKS_TOKEN", TOKEN)
            .env_remove("TITAN_WEBHOOKS_KEY")
            .env_remove("TITAN_WEBHOOKS_OWNER")
            .env_remove("TITAN_WEBHOOKS_ALLOW_LOOPBACK")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start the example server: {err}"));
        let stdout = child.stdout.take().unwrap();
        let (lines, seen) = mpsc::channel();
        // Drains stdout to the end: a closed pipe would make the server's
        // next `println!` fail and kill it mid-test.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = lines.send(line);
            }
        });
        let mut printed = Vec::new();
        let url = loop {
            match seen.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        break url.trim().to_owned();
                    }
                    printed.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let output = child.wait_with_output().unwrap();
                    panic!(
                        "the example server did not start: exit {:?}\nstdout:\n{}\nstderr:\n{}",
                        output.status.code(),
                        printed.join("\n"),
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
        };
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// The command with `args`, pointed at this server with the token.
    fn run(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = cmd();
        cmd.env("TITAN_WEBHOOKS_TOKEN", TOKEN)
            .env_remove("TITAN_WEBHOOKS_URL")
            .args(args)
            .args(["--base-url", &self.url]);
        cmd
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn webhooks_create_then_list_against_the_example_server() {
    let server = ExampleServer::start();

    // Create: the key is printed once, with a warning to store it.
    let created = server
        .run(&[
            "webhooks",
            "create",
            "--url",
            "https://myapp.example/webhooks/titan",
            "--event",
            "message.received",
            "--event",
            "session.status",
            "--label",
            "My Webhook",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("shown only this once"))
        .get_output()
        .stdout
        .clone();
    let created = String::from_utf8(created).unwrap();
    assert!(
        created.contains("https://myapp.example/webhooks/titan"),
        "{created}"
    );
    let key_line = created
        .lines()
        .find(|line| line.starts_with("hmacKey"))
        .unwrap_or_else(|| panic!("no hmacKey line: {created}"));
    let key = key_line.split_whitespace().nth(1).unwrap();
    assert_eq!(key.len(), 43, "a generated key: {key}");

    // A second one, with a key from a file, as JSON.
    let dir = tempfile::tempdir().unwrap();
    let key_file = write(dir.path(), "hmac.key", "your-secret-signing-key\n");
    let second = server
        .run(&[
            "webhooks",
            "create",
            "--url",
            "https://myapp.example/other",
            "--json",
        ])
        .arg("--hmac-key-file")
        .arg(&key_file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let second = json_of(&second);
    assert_eq!(second["hmacKey"], "your-secret-signing-key");
    assert_eq!(second["id"], 2);

    // List: a table, newest first, with no key in it.
    let listed = server
        .run(&["webhooks", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(listed).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows:\n{listed}");
    assert!(lines[0].starts_with("ID  URL"), "{listed}");
    assert!(
        lines[1].starts_with("2   https://myapp.example/other"),
        "{listed}"
    );
    assert!(
        lines[2].contains("message.received, session.status"),
        "{listed}"
    );
    assert!(lines[2].contains("My Webhook"), "{listed}");
    // The columns line up: each row's URL starts under the header's.
    let column = lines[0].find("URL").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|row| row[column..].starts_with("https://"))
    );
    assert!(!listed.contains(key) && !listed.contains("your-secret-signing-key"));

    // And as JSON, the API's own objects.
    let listed = server
        .run(&["webhooks", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = json_of(&listed);
    let urls: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|webhook| webhook["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            "https://myapp.example/other",
            "https://myapp.example/webhooks/titan"
        ]
    );
    assert!(listed[0].get("hmacKey").is_none());

    // Get, update, delete, and the API's error for what is gone.
    server
        .run(&[
            "webhooks",
            "update",
            "1",
            "--disable",
            "--session",
            "default",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("enabled  no"))
        .stdout(predicate::str::contains("session  default"));
    server
        .run(&["webhooks", "delete", "1"])
        .assert()
        .success()
        .stdout("deleted webhook 1: webhook deleted\n");
    server
        .run(&["webhooks", "get", "1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error[not_found]: no such resource (404 Not Found)",
        ));
    server
        .run(&["webhooks", "list", "--limit", "5", "--json"])
        .assert()
        .success()
        .stdout(predicate::function(|out: &[u8]| {
            json_of(out).as_array().map(Vec::len) == Some(1)
        }));
}

#[test]
fn eventium_endpoints_and_deliveries_against_the_example_server() {
    let server = ExampleServer::start();
    let eventium = |args: &[&str]| {
        let mut all = vec!["webhooks", "--flavour", "eventium"];
        all.extend_from_slice(args);
        server.run(&all)
    };

    eventium(&[
        "create",
        "--url",
        "https://example.com/eventium/webhooks",
        "--event",
        "quota.threshold.reached",
        "--label",
        "orders",
        "--disabled",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("enabled      no (manual)"))
    .stdout(predicate::str::is_match("(?m)^secret +\\S{20,}$").unwrap());
    eventium(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ID  URL"))
        .stdout(predicate::str::contains("orders"));

    // Rotate: a new secret, and how long the old one still signs.
    let rotated = eventium(&["rotate", "1", "--grace", "60", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rotated = json_of(&rotated);
    assert_eq!(rotated["id"], 1);
    assert!(rotated["secret"].as_str().is_some_and(|s| s.len() > 20));
    assert!(rotated["previous_secret_expires_at"].is_string());

    // A test event with no enabled endpoint goes nowhere, and says so.
    eventium(&["test", "--data", r#"{"hello":"world"}"#])
        .assert()
        .success()
        .stdout(predicate::str::contains("type        webhook.test"))
        .stderr(predicate::str::contains("no enabled endpoint"));
    eventium(&["test", "--data", "not json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--data is not JSON"));

    // Deliveries: Eventium's by default.
    server
        .run(&["deliveries", "list", "--status", "retry"])
        .assert()
        .success()
        .stdout("(no deliveries)\n");
    server
        .run(&["deliveries", "list", "--status", "lost"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[invalid_query]"))
        .stderr(predicate::str::contains("field `status`"));
    server
        .run(&["deliveries", "redeliver", "9"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[not_found]"));

    // TitanX: a whsec_ secret, and no update.
    server
        .run(&["webhooks", "--flavour", "titanx", "create"])
        .args(["--url", "https://your-app.com/webhooks/titanx"])
        .args(["--event", "job.contact.scored"])
        .assert()
        .success()
        .stdout(predicate::str::is_match("(?m)^secret +whsec_").unwrap());
    server
        .run(&[
            "webhooks",
            "--flavour",
            "titanx",
            "update",
            "x",
            "--disable",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not part of titanx's API"));
}

#[test]
fn the_token_and_the_api_are_required_and_refusals_are_explained() {
    cmd()
        .args(["webhooks", "list", "--base-url", "http://127.0.0.1:9"])
        .env_remove("TITAN_WEBHOOKS_TOKEN")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "the environment variable `TITAN_WEBHOOKS_TOKEN` is not set",
        ))
        .stderr(predicate::str::contains("never taken as arguments"));
    cmd()
        .args(["webhooks", "list", "--token", "abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument '--token'"));
    cmd()
        .args(["webhooks", "list"])
        .env("TITAN_WEBHOOKS_TOKEN", TOKEN)
        .env_remove("TITAN_WEBHOOKS_URL")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no API: pass --base-url URL or set TITAN_WEBHOOKS_URL",
        ));
    cmd()
        .args(["webhooks", "list", "--base-url", "http://api.example.com"])
        .env("TITAN_WEBHOOKS_TOKEN", TOKEN)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("in the clear"))
        .stderr(predicate::str::contains("--allow-http"));

    // Nothing listens on the port: a network error, naming the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    cmd()
        .args(["deliveries", "list", "--base-url", &url])
        .env("TITAN_WEBHOOKS_TOKEN", TOKEN)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("could not connect"))
        .stderr(predicate::str::contains(url.as_str()))
        .stderr(predicate::str::contains(TOKEN).not());
}

#[test]
fn a_wrong_token_is_refused_and_not_echoed() {
    let server = ExampleServer::start();
    cmd()
        .env("TITAN_WEBHOOKS_TOKEN", "not-the-token-42")
        .args(["webhooks", "list", "--base-url", &server.url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[unauthenticated]"))
        .stderr(predicate::str::contains(
            "check the token in TITAN_WEBHOOKS_TOKEN",
        ))
        .stderr(predicate::str::contains("not-the-token-42").not());
}

#[test]
fn every_api_command_shows_an_example_in_its_help() {
    for command in [
        &["webhooks"][..],
        &["webhooks", "list"],
        &["webhooks", "get"],
        &["webhooks", "create"],
        &["webhooks", "update"],
        &["webhooks", "delete"],
        &["webhooks", "test"],
        &["webhooks", "rotate"],
        &["deliveries"],
        &["deliveries", "list"],
        &["deliveries", "redeliver"],
    ] {
        cmd()
            .args(command)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:\n  "))
            .stdout(predicate::str::contains("titan-webhooks "));
    }
}

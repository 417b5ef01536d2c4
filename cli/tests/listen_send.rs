//! `titan-webhooks listen` and `titan-webhooks send` talking to each other
//! on 127.0.0.1, and `send` refusing what the SSRF guard refuses.

#![allow(clippy::restriction, clippy::pedantic)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStderr, Command, Stdio};

use common::{SCHEMES, cmd, secret_for};
use predicates::prelude::*;

/// A `listen` process, killed if a test fails before it exits.
struct Listener {
    child: Option<Child>,
    stderr: BufReader<ChildStderr>,
    url: String,
    first_line: String,
}

impl Listener {
    /// Starts `listen` on a free port (`--port 0`) and waits for the line
    /// that says where it listens.
    fn start(scheme: &str, secret: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(common::bin())
            .args([
                "listen",
                "--scheme",
                scheme,
                "--secret-env",
                "LISTEN_TEST_SECRET",
            ])
            .args(["--port", "0"])
            .args(extra)
            .env("LISTEN_TEST_SECRET", secret)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first_line = String::new();
        stderr.read_line(&mut first_line).unwrap();
        let url = first_line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("listen did not say where it listens: {first_line:?}")
            })
            .to_owned();
        Self {
            child: Some(child),
            stderr,
            url,
            first_line,
        }
    }

    /// Waits for the process to exit: its code, stdout and the rest of
    /// stderr.
    fn finish(mut self) -> (i32, String, String) {
        let mut child = self.child.take().unwrap();
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let mut stderr = String::new();
        self.stderr.read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        (status.code().unwrap(), stdout, stderr)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn send(url: &str, scheme: &str, secret: &str) -> assert_cmd::Command {
    let mut command = cmd();
    command
        .args([
            "send",
            url,
            "--scheme",
            scheme,
            "--secret-env",
            "SEND_TEST_SECRET",
        ])
        .env("SEND_TEST_SECRET", secret);
    command
}

#[test]
fn a_titan_envelope_goes_from_send_to_listen() {
    let listener = Listener::start("titan", secret_for("titan"), &["--max-deliveries", "1"]);
    assert!(
        listener.first_line.contains("for titan deliveries"),
        "{}",
        listener.first_line
    );
    send(
        &format!("{}webhooks/titan", listener.url),
        "titan",
        secret_for("titan"),
    )
    .args(["--allow-private", "--event", "message.received"])
    .args([
        "--data",
        r#"{"text":"hi","from":"+15550100"}"#,
        "--session",
        "s1",
    ])
    .assert()
    .success()
    .stdout(predicate::str::is_match(r"(?m)^status\s+200 OK$").unwrap())
    .stdout(predicate::str::is_match(r"(?m)^time\s+\d+ ms$").unwrap())
    .stdout(predicate::str::is_match(r#"(?m)^body\s+\{"received":true\}$"#).unwrap());

    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("#1 "), "{stdout}");
    assert!(
        stdout.contains(" POST /webhooks/titan 200 verified"),
        "{stdout}"
    );
    assert!(
        predicate::str::is_match(r"(?m)^    event\s+message\.received$")
            .unwrap()
            .eval(&stdout),
        "{stdout}"
    );
    assert!(
        predicate::str::is_match(r"(?m)^    session\s+s1$")
            .unwrap()
            .eval(&stdout),
        "{stdout}"
    );
    assert!(stdout.contains("\"text\": \"hi\""), "{stdout}");
    assert!(
        stderr.contains("1 delivery: 1 verified, 0 duplicate, 0 rejected"),
        "{stderr}"
    );
}

#[test]
fn every_scheme_round_trips_as_json_lines() {
    for scheme in SCHEMES {
        let secret = secret_for(scheme);
        let listener = Listener::start(scheme, secret, &["--max-deliveries", "1", "--json"]);
        let (event, session_args): (&str, &[&str]) = if scheme == "eventium" {
            ("quota.threshold.reached", &[])
        } else {
            ("message.received", &["--session", "default"])
        };
        let sent = send(&listener.url, scheme, secret)
            .args(["--allow-private", "--json", "--event", event])
            .args(["--data", r#"{"count":8123}"#])
            .args(session_args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let sent: serde_json::Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(sent["status"], 200, "{scheme}: {sent}");
        assert_eq!(sent["ok"], true);

        let (code, stdout, stderr) = listener.finish();
        assert_eq!(code, 0, "{scheme}: {stdout}\n{stderr}");
        let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(line["result"], "verified", "{scheme}");
        assert_eq!(line["scheme"], scheme);
        assert_eq!(line["event"], event, "{scheme}");
        assert_eq!(line["payload"]["count"], 8123, "{scheme}");
        assert_eq!(line["id"], sent["envelope_id"], "{scheme}");
        if scheme == "eventium" {
            // Eventium's envelope: {id, type, created_at, data}.
            assert_eq!(line["body"]["type"], event);
            assert!(line["body"]["created_at"].is_string());
        } else {
            assert_eq!(line["body"]["event"], event);
            assert_eq!(line["session"], "default");
        }
    }
}

#[test]
fn a_wrong_secret_is_answered_with_the_verify_status_and_counted() {
    let listener = Listener::start("eventium", "the-right-key", &["--max-deliveries", "1"]);
    send(&listener.url, "eventium", "a-wrong-key")
        .args(["--allow-private", "--event", "webhook.test"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^status\s+401 Unauthorized$").unwrap())
        .stdout(predicate::str::contains(
            r#"{"error":"signature_mismatch"}"#,
        ));
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains(" POST / 401 rejected"), "{stdout}");
    assert!(
        stdout.contains("signature_mismatch: no signature matched"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 delivery: 0 verified, 0 duplicate, 1 rejected"),
        "{stderr}"
    );
}

#[test]
fn send_resolves_names_through_the_guard_to_a_local_listener() {
    let listener = Listener::start("github", secret_for("github"), &["--max-deliveries", "1"]);
    let by_name = listener.url.replace("127.0.0.1", "localhost");
    send(&by_name, "github", secret_for("github"))
        .args(["--allow-private", "--event", "push"])
        .assert()
        .success();
    let (code, stdout, _) = listener.finish();
    assert_eq!(code, 0);
    assert!(stdout.contains("push"), "{stdout}");
}

#[test]
fn the_ssrf_guard_refuses_private_targets_without_the_flag() {
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1:9/hook",
        "https://localhost:9/hook",
        "https://10.0.0.1/hook",
    ] {
        send(url, "titan", "key")
            .args(["--event", "message.received"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("error: refused by the SSRF guard"))
            .stderr(predicate::str::contains("add --allow-private"));
    }
    // Link-local, where cloud metadata lives, stays refused with the flag.
    send("http://169.254.169.254/latest/meta-data", "titan", "key")
        .args(["--allow-private", "--event", "message.received"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "169.254.169.254 is a link-local address",
        ));
}

#[test]
fn an_unknown_event_is_sent_with_a_warning() {
    let listener = Listener::start("titan", secret_for("titan"), &["--max-deliveries", "1"]);
    send(&listener.url, "titan", secret_for("titan"))
        .args(["--allow-private", "--event", "message.recieved"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: unknown event type `message.recieved`; did you mean `message.received`?",
        ));
    let (code, stdout, _) = listener.finish();
    assert_eq!(code, 0);
    assert!(stdout.contains("message.recieved"), "{stdout}");
}

/// One HTTP/1.1 request over a plain socket: the status and the body.
fn raw_request(url: &str, request_head: &str, body: &[u8]) -> (u16, String) {
    use std::io::Write as _;
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&authority).unwrap();
    let head = request_head.replace("{host}", &authority);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8(response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(url: &str, headers: &titan_webhooks::http::HeaderMap, body: &[u8]) -> (u16, String) {
    let mut head = format!(
        "POST /hook HTTP/1.1\r\nHost: {{host}}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    raw_request(url, &head, body)
}

#[test]
fn listen_counts_verified_duplicate_and_rejected_deliveries() {
    use titan_webhooks::{Scheme, Signer};

    let listener = Listener::start(
        "titan",
        secret_for("titan"),
        &["--max-deliveries", "4", "--max-body", "1KiB"],
    );
    let url = listener.url.clone();

    // A browser's GET is answered, and is not a delivery.
    let (status, body) = raw_request(
        &url,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(status, 405);
    assert!(body.contains("POST signed deliveries here"), "{body}");

    let envelope = br#"{"id":"evt_dup","event":"chat.read","session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#;
    let secret = Scheme::titan()
        .secret_encoding()
        .parse(secret_for("titan"))
        .unwrap();
    let signed = Signer::new(Scheme::titan(), secret).sign(envelope);
    assert_eq!(
        post(&url, &signed, envelope),
        (200, r#"{"received":true}"#.to_owned())
    );
    // The same delivery again: acknowledged, so the sender stops retrying.
    assert_eq!(
        post(&url, &signed, envelope),
        (200, r#"{"received":true,"duplicate":true}"#.to_owned())
    );
    let large = vec![b' '; 2048];
    assert_eq!(
        post(&url, &signed, &large),
        (413, r#"{"error":"body_too_large"}"#.to_owned())
    );
    assert_eq!(
        post(&url, &titan_webhooks::http::HeaderMap::new(), envelope),
        (401, r#"{"error":"missing_header"}"#.to_owned())
    );

    let (code, stdout, stderr) = listener.finish();
    assert_eq!(
        code, 1,
        "a rejected delivery makes the exit code 1: {stderr}"
    );
    assert!(
        stderr.contains("4 deliveries: 1 verified, 1 duplicate, 2 rejected"),
        "{stderr}"
    );
    assert!(stdout.contains("#1 "), "{stdout}");
    assert!(stdout.contains(" POST /hook 200 duplicate"), "{stdout}");
    assert!(stdout.contains(" POST /hook 413 rejected"), "{stdout}");
    assert!(stdout.contains("#4 "), "{stdout}");
    assert!(!stdout.contains("#5 "), "{stdout}");
}

#[cfg(unix)]
#[test]
fn listen_prints_its_count_when_interrupted() {
    let listener = Listener::start("titan", secret_for("titan"), &[]);
    assert!(listener.first_line.contains("Press Ctrl-C to stop."));
    send(&listener.url, "titan", secret_for("titan"))
        .args(["--allow-private", "--event", "session.status"])
        .assert()
        .success();
    let pid = listener.child.as_ref().unwrap().id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("session.status"), "{stdout}");
    assert!(
        stderr.contains("1 delivery: 1 verified, 0 duplicate, 0 rejected"),
        "{stderr}"
    );
}

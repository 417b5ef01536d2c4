//! A process running one ignored test of the current test binary, whose
//! report lines the parent reads: how the crash and worker-name tests run
//! senders they can kill.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The child process and the report lines it printed so far.
pub struct ChildTest {
    label: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ChildTest {
    /// Runs the ignored test `test` of this binary with `env`, keeping
    /// what follows `marker` on each line of its output. A report may
    /// share its line with the harness's `test NAME ... `, so the marker is
    /// looked for anywhere on the line.
    pub fn spawn(label: &str, test: &str, marker: &'static str, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(env.iter().map(|(name, value)| (*name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, report)) = line.split_once(marker) {
                    sink.lock().unwrap().push(report.to_owned());
                }
            }
        });
        Self {
            label: label.to_owned(),
            child,
            lines,
        }
    }

    /// The rest of the first report line that starts with `what`.
    pub fn report(&self, what: &str) -> Option<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find_map(|line| line.strip_prefix(what).map(|rest| rest.trim().to_owned()))
    }

    /// Fails the test if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited early: {status}", self.label);
        }
    }

    /// Waits for the report `what`, failing if the process exits first.
    pub async fn wait_for_report(&mut self, what: &str, deadline: Instant) -> String {
        loop {
            if let Some(report) = self.report(what) {
                return report;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{} never reported {what}",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for the process to exit, and returns its exit code.
    pub async fn exit_code(&mut self, deadline: Instant) -> Option<i32> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit in time",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The report `what` once the exited process's output is drained.
    pub async fn final_report(&self, what: &str) -> String {
        for _ in 0..200 {
            if let Some(report) = self.report(what) {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} exited without reporting {what}", self.label);
    }

    /// Waits for a clean exit and returns its report `what`.
    pub async fn finish(&mut self, what: &str, deadline: Instant) -> String {
        let code = self.exit_code(deadline).await;
        assert_eq!(code, Some(0), "{} failed", self.label);
        self.final_report(what).await
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A failed test leaves no process running.
impl Drop for ChildTest {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

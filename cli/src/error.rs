//! Exit codes and the errors that end a command.

use std::fmt::Write as _;

use crate::output;

/// A verification failed, or the receiver answered with a non-2xx status.
pub const EXIT_FAILED: u8 = 1;
/// The command line is wrong (clap uses 2 for its own errors too).
pub const EXIT_USAGE: u8 = 2;
/// Anything else: I/O, the secret, the network, the SSRF guard.
pub const EXIT_OTHER: u8 = 3;

/// How a command that ran to the end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command ran, and its answer is "no".
    Failed,
}

/// Why a command could not run to the end.
#[derive(Debug)]
pub struct CliError {
    exit: u8,
    code: Option<String>,
    message: String,
    hints: Vec<String>,
}

impl CliError {
    /// A usage error found after parsing (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_USAGE,
            code: None,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// An I/O, secret, network or other error (exit 3).
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_OTHER,
            code: None,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// The command ran and its answer is "no" (exit 1), with a stable
    /// `code` when there is one: a management API's error answer.
    pub fn failed(code: Option<String>, message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_FAILED,
            code,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a line that tells the user what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        self.exit
    }

    /// Prints the error and its hints to stderr.
    pub fn report(&self) {
        output::error(self.code.as_deref(), &self.message);
        for hint in &self.hints {
            output::hint(hint);
        }
    }
}

/// An error and every error under it, as one line.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // reqwest and hyper often repeat their source's text in their own.
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

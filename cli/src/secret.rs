//! Reading the secret: from an environment variable, a file, or a hidden
//! prompt; never from an argument.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read as _};

use titan_webhooks::{Scheme, Secret, SecretEncoding};
use zeroize::Zeroizing;

use crate::cli::SecretArgs;
use crate::error::CliError;

/// No secret file is read past this size: secrets are short, and a wrong
/// path to a large file should not be read whole.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The secret's text as given, wiped from memory when dropped.
pub type SecretText = Zeroizing<String>;

/// Reads the secret's text from where `args` says, or prompts for it
/// without echo when stdin is a terminal.
pub fn read_text(args: &SecretArgs, scheme: &Scheme) -> Result<SecretText, CliError> {
    let text = if let Some(var) = &args.secret_env {
        from_env(var)?
    } else if let Some(path) = &args.secret_file {
        from_file(path)?
    } else if io::stdin().is_terminal() {
        let prompt = format!("Secret for {} (input hidden): ", scheme.name());
        let typed = Zeroizing::new(
            rpassword::prompt_password(prompt)
                .map_err(|err| CliError::other(format!("cannot read the secret: {err}")))?,
        );
        Zeroizing::new(typed.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        return Err(CliError::usage(
            "no secret: pass --secret-env VAR or --secret-file PATH \
             (a prompt is offered only when stdin is a terminal)",
        )
        .hint("secrets are never taken as arguments, which shell history and process lists show"));
    };
    if text.is_empty() {
        return Err(CliError::other("the secret is empty"));
    }
    Ok(text)
}

/// Reads a secret from the environment variable `var`.
pub fn from_env(var: &str) -> Result<SecretText, CliError> {
    match std::env::var(var) {
        Ok(value) => Ok(Zeroizing::new(value)),
        Err(std::env::VarError::NotPresent) => Err(CliError::other(format!(
            "the environment variable `{var}` is not set"
        ))
        .hint(format!(
            "export {var} with the secret, or use --secret-file PATH"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::other(format!(
            "the environment variable `{var}` is not valid UTF-8"
        ))),
    }
}

/// Reads a secret from the file at `path`, without one trailing newline.
pub fn from_file(path: &std::path::Path) -> Result<SecretText, CliError> {
    let cannot = |err: io::Error| {
        CliError::other(format!(
            "cannot read the secret from {}: {err}",
            path.display()
        ))
    };
    let file = File::open(path).map_err(cannot)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_SECRET_FILE {
        return Err(CliError::other(format!(
            "{} is larger than 64 KiB, too large for a secret",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        CliError::other(format!(
            "the secret in {} is not UTF-8 text",
            path.display()
        ))
    })?;
    // Editors end files with a newline; it is not part of the secret.
    let text = text
        .strip_suffix('\n')
        .map_or(text, |rest| rest.strip_suffix('\r').unwrap_or(rest));
    Ok(Zeroizing::new(text.to_owned()))
}

/// The key `text` stands for under `scheme`'s secret encoding.
pub fn parse(text: &str, scheme: &Scheme) -> Result<Secret, CliError> {
    scheme.secret(text).map_err(|err| {
        let error = CliError::other(format!("the secret does not fit {}: {err}", scheme.name()));
        match scheme.secret_encoding() {
            SecretEncoding::Whsec => error.hint(format!(
                "{} secrets are base64, usually after `whsec_`, as the sender shows them; \
                 give the whole string",
                scheme.name()
            )),
            _ => error,
        }
    })
}

/// Reads and parses the secret.
pub fn load(args: &SecretArgs, scheme: &Scheme) -> Result<(Secret, SecretText), CliError> {
    let text = read_text(args, scheme)?;
    let secret = parse(&text, scheme)?;
    Ok((secret, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_loses_one_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "key\r\n").unwrap();
        assert_eq!(from_file(&path).unwrap().as_str(), "key");
        std::fs::write(&path, "key \n\n").unwrap();
        assert_eq!(from_file(&path).unwrap().as_str(), "key \n");
    }

    #[test]
    fn whsec_schemes_say_what_they_expect() {
        let err = parse("plain", &Scheme::standard_webhooks()).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_OTHER);
        assert!(parse("plain", &Scheme::titan()).is_ok());
    }
}

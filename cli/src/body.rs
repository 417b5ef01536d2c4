//! Reading a body: bytes, never text, and never more than the limit.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read};
use std::path::Path;

use crate::cli::BodyArgs;
use crate::error::CliError;
use crate::output;

/// `--max-body`'s default: 10 MiB.
pub const DEFAULT_MAX_BODY_TEXT: &str = "10MiB";

/// Parses a size: bytes, or a number with `K`/`KiB`, `M`/`MiB`, `G`/`GiB`
/// (all powers of 1024; `B` is bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|_| {
        format!("`{text}` is not a size: write bytes, or a number with KiB, MiB or GiB")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("`{other}` is not a size unit: use KiB, MiB or GiB")),
    };
    let size = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if size == 0 {
        return Err("the size must be at least 1 byte".to_owned());
    }
    Ok(size)
}

/// Reads the body from `--body-file`, or from stdin when it is `-` or not
/// given. Stops one byte past the limit, so a huge input is refused
/// without being read whole.
pub fn read(args: &BodyArgs) -> Result<Vec<u8>, CliError> {
    let max = args.max_body;
    match args.body_file.as_deref() {
        Some(path) if path != Path::new("-") => {
            let file = File::open(path).map_err(|err| {
                CliError::other(format!(
                    "cannot read the body from {}: {err}",
                    path.display()
                ))
            })?;
            read_capped(file, max, &format!("{}", path.display()))
        }
        _ => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(CliError::usage(
                    "no body: pass --body-file PATH, or pipe the body on stdin",
                ));
            }
            read_capped(stdin.lock(), max, "stdin")
        }
    }
}

fn read_capped(reader: impl Read, max: u64, source: &str) -> Result<Vec<u8>, CliError> {
    let mut body = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|err| CliError::other(format!("cannot read the body from {source}: {err}")))?;
    if u64::try_from(body.len()).unwrap_or(u64::MAX) > max {
        return Err(CliError::other(format!(
            "the body from {source} is larger than the limit of {} ({max} bytes)",
            output::size(max)
        ))
        .hint("raise the limit with --max-body, for example --max-body 50MiB"));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("0").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10 furlongs").unwrap_err().contains("furlongs"));
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn a_body_at_the_limit_passes_and_one_byte_more_does_not() {
        assert_eq!(read_capped(&b"12345"[..], 5, "test").unwrap(), b"12345");
        let err = read_capped(&b"123456"[..], 5, "test").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_OTHER);
    }
}

//! Printing: colour only on a terminal (and never with `NO_COLOR` or
//! `--color never`), errors and hints to stderr.

use std::io::Write as _;

use anstyle::{AnsiColor, Style};

/// Errors and refusals.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Warnings.
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
/// Success.
pub const OK: Style = AnsiColor::Green.on_default().bold();
/// Hints.
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
/// Labels in aligned output, and header names.
pub const LABEL: Style = Style::new().bold();
/// Secondary text.
pub const DIM: Style = Style::new().dimmed();

/// Wraps `text` in `style`; anstream removes the codes when the stream is
/// not a terminal.
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Writes `text` to stdout as it is (one write, so concurrent deliveries
/// do not interleave). A closed stdout is ignored: the command's exit code
/// still tells the story.
pub fn out(text: &str) {
    let mut stdout = anstream::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` to stderr as it is.
pub fn err(text: &str) {
    let mut stderr = anstream::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// `error[code]: message` on stderr, or `error: message` without a code.
pub fn error(code: Option<&str>, message: &str) {
    let head = match code {
        Some(code) => format!("error[{code}]"),
        None => "error".to_owned(),
    };
    err(&format!("{}: {message}\n", paint(ERROR, head)));
}

/// `warning: message` on stderr.
pub fn warn(message: &str) {
    err(&format!("{}: {message}\n", paint(WARN, "warning")));
}

/// `hint: message` on stderr.
pub fn hint(message: &str) {
    err(&format!("{}: {message}\n", paint(HINT, "hint")));
}

/// Lines of `label  value`, the labels padded to one width, each line
/// starting with `indent`. A value of several lines keeps its column.
pub fn aligned(indent: &str, rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (label, value) in rows {
        let pad = " ".repeat(
            width
                .saturating_sub(label.chars().count())
                .saturating_add(2),
        );
        let continuation = format!("\n{indent}{}", " ".repeat(width.saturating_add(2)));
        let value = value.replace('\n', &continuation);
        text.push_str(&format!("{indent}{}{pad}{value}\n", paint(LABEL, label)));
    }
    text
}

/// A table: a bold header line, then one line per row, each column padded
/// to its widest cell. Line breaks in a cell become spaces, and the last
/// column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |text: &str| text.replace(['\n', '\r'], " ");
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell(text).chars().count());
        }
    }
    let line = |cells: Vec<String>, style: Option<Style>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, (cell, width)) in cells.into_iter().zip(&widths).enumerate() {
            let pad = if index == last {
                String::new()
            } else {
                " ".repeat(width.saturating_sub(cell.chars().count()).saturating_add(2))
            };
            match style {
                Some(style) => text.push_str(&paint(style, &cell)),
                None => text.push_str(&cell),
            }
            text.push_str(&pad);
        }
        text.push('\n');
        text
    };
    let mut text = line(
        headers.iter().map(|h| (*h).to_owned()).collect(),
        Some(LABEL),
    );
    for row in rows {
        text.push_str(&line(row.iter().map(|c| cell(c)).collect(), None));
    }
    text
}

/// A byte count for people: `10 MiB`, `512 KiB` or `1234 bytes`.
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    match bytes {
        0 => "0 bytes".to_owned(),
        b if b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A span of seconds for people: `45 s`, `12 min 3 s`, `5 h 2 min`, `3 days 4 h`.
pub fn duration(seconds: u64) -> String {
    let (minutes, secs) = (seconds / 60, seconds % 60);
    let (hours, mins) = (minutes / 60, minutes % 60);
    let (days, hrs) = (hours / 24, hours % 24);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => join(format!("{mins} min"), secs, "s"),
        (0, _, _) => join(format!("{hrs} h"), mins, "min"),
        (1, _, _) => join("1 day".to_owned(), hrs, "h"),
        _ => join(format!("{days} days"), hrs, "h"),
    }
}

/// `head`, then `count unit` unless the count is 0.
fn join(head: String, count: u64, unit: &str) -> String {
    if count == 0 {
        head
    } else {
        format!("{head} {count} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(723), "12 min 3 s");
        assert_eq!(duration(5 * 3600 + 120), "5 h 2 min");
        assert_eq!(duration(86_400 + 3600), "1 day 1 h");
        assert_eq!(duration(u64::MAX), "213503982334601 days 7 h");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(size(1536), "1536 bytes");
        assert_eq!(size(2048), "2 KiB");
        assert_eq!(size(7), "7 bytes");
    }

    #[test]
    fn tables_align_columns_and_flatten_line_breaks() {
        let text = table(
            &["ID", "URL", "ENABLED"],
            &[
                vec!["1".into(), "https://example.com/a".into(), "yes".into()],
                vec!["42".into(), "https://x\ny".into(), "no".into()],
            ],
        );
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(
            plain,
            "ID  URL                    ENABLED\n\
             1   https://example.com/a  yes\n\
             42  https://x y            no\n"
        );
    }

    #[test]
    fn aligned_pads_labels_and_indents_continuations() {
        let text = aligned("  ", &[("id", "1".into()), ("payload", "{\n}".into())]);
        // Styles are only stripped on write, so compare without them.
        let plain = anstream::adapter::strip_str(&text).to_string();
        assert_eq!(plain, "  id       1\n  payload  {\n           }\n");
    }
}

//! `verify --explain`: hints for the usual reasons a signature fails.
//!
//! Besides general advice, it checks a few likely repairs with the
//! library's verifier: the body without (or with) a final newline, the JSON
//! body with its whitespace removed, and the secret read with the other
//! encoding. A repair that verifies is reported as found. Nothing here
//! computes a signature itself, and no hint shows an expected signature.

use titan_webhooks::http::HeaderMap;
use titan_webhooks::{
    DigestEncoding, HeaderProblem, Scheme, Secret, SecretEncoding, SignatureFormat, Timestamp,
    VerifyError,
};

use crate::output;
use crate::scheme::SchemeName;

/// What `verify` was given.
pub struct Context<'a> {
    /// The scheme by name.
    pub name: SchemeName,
    /// The scheme.
    pub scheme: &'a Scheme,
    /// The secret as given, before the scheme's encoding.
    pub secret_text: &'a str,
    /// The delivery's headers.
    pub headers: &'a HeaderMap,
    /// The delivery's body.
    pub body: &'a [u8],
    /// `--tolerance`, in seconds.
    pub tolerance: Option<u64>,
    /// The time the verification used, in unix seconds.
    pub now: u64,
}

impl Context<'_> {
    fn verifies(&self, secret: Secret, body: &[u8]) -> bool {
        crate::verify::verifier(self.scheme.clone(), secret, self.tolerance)
            .verify_at(self.headers, body, self.now)
            .is_ok()
    }
}

/// Hints for `err`, most specific first.
pub fn hints(err: &VerifyError, cx: &Context<'_>) -> Vec<String> {
    match err {
        VerifyError::MissingHeader { .. } => missing_header(cx),
        VerifyError::MalformedHeader { name, problem } => malformed_header(name, *problem, cx),
        VerifyError::TooManyEntries { limit, .. } => vec![format!(
            "senders list one signature per secret they sign with, usually one or two \
             during a rotation; a header with more than {limit} was built wrongly, or is \
             meant to make the receiver work"
        )],
        VerifyError::TimestampOutOfTolerance {
            skew_seconds,
            tolerance_seconds,
        } => clock_skew(*skew_seconds, *tolerance_seconds, cx.now),
        VerifyError::NoMatchingSignature { .. } => mismatch(cx),
        _ => Vec::new(),
    }
}

fn missing_header(cx: &Context<'_>) -> Vec<String> {
    let mut hints = Vec::new();
    if cx.headers.is_empty() {
        hints.push(
            "no --header was given: pass each of the delivery's headers as \
             --header 'Name: value', copied from the request as it arrived"
                .to_owned(),
        );
    }
    for other in SchemeName::ALL {
        let Ok(scheme) = other.scheme() else { continue };
        if other != cx.name && cx.headers.contains_key(scheme.signature_header()) {
            hints.push(format!(
                "`{}` is {other}'s signature header: try --scheme {other}",
                scheme.signature_header()
            ));
        }
    }
    let list = |names: &mut dyn Iterator<Item = &titan_webhooks::http::HeaderName>| {
        names
            .map(|header| format!("`{header}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !cx.headers.is_empty() {
        hints.push(format!(
            "{} deliveries carry {}; the headers given are {} (names ignore case)",
            cx.scheme.name(),
            list(&mut cx.scheme.headers()),
            list(&mut cx.headers.keys())
        ));
    }
    hints.push(
        "stripped headers: proxies, load balancers, API gateways and some frameworks drop or \
         rename headers they do not know; log the headers your application receives, before \
         any middleware"
            .to_owned(),
    );
    hints
}

fn malformed_header(name: &str, problem: HeaderProblem, cx: &Context<'_>) -> Vec<String> {
    let scheme = cx.scheme;
    let mut hints = Vec::new();
    if name == scheme.signature_header().as_str() {
        hints.push(format!(
            "{} writes `{name}` as `{}`",
            scheme.name(),
            layout(scheme)
        ));
    } else if scheme
        .timestamp_header()
        .is_some_and(|header| header.as_str() == name)
    {
        hints.push(format!(
            "`{name}` holds the signing time in unix seconds, digits only"
        ));
    } else if scheme
        .id_header()
        .is_some_and(|header| header.as_str() == name)
    {
        hints.push(format!(
            "`{name}` holds the message id: 1 to {} visible ASCII characters without `.`",
            titan_webhooks::MAX_ID_LEN
        ));
    }
    match problem {
        HeaderProblem::Repeated => hints.push(format!(
            "`{name}` was given more than once; give each header once, as it arrived"
        )),
        HeaderProblem::InvalidSignatureEncoding => hints.push(
            "a digest with the wrong length or characters was usually cut short or \
             line-wrapped when it was copied"
                .to_owned(),
        ),
        _ => {}
    }
    hints.push(
        "copy the value exactly as it arrived, in single quotes so that the shell keeps \
         `=`, `,` and spaces"
            .to_owned(),
    );
    hints
}

/// How the signature header's value is laid out, with placeholders.
fn layout(scheme: &Scheme) -> String {
    let digest = match scheme.encoding() {
        DigestEncoding::Hex => "<64 hex digits>",
        DigestEncoding::Base64 => "<44 base64 characters>",
        _ => "<digest>",
    };
    match scheme.format() {
        SignatureFormat::Prefixed {
            prefix,
            prefix_optional: false,
        } => format!("{prefix}{digest}"),
        SignatureFormat::Prefixed {
            prefix,
            prefix_optional: true,
        } => format!("{prefix}{digest}` or `{digest}"),
        SignatureFormat::KeyValue {
            timestamp_key,
            signature_key,
        } => format!("{timestamp_key}=<unix seconds>,{signature_key}={digest}"),
        SignatureFormat::VersionedList { version } => format!("{version},{digest}"),
        _ => digest.to_owned(),
    }
}

fn clock_skew(skew_seconds: i64, tolerance_seconds: u64, now: u64) -> Vec<String> {
    let age = skew_seconds.unsigned_abs();
    let signed_at = i64::try_from(now)
        .ok()
        .and_then(|now| now.checked_sub(skew_seconds))
        .and_then(|unix| Timestamp::from_unix_seconds(unix).ok())
        .map_or_else(String::new, |at| format!(", at {at}"));
    let sync = "compare `date -u` here with the sender's clock, and keep both synchronised (NTP)";
    if skew_seconds >= 0 {
        vec![
            format!(
                "clock skew or an old delivery: it was signed {} ago{signed_at}, and the \
                 tolerance is {} either way; receivers refuse old signatures so that a \
                 captured request cannot be replayed",
                output::duration(age),
                output::duration(tolerance_seconds)
            ),
            format!(
                "checking a delivery captured earlier? allow its age with --tolerance {}",
                age.saturating_add(60)
            ),
            format!("if it has just arrived, a clock is wrong: {sync}"),
        ]
    } else {
        vec![format!(
            "clock skew: the delivery claims to be signed {} in the future{signed_at}; a clock \
             is wrong: {sync}",
            output::duration(age)
        )]
    }
}

fn mismatch(cx: &Context<'_>) -> Vec<String> {
    let found = found_repairs(cx);
    if !found.is_empty() {
        return found
            .into_iter()
            .map(|found| format!("found: {found}"))
            .collect();
    }
    let mut hints = Vec::new();

    let pretty = looks_pretty_printed(cx.body);
    hints.push(format!(
        "re-serialised body: the signature covers the exact bytes sent. A body that was parsed \
         and written out again (key order, spacing, `\\u00e9` escapes, number formats), or \
         decoded and re-encoded as text, no longer matches: verify the raw request body, \
         before any JSON parsing{}",
        if pretty {
            ". This body looks pretty-printed"
        } else {
            ""
        }
    ));
    hints.push(match cx.scheme.secret_encoding() {
        SecretEncoding::Whsec => format!(
            "secret encoding: {} keys on the bytes that the base64 after `whsec_` encodes, \
             not on the string",
            cx.scheme.name()
        ),
        _ if cx.name == SchemeName::Stripe => "secret encoding: stripe keys on the whole \
             secret string as UTF-8, `whsec_` prefix included; it is not decoded"
            .to_owned(),
        _ => format!(
            "secret encoding: {} keys on the UTF-8 bytes of the secret string exactly as \
             shown; it is not decoded",
            cx.scheme.name()
        ),
    });
    hints.push(
        "wrong secret: use this endpoint's current secret, not another endpoint's or \
         environment's; providers show it once, when the webhook is created or its secret \
         rotated"
            .to_owned(),
    );
    if cx.scheme.is_timestamped() {
        hints.push(
            "the timestamp (and the id, where the scheme has one) is signed too: take every \
             header from the same request as the body"
                .to_owned(),
        );
    }
    hints
}

/// Repairs that make the signature verify, each as a sentence.
fn found_repairs(cx: &Context<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(secret) = cx.scheme.secret_encoding().parse(cx.secret_text) else {
        return found;
    };

    for (body, what) in body_variants(cx.body) {
        if cx.verifies(secret.clone_secret(), &body) {
            found.push(what.to_owned());
        }
    }

    let text = cx.secret_text;
    let mut secrets: Vec<(Secret, &str)> = Vec::new();
    match cx.scheme.secret_encoding() {
        SecretEncoding::Whsec => {
            if let Ok(secret) = SecretEncoding::Utf8.parse(text) {
                secrets.push((
                    secret,
                    "the signature matches when the key is the whole `whsec_…` string as \
                     text (Stripe's way), not the bytes it encodes: the sender does not \
                     decode its secret",
                ));
            }
        }
        _ => {
            if text.starts_with(titan_webhooks::WHSEC_PREFIX) {
                if let Ok(secret) = SecretEncoding::Whsec.parse(text) {
                    secrets.push((
                        secret,
                        "the signature matches when the key is the bytes the `whsec_` secret \
                         encodes (Standard Webhooks' way): the sender decodes its secret; \
                         --scheme standard-webhooks or svix may be the one",
                    ));
                }
            } else if let Ok(secret) = Secret::from_whsec(text) {
                secrets.push((
                    secret,
                    "the signature matches when the secret is base64-decoded first: the \
                     sender keys on the decoded bytes",
                ));
            }
        }
    }
    let trimmed = text.trim();
    if trimmed != text
        && let Ok(secret) = cx.scheme.secret_encoding().parse(trimmed)
    {
        secrets.push((
            secret,
            "the signature matches with the spaces or newlines around the secret removed: \
             they came in when the secret was copied",
        ));
    }
    for (secret, what) in secrets {
        if cx.verifies(secret, cx.body) {
            found.push(what.to_owned());
        }
    }
    found
}

/// The body as it may have been before a common mistake changed it.
fn body_variants(body: &[u8]) -> Vec<(Vec<u8>, &'static str)> {
    let mut variants = Vec::new();
    if let Some(stripped) = body.strip_suffix(b"\n") {
        let stripped = stripped.strip_suffix(b"\r").unwrap_or(stripped);
        variants.push((
            stripped.to_vec(),
            "the signature matches the body without its final newline: one was added after \
             signing (`echo` without -n, a heredoc, an editor); pass the exact bytes, with \
             printf '%s' or --body-file",
        ));
    } else {
        let mut with_newline = body.to_vec();
        with_newline.push(b'\n');
        variants.push((
            with_newline,
            "the signature matches the body with a final newline: the sender's body ended \
             with one, and this copy lost it",
        ));
    }
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        let minified = minify_json(body);
        if minified != body {
            let spaced = python_separators(&minified);
            variants.push((
                minified,
                "the signature matches the body with the whitespace between JSON tokens \
                 removed: the body was re-serialised (pretty-printed) after signing; verify \
                 the raw request body, before any JSON parsing",
            ));
            if spaced != body {
                variants.push((
                    spaced,
                    "the signature matches the body written with `, ` and `: ` separators \
                     (Python's json.dumps): the body was re-serialised after signing; verify \
                     the raw request body, before any JSON parsing",
                ));
            }
        } else {
            variants.push((
                python_separators(body),
                "the signature matches the body written with `, ` and `: ` separators \
                 (Python's json.dumps): the body was re-serialised after signing; verify the \
                 raw request body, before any JSON parsing",
            ));
        }
    }
    // The minified body of a body with a final newline is often the same
    // bytes as the body without it: report the first explanation only.
    let mut unique: Vec<(Vec<u8>, &'static str)> = Vec::with_capacity(variants.len());
    for (bytes, what) in variants {
        if !unique.iter().any(|(seen, _)| *seen == bytes) {
            unique.push((bytes, what));
        }
    }
    unique
}

/// Whether `body` is JSON with indented lines.
fn looks_pretty_printed(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok()
        && body
            .windows(2)
            .any(|pair| pair == b"\n " || pair == b"\n\t")
}

/// Walks JSON text, calling `keep` for each byte outside strings and
/// copying the bytes inside strings as they are.
fn rewrite_json(json: &[u8], mut outside: impl FnMut(u8, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else {
            if byte == b'"' {
                in_string = true;
            }
            outside(byte, &mut out);
        }
    }
    out
}

/// JSON text without whitespace between tokens, in its original order.
fn minify_json(json: &[u8]) -> Vec<u8> {
    rewrite_json(json, |byte, out| {
        if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(byte);
        }
    })
}

/// Minified JSON with a space after each `,` and `:`, as Python writes it.
fn python_separators(minified: &[u8]) -> Vec<u8> {
    rewrite_json(minified, |byte, out| {
        out.push(byte);
        if matches!(byte, b',' | b':') {
            out.push(b' ');
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        let pretty = b"{\n  \"b\": \"a, b: \\\"c\\\" \",\n  \"a\": [1, 2]\n}\n";
        assert_eq!(
            minify_json(pretty),
            b"{\"b\":\"a, b: \\\"c\\\" \",\"a\":[1,2]}".to_vec()
        );
        assert_eq!(
            python_separators(&minify_json(pretty)),
            b"{\"b\": \"a, b: \\\"c\\\" \", \"a\": [1, 2]}".to_vec()
        );
    }

    #[test]
    fn layouts_name_the_parts() {
        assert_eq!(layout(&Scheme::titan()), "sha256=<64 hex digits>");
        assert_eq!(
            layout(&Scheme::stripe()),
            "t=<unix seconds>,v1=<64 hex digits>"
        );
        assert_eq!(
            layout(&Scheme::standard_webhooks()),
            "v1,<44 base64 characters>"
        );
    }

    #[test]
    fn a_future_timestamp_blames_a_clock() {
        let hints = clock_skew(-400, 300, 1_700_000_000);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].contains("6 min 40 s in the future"), "{hints:?}");
        assert!(hints[0].contains("2023-11-14T22:20:00Z"), "{hints:?}");
    }
}

//! `verify --explain`: the library's [`diagnose`] as `hint:` lines.
//!
//! The search for the cause (body, final newline, secret encoding, clock
//! skew, headers, scheme) is the library's; this module only words its
//! findings for the command line. No hint shows the secret, an expected
//! signature or the body.
//!
//! [`diagnose`]: titan_webhooks::diagnose

use std::time::Duration;

use titan_webhooks::diagnose::{Cause, Diagnose, Diagnosis};
use titan_webhooks::http::HeaderMap;
use titan_webhooks::{Scheme, VerifyError};

/// What `verify` was given.
pub struct Context<'a> {
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

/// Hints for a delivery that failed with `err`, most specific first: a
/// confirmed repair reads `found: …`.
pub fn hints(err: &VerifyError, cx: &Context<'_>) -> Vec<String> {
    let mut diagnose = Diagnose::new(cx.scheme, cx.secret_text).at(cx.now);
    if let Some(seconds) = cx.tolerance {
        diagnose = diagnose.with_tolerance(Duration::from_secs(seconds));
    }
    let diagnosis = diagnose.run(cx.headers, cx.body);
    let mut hints = worded(&diagnosis);
    if let Some(flag) = tolerance_flag(err, &diagnosis) {
        hints.push(flag);
    }
    hints
}

/// Each finding as a line.
fn worded(diagnosis: &Diagnosis) -> Vec<String> {
    diagnosis
        .findings()
        .iter()
        .map(|finding| {
            if finding.is_confirmed() {
                format!("found: {}", finding.message())
            } else {
                finding.message().to_owned()
            }
        })
        .collect()
}

/// The `--tolerance` that accepts an old delivery whose signature matches:
/// the command's own flag, which the library cannot name.
fn tolerance_flag(err: &VerifyError, diagnosis: &Diagnosis) -> Option<String> {
    let VerifyError::TimestampOutOfTolerance { skew_seconds, .. } = err else {
        return None;
    };
    let matches = diagnosis
        .findings()
        .iter()
        .any(|finding| finding.cause() == Cause::ClockSkew && finding.is_confirmed());
    (*skew_seconds > 0 && matches).then(|| {
        format!(
            "checking a delivery captured earlier? allow its age with --tolerance {}",
            skew_seconds.unsigned_abs().saturating_add(60)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use titan_webhooks::{Secret, Signer};

    fn hints_at(now: u64) -> Vec<String> {
        let scheme = Scheme::eventium();
        let headers = Signer::new(scheme.clone(), Secret::from_utf8("key").unwrap())
            .sign_at("unused", 1_700_000_000, b"{}")
            .unwrap();
        let cx = Context {
            scheme: &scheme,
            secret_text: "key",
            headers: &headers,
            body: b"{}",
            tolerance: None,
            now,
        };
        let err = crate::verify::verifier(scheme.clone(), Secret::from_utf8("key").unwrap(), None)
            .verify_at(&headers, b"{}", now)
            .unwrap_err();
        hints(&err, &cx)
    }

    #[test]
    fn only_an_old_matching_delivery_is_offered_a_tolerance() {
        let old = hints_at(1_700_001_000);
        assert!(old[0].starts_with("found: "), "{old:?}");
        assert_eq!(
            old.last().unwrap(),
            "checking a delivery captured earlier? allow its age with --tolerance 1060"
        );
        let future = hints_at(1_699_999_000);
        assert!(future[0].contains("in the future"), "{future:?}");
        assert!(
            !future.iter().any(|hint| hint.contains("--tolerance")),
            "{future:?}"
        );
    }
}

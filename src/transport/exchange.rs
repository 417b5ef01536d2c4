//! One HTTP exchange: sign, send, read a bounded response, and judge it
//! into the attempt's record.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

use super::resolver::DnsFailure;
use crate::clock::unix_now;
use crate::queue::{ClaimedDelivery, DeliveryAttempt, MAX_RECORDED_BODY, Subscription};
use crate::retry::{AttemptOutcome, FailureKind, NextStep, RetryRules, parse_retry_after};
use crate::subscription::{MAX_HEADER_VALUE_LEN, MAX_HEADERS_LEN, reserved_reason};
use crate::{GuardError, UrlGuard};

/// The longest `Location` kept in a record.
const MAX_LOCATION_LEN: usize = 2048;
/// The longest failure description kept in a record.
const MAX_DETAIL_LEN: usize = 512;

/// What the wire gave, and when it started.
struct Wire<'a> {
    rules: &'a RetryRules,
    subscription: &'a Subscription,
    delivery: &'a ClaimedDelivery,
    started_at: SystemTime,
    clock: Instant,
}

impl Wire<'_> {
    /// The attempt's record, judged by the retry rules on the
    /// subscription's schedule.
    fn record(
        &self,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        response: Response,
    ) -> DeliveryAttempt {
        let latency = self.clock.elapsed();
        let attempt = self.delivery.next_attempt();
        let now = SystemTime::now();
        let next = match self.subscription.schedule() {
            Some(schedule) => self
                .rules
                .next_step_on(schedule, attempt, outcome, retry_after, now),
            None => self.rules.next_step(attempt, outcome, retry_after, now),
        };
        DeliveryAttempt {
            sequence: None,
            key: self.delivery.key.clone(),
            attempt,
            started_at: self.started_at,
            latency,
            outcome,
            response_body: response.body,
            response_truncated: response.truncated,
            location: response.location,
            remote_ip: response.remote_ip,
            // A durable store cannot keep a later time; giving up is honest.
            next: match next {
                NextStep::RetryAt(at) if !is_storable(at) => NextStep::GaveUp,
                other => other,
            },
            detail: response.detail,
        }
    }

    fn failed(&self, kind: FailureKind, detail: String) -> DeliveryAttempt {
        let response = Response {
            detail: Some(truncate(detail, MAX_DETAIL_LEN)),
            ..Response::default()
        };
        self.record(AttemptOutcome::Failed(kind), None, response)
    }
}

/// What was read of a response, for the record.
#[derive(Default)]
struct Response {
    body: Vec<u8>,
    truncated: bool,
    location: Option<String>,
    remote_ip: Option<IpAddr>,
    detail: Option<String>,
}

/// Sends `delivery` to `subscription` once, and records what happened.
pub(super) async fn exchange(
    client: &reqwest::Client,
    guard: &UrlGuard,
    rules: &RetryRules,
    subscription: &Subscription,
    delivery: &ClaimedDelivery,
) -> DeliveryAttempt {
    let wire = Wire {
        rules,
        subscription,
        delivery,
        started_at: SystemTime::now(),
        clock: Instant::now(),
    };
    let url = subscription.webhook().url();

    // hyper asks the resolver only about names, so an IP literal is checked
    // here, on every attempt.
    if let Err(refusal) = guard.check_url(url) {
        return wire.failed(FailureKind::RefusedByGuard, refusal.to_string());
    }
    // Ids are checked when envelopes are queued; a store holding one that
    // cannot be signed gets a final failure rather than a panic.
    let signature =
        match subscription
            .signer()
            .sign_at(&delivery.key.envelope_id, unix_now(), &delivery.body)
        {
            Ok(headers) => headers,
            Err(err) => {
                return wire.failed(FailureKind::Body, err.to_string());
            }
        };

    let mut request = client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .headers(signature);
    // The rules are applied again here, whatever built the webhook: a
    // customer's header never replaces or repeats one the scheme signs, nor
    // a framing or hop-by-hop one.
    let mut sent_len = 0usize;
    for header in subscription.webhook().headers() {
        let Some((name, value)) = header.to_http() else {
            continue;
        };
        let with_it = sent_len
            .saturating_add(name.as_str().len())
            .saturating_add(value.len());
        let refusal = reserved_reason(subscription.signer().scheme(), &name)
            .or((value.len() > MAX_HEADER_VALUE_LEN).then_some("its value is too long"))
            .or((with_it > MAX_HEADERS_LEN).then_some("the custom headers are too long"));
        if let Some(reason) = refusal {
            tracing::warn!(header = %name, reason, "custom header not sent");
            continue;
        }
        sent_len = with_it;
        request = request.header(name, value);
    }

    let mut response = match request.body(delivery.body.clone()).send().await {
        Ok(response) => response,
        Err(err) => {
            let kind = failure_kind(&err);
            return wire.failed(kind, describe(&err));
        }
    };

    let status = response.status();
    let remote_ip = response.remote_addr().map(|address| address.ip());
    let location = status
        .is_redirection()
        .then(|| response.headers().get(LOCATION))
        .flatten()
        .map(|value| {
            truncate(
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
                MAX_LOCATION_LEN,
            )
        });
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| parse_retry_after(value.as_bytes(), SystemTime::now()));

    // The status is the receiver's answer; the body is only for the
    // record, read until it ends, passes the limit, or breaks off.
    let mut body = Vec::new();
    let mut truncated = false;
    let mut detail = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RECORDED_BODY.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(err) => {
                detail = Some(truncate(
                    format!("the response body broke off: {}", describe(&err)),
                    MAX_DETAIL_LEN,
                ));
                break;
            }
        }
    }

    let response = Response {
        body,
        truncated,
        location,
        remote_ip,
        detail,
    };
    wire.record(
        AttemptOutcome::Status(status.as_u16()),
        retry_after,
        response,
    )
}

/// Sorts a failed request into the record's kinds, from the most specific
/// cause down.
fn failure_kind(err: &reqwest::Error) -> FailureKind {
    for cause in causes(err) {
        if cause.is::<GuardError>() {
            return FailureKind::RefusedByGuard;
        }
        if cause.is::<DnsFailure>() {
            return FailureKind::Dns;
        }
        if cause.is::<rustls::Error>() {
            return FailureKind::Tls;
        }
    }
    if err.is_timeout() {
        FailureKind::Timeout
    } else if err.is_body() || err.is_decode() {
        FailureKind::Body
    } else {
        FailureKind::Connect
    }
}

/// `err` and everything behind it. An `io::Error`'s `source` skips the
/// error it wraps (rustls reports through two of them), so the walk steps
/// into it instead.
fn causes<'e>(
    err: &'e (dyn StdError + 'static),
) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
    std::iter::successors(
        Some(err),
        |&current: &&'e (dyn StdError + 'static)| match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => current.source(),
        },
    )
}

/// The error and its causes, without the URL, which may carry a token.
fn describe(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut cause: Option<&(dyn StdError + 'static)> = err.source();
    text.push_str(if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    });
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

/// Whether a durable store, which keeps times as `i64` microseconds since
/// the Unix epoch, can keep `at`.
fn is_storable(at: SystemTime) -> bool {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .is_ok_and(|since| i64::try_from(since.as_micros()).is_ok())
}

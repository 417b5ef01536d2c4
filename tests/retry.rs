//! Retry calculators: the seeds' retry object, schedules, jitter,
//! `Retry-After` and outcome classification.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::time::{Duration, SystemTime};

use http::StatusCode;
use proptest::prelude::*;
use titan_webhooks::retry::{
    AttemptOutcome, Backoff, FailureKind, Jitter, MAX_RETRY_AFTER, NextStep, RetryPolicy,
    RetryPolicyError, RetryRules, RetrySchedule, THROTTLE_FLOOR, parse_retry_after,
};

fn secs(values: &[u64]) -> Vec<Duration> {
    values.iter().copied().map(Duration::from_secs).collect()
}

#[test]
fn the_seeds_table() {
    let cases = [
        (Backoff::Constant, [5, 5, 5, 5]),
        (Backoff::Linear, [5, 10, 15, 20]),
        (Backoff::Exponential, [5, 10, 20, 40]),
    ];
    for (backoff, expected) in cases {
        let policy = RetryPolicy::new(4, 5, backoff).unwrap();
        assert_eq!(
            policy.delays().collect::<Vec<_>>(),
            secs(&expected),
            "{backoff}"
        );
        assert_eq!(
            policy.total_window(),
            Duration::from_secs(expected.iter().sum()),
            "{backoff}"
        );
    }
    // The seeds' own example: exponential from 5 s retries at 5, 10 and 20 s.
    let example: RetryPolicy =
        serde_json::from_str(r#"{ "attempts": 3, "delaySeconds": 5, "policy": "exponential" }"#)
            .unwrap();
    assert_eq!(example.delays().collect::<Vec<_>>(), secs(&[5, 10, 20]));
}

#[test]
fn the_json_form_is_exactly_the_seeds() {
    let policy = RetryPolicy::new(3, 5, Backoff::Exponential).unwrap();
    assert_eq!(
        serde_json::to_string(&policy).unwrap(),
        r#"{"attempts":3,"delaySeconds":5,"policy":"exponential"}"#
    );
    for backoff in [Backoff::Constant, Backoff::Linear, Backoff::Exponential] {
        let policy = RetryPolicy::new(1, 1, backoff).unwrap();
        let back: RetryPolicy =
            serde_json::from_str(&serde_json::to_string(&policy).unwrap()).unwrap();
        assert_eq!(back, policy);
    }
}

#[test]
fn invalid_retry_objects_name_the_field_and_the_rule() {
    let cases = [
        (
            r#"{"attempts":-1,"delaySeconds":5,"policy":"linear"}"#,
            "`attempts` must be between 0 and 1000, got -1",
        ),
        (
            r#"{"attempts":1001,"delaySeconds":5,"policy":"linear"}"#,
            "got 1001",
        ),
        (
            r#"{"attempts":3,"delaySeconds":0,"policy":"linear"}"#,
            "`delaySeconds` must be between 1 and 86400, got 0",
        ),
        (
            r#"{"attempts":3,"delaySeconds":86401,"policy":"linear"}"#,
            "got 86401",
        ),
        (
            r#"{"attempts":3,"delaySeconds":5,"policy":"Exponential"}"#,
            "unknown retry policy `Exponential`",
        ),
        (
            r#"{"attempts":3,"delaySeconds":5}"#,
            "missing field `policy`",
        ),
        (
            r#"{"attempts":"3","delaySeconds":5,"policy":"linear"}"#,
            "invalid type",
        ),
    ];
    for (json, message) in cases {
        let err = serde_json::from_str::<RetryPolicy>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{json}: {err}");
    }
    assert_eq!(
        "fibonacci".parse::<Backoff>().unwrap_err(),
        RetryPolicyError::UnknownPolicy {
            name: "fibonacci".into()
        }
    );
    assert_eq!(
        RetryPolicy::new(1001, 5, Backoff::Linear).unwrap_err(),
        RetryPolicyError::AttemptsOutOfRange {
            value: 1001,
            max: 1000
        }
    );
}

#[test]
fn the_largest_exponential_policy_saturates_instead_of_overflowing() {
    let policy = RetryPolicy::new(1000, 86_400, Backoff::Exponential).unwrap();
    assert_eq!(policy.delay(1), Some(Duration::from_secs(86_400)));
    assert_eq!(policy.delay(1000), Some(Duration::from_secs(u64::MAX)));
    assert_eq!(policy.delays().count(), 1000);
    assert_eq!(policy.total_window(), Duration::MAX);
    let linear = RetryPolicy::new(1000, 86_400, Backoff::Linear).unwrap();
    assert_eq!(linear.delay(1000), Some(Duration::from_secs(86_400_000)));

    let schedule = RetrySchedule::from(policy).with_jitter(Jitter::Percent(100));
    let mut highest = || u64::MAX;
    assert!(schedule.jittered_delay(1000, &mut highest).is_some());
}

#[test]
fn zero_attempts_means_no_retry() {
    let rules = RetryRules::new(RetryPolicy::new(0, 5, Backoff::Linear).unwrap().into());
    assert_eq!(after(&rules, 1, 500), NextStep::GaveUp);
}

#[test]
fn presets_match_their_sources() {
    assert_eq!(
        RetrySchedule::svix().delays().collect::<Vec<_>>(),
        secs(&[5, 300, 1_800, 7_200, 18_000, 36_000, 36_000])
    );
    assert_eq!(
        RetrySchedule::standard_webhooks()
            .delays()
            .collect::<Vec<_>>(),
        secs(&[5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400])
    );
    let stripe = RetrySchedule::stripe_like().total_window().as_secs();
    assert!((3 * 86_400..4 * 86_400).contains(&stripe), "{stripe}");
}

#[test]
fn explicit_schedules_are_bounded() {
    assert!(RetrySchedule::explicit(vec![Duration::from_secs(1); 1000]).is_ok());
    assert_eq!(
        RetrySchedule::explicit(vec![Duration::from_secs(1); 1001]).unwrap_err(),
        RetryPolicyError::AttemptsOutOfRange {
            value: 1001,
            max: 1000
        }
    );
    let empty = RetrySchedule::explicit([]).unwrap();
    assert_eq!(empty.retries(), 0);
    assert_eq!(empty.total_window(), Duration::ZERO);
}

#[test]
fn retry_after_reads_seconds_and_dates_and_ignores_garbage() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    let cases: [(&[u8], Option<u64>); 12] = [
        (b"0", Some(0)),
        (b"120", Some(120)),
        (b" 120 ", Some(120)),
        (b"99999999999999999999999", Some(u64::MAX)),
        (b"Wed, 21 Oct 2015 07:30:00 GMT", Some(120)),
        (b"Wed, 21 Oct 2015 07:00:00 GMT", Some(0)),
        (b"-1", None),
        (b"1.5", None),
        (b"", None),
        (b"soon", None),
        (b"\xff\xfe", None),
        (b"Wed, 99 Oct 2015 07:30:00 GMT", None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_retry_after(value, now),
            expected.map(Duration::from_secs),
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
}

/// The instant the rules judge at, so retry times are exact.
const NOW: SystemTime = SystemTime::UNIX_EPOCH;

fn after(rules: &RetryRules, attempt: u32, status: u16) -> NextStep {
    rules.next_step(attempt, AttemptOutcome::Status(status), None, NOW)
}

fn failed(rules: &RetryRules, attempt: u32, kind: FailureKind) -> NextStep {
    rules.next_step(attempt, AttemptOutcome::Failed(kind), None, NOW)
}

fn with_retry_after(rules: &RetryRules, attempt: u32, status: u16, seconds: u64) -> NextStep {
    let retry_after = Some(Duration::from_secs(seconds));
    rules.next_step(attempt, AttemptOutcome::Status(status), retry_after, NOW)
}

fn retry_in(delay: Duration) -> NextStep {
    NextStep::RetryAt(NOW + delay)
}

#[test]
fn classification_follows_the_seeds_and_standard_webhooks() {
    let policy = RetryPolicy::new(3, 5, Backoff::Exponential).unwrap();
    let rules = RetryRules::new(policy.into());
    let retry = |seconds| retry_in(Duration::from_secs(seconds));

    for status in [200, 201, 204, 299] {
        assert_eq!(after(&rules, 1, status), NextStep::Succeeded, "{status}");
    }
    for status in [301, 302, 307, 400, 401, 404, 500, 502, 504] {
        assert_eq!(after(&rules, 1, status), retry(5), "{status}");
    }
    assert_eq!(after(&rules, 1, 410), NextStep::Disabled);
    assert_eq!(after(&rules, 3, 500), retry(20));
    assert_eq!(after(&rules, 4, 500), NextStep::GaveUp);
    for kind in [
        FailureKind::Dns,
        FailureKind::Connect,
        FailureKind::Tls,
        FailureKind::Body,
    ] {
        assert_eq!(failed(&rules, 2, kind), retry(10), "{kind}");
    }
    // Asking again will not change the guard's answer.
    assert_eq!(
        failed(&rules, 1, FailureKind::RefusedByGuard),
        NextStep::GaveUp
    );
    // Timeouts and 429 wait at least the throttle floor.
    assert_eq!(
        failed(&rules, 1, FailureKind::Timeout),
        retry_in(THROTTLE_FLOOR)
    );
    assert_eq!(after(&rules, 1, 429), retry_in(THROTTLE_FLOOR));
}

#[test]
fn retry_after_lengthens_but_never_shortens_and_is_clamped() {
    let rules = RetryRules::new(RetryPolicy::new(5, 100, Backoff::Constant).unwrap().into());
    let retry = |seconds| retry_in(Duration::from_secs(seconds));
    assert_eq!(with_retry_after(&rules, 1, 503, 300), retry(300));
    assert_eq!(with_retry_after(&rules, 1, 503, 10), retry(100));
    assert_eq!(with_retry_after(&rules, 1, 429, 120), retry(120));
    assert_eq!(
        with_retry_after(&rules, 1, 503, 10 * 86_400),
        retry_in(MAX_RETRY_AFTER)
    );
    // Only 429 and 503 carry a meaningful Retry-After.
    assert_eq!(with_retry_after(&rules, 1, 500, 300), retry(100));
    // Retry-After never revives an exhausted delivery.
    assert_eq!(with_retry_after(&rules, 6, 503, 30), NextStep::GaveUp);
}

#[test]
fn never_retried_statuses_give_up_but_gone_still_disables() {
    let rules = RetryRules::default().with_never_retry([StatusCode::BAD_REQUEST, StatusCode::GONE]);
    assert_eq!(after(&rules, 1, 400), NextStep::GaveUp);
    assert_eq!(after(&rules, 1, 410), NextStep::Disabled);
    assert!(matches!(after(&rules, 1, 401), NextStep::RetryAt(_)));
}

#[test]
fn another_schedule_keeps_the_rules_floors_and_statuses() {
    let rules = RetryRules::default().with_never_retry([StatusCode::BAD_REQUEST]);
    let schedule = RetrySchedule::stripe_like();
    let on = |attempt, outcome| rules.next_step_on(&schedule, attempt, outcome, None, NOW);
    assert_eq!(
        on(1, AttemptOutcome::Status(500)),
        retry_in(Duration::from_secs(60))
    );
    assert_eq!(
        on(2, AttemptOutcome::Status(500)),
        retry_in(Duration::from_secs(300))
    );
    assert_eq!(on(1, AttemptOutcome::Status(400)), NextStep::GaveUp);
    assert_eq!(on(11, AttemptOutcome::Status(500)), NextStep::GaveUp);
    assert_eq!(
        on(2, AttemptOutcome::Failed(FailureKind::Timeout)),
        retry_in(Duration::from_secs(300))
    );
}

#[test]
fn a_retry_past_the_end_of_time_gives_up() {
    let rules = RetryRules::new(RetrySchedule::explicit([Duration::MAX]).unwrap());
    assert_eq!(after(&rules, 1, 500), NextStep::GaveUp);
}

#[test]
fn jitter_is_deterministic_with_an_injected_source() {
    let schedule = RetrySchedule::svix().with_jitter(Jitter::Percent(20));
    let mut lowest = || 0;
    let mut highest = || u64::MAX;
    assert_eq!(
        schedule.jittered_delay(2, &mut lowest),
        Some(Duration::from_secs(240))
    );
    assert_eq!(
        schedule.jittered_delay(2, &mut highest),
        Some(Duration::from_secs(360))
    );
    let equal = RetrySchedule::svix().with_jitter(Jitter::Equal);
    assert_eq!(
        equal.jittered_delay(2, &mut lowest),
        Some(Duration::from_secs(150))
    );
    assert_eq!(
        equal.jittered_delay(2, &mut highest),
        Some(Duration::from_secs(300))
    );
}

fn any_backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        Just(Backoff::Constant),
        Just(Backoff::Linear),
        Just(Backoff::Exponential)
    ]
}

fn any_jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        any::<u8>().prop_map(Jitter::Percent),
    ]
}

fn any_schedule() -> impl Strategy<Value = RetrySchedule> {
    (
        0u32..=1000,
        1u32..=86_400,
        any_backoff(),
        proptest::option::of(1u64..=10_000_000),
        proptest::option::of(0u64..=u64::MAX / 2),
        any_jitter(),
    )
        .prop_map(
            |(attempts, delay, backoff, max_delay, max_elapsed, jitter)| {
                let mut schedule =
                    RetrySchedule::from(RetryPolicy::new(attempts, delay, backoff).unwrap())
                        .with_jitter(jitter);
                if let Some(cap) = max_delay {
                    schedule = schedule.with_max_delay(Duration::from_millis(cap));
                }
                if let Some(window) = max_elapsed {
                    schedule = schedule.with_max_elapsed(Duration::from_secs(window));
                }
                schedule
            },
        )
}

proptest! {
    #[test]
    fn policies_are_monotone_and_their_window_is_their_sum(
        attempts in 0u32..=1000,
        delay in 1u32..=86_400,
        backoff in any_backoff(),
    ) {
        let policy = RetryPolicy::new(attempts, delay, backoff).unwrap();
        let delays: Vec<Duration> = policy.delays().collect();
        prop_assert_eq!(delays.len(), attempts as usize);
        prop_assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        if backoff == Backoff::Constant {
            prop_assert!(delays.iter().all(|d| d.as_secs() == u64::from(delay)));
        }
        let sum = delays.iter().fold(Duration::ZERO, |total, d| total.saturating_add(*d));
        prop_assert_eq!(policy.total_window(), sum);
    }

    #[test]
    fn schedules_respect_their_caps_and_window(schedule in any_schedule()) {
        let delays: Vec<Duration> = schedule.delays().collect();
        prop_assert_eq!(delays.len(), schedule.retries() as usize);
        prop_assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        if let Some(cap) = schedule.max_delay() {
            prop_assert!(delays.iter().all(|d| *d <= cap));
        }
        let sum = delays.iter().fold(Duration::ZERO, |total, d| total.saturating_add(*d));
        prop_assert_eq!(schedule.total_window(), sum);
        prop_assert_eq!(schedule.delay(schedule.retries().saturating_add(1)), None);
    }

    #[test]
    fn jittered_delays_stay_within_their_bounds(
        schedule in any_schedule(),
        words in proptest::collection::vec(any::<u64>(), 1..16),
        retry in 1u32..=1000,
    ) {
        let mut words = words.into_iter().cycle();
        let mut random = move || words.next().unwrap_or(0);
        let Some(nominal) = schedule.delay(retry) else { return Ok(()) };
        let jittered = schedule.jittered_delay(retry, &mut random).unwrap();
        if let Some(cap) = schedule.max_delay() {
            prop_assert!(jittered <= cap);
        }
        let millis = |d: Duration| d.as_millis();
        match schedule.jitter() {
            Jitter::None => prop_assert_eq!(jittered, nominal),
            Jitter::Full => prop_assert!(millis(jittered) <= millis(nominal)),
            Jitter::Equal => {
                prop_assert!(millis(jittered) <= millis(nominal));
                prop_assert!(millis(jittered) >= millis(nominal) / 2);
            }
            Jitter::Percent(percent) => {
                let spread = millis(nominal) * u128::from(percent.min(100)) / 100;
                prop_assert!(millis(jittered) + spread + 1 >= millis(nominal));
                prop_assert!(millis(jittered) <= millis(nominal) + spread + 1);
            }
            _ => {}
        }
    }

    #[test]
    fn classification_never_panics_and_never_shortens_the_schedule(
        schedule in any_schedule(),
        attempt in any::<u32>(),
        status in 100u16..=999,
        retry_after in proptest::option::of(any::<u64>()),
        kind in 0u8..3,
    ) {
        let rules = RetryRules::new(schedule.with_jitter(Jitter::None));
        let (outcome, retry_after) = match kind {
            0 => (AttemptOutcome::Status(status), retry_after.map(Duration::from_secs)),
            1 => (AttemptOutcome::Failed(FailureKind::Timeout), None),
            _ => (AttemptOutcome::Failed(FailureKind::Connect), None),
        };
        if let NextStep::RetryAt(at) = rules.next_step(attempt, outcome, retry_after, NOW) {
            let delay = at.duration_since(NOW).unwrap();
            prop_assert!(delay >= rules.schedule().delay(attempt).unwrap());
        }
    }

    #[test]
    fn retry_after_parsing_never_panics(value in proptest::collection::vec(any::<u8>(), 0..64), now in any::<u32>()) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(now));
        let _ = parse_retry_after(&value, now);
    }
}

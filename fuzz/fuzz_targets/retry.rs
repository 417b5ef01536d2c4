//! The retry object (`RetryPolicy` as the API reads it), the schedules and
//! rules built from it, `Retry-After` values and the stored outcome types.

#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use titan_webhooks::retry::{
    AttemptOutcome, Jitter, NextStep, RetryPolicy, RetryRules, RetrySchedule, parse_retry_after,
};
use titan_webhooks_fuzz as _; // The 1 MiB allocation cap.

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    attempt: u32,
    status: u16,
    jitter: u8,
    random: u64,
    now: u64,
    max_delay: Option<u64>,
    explicit: Vec<u64>,
    retry_after: &'a [u8],
    /// The JSON retry object, or any other JSON the retry module reads.
    json: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(input.now % (1 << 40));
    let retry_after = parse_retry_after(input.retry_after, now);

    let jitter = match input.jitter % 4 {
        0 => Jitter::None,
        1 => Jitter::Full,
        2 => Jitter::Equal,
        _ => Jitter::Percent(input.jitter),
    };
    let mut schedules = Vec::new();
    if let Ok(policy) = serde_json::from_slice::<RetryPolicy>(input.json) {
        assert!(policy.attempts() <= RetryPolicy::MAX_ATTEMPTS);
        assert!(
            (RetryPolicy::MIN_DELAY_SECONDS..=RetryPolicy::MAX_DELAY_SECONDS)
                .contains(&policy.delay_seconds())
        );
        assert_eq!(
            usize::try_from(policy.attempts()).ok(),
            Some(policy.delays().count())
        );
        let _ = policy.total_window();
        // What is accepted writes back to a JSON object that reads the same.
        let written = serde_json::to_vec(&policy).expect("serializes");
        assert_eq!(
            serde_json::from_slice::<RetryPolicy>(&written).expect("re-reads"),
            policy
        );
        schedules.push(RetrySchedule::from(policy));
    }
    if let Ok(schedule) =
        RetrySchedule::explicit(input.explicit.iter().map(|s| Duration::from_secs(*s)))
    {
        schedules.push(schedule);
    }
    schedules.push(RetrySchedule::svix());
    for schedule in schedules {
        let mut schedule = schedule.with_jitter(jitter);
        if let Some(max) = input.max_delay {
            schedule = schedule.with_max_delay(Duration::from_secs(max));
        }
        let rules = RetryRules::new(schedule);
        let mut random = || input.random;
        for outcome in [
            AttemptOutcome::Status(input.status),
            AttemptOutcome::Failed(titan_webhooks::retry::FailureKind::Timeout),
        ] {
            let step = rules.next_step_with(input.attempt, outcome, retry_after, now, &mut random);
            let _ = step.is_final();
        }
    }

    // The stored forms of outcomes and steps.
    if let Ok(outcome) = serde_json::from_slice::<AttemptOutcome>(input.json) {
        let _ = outcome.to_string();
    }
    let _ = serde_json::from_slice::<NextStep>(input.json);
});

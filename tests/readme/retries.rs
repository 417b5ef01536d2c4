use std::time::{Duration, SystemTime};

use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryPolicy, RetryRules};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy: RetryPolicy =
        serde_json::from_str(r#"{"attempts":3,"delaySeconds":5,"policy":"exponential"}"#)?;
    let rules = RetryRules::new(policy.into());
    let now = SystemTime::now();

    let next = rules.next_step(1, AttemptOutcome::Status(500), None, now);
    assert_eq!(next, NextStep::RetryAt(now + Duration::from_secs(5)));

    // A 503's Retry-After can lengthen a delay, never shorten it.
    let retry_after = Some(Duration::from_secs(30));
    let next = rules.next_step(1, AttemptOutcome::Status(503), retry_after, now);
    assert_eq!(next, NextStep::RetryAt(now + Duration::from_secs(30)));

    // 410 Gone asks for the endpoint to be disabled.
    assert_eq!(
        rules.next_step(1, AttemptOutcome::Status(410), None, now),
        NextStep::Disabled
    );
    Ok(())
}

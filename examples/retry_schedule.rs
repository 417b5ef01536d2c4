//! Prints the retry schedule of each policy and preset, and what the retry
//! rules decide for a few typical responses.
//!
//! Run with `cargo run --example retry_schedule`.

use std::time::{Duration, SystemTime};

use titan_webhooks::retry::{
    AttemptOutcome, Backoff, FailureKind, Jitter, NextStep, RetryPolicy, RetryRules, RetrySchedule,
};

fn show(name: &str, schedule: &RetrySchedule) {
    let delays: Vec<String> = schedule.delays().map(human).collect();
    println!(
        "{name:<54} {} retries over {:>9}: {}",
        schedule.retries(),
        human(schedule.total_window()),
        delays.join(", ")
    );
}

fn human(delay: Duration) -> String {
    let seconds = delay.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3_600, seconds % 3_600 / 60),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("The seeds' retry object, delaySeconds 5:");
    for backoff in [Backoff::Constant, Backoff::Linear, Backoff::Exponential] {
        let policy = RetryPolicy::new(6, 5, backoff)?;
        show(&serde_json::to_string(&policy)?, &policy.into());
    }
    show("default", &RetrySchedule::default());

    println!("\nPresets:");
    show("svix", &RetrySchedule::svix());
    show("standard webhooks", &RetrySchedule::standard_webhooks());
    show("stripe-like", &RetrySchedule::stripe_like());
    show(
        "exponential, 1 h cap, 6 h window",
        &RetrySchedule::from(RetryPolicy::new(20, 5, Backoff::Exponential)?)
            .with_max_delay(Duration::from_secs(3_600))
            .with_max_elapsed(Duration::from_secs(6 * 3_600)),
    );

    println!("\nSvix's schedule with ±20% jitter, five draws of retry 4 (2h):");
    let jittered = RetrySchedule::svix().with_jitter(Jitter::Percent(20));
    let draws: Vec<String> = (0..5)
        .filter_map(|_| jittered.jittered_delay(4, &mut titan_webhooks::retry::OsRandom))
        .map(human)
        .collect();
    println!("  {}", draws.join(", "));

    println!("\nDecisions after the first attempt, default rules:");
    let rules = RetryRules::default();
    let now = SystemTime::now();
    let describe = |next: NextStep| match next {
        NextStep::RetryAt(at) => {
            format!(
                "retry in {}",
                human(at.duration_since(now).unwrap_or_default())
            )
        }
        other => format!("{other:?}"),
    };
    let cases = [
        ("200 OK", AttemptOutcome::Status(200), None),
        (
            "500 Internal Server Error",
            AttemptOutcome::Status(500),
            None,
        ),
        ("301 Moved Permanently", AttemptOutcome::Status(301), None),
        (
            "503 with Retry-After: 120",
            AttemptOutcome::Status(503),
            Some(Duration::from_secs(120)),
        ),
        ("429 Too Many Requests", AttemptOutcome::Status(429), None),
        (
            "timeout",
            AttemptOutcome::Failed(FailureKind::Timeout),
            None,
        ),
        (
            "connection refused",
            AttemptOutcome::Failed(FailureKind::Connect),
            None,
        ),
        ("410 Gone", AttemptOutcome::Status(410), None),
    ];
    for (name, outcome, retry_after) in cases {
        let next = rules.next_step(1, outcome, retry_after, now);
        println!("  {name:<28} -> {}", describe(next));
    }
    let last = rules.schedule().retries().saturating_add(1);
    let exhausted = rules.next_step(last, AttemptOutcome::Status(502), None, now);
    println!(
        "  {:<28} -> {}",
        format!("502 on attempt {last}"),
        describe(exhausted)
    );
    Ok(())
}

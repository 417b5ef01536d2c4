//! Random spreading of retry delays, with an injectable random source.

use std::time::Duration;

/// How much randomness to add to each delay, so that many deliveries that
/// failed together do not all retry at the same instant.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::Jitter;
///
/// let mut middle = || u64::MAX / 2;
/// let delay = Jitter::Percent(20).apply(Duration::from_secs(100), None, &mut middle);
/// assert_eq!(delay.as_secs(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// The delay as scheduled.
    #[default]
    None,
    /// Uniform between zero and the delay ("full jitter").
    Full,
    /// Half the delay, plus uniform between zero and the other half
    /// ("equal jitter").
    Equal,
    /// Uniform within ± the given percent of the delay; Svix uses 20.
    /// Values above 100 act as 100.
    Percent(u8),
}

impl Jitter {
    /// The jittered `delay`, never above `cap` when one is given.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::Jitter;
    ///
    /// let mut highest = || u64::MAX;
    /// let cap = Some(Duration::from_secs(110));
    /// let delay = Jitter::Percent(20).apply(Duration::from_secs(100), cap, &mut highest);
    /// assert_eq!(delay, Duration::from_secs(110));
    /// ```
    #[must_use]
    pub fn apply(
        self,
        delay: Duration,
        cap: Option<Duration>,
        random: &mut impl RandomSource,
    ) -> Duration {
        // Milliseconds as u128 hold any Duration, so the bounds stay exact
        // even for delays that saturated at u64::MAX seconds.
        let millis = delay.as_millis();
        let jittered = match self {
            Self::None => return cap.map_or(delay, |cap| delay.min(cap)),
            Self::Full => uniform(0, millis, random),
            Self::Equal => {
                let half = millis / 2;
                half.saturating_add(uniform(0, millis.saturating_sub(half), random))
            }
            Self::Percent(percent) => {
                let spread = millis.saturating_mul(u128::from(percent.min(100))) / 100;
                uniform(
                    millis.saturating_sub(spread),
                    millis.saturating_add(spread),
                    random,
                )
            }
        };
        let jittered = duration_from_millis(jittered);
        cap.map_or(jittered, |cap| jittered.min(cap))
    }
}

/// A uniform value in `low..=high`: the random word scaled into the range
/// by a multiply-shift, so there is no modulo and no float.
fn uniform(low: u128, high: u128, random: &mut impl RandomSource) -> u128 {
    let span = high.saturating_sub(low).saturating_add(1);
    low.saturating_add(scale(span, random.next_u64()))
}

/// `span * word / 2^64`, computed in two halves so it cannot overflow.
fn scale(span: u128, word: u64) -> u128 {
    let word = u128::from(word);
    let high = span >> 64;
    let low = span & u128::from(u64::MAX);
    high.saturating_mul(word)
        .saturating_add(low.saturating_mul(word) >> 64)
}

fn duration_from_millis(millis: u128) -> Duration {
    let seconds = u64::try_from(millis / 1000).unwrap_or(u64::MAX);
    let rest = u64::try_from(millis % 1000).unwrap_or(0);
    Duration::from_secs(seconds).saturating_add(Duration::from_millis(rest))
}

/// A source of random 64-bit words for jitter. Tests inject a
/// deterministic one; [`OsRandom`] is the default.
///
/// Any `FnMut() -> u64` is a source:
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::Jitter;
///
/// let mut lowest = || 0;
/// assert_eq!(Jitter::Full.apply(Duration::from_secs(9), None, &mut lowest), Duration::ZERO);
/// ```
pub trait RandomSource {
    /// The next random word.
    fn next_u64(&mut self) -> u64;
}

impl<F: FnMut() -> u64> RandomSource for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

/// The operating system's random source.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::{Jitter, OsRandom};
///
/// let delay = Jitter::Full.apply(Duration::from_secs(10), None, &mut OsRandom);
/// assert!(delay <= Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    /// If the operating system's source fails, the midpoint is returned,
    /// which leaves `Percent` jitter at the scheduled delay: a retry is
    /// never lost to a missing random number.
    fn next_u64(&mut self) -> u64 {
        getrandom::u64().unwrap_or(u64::MAX / 2)
    }
}

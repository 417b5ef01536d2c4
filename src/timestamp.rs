//! Points in time as envelopes carry them: RFC 3339, in UTC.

use std::fmt;
use std::str::FromStr;

use time::UtcDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time in UTC, written as RFC 3339: `2025-01-15T10:30:00Z`.
///
/// Parsing accepts any RFC 3339 offset and converts to UTC, so
/// `2025-01-15T12:30:00+02:00` and `2025-01-15T10:30:00Z` are equal.
/// Fractional seconds are kept and written back only when present. Years
/// run from 0000 to 9999, the range RFC 3339 can write.
///
/// ```
/// use titan_webhooks::Timestamp;
///
/// let t: Timestamp = "2025-01-15T12:30:00+02:00".parse()?;
/// assert_eq!(t.to_string(), "2025-01-15T10:30:00Z");
/// assert_eq!(t.unix_seconds(), 1_736_937_000);
/// # Ok::<(), titan_webhooks::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(UtcDateTime);

impl Timestamp {
    /// The current time, truncated to whole seconds.
    ///
    /// ```
    /// use titan_webhooks::Timestamp;
    ///
    /// let now = Timestamp::now();
    /// assert!(now.to_string().ends_with('Z'));
    /// assert!(!now.to_string().contains('.'));
    /// ```
    #[must_use]
    pub fn now() -> Self {
        let now = UtcDateTime::now();
        Self(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// The instant `seconds` after the unix epoch.
    ///
    /// ```
    /// use titan_webhooks::Timestamp;
    ///
    /// assert_eq!(Timestamp::from_unix_seconds(1_779_786_842)?.to_string(), "2026-05-26T09:14:02Z");
    /// assert!(Timestamp::from_unix_seconds(i64::MAX).is_err());
    /// # Ok::<(), titan_webhooks::TimestampError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TimestampError::OutOfRange`] outside the years 0000 to 9999.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        UtcDateTime::from_unix_timestamp(seconds)
            .map_err(|_| TimestampError::OutOfRange)
            .and_then(Self::checked)
    }

    /// Seconds since the unix epoch, negative before 1970.
    ///
    /// ```
    /// use titan_webhooks::Timestamp;
    ///
    /// let t: Timestamp = "1970-01-01T00:00:01.5Z".parse()?;
    /// assert_eq!(t.unix_seconds(), 1);
    /// # Ok::<(), titan_webhooks::TimestampError>(())
    /// ```
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant as a [`time::UtcDateTime`], for date arithmetic.
    ///
    /// ```
    /// use titan_webhooks::Timestamp;
    ///
    /// let t: Timestamp = "2025-01-15T10:30:00Z".parse()?;
    /// assert_eq!(t.as_utc_date_time().year(), 2025);
    /// # Ok::<(), titan_webhooks::TimestampError>(())
    /// ```
    #[must_use]
    pub fn as_utc_date_time(&self) -> UtcDateTime {
        self.0
    }

    fn checked(value: UtcDateTime) -> Result<Self, TimestampError> {
        if (0..=9999).contains(&value.year()) {
            Ok(Self(value))
        } else {
            Err(TimestampError::OutOfRange)
        }
    }
}

impl TryFrom<UtcDateTime> for Timestamp {
    type Error = TimestampError;

    /// # Errors
    ///
    /// [`TimestampError::OutOfRange`] outside the years 0000 to 9999.
    fn try_from(value: UtcDateTime) -> Result<Self, Self::Error> {
        Self::checked(value)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        UtcDateTime::parse(text, &Rfc3339)
            .map_err(|_| TimestampError::NotRfc3339)
            .and_then(Self::checked)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The year range checked at construction is exactly what RFC 3339
        // can write, so formatting cannot fail.
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string such as 2025-01-15T10:30:00Z")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// A string or number that is not a valid [`Timestamp`](crate::Timestamp).
///
/// ```
/// use titan_webhooks::{Timestamp, TimestampError};
///
/// assert_eq!("yesterday".parse::<Timestamp>(), Err(TimestampError::NotRfc3339));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not an RFC 3339 date-time.
    #[error("not an RFC 3339 date-time such as 2025-01-15T10:30:00Z")]
    NotRfc3339,
    /// The instant is outside the years 0000 to 9999.
    #[error("outside the years 0000 to 9999")]
    OutOfRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_seed_timestamps_exactly() {
        for text in [
            "2025-01-15T10:30:00Z",
            "2026-05-26T09:14:02Z",
            "2026-01-15T10:00:00Z",
        ] {
            let t: Timestamp = text.parse().unwrap();
            assert_eq!(t.to_string(), text);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn rejects_what_is_not_rfc_3339() {
        for text in [
            "",
            "2025-01-15",
            "2025-13-01T00:00:00Z",
            "1736937000",
            "2025-01-15T10:30:00",
        ] {
            assert_eq!(
                text.parse::<Timestamp>(),
                Err(TimestampError::NotRfc3339),
                "{text}"
            );
        }
        assert!(serde_json::from_str::<Timestamp>("1736937000").is_err());
    }

    #[test]
    fn extreme_unix_seconds_are_errors() {
        assert_eq!(
            Timestamp::from_unix_seconds(i64::MIN),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(
            Timestamp::from_unix_seconds(253_402_300_800),
            Err(TimestampError::OutOfRange)
        );
        assert!(Timestamp::from_unix_seconds(253_402_300_799).is_ok());
    }
}

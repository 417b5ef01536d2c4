//! Parsing a verified body as JSON, and the error that names the failing
//! field without quoting the body.

/// A verified body that does not deserialize into the requested type.
///
/// It names the JSON path of the offending field and what was expected
/// there, but never quotes a value from the body: where the parser's message
/// would show the offending value, only its JSON kind is kept (`invalid
/// type: string, expected u64`). Messages written by the target type's own
/// `Deserialize` code are kept as they are.
///
/// ```
/// use titan_webhooks::PayloadError;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Quota { limit: u64 }
/// #[derive(Debug, serde::Deserialize)]
/// struct Event { data: Quota }
///
/// let err = PayloadError::from_json::<Event>(br#"{"data":{"limit":"lots"}}"#).unwrap_err();
/// assert_eq!(err.path(), "data.limit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload does not parse at `{path}`: {message}")]
pub struct PayloadError {
    path: String,
    message: String,
}

impl PayloadError {
    /// Deserializes `T` from JSON bytes, naming the failing field on error.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Ping { id: String }
    ///
    /// assert_eq!(PayloadError::from_json::<Ping>(br#"{"id":"evt_1"}"#)?.id, "evt_1");
    /// // A second document after the first is refused, not ignored.
    /// let err = PayloadError::from_json::<Ping>(br#"{"id":"evt_1"}{"id":"evt_2"}"#).unwrap_err();
    /// assert_eq!(err.path(), ".");
    /// # Ok::<(), PayloadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Returns a [`PayloadError`] when `bytes` is not JSON or does not fit `T`.
    pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Self> {
        // Tracking the path costs a copy of every key, so it is paid only
        // to explain a failure: the body is parsed again to name the field.
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(Self::from_path_error)?;
        de.end().map_err(|e| Self::new(".".to_owned(), &e))?;
        Ok(value)
    }

    /// Deserializes `T` from an already parsed JSON value.
    ///
    /// ```
    /// use serde_json::json;
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Quota { limit: u64 }
    ///
    /// let quota: Quota = PayloadError::from_value(&json!({ "limit": 10000 }))?;
    /// assert_eq!(quota.limit, 10_000);
    /// let err = PayloadError::from_value::<Quota>(&json!({ "limit": -1 })).unwrap_err();
    /// assert_eq!(err.path(), "limit");
    /// # Ok::<(), PayloadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Returns a [`PayloadError`] when `value` does not fit `T`.
    pub fn from_value<T: serde::de::DeserializeOwned>(
        value: &serde_json::Value,
    ) -> Result<T, Self> {
        serde_path_to_error::deserialize(value).map_err(Self::from_path_error)
    }

    fn from_path_error(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        Self::new(path, err.inner())
    }

    fn new(path: String, err: &serde_json::Error) -> Self {
        let full = err.to_string();
        // serde_json appends the position; it is kept, but apart from the
        // message so the message can be cleaned.
        let position = format!(" at line {} column {}", err.line(), err.column());
        let message = full.strip_suffix(&position).unwrap_or(&full);
        let mut message = without_body_values(without_field_names(&path, message));
        if err.line() > 0 {
            message.push_str(&position);
        }
        Self { path, message }
    }

    /// The JSON path of the field that failed, `.` for the document itself.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Item { sku: String }
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Order { items: Vec<Item> }
    ///
    /// let body = br#"{"items":[{"sku":"a"},{"sku":7}]}"#;
    /// let err = PayloadError::from_json::<Order>(body).unwrap_err();
    /// assert_eq!(err.path(), "items[1].sku");
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The parser's description of the failure.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Quota { limit: u64 }
    ///
    /// let err = PayloadError::from_json::<Quota>(b"{}").unwrap_err();
    /// assert!(err.message().starts_with("missing field `limit`"));
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `message` without the `<field>: ` names this crate's envelopes put in
/// front of a field's error, where `path` already ends with those fields.
fn without_field_names<'m>(path: &str, message: &'m str) -> &'m str {
    let mut rest = message;
    let mut names = Vec::new();
    while let Some((name, tail)) = rest.split_once(": ")
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        names.push(name);
        rest = tail;
    }
    let named = names.join(".");
    if !named.is_empty() && (path == named || path.ends_with(&format!(".{named}"))) {
        rest
    } else {
        message
    }
}

/// `message` with every value quoted from the body replaced by its kind.
/// The names of fields in front, `<field>: `, are kept.
///
/// serde's messages have a fixed shape: `invalid type: <unexpected>,
/// expected <expected>`, where `<unexpected>` is a kind followed by the value
/// in quotes or backticks (`string "…"`, ``integer `5` ``), and
/// ``unknown variant `…`, expected …``. Everything after `expected` comes
/// from the target type, not the body.
fn without_body_values(message: &str) -> String {
    let mut lead = 0;
    while let Some((name, _)) = message.get(lead..).and_then(|rest| rest.split_once(": "))
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        lead = lead.saturating_add(name.len()).saturating_add(2);
    }
    let (names, message) = message.split_at_checked(lead).unwrap_or(("", message));
    let mut cleaned = String::from(names);
    cleaned.push_str(&without_values(message));
    cleaned
}

fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (unexpected, expected) = rest
                .rsplit_once(", expected ")
                .map_or((rest, None), |(unexpected, expected)| {
                    (unexpected, Some(expected))
                });
            let kind = unexpected
                .split(['"', '`'])
                .next()
                .unwrap_or_default()
                .trim_end();
            return match expected {
                Some(expected) => format!("{prefix}{kind}, expected {expected}"),
                None => format!("{prefix}{kind}"),
            };
        }
    }
    for prefix in ["unknown variant `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let name = prefix.trim_end_matches(" `");
            return match rest.split_once("`, ") {
                Some((_, tail)) => format!("{name}, {tail}"),
                None => name.to_owned(),
            };
        }
    }
    message.to_owned()
}

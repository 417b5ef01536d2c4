//! Reading requests: the caller, JSON bodies, ids and query strings, each
//! refused with an [`ApiError`] rather than axum's plain-text rejections.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::de::DeserializeOwned;

use super::ApiError;
use super::auth::{DynAuthorizer, Principal, authorize_manage};

/// The largest request body the routers read by default: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The largest id a row can have: ids are stored as signed 64-bit integers.
const MAX_ROW_ID: u64 = i64::MAX.unsigned_abs();

/// The deepest nesting of arrays and objects a body may have: serde_json's
/// own recursion limit, checked before parsing so that every body nested
/// deeper is malformed, whatever type the route expects where the nesting
/// starts.
const MAX_DEPTH: usize = 128;

/// What the extractors need from the routers' state.
#[derive(Clone)]
pub(crate) struct RequestRules {
    pub(crate) authorizer: Arc<dyn DynAuthorizer>,
    pub(crate) body_limit: usize,
}

/// The authorized caller, holding [`MANAGE_SCOPE`](super::MANAGE_SCOPE).
pub(crate) struct Caller(pub(crate) Principal);

impl<St> FromRequestParts<St> for Caller
where
    St: Send + Sync,
    RequestRules: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let rules = RequestRules::from_ref(state);
        authorize_manage(rules.authorizer.as_ref(), parts)
            .await
            .map(Caller)
    }
}

/// A JSON body: `application/json` (or `+json`), at most the body limit,
/// UTF-8, and of the expected shape.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<St, T> FromRequest<St> for ApiJson<T>
where
    St: Send + Sync,
    RequestRules: FromRef<St>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &St) -> Result<Self, ApiError> {
        let rules = RequestRules::from_ref(state);
        if !is_json(request.headers()) {
            return Err(not_json());
        }
        let body = axum::body::to_bytes(request.into_body(), rules.body_limit)
            .await
            .map_err(|_| too_large(rules.body_limit))?;
        parse_json(&body).map(ApiJson)
    }
}

/// A JSON body as [`ApiJson`] reads it, or `T::default()` when the request
/// has no body at all.
pub(crate) struct OptionalJson<T>(pub(crate) T);

impl<St, T> FromRequest<St> for OptionalJson<T>
where
    St: Send + Sync,
    RequestRules: FromRef<St>,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &St) -> Result<Self, ApiError> {
        let rules = RequestRules::from_ref(state);
        let json = is_json(request.headers());
        let body = axum::body::to_bytes(request.into_body(), rules.body_limit)
            .await
            .map_err(|_| too_large(rules.body_limit))?;
        if body.is_empty() {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(not_json());
        }
        parse_json(&body).map(OptionalJson)
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be JSON, sent with `Content-Type: application/json`",
    )
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {limit} bytes"),
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5
                && subtype
                    .get(subtype.len().saturating_sub(5)..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case("+json")))
}

/// Parses `body` as `T`: `400` for bytes that are not UTF-8 JSON, `422`
/// naming the field for JSON of the wrong shape. Messages never carry
/// string values from the body.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::bad_request(
            "invalid_utf8",
            "the body is not valid UTF-8",
        ));
    }
    if nested_too_deeply(body) {
        return Err(ApiError::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON: arrays and objects nest more than {MAX_DEPTH} levels deep"
            ),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
    let value = crate::object::from_object(tracked)
        .map_err(|err| json_error(err, Some(track.path().to_string())))?;
    deserializer.end().map_err(|err| json_error(err, None))?;
    Ok(value)
}

/// Whether arrays and objects in `body` nest deeper than [`MAX_DEPTH`],
/// counting brackets outside strings. Without this, a typed body fails at
/// the first level where the type does not match, as `422` with a message
/// about the type rather than the nesting.
fn nested_too_deeply(body: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn json_error(err: serde_json::Error, path: Option<String>) -> ApiError {
    let message = redact_strings(&err.to_string());
    match err.classify() {
        serde_json::error::Category::Data => {
            let error = ApiError::validation(message.clone());
            let path = path.filter(|path| path != ".");
            // serde names a missing or unknown field in its message, at the
            // path of the object that holds it.
            let named = ["missing field `", "unknown field `"]
                .iter()
                .find_map(|prefix| message.strip_prefix(prefix))
                .and_then(|rest| rest.split_once('`'))
                .map(|(name, _)| name);
            match (path, named) {
                // serde_path_to_error already ends an unknown field's path
                // with its name; a missing field's path is its parent's.
                (Some(path), Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
                    error.with_field(path)
                }
                (Some(path), Some(name)) => error.with_field(format!("{path}.{name}")),
                (None, Some(name)) => error.with_field(name.to_owned()),
                (Some(path), None) => error.with_field(path),
                (None, None) => error,
            }
        }
        _ => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {message}"),
        ),
    }
}

/// What precedes a value from the body that serde or this crate's own
/// parsers quote in backticks.
const QUOTED_VALUES: [&str; 3] = [
    "unknown variant `",
    "unknown retry policy `",
    "invalid value: `",
];

/// `text` with the contents of every double-quoted string, and of every
/// backtick-quoted value from the body, replaced, so a value from the body
/// is never echoed. Field names and the expected values stay.
fn redact_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    let mut escaped = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if inside {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                inside = false;
                out.push_str("…\"");
            }
            continue;
        }
        out.push(c);
        if c == '"' {
            inside = true;
        } else if c == '`' && QUOTED_VALUES.iter().any(|prefix| out.ends_with(prefix)) {
            // Skip to the closing backtick.
            for quoted in chars.by_ref() {
                if quoted == '`' {
                    break;
                }
            }
            out.push_str("…`");
        }
    }
    if inside {
        out.push('…');
    }
    out
}

/// The `{id}` segment of a route's path, percent-decoded. A segment that
/// does not decode to UTF-8 is `400 invalid_id`, in the one error shape,
/// rather than axum's plain-text rejection.
pub(crate) struct PathId(pub(crate) String);

impl<St: Send + Sync> FromRequestParts<St> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| {
                ApiError::bad_request("invalid_id", "the id is not valid UTF-8 once decoded")
                    .with_field("id")
            })
    }
}

/// A row id from a path: a positive integer that fits a signed 64-bit
/// column. Anything else is `400 invalid_id`.
pub(crate) fn row_id(text: &str) -> Result<u64, ApiError> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .filter(|id| (1..=MAX_ROW_ID).contains(id))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_id",
                format!("the id must be an integer from 1 to {MAX_ROW_ID}"),
            )
            .with_field("id")
        })
}

/// The query string parsed as `T`, or `400 invalid_query`.
pub(crate) fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|query| query.0)
        .map_err(|err| ApiError::bad_request("invalid_query", redact_strings(&err.body_text())))
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;

    use super::*;

    #[test]
    fn ids_are_positive_integers_that_fit_the_column() {
        assert_eq!(row_id("42").ok(), Some(42));
        assert_eq!(row_id("9223372036854775807").ok(), Some(MAX_ROW_ID));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "9223372036854775808",
            "99999999999999999999",
            " 1",
        ] {
            let err = row_id(bad).unwrap_err();
            assert_eq!(
                (err.status(), err.code()),
                (StatusCode::BAD_REQUEST, "invalid_id"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn values_quoted_in_backticks_are_never_echoed_but_names_are() {
        assert_eq!(
            redact_strings("unknown variant `s3cret`, expected `active` or `inactive`"),
            "unknown variant `…`, expected `active` or `inactive`"
        );
        assert_eq!(
            redact_strings("unknown retry policy `s3cret`; expected `constant`"),
            "unknown retry policy `…`; expected `constant`"
        );
        assert_eq!(
            redact_strings("unknown field `hmackey`"),
            "unknown field `hmackey`"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            policy: String,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            url: String,
            retries: Option<Inner>,
        }
        let field = |body: &'static [u8]| {
            parse_json::<Outer>(&Bytes::from_static(body))
                .unwrap_err()
                .field()
                .map(str::to_owned)
        };
        assert_eq!(field(b"{}").as_deref(), Some("url"));
        assert_eq!(
            field(br#"{"url":"u","hmackey":"k"}"#).as_deref(),
            Some("hmackey")
        );
        assert_eq!(
            field(br#"{"url":"u","retries":{}}"#).as_deref(),
            Some("retries.policy")
        );
    }

    #[test]
    fn string_values_are_never_echoed() {
        assert_eq!(
            redact_strings(r#"invalid type: string "hunter\"2", expected u32"#),
            r#"invalid type: string "…", expected u32"#
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            count: u32,
        }
        let err =
            parse_json::<Shape>(&Bytes::from_static(br#"{"count":"s3cret-value"}"#)).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("validation_failed", Some("count"))
        );
        assert!(!err.message().contains("s3cret-value"), "{}", err.message());
    }

    #[test]
    fn json_is_recognised_by_its_media_type() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("+json"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn bodies_must_be_objects() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Change {
            enabled: Option<bool>,
            url: Option<String>,
        }
        assert!(parse_json::<Change>(&Bytes::from_static(b"{}")).is_ok());
        for body in [&b"[null, null]"[..], b"null", b"7", b"\"x\""] {
            let err = parse_json::<Change>(&Bytes::from_static(body)).unwrap_err();
            assert_eq!(
                err.code(),
                "validation_failed",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn bodies_that_are_not_utf8_or_json_are_bad_requests() {
        let err =
            parse_json::<serde_json::Value>(&Bytes::from_static(b"{\"a\":\"\xff\"}")).unwrap_err();
        assert_eq!(err.code(), "invalid_utf8");
        let deep = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
        let err = parse_json::<serde_json::Value>(&Bytes::from(deep)).unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::BAD_REQUEST, "malformed_json")
        );
        let err = parse_json::<serde_json::Value>(&Bytes::from_static(b"{} trailing")).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }
}

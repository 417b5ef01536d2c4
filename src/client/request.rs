//! One API call: the URL, the attempts, a bounded read of the answer, and
//! its decoding into the API's JSON types or a [`ClientError`].

use std::time::{Duration, SystemTime};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::BoxError;
use super::{Client, ClientError};
use crate::PayloadError;
use crate::retry::parse_retry_after;
use crate::subscription::ErrorBody;

/// The longest `Content-Type` kept in an error.
const MAX_CONTENT_TYPE_LEN: usize = 100;

/// A request to make: method, path below the base URL, query and body.
#[derive(Debug, Clone)]
pub(super) struct Call {
    method: Method,
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Call {
    /// A `method` request to the path made of `segments`, each
    /// percent-encoded as one segment.
    pub(super) fn new(method: Method, segments: &[&str]) -> Self {
        Self {
            method,
            path: segments
                .iter()
                .map(|segment| (*segment).to_owned())
                .collect(),
            query: Vec::new(),
            body: None,
        }
    }

    /// Adds `name=value` to the query when there is a value.
    pub(super) fn query(mut self, name: &'static str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value));
        }
        self
    }

    /// Sends `body` as JSON.
    pub(super) fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|err| ClientError::Request {
            source: Box::new(err),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// A successful answer, read whole.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Client {
    /// Makes `call` and decodes a successful answer as `T`.
    pub(super) async fn call_json<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<T, ClientError> {
        let answer = self.call(call).await?;
        if let Some(kind) = answer.content_type.as_deref().filter(|kind| !is_json(kind)) {
            return Err(ClientError::InvalidBody {
                status: answer.status,
                detail: format!("expected JSON, got content type `{kind}`"),
            });
        }
        PayloadError::from_json(&answer.body).map_err(|err| ClientError::InvalidBody {
            status: answer.status,
            detail: if answer.body.is_empty() {
                "the body is empty".to_owned()
            } else {
                err.to_string()
            },
        })
    }

    /// Makes `call`, whose successful answer has no body worth reading
    /// (`204 No Content`).
    pub(super) async fn call_empty(&self, call: Call) -> Result<(), ClientError> {
        self.call(call).await.map(drop)
    }

    /// Makes `call`, retrying as [`super::retry`] allows, and returns its
    /// successful answer or the error its answer stands for.
    async fn call(&self, call: Call) -> Result<Answer, ClientError> {
        let url = self.url(&call)?;
        let mut attempt: u32 = 1;
        loop {
            let (status, headers, body) = self.attempt(&call, &url).await?;
            if status.is_success() {
                return Ok(Answer {
                    status,
                    content_type: content_type(&headers),
                    body,
                });
            }
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|value| parse_retry_after(value.as_bytes(), SystemTime::now()));
            match self
                .inner
                .retries
                .delay(&call.method, attempt, status, retry_after)
            {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt = attempt.saturating_add(1);
                }
                None => return Err(error_answer(status, &headers, &body, retry_after)),
            }
        }
    }

    /// One attempt: the status, headers and whole body of the answer.
    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ClientError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, self.inner.token.header()?)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let response = request.send().await.map_err(|err| self.network(err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read(response).await?;
        Ok((status, headers, body))
    }

    /// The whole body, up to the configured limit.
    async fn read(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let limit = self.inner.max_response_bytes;
        let too_large = ClientError::TooLarge { limit };
        if response
            .content_length()
            .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.network(err))? {
            if chunk.len() > limit.saturating_sub(body.len()) {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The URL of `call` below the base URL.
    fn url(&self, call: &Call) -> Result<Url, ClientError> {
        let mut url = self.inner.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| ClientError::config("the base URL cannot take a path"))?;
            segments.pop_if_empty();
            for segment in &call.path {
                // `url` would drop these rather than send them as an id.
                match segment.as_str() {
                    "." => segments.push("%2E"),
                    ".." => segments.push("%2E%2E"),
                    other => segments.push(other),
                };
            }
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        Ok(url)
    }

    /// A network failure as the client's error, without the URL.
    fn network(&self, err: reqwest::Error) -> ClientError {
        let err = err.without_url();
        if err.is_timeout() {
            ClientError::Timeout {
                after: if err.is_connect() {
                    self.inner.connect_timeout
                } else {
                    self.inner.timeout
                },
            }
        } else if err.is_connect() {
            ClientError::Connect { source: boxed(err) }
        } else if err.is_body() || err.is_decode() {
            ClientError::Interrupted { source: boxed(err) }
        } else {
            ClientError::Request { source: boxed(err) }
        }
    }
}

fn boxed(err: reqwest::Error) -> BoxError {
    Box::new(err)
}

/// The error an unsuccessful answer stands for: the API's, when the body is
/// its error JSON.
fn error_answer(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ClientError {
    match PayloadError::from_json::<ErrorBody>(body) {
        Ok(error) => ClientError::from_error_body(status, error, retry_after),
        Err(_) => ClientError::Status {
            status,
            content_type: content_type(headers),
            retry_after,
        },
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let mut end = text.len().min(MAX_CONTENT_TYPE_LEN);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).map(str::to_owned)
}

/// `application/json`, or any `+json` type, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/html; charset=utf-8"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn error_bodies_become_api_errors_and_others_status_errors() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let api = error_answer(
            StatusCode::NOT_FOUND,
            &headers,
            br#"{"error":{"code":"not_found","message":"no such resource"}}"#,
            None,
        );
        assert_eq!(api.code(), Some("not_found"));
        let html = error_answer(StatusCode::BAD_GATEWAY, &headers, b"<html></html>", None);
        assert!(matches!(
            html,
            ClientError::Status { status: StatusCode::BAD_GATEWAY, content_type: Some(ref kind), .. } if kind == "text/html"
        ));
    }
}

//! The one error shape every management route answers with.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
// The error body is shared with the client, so it lives beside the other
// JSON types; it is re-exported here, where it has always been.
pub use crate::subscription::{ErrorBody, ErrorDetail};
use crate::webhooks::WebhookStoreError;

/// An error answer from a management route: a status and an [`ErrorBody`].
///
/// ```
/// use axum::http::StatusCode;
/// use titan_webhooks::server::ApiError;
///
/// let error = ApiError::not_found();
/// assert_eq!(error.status(), StatusCode::NOT_FOUND);
/// assert_eq!(error.code(), "not_found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    field: Option<Cow<'static, str>>,
}

impl ApiError {
    /// An error with `status`, a stable `code` and a `message` for people.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use titan_webhooks::server::ApiError;
    ///
    /// let error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down");
    /// assert_eq!(error.message(), "slow down");
    /// ```
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the request field at fault.
    ///
    /// ```
    /// use titan_webhooks::server::ApiError;
    ///
    /// let error = ApiError::validation("must be https").with_field("url");
    /// assert_eq!(error.field(), Some("url"));
    /// ```
    #[must_use]
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// `401 unauthenticated`: no credentials, or ones that are not valid.
    ///
    /// ```
    /// # use titan_webhooks::server::ApiError;
    /// assert_eq!(ApiError::unauthenticated().status().as_u16(), 401);
    /// ```
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid bearer token is required",
        )
    }

    /// `403 forbidden`: valid credentials without the scope this needs.
    ///
    /// ```
    /// # use titan_webhooks::server::ApiError;
    /// assert!(ApiError::forbidden("webhooks:manage").message().contains("webhooks:manage"));
    /// ```
    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token lacks the `{scope}` scope"),
        )
    }

    /// `404 not_found`: no such resource, or one that is another owner's.
    ///
    /// ```
    /// # use titan_webhooks::server::ApiError;
    /// assert_eq!(ApiError::not_found().code(), "not_found");
    /// ```
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// `422 validation_failed`: well-formed JSON that breaks a rule.
    ///
    /// ```
    /// # use titan_webhooks::server::ApiError;
    /// assert_eq!(ApiError::validation("too long").status().as_u16(), 422);
    /// ```
    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
    }

    /// `400 bad_request` with a stable `code`: input that cannot be read.
    ///
    /// ```
    /// # use titan_webhooks::server::ApiError;
    /// assert_eq!(ApiError::bad_request("invalid_id", "not a number").status().as_u16(), 400);
    /// ```
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `500 internal`. The cause is logged, never sent.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "a management request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; try again later",
        )
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence for people.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request field at fault, if one is.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Maps a store error, naming fields as `naming` calls them in the
    /// flavour's JSON.
    pub(crate) fn from_store(
        err: WebhookStoreError,
        naming: fn(&'static str) -> &'static str,
    ) -> Self {
        match err {
            WebhookStoreError::Invalid(invalid) => {
                let field = naming(invalid.field());
                Self::validation(invalid.to_string()).with_field(field)
            }
            WebhookStoreError::NotFound => Self::not_found(),
            WebhookStoreError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the webhook changed while it was being updated; try again",
            ),
            WebhookStoreError::GraceTooLong => {
                Self::validation("the grace period is too long").with_field("grace_period_seconds")
            }
            other => Self::internal(&other),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.into_owned(),
                field: self.field.map(Cow::into_owned),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

//! Who is calling: the application's authorizer turns a request into an
//! owner and its scopes.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ApiError;
use crate::webhooks::Owner;

/// The scope seed 000 asks for to create and manage webhooks.
pub const MANAGE_SCOPE: &str = "webhooks:manage";

/// An authenticated caller: the owner (tenant) whose webhooks it may see,
/// and its scopes.
///
/// ```
/// use titan_webhooks::server::{MANAGE_SCOPE, Principal};
/// use titan_webhooks::webhooks::Owner;
///
/// let principal = Principal::new(Owner::new("acct_1")?).with_scope(MANAGE_SCOPE);
/// assert!(principal.has_scope("webhooks:manage"));
/// # Ok::<(), titan_webhooks::webhooks::OwnerError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    owner: Owner,
    scopes: BTreeSet<String>,
}

impl Principal {
    /// A caller acting for `owner`, with no scopes yet.
    #[must_use]
    pub fn new(owner: Owner) -> Self {
        Self {
            owner,
            scopes: BTreeSet::new(),
        }
    }

    /// The same caller with `scope` too.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.insert(scope.into());
        self
    }

    /// Whose webhooks the caller acts on.
    #[must_use]
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Whether the caller holds `scope`.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// Why a request was not authorized: `401` or `403`.
///
/// ```
/// use titan_webhooks::server::AuthRejection;
///
/// assert_eq!(AuthRejection::Unauthenticated.to_string(), "a valid bearer token is required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No credentials, or ones that are not valid: `401`.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// Valid credentials that may not do this: `403`.
    #[error("the credentials may not do this")]
    Forbidden,
}

/// The application's authorizer: the request's parts go in, and the
/// caller comes out, or a rejection.
///
/// The routers then require [`MANAGE_SCOPE`] and scope every operation to
/// the principal's owner. [`BearerTokens`] is one implementation; write
/// your own to check your API keys or sessions.
///
/// ```
/// use axum::http::request::Parts;
/// use titan_webhooks::server::{AuthRejection, Authorizer, MANAGE_SCOPE, Principal};
/// use titan_webhooks::webhooks::Owner;
///
/// /// Trusts a header set by a gateway in front of the service.
/// struct GatewayHeader;
///
/// impl Authorizer for GatewayHeader {
///     async fn authorize(&self, parts: &Parts) -> Result<Principal, AuthRejection> {
///         let tenant = parts.headers.get("x-tenant").and_then(|v| v.to_str().ok());
///         let owner = tenant.and_then(|t| Owner::new(t).ok()).ok_or(AuthRejection::Unauthenticated)?;
///         Ok(Principal::new(owner).with_scope(MANAGE_SCOPE))
///     }
/// }
/// ```
pub trait Authorizer: Send + Sync + 'static {
    /// The caller making the request in `parts`.
    ///
    /// # Errors
    ///
    /// [`AuthRejection::Unauthenticated`] for missing or invalid
    /// credentials, [`AuthRejection::Forbidden`] for ones that may not
    /// use this API at all.
    fn authorize(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Principal, AuthRejection>> + Send;
}

/// A boxed future, so the routers can hold any [`Authorizer`].
type Authorizing<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthRejection>> + Send + 'a>>;

/// [`Authorizer`] made object-safe.
pub(crate) trait DynAuthorizer: Send + Sync + 'static {
    fn authorize_boxed<'a>(&'a self, parts: &'a Parts) -> Authorizing<'a>;
}

impl<A: Authorizer> DynAuthorizer for A {
    fn authorize_boxed<'a>(&'a self, parts: &'a Parts) -> Authorizing<'a> {
        Box::pin(self.authorize(parts))
    }
}

/// Authorizes `parts` and requires [`MANAGE_SCOPE`].
pub(crate) async fn authorize_manage(
    authorizer: &dyn DynAuthorizer,
    parts: &Parts,
) -> Result<Principal, ApiError> {
    let principal =
        authorizer
            .authorize_boxed(parts)
            .await
            .map_err(|rejection| match rejection {
                AuthRejection::Unauthenticated => ApiError::unauthenticated(),
                AuthRejection::Forbidden => ApiError::forbidden(MANAGE_SCOPE),
            })?;
    if principal.has_scope(MANAGE_SCOPE) {
        Ok(principal)
    } else {
        Err(ApiError::forbidden(MANAGE_SCOPE))
    }
}

/// A fixed set of bearer tokens, each for one principal: enough for a
/// service with a few API keys, and for tests.
///
/// Tokens are kept as SHA-256 digests and compared in constant time, so
/// neither `Debug` nor the timing of a refusal tells anything about them.
///
/// ```
/// use titan_webhooks::server::{BearerTokens, MANAGE_SCOPE, Principal};
/// use titan_webhooks::webhooks::Owner;
///
/// let tokens = BearerTokens::new()
///     .with_token("titan_secret_token", Principal::new(Owner::new("acct_1")?).with_scope(MANAGE_SCOPE));
/// assert!(!format!("{tokens:?}").contains("titan_secret_token"));
/// # Ok::<(), titan_webhooks::webhooks::OwnerError>(())
/// ```
#[derive(Clone, Default)]
pub struct BearerTokens {
    tokens: Vec<([u8; 32], Principal)>,
}

impl BearerTokens {
    /// No tokens: every request is refused.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `Authorization: Bearer <token>` as `principal`.
    #[must_use]
    pub fn with_token(mut self, token: &str, principal: Principal) -> Self {
        self.tokens.push((digest(token.as_bytes()), principal));
        self
    }

    fn find(&self, token: &[u8]) -> Option<&Principal> {
        let wanted = digest(token);
        // Every entry is compared, so the time taken does not depend on
        // which token matched.
        let mut found = None;
        for (known, principal) in &self.tokens {
            if bool::from(known.ct_eq(&wanted)) {
                found = Some(principal);
            }
        }
        found
    }
}

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl Authorizer for BearerTokens {
    async fn authorize(&self, parts: &Parts) -> Result<Principal, AuthRejection> {
        let token = bearer_token(parts).ok_or(AuthRejection::Unauthenticated)?;
        self.find(token.as_bytes())
            .cloned()
            .ok_or(AuthRejection::Unauthenticated)
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is
/// exactly one such header. The scheme name is case-insensitive (RFC 9110).
///
/// ```
/// use axum::http::Request;
/// use titan_webhooks::server::bearer_token;
///
/// let (parts, ()) = Request::builder().header("authorization", "Bearer abc").body(())?.into_parts();
/// assert_eq!(bearer_token(&parts).as_deref().map(|t| t.as_str()), Some("abc"));
/// # Ok::<(), axum::http::Error>(())
/// ```
#[must_use]
pub fn bearer_token(parts: &Parts) -> Option<Zeroizing<String>> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| Zeroizing::new(token.to_owned()))
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

//! Eventium's operations (seed 003): endpoints, secret rotation,
//! deliveries, test events and the event catalog, in snake_case.

use http::Method;
use serde::Serialize;

use super::pagination::PageStream;
use super::request::Call;
use super::{Client, ClientError};
use crate::EventiumTestRequest;
use crate::subscription::{
    CreateEndpoint, CreatedEndpoint, DeliveryView, Endpoint, EventTypeInfo, Page, Redelivered,
    RotateSecret, RotatedEndpointSecret, TestQueued, UpdateEndpoint,
};

const ENDPOINTS: [&str; 3] = ["api", "webhooks", "endpoints"];
const DELIVERIES: [&str; 3] = ["api", "webhooks", "deliveries"];

/// Which page of a listing to fetch: `?cursor=…&limit=…`.
///
/// ```
/// use titan_webhooks::client::PageRequest;
///
/// let first = PageRequest::default().limit(50);
/// let next = first.clone().cursor("120");
/// assert_eq!(next.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest {
    /// The `next_cursor` of the page before; `None` for the first page.
    pub cursor: Option<String>,
    /// The page size, from 1 to 100; the server's default (20) when `None`.
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The page after the one whose `next_cursor` is `cursor`.
    ///
    /// ```
    /// use titan_webhooks::client::PageRequest;
    ///
    /// assert_eq!(PageRequest::default().cursor("7").cursor.as_deref(), Some("7"));
    /// ```
    #[must_use]
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Pages of `limit` items.
    ///
    /// ```
    /// use titan_webhooks::client::PageRequest;
    ///
    /// assert_eq!(PageRequest::default().limit(100).limit, Some(100));
    /// ```
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    fn apply(&self, call: Call) -> Call {
        call.query("cursor", self.cursor.clone())
            .query("limit", self.limit.map(|limit| limit.to_string()))
    }
}

/// Which deliveries to list: `?endpoint_id=…&status=…&cursor=…&limit=…`.
///
/// ```
/// use titan_webhooks::client::DeliveryFilter;
///
/// let filter = DeliveryFilter::default().endpoint(7).status("exhausted").limit(100);
/// assert_eq!(filter.endpoint_id, Some(7));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryFilter {
    /// Only deliveries to this endpoint.
    pub endpoint_id: Option<u64>,
    /// Only deliveries in this state: `pending`, `in_flight`, `retry`,
    /// `succeeded`, `exhausted` or `cancelled`.
    pub status: Option<String>,
    /// The page: cursor and size.
    pub page: PageRequest,
}

impl DeliveryFilter {
    /// Only deliveries to endpoint `id`.
    ///
    /// ```
    /// use titan_webhooks::client::DeliveryFilter;
    ///
    /// assert_eq!(DeliveryFilter::default().endpoint(3).endpoint_id, Some(3));
    /// ```
    #[must_use]
    pub fn endpoint(mut self, id: u64) -> Self {
        self.endpoint_id = Some(id);
        self
    }

    /// Only deliveries in `status`.
    ///
    /// ```
    /// use titan_webhooks::client::DeliveryFilter;
    ///
    /// assert_eq!(DeliveryFilter::default().status("retry").status.as_deref(), Some("retry"));
    /// ```
    #[must_use]
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Pages of `limit` deliveries.
    ///
    /// ```
    /// use titan_webhooks::client::DeliveryFilter;
    ///
    /// assert_eq!(DeliveryFilter::default().limit(5).page.limit, Some(5));
    /// ```
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.page.limit = Some(limit);
        self
    }

    fn call(&self) -> Call {
        let call = Call::new(Method::GET, &DELIVERIES)
            .query(
                "endpoint_id",
                self.endpoint_id.map(|endpoint| endpoint.to_string()),
            )
            .query("status", self.status.clone());
        self.page.apply(call)
    }
}

/// Eventium's operations. Made by [`Client::eventium`]; cloning is cheap.
///
/// ```no_run
/// use futures_util::TryStreamExt as _;
/// use titan_webhooks::client::{BearerToken, Client};
/// use titan_webhooks::subscription::CreateEndpoint;
///
/// # async fn run() -> Result<(), titan_webhooks::client::ClientError> {
/// let eventium = Client::new("https://api.eventium.example", BearerToken::from_env("EVENTIUM_TOKEN")?)?.eventium();
/// let created = eventium.create_endpoint(&CreateEndpoint::new("https://example.com/eventium/webhooks")).await?;
/// println!("secret, shown once: {}", created.secret.expose());
/// let all: Vec<_> = eventium.endpoints().try_collect().await?;
/// assert!(all.iter().any(|endpoint| endpoint.id == created.endpoint.id));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EventiumClient {
    client: Client,
}

impl EventiumClient {
    pub(super) fn new(client: Client) -> Self {
        Self { client }
    }

    /// `POST /api/webhooks/endpoints`: creates an endpoint. The answer
    /// holds its secret, which is never shown again. Never retried.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::subscription::CreateEndpoint;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut request = CreateEndpoint::new("https://example.com/eventium/webhooks");
    /// request.events = Some(vec!["quota.threshold.reached".into()]);
    /// let created = client.eventium().create_endpoint(&request).await?;
    /// # let _ = created;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] when the server refuses the request, for
    /// example `422 validation_failed` naming the field; the other
    /// [`ClientError`]s when it cannot be made or its answer is not
    /// Eventium's.
    pub async fn create_endpoint(
        &self,
        request: &CreateEndpoint,
    ) -> Result<CreatedEndpoint, ClientError> {
        let call = Call::new(Method::POST, &ENDPOINTS).json(request)?;
        self.client.call_json(call).await
    }

    /// `GET /api/webhooks/endpoints`: one page of endpoints, newest first.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::{Client, PageRequest};
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let page = client.eventium().list_endpoints(&PageRequest::default().limit(10)).await?;
    /// if let Some(cursor) = page.next_cursor {
    ///     let next = client.eventium().list_endpoints(&PageRequest::default().cursor(cursor)).await?;
    ///     # let _ = next;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `400 invalid_query` for a bad cursor or
    /// limit; otherwise as [`create_endpoint`](Self::create_endpoint).
    pub async fn list_endpoints(&self, page: &PageRequest) -> Result<Page<Endpoint>, ClientError> {
        self.client
            .call_json(page.apply(Call::new(Method::GET, &ENDPOINTS)))
            .await
    }

    /// Every endpoint, newest first, fetched a page at a time as the
    /// stream is read.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt as _;
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let disabled: Vec<_> = client
    ///     .eventium()
    ///     .endpoints()
    ///     .try_filter(|endpoint| std::future::ready(!endpoint.enabled))
    ///     .try_collect()
    ///     .await?;
    /// # let _ = disabled;
    /// # Ok(())
    /// # }
    /// ```
    pub fn endpoints(&self) -> PageStream<Endpoint> {
        self.endpoints_by(PageRequest::default())
    }

    /// Every endpoint from `page` on, fetched `page.limit` at a time.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt as _;
    /// # use titan_webhooks::client::{Client, PageRequest};
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let all: Vec<_> = client.eventium().endpoints_by(PageRequest::default().limit(100)).try_collect().await?;
    /// # let _ = all;
    /// # Ok(())
    /// # }
    /// ```
    pub fn endpoints_by(&self, page: PageRequest) -> PageStream<Endpoint> {
        let eventium = self.clone();
        let start = page.cursor.clone();
        let mut first = true;
        PageStream::new(move |cursor| {
            let eventium = eventium.clone();
            let mut request = page.clone();
            request.cursor = if std::mem::take(&mut first) {
                start.clone()
            } else {
                cursor
            };
            async move { eventium.list_endpoints(&request).await }
        })
    }

    /// `GET /api/webhooks/endpoints/{id}`: one endpoint, without its
    /// secret.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let endpoint = client.eventium().get_endpoint(7).await?;
    /// println!("{} enabled: {}", endpoint.url, endpoint.enabled);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `404 not_found` when there is no such
    /// endpoint; otherwise as [`create_endpoint`](Self::create_endpoint).
    pub async fn get_endpoint(&self, id: u64) -> Result<Endpoint, ClientError> {
        let id = id.to_string();
        self.client
            .call_json(Call::new(Method::GET, &endpoint_path(&id)))
            .await
    }

    /// `PATCH /api/webhooks/endpoints/{id}`: changes the fields `change`
    /// names. Not retried: each change announces
    /// `webhook.endpoint.updated`.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::subscription::UpdateEndpoint;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut change = UpdateEndpoint::default();
    /// change.enabled = Some(false);
    /// let endpoint = client.eventium().update_endpoint(7, &change).await?;
    /// assert!(!endpoint.enabled);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_endpoint`](Self::get_endpoint), and [`ClientError::Api`]
    /// with `422 validation_failed` for a change that breaks a rule.
    pub async fn update_endpoint(
        &self,
        id: u64,
        change: &UpdateEndpoint,
    ) -> Result<Endpoint, ClientError> {
        let id = id.to_string();
        let call = Call::new(Method::PATCH, &endpoint_path(&id)).json(change)?;
        self.client.call_json(call).await
    }

    /// `DELETE /api/webhooks/endpoints/{id}`: deletes the endpoint; a
    /// delivery in flight still completes.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// client.eventium().delete_endpoint(7).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_endpoint`](Self::get_endpoint).
    pub async fn delete_endpoint(&self, id: u64) -> Result<(), ClientError> {
        let id = id.to_string();
        self.client
            .call_empty(Call::new(Method::DELETE, &endpoint_path(&id)))
            .await
    }

    /// `POST /api/webhooks/endpoints/{id}/rotate-secret`: gives the
    /// endpoint a new secret, shown only in this answer. Until the grace
    /// period ends, deliveries carry signatures with both secrets. Never
    /// retried: a second rotation would replace the secret the first one
    /// returned.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::subscription::RotateSecret;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut request = RotateSecret::default();
    /// request.grace_period_seconds = Some(3600);
    /// let rotated = client.eventium().rotate_secret(7, &request).await?;
    /// println!("new secret: {}", rotated.secret.expose());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_endpoint`](Self::get_endpoint), and [`ClientError::Api`]
    /// with `422 validation_failed` for a grace period that is too long.
    pub async fn rotate_secret(
        &self,
        id: u64,
        request: &RotateSecret,
    ) -> Result<RotatedEndpointSecret, ClientError> {
        let id = id.to_string();
        let call = Call::new(
            Method::POST,
            &["api", "webhooks", "endpoints", &id, "rotate-secret"],
        )
        .json(request)?;
        self.client.call_json(call).await
    }

    /// `GET /api/webhooks/deliveries`: one page of deliveries, newest
    /// first, with status, attempts, last error and next retry.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::{Client, DeliveryFilter};
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let page = client.eventium().list_deliveries(&DeliveryFilter::default().endpoint(7)).await?;
    /// for delivery in page.data {
    ///     println!("{} {} after {} attempts", delivery.id, delivery.status, delivery.attempts);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `400 invalid_query` for a bad filter,
    /// cursor or limit and `404 not_found` for an endpoint that is not the
    /// caller's; otherwise as [`create_endpoint`](Self::create_endpoint).
    pub async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Page<DeliveryView>, ClientError> {
        self.client.call_json(filter.call()).await
    }

    /// Every delivery `filter` selects, newest first, fetched a page at a
    /// time as the stream is read.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt as _;
    /// # use titan_webhooks::client::{Client, DeliveryFilter};
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let exhausted: Vec<_> = client
    ///     .eventium()
    ///     .deliveries(DeliveryFilter::default().status("exhausted"))
    ///     .try_collect()
    ///     .await?;
    /// for delivery in exhausted {
    ///     client.eventium().redeliver(delivery.id).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn deliveries(&self, filter: DeliveryFilter) -> PageStream<DeliveryView> {
        let eventium = self.clone();
        let mut first = true;
        PageStream::new(move |cursor| {
            let eventium = eventium.clone();
            let mut request = filter.clone();
            if !std::mem::take(&mut first) {
                request.page.cursor = cursor;
            }
            async move { eventium.list_deliveries(&request).await }
        })
    }

    /// `POST /api/webhooks/deliveries/{id}/redeliver`: queues a finished
    /// delivery again, due at once. Never retried.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let queued = client.eventium().redeliver(120).await?;
    /// assert_eq!(queued.status, "pending");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `404 not_found` for no such delivery and
    /// `409 delivery_open` for one still open; otherwise as
    /// [`create_endpoint`](Self::create_endpoint).
    pub async fn redeliver(&self, id: u64) -> Result<Redelivered, ClientError> {
        let id = id.to_string();
        self.client
            .call_json(Call::new(
                Method::POST,
                &["api", "webhooks", "deliveries", &id, "redeliver"],
            ))
            .await
    }

    /// `POST /api/webhooks/test`: sends a test event through the normal
    /// signed delivery path, to one endpoint or to every enabled one.
    /// Never retried.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::{EventiumEvent, EventiumTestRequest};
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let request = EventiumTestRequest::new(EventiumEvent::WebhookTest, serde_json::json!({"hello": "world"}));
    /// let queued = client.eventium().test(&request).await?;
    /// println!("{} queued for {:?}", queued.event_id, queued.endpoint_ids);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `422 validation_failed` for an event type
    /// outside the catalog or `data` that is not an object, `404
    /// not_found` for an endpoint that is not the caller's, and `409` for
    /// a disabled one; otherwise as
    /// [`create_endpoint`](Self::create_endpoint).
    pub async fn test<D: Serialize>(
        &self,
        request: &EventiumTestRequest<D>,
    ) -> Result<TestQueued, ClientError> {
        let call = Call::new(Method::POST, &["api", "webhooks", "test"]).json(request)?;
        self.client.call_json(call).await
    }

    /// `GET /api/webhooks/events`: the event catalog, each type with its
    /// category.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// for event in client.eventium().events().await? {
    ///     println!("{:<28} {}", event.event_type, event.category);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create_endpoint`](Self::create_endpoint).
    pub async fn events(&self) -> Result<Vec<EventTypeInfo>, ClientError> {
        let page: Page<EventTypeInfo> = self
            .client
            .call_json(Call::new(Method::GET, &["api", "webhooks", "events"]))
            .await?;
        Ok(page.data)
    }
}

fn endpoint_path(id: &str) -> [&str; 4] {
    ["api", "webhooks", "endpoints", id]
}

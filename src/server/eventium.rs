//! Eventium's routes (seed 003): endpoints, rotation, deliveries, test
//! events and the catalog, in snake_case.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{ApiJson, Caller, OptionalJson, PathId, query, row_id};
use super::titan::{all_of_catalog, owned};
use super::{ApiError, ManagementApi, timestamp};
use crate::queue::{
    DeliveryAdmin, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryStore, EnvelopeRecord,
};
use crate::subscription::{
    CreateEndpoint, CreateWebhook, CreatedEndpoint, DeliveryView, Endpoint, EventTypeInfo, Page,
    Redelivered, RotateSecret, RotatedEndpointSecret, TestQueued, UpdateEndpoint, UpdateWebhook,
    WebhookId,
};
use crate::webhooks::{Flavour, Owner, StoredWebhook, WebhookBackend, WebhookQuery};
use crate::{Catalog, EventiumEnvelope, EventiumEvent, EventiumTestRequest};

/// How long a rotated-out secret keeps signing when the request does not
/// say: one day.
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest grace period a rotation may ask for: 30 days.
pub const MAX_ROTATION_GRACE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// The page size of listings when the request does not say.
const DEFAULT_PAGE: usize = 20;
/// The largest page a listing gives.
const MAX_PAGE: usize = 100;

pub(super) fn router<S, B>(api: ManagementApi<S, B>) -> Router
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    Router::new()
        .route(
            "/api/webhooks/endpoints",
            get(list_endpoints::<S, B>).post(create_endpoint::<S, B>),
        )
        .route(
            "/api/webhooks/endpoints/{id}",
            get(get_endpoint::<S, B>)
                .patch(update_endpoint::<S, B>)
                .delete(delete_endpoint::<S, B>),
        )
        .route(
            "/api/webhooks/endpoints/{id}/rotate-secret",
            post(rotate_secret::<S, B>),
        )
        .route("/api/webhooks/deliveries", get(list_deliveries::<S, B>))
        .route(
            "/api/webhooks/deliveries/{id}/redeliver",
            post(redeliver::<S, B>),
        )
        .route("/api/webhooks/test", post(send_test::<S, B>))
        .route("/api/webhooks/events", get(list_events))
        .with_state(api)
}

/// The row id a stored webhook's id holds; every store's ids are numbers.
fn number(id: &WebhookId) -> Option<u64> {
    match id {
        WebhookId::Number(id) => Some(*id),
        WebhookId::Text(_) => None,
    }
}

/// Eventium's JSON names for the store's validation fields.
fn field(name: &'static str) -> &'static str {
    match name {
        "hmacKey" => "secret",
        "label" => "description",
        other => other,
    }
}

/// The endpoint as Eventium shows it.
fn view(stored: &StoredWebhook) -> Result<Endpoint, ApiError> {
    let webhook = &stored.webhook;
    let id = match webhook.id() {
        WebhookId::Number(id) => *id,
        WebhookId::Text(_) => return Err(ApiError::internal(&"a stored webhook has a text id")),
    };
    let disabled = stored
        .health
        .disabled
        .as_ref()
        .filter(|_| !webhook.enabled());
    Ok(Endpoint {
        id,
        url: webhook.url().to_string(),
        events: webhook.filter().events().to_vec(),
        description: webhook.label().map(str::to_owned),
        enabled: webhook.enabled(),
        disabled_reason: disabled.map(|disabled| disabled.reason.as_str().to_owned()),
        disabled_at: disabled.and_then(|disabled| timestamp(disabled.at)),
        headers: webhook.headers().to_vec(),
        retries: webhook.retries().copied(),
        previous_secret_expires_at: stored.previous_secret_expires_at.and_then(timestamp),
        created_at: *webhook.created_at(),
    })
}

/// Queues an endpoint lifecycle event for the owner's subscribed
/// endpoints. The change it reports is already made, so a failure to
/// queue is logged rather than undoing it.
async fn announce<S, B>(
    api: &ManagementApi<S, B>,
    owner: &Owner,
    event: EventiumEvent,
    endpoint: &Endpoint,
) where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    // Custom header values and a URL's userinfo and query often carry
    // credentials for the endpoint's own receiver; the event may go to
    // other receivers, so they stay out.
    let url = url::Url::parse(&endpoint.url)
        .map_or_else(|_| String::new(), |url| crate::subscription::masked(&url));
    let shown = Endpoint {
        url,
        headers: Vec::new(),
        ..endpoint.clone()
    };
    let envelope = EventiumEnvelope::new(event, serde_json::json!({ "endpoint": shown }));
    if let Err(err) = api.dispatcher().dispatch_for(owner, &envelope).await {
        tracing::error!(error = %err, endpoint = endpoint.id, "could not queue the endpoint lifecycle event");
    }
}

/// Creates an endpoint; its secret is in this answer and never again.
#[utoipa::path(
    post,
    path = "/api/webhooks/endpoints",
    tag = "eventium",
    operation_id = "eventium_create_endpoint",
    request_body = CreateEndpoint,
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = CreatedEndpoint),
        (status = 400, description = "Malformed JSON or not UTF-8", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 413, description = "The body is too large", body = super::ErrorBody),
        (status = 415, description = "The body is not JSON", body = super::ErrorBody),
        (status = 422, description = "A field breaks a rule", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn create_endpoint<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<CreatedEndpoint>), ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let mut create = CreateWebhook::new(request.url);
    create.events = request.events;
    create.label = request.description;
    create.enabled = request.enabled;
    create.headers = request.headers;
    create.retries = request.retries;
    let created = api
        .webhooks()
        .create(caller.owner(), &Flavour::eventium(), create)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    let id = created.webhook().id().clone();
    let stored = api
        .webhooks()
        .get(caller.owner(), &id)
        .await
        .map_err(|err| ApiError::internal(&err))?
        .ok_or_else(|| ApiError::internal(&"a created endpoint did not read back"))?;
    let endpoint = view(&stored)?;
    announce(
        &api,
        caller.owner(),
        EventiumEvent::WebhookEndpointCreated,
        &endpoint,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEndpoint {
            endpoint,
            secret: created.hmac_key().clone(),
        }),
    ))
}

/// Which page of a listing: `?cursor=…&limit=…`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// The `next_cursor` of the page before.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,19}$")]
    cursor: Option<String>,
    /// The page size, from 1 to 100. Defaults to 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

impl PageQuery {
    fn cursor(&self) -> Result<Option<u64>, ApiError> {
        self.cursor
            .as_deref()
            .map(|text| {
                text.parse::<u64>()
                    .ok()
                    .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_query",
                            "`cursor` must be a `next_cursor` from a listing",
                        )
                        .with_field("cursor")
                    })
            })
            .transpose()
    }

    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_PAGE),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| {
                    (1..=MAX_PAGE).contains(limit) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("`limit` must be from 1 to {MAX_PAGE}"),
                    )
                    .with_field("limit")
                }),
        }
    }
}

/// Lists the caller's endpoints, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/webhooks/endpoints",
    tag = "eventium",
    operation_id = "eventium_list_endpoints",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of endpoints", body = Page<Endpoint>),
        (status = 400, description = "A bad cursor or limit", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list_endpoints<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    uri: Uri,
) -> Result<Json<Page<Endpoint>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let page: PageQuery = query(&uri)?;
    let mut listing = WebhookQuery::default()
        .catalog(Catalog::eventium())
        .limit(page.limit()?);
    if let Some(cursor) = page.cursor()? {
        listing = listing.after(cursor);
    }
    let found = api
        .webhooks()
        .list(caller.owner(), &listing)
        .await
        .map_err(|err| ApiError::internal(&err))?;
    let endpoints = found.webhooks.iter().map(view).collect::<Result<_, _>>()?;
    Ok(Json(Page::new(
        endpoints,
        found.next.map(|next| next.to_string()),
    )))
}

/// Gets one endpoint, without its secret.
#[utoipa::path(
    get,
    path = "/api/webhooks/endpoints/{id}",
    tag = "eventium",
    operation_id = "eventium_get_endpoint",
    params(("id" = i64, Path, minimum = 1, description = "Endpoint ID")),
    responses(
        (status = 200, description = "The endpoint", body = Endpoint),
        (status = 400, description = "The id is not a positive integer", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn get_endpoint<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
) -> Result<Json<Endpoint>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    let stored = owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
    view(&stored).map(Json)
}

/// Changes an endpoint: only the fields given change.
#[utoipa::path(
    patch,
    path = "/api/webhooks/endpoints/{id}",
    tag = "eventium",
    operation_id = "eventium_update_endpoint",
    params(("id" = i64, Path, minimum = 1, description = "Endpoint ID")),
    request_body = UpdateEndpoint,
    responses(
        (status = 200, description = "The changed endpoint", body = Endpoint),
        (status = 400, description = "Malformed JSON, not UTF-8, or a bad id", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 409, description = "Changed by another request meanwhile", body = super::ErrorBody),
        (status = 413, description = "The body is too large", body = super::ErrorBody),
        (status = 415, description = "The body is not JSON", body = super::ErrorBody),
        (status = 422, description = "A field breaks a rule", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn update_endpoint<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
    ApiJson(request): ApiJson<UpdateEndpoint>,
) -> Result<Json<Endpoint>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
    let change = UpdateWebhook {
        url: request.url,
        events: request.events,
        label: request.description,
        enabled: request.enabled,
        headers: request.headers,
        retries: request.retries,
        ..UpdateWebhook::default()
    };
    api.webhooks()
        .update(caller.owner(), &WebhookId::Number(id), change)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    let stored = owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
    let endpoint = view(&stored)?;
    announce(
        &api,
        caller.owner(),
        EventiumEvent::WebhookEndpointUpdated,
        &endpoint,
    )
    .await;
    Ok(Json(endpoint))
}

/// Deletes an endpoint. An attempt already in flight still completes.
#[utoipa::path(
    delete,
    path = "/api/webhooks/endpoints/{id}",
    tag = "eventium",
    operation_id = "eventium_delete_endpoint",
    params(("id" = i64, Path, minimum = 1, description = "Endpoint ID")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a positive integer", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn delete_endpoint<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    let stored = owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
    let endpoint = view(&stored)?;
    let deleted = api
        .webhooks()
        .delete(caller.owner(), &WebhookId::Number(id))
        .await
        .map_err(|err| ApiError::internal(&err))?;
    if !deleted {
        return Err(ApiError::not_found());
    }
    announce(
        &api,
        caller.owner(),
        EventiumEvent::WebhookEndpointDeleted,
        &endpoint,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives an endpoint a new secret, shown only in this answer. Until the
/// grace period ends, deliveries carry signatures with both secrets.
#[utoipa::path(
    post,
    path = "/api/webhooks/endpoints/{id}/rotate-secret",
    tag = "eventium",
    operation_id = "eventium_rotate_secret",
    params(("id" = i64, Path, minimum = 1, description = "Endpoint ID")),
    request_body(
        content = Option<RotateSecret>,
        description = "Optional: without a body, the old secret signs for one more day"
    ),
    responses(
        (status = 200, description = "The new secret, shown only here", body = RotatedEndpointSecret),
        (status = 400, description = "Malformed JSON, not UTF-8, or a bad id", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 409, description = "Changed by another request meanwhile", body = super::ErrorBody),
        (status = 413, description = "The body is too large", body = super::ErrorBody),
        (status = 415, description = "The body is not JSON", body = super::ErrorBody),
        (status = 422, description = "The grace period is too long", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn rotate_secret<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
    OptionalJson(request): OptionalJson<RotateSecret>,
) -> Result<Json<RotatedEndpointSecret>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    let grace = request
        .grace_period_seconds
        .map_or(DEFAULT_ROTATION_GRACE, Duration::from_secs);
    if grace > MAX_ROTATION_GRACE {
        return Err(ApiError::validation(format!(
            "the grace period is at most {} seconds",
            MAX_ROTATION_GRACE.as_secs()
        ))
        .with_field("grace_period_seconds"));
    }
    owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
    let rotated = api
        .webhooks()
        .rotate_secret(caller.owner(), &WebhookId::Number(id), grace)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    Ok(Json(RotatedEndpointSecret {
        id,
        secret: rotated.hmac_key().clone(),
        previous_secret_expires_at: rotated.previous_expires_at.and_then(timestamp),
    }))
}

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    /// Only deliveries to this endpoint.
    #[param(value_type = Option<i64>, minimum = 1)]
    endpoint_id: Option<String>,
    /// Only deliveries in this state.
    #[param(value_type = Option<DeliveryStatus>)]
    status: Option<String>,
    /// The `next_cursor` of the page before.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,19}$")]
    cursor: Option<String>,
    /// The page size, from 1 to 100. Defaults to 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// A delivery's state, as the `status` filter names it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum DeliveryStatus {
    Pending,
    InFlight,
    Retry,
    Succeeded,
    Exhausted,
    Cancelled,
}

/// Lists the caller's deliveries, newest first: status, attempts, last
/// error and next retry time.
#[utoipa::path(
    get,
    path = "/api/webhooks/deliveries",
    tag = "eventium",
    operation_id = "eventium_list_deliveries",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryView>),
        (status = 400, description = "A bad filter, cursor or limit", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list_deliveries<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    uri: Uri,
) -> Result<Json<Page<DeliveryView>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let filter: DeliveriesQuery = query(&uri)?;
    let page = PageQuery {
        cursor: filter.cursor.clone(),
        limit: filter.limit.clone(),
    };
    let (cursor, limit) = (page.cursor()?, page.limit()?);
    let state = filter
        .status
        .as_deref()
        .map(|name| {
            DeliveryState::parse(name).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    "`status` must be pending, in_flight, retry, succeeded, exhausted or cancelled",
                )
                .with_field("status")
            })
        })
        .transpose()?;
    let endpoints = endpoint_ids(&api, caller.owner(), filter.endpoint_id.as_deref()).await?;
    let mut records = Vec::new();
    for endpoint in endpoints {
        let mut wanted =
            DeliveryQuery::for_webhook(WebhookId::Number(endpoint)).limit(limit.saturating_add(1));
        if let Some(state) = state {
            wanted = wanted.with_state(state);
        }
        if let Some(cursor) = cursor {
            wanted = wanted.before(cursor);
        }
        records.extend(
            api.dispatcher()
                .store()
                .list_deliveries(&wanted)
                .await
                .map_err(|err| ApiError::internal(&err))?,
        );
    }
    records.sort_unstable_by_key(|record| std::cmp::Reverse(record.sequence));
    let more = records.len() > limit;
    records.truncate(limit);
    let next = more
        .then(|| records.last().map(|record| record.sequence.to_string()))
        .flatten();
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        views.push(delivery_view(&api, record).await?);
    }
    Ok(Json(Page::new(views, next)))
}

/// The endpoints a listing covers: the one asked for, which must be the
/// caller's, or all of the caller's Eventium endpoints.
async fn endpoint_ids<S, B: WebhookBackend>(
    api: &ManagementApi<S, B>,
    owner: &Owner,
    asked: Option<&str>,
) -> Result<Vec<u64>, ApiError> {
    match asked {
        Some(text) => {
            let id = row_id(text).map_err(|err| err.with_field("endpoint_id"))?;
            owned(api, owner, id, &Catalog::eventium()).await?;
            Ok(vec![id])
        }
        None => Ok(all_of_catalog(api, owner, Catalog::eventium())
            .await?
            .iter()
            .filter_map(|stored| number(stored.webhook.id()))
            .collect()),
    }
}

async fn delivery_view<S, B>(
    api: &ManagementApi<S, B>,
    record: DeliveryRecord,
) -> Result<DeliveryView, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let last = api
        .dispatcher()
        .store()
        .list_attempts(&DeliveryQuery::for_delivery(&record.key).limit(1))
        .await
        .map_err(|err| ApiError::internal(&err))?
        .into_iter()
        .next();
    let endpoint_id = match record.key.webhook_id {
        WebhookId::Number(id) => id,
        WebhookId::Text(_) => return Err(ApiError::internal(&"a delivery has a text webhook id")),
    };
    let last_status_code = last.as_ref().and_then(|attempt| match attempt.outcome {
        crate::retry::AttemptOutcome::Status(status) => Some(status),
        crate::retry::AttemptOutcome::Failed(_) => None,
    });
    let last_error = last.filter(|attempt| !attempt.succeeded()).map(|attempt| {
        attempt
            .detail
            .unwrap_or_else(|| attempt.outcome.to_string())
    });
    let created_at = timestamp(record.created_at)
        .ok_or_else(|| ApiError::internal(&"a delivery's time is out of range"))?;
    Ok(DeliveryView {
        id: record.sequence,
        endpoint_id,
        event_id: record.key.envelope_id,
        event_type: record.event,
        status: record.state.as_str().to_owned(),
        attempts: record.attempts,
        last_status_code,
        last_error,
        next_retry_at: record.next_attempt_at.and_then(timestamp),
        created_at,
        updated_at: timestamp(record.updated_at).unwrap_or(created_at),
    })
}

/// Queues a finished delivery again, due at once.
#[utoipa::path(
    post,
    path = "/api/webhooks/deliveries/{id}/redeliver",
    tag = "eventium",
    operation_id = "eventium_redeliver",
    params(("id" = i64, Path, minimum = 1, description = "Delivery ID")),
    responses(
        (status = 202, description = "Queued again", body = Redelivered),
        (status = 400, description = "The id is not a positive integer", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such delivery", body = super::ErrorBody),
        (status = 409, description = "The delivery is still open", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn redeliver<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<Redelivered>), ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    let store = api.dispatcher().store();
    let mut found = None;
    for endpoint in endpoint_ids(&api, caller.owner(), None).await? {
        let wanted = DeliveryQuery::for_webhook(WebhookId::Number(endpoint))
            .before(id.saturating_add(1))
            .limit(1);
        let records = store
            .list_deliveries(&wanted)
            .await
            .map_err(|err| ApiError::internal(&err))?;
        if let Some(record) = records.into_iter().find(|record| record.sequence == id) {
            found = Some(record);
            break;
        }
    }
    let record = found.ok_or_else(ApiError::not_found)?;
    let now = api.webhooks().now();
    let queued = store
        .redeliver(&record.key, now)
        .await
        .map_err(|err| ApiError::internal(&err))?;
    if !queued {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "delivery_open",
            "the delivery is still open; it can be redelivered once it has finished",
        ));
    }
    api.dispatcher().wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(Redelivered {
            id,
            status: DeliveryState::Pending.as_str().to_owned(),
        }),
    ))
}

/// Sends a test event through the normal signed delivery path: to one
/// endpoint, or to every enabled endpoint of the caller, whatever events
/// they subscribe to.
#[utoipa::path(
    post,
    path = "/api/webhooks/test",
    tag = "eventium",
    operation_id = "eventium_send_test",
    request_body = EventiumTestRequest,
    responses(
        (status = 202, description = "Queued", body = TestQueued),
        (status = 400, description = "Malformed JSON or not UTF-8", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such endpoint", body = super::ErrorBody),
        (status = 409, description = "The endpoint is disabled", body = super::ErrorBody),
        (status = 413, description = "The body is too large", body = super::ErrorBody),
        (status = 415, description = "The body is not JSON", body = super::ErrorBody),
        (status = 422, description = "An event type outside the catalog", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn send_test<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<EventiumTestRequest>,
) -> Result<(StatusCode, Json<TestQueued>), ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    Catalog::eventium()
        .check(request.event_type.as_str())
        .map_err(|err| ApiError::validation(err.to_string()).with_field("event_type"))?;
    if !request.data.is_object() {
        return Err(ApiError::validation("`data` must be a JSON object").with_field("data"));
    }
    let targets: Vec<u64> = match request.endpoint_id {
        Some(id) => {
            let id = row_id(&id.to_string()).map_err(|err| err.with_field("endpoint_id"))?;
            let stored = owned(&api, caller.owner(), id, &Catalog::eventium()).await?;
            if !stored.webhook.enabled() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "endpoint_disabled",
                    "the endpoint is disabled; enable it to send it a test event",
                ));
            }
            vec![id]
        }
        None => all_of_catalog(&api, caller.owner(), Catalog::eventium())
            .await?
            .iter()
            .filter(|stored| stored.webhook.enabled())
            .filter_map(|stored| number(stored.webhook.id()))
            .collect(),
    };
    let envelope = EventiumEnvelope::new(request.event_type, request.data);
    let record = EnvelopeRecord::from_envelope(&envelope)
        .map_err(|err| ApiError::validation(err.to_string()).with_field("data"))?;
    let webhooks: Vec<WebhookId> = targets.iter().copied().map(WebhookId::Number).collect();
    let queued = if webhooks.is_empty() {
        Vec::new()
    } else {
        api.dispatcher()
            .store()
            .enqueue(&record, &webhooks)
            .await
            .map_err(|err| ApiError::internal(&err))?
    };
    api.dispatcher().wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(TestQueued {
            event_id: record.id,
            endpoint_ids: queued.iter().filter_map(number).collect(),
        }),
    ))
}

/// Eventium's event catalog.
#[utoipa::path(
    get,
    path = "/api/webhooks/events",
    tag = "eventium",
    operation_id = "eventium_list_events",
    responses(
        (status = 200, description = "Every event type and its category", body = Page<EventTypeInfo>),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list_events(_caller: Caller) -> Json<Page<EventTypeInfo>> {
    let events = EventiumEvent::ALL
        .iter()
        .map(|event| EventTypeInfo {
            event_type: event.as_str().to_owned(),
            category: event
                .category()
                .map(|category| category.as_str().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    Json(Page::new(events, None))
}

//! Titan's webhook routes (seeds 000 and 001): `/api/webhooks`, integer
//! ids, every answer inside `{"data": …}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::extract::{ApiJson, Caller, PathId, row_id};
use super::{ApiError, ManagementApi, of_catalog};
use crate::Catalog;
use crate::queue::{DeliveryAdmin, DeliveryStore};
use crate::subscription::{
    CreateWebhook, CreatedWebhook, Data, DeleteResult, UpdateWebhook, Webhook, WebhookId,
};
use crate::webhooks::{Flavour, Owner, StoredWebhook, WebhookBackend, WebhookQuery};

pub(super) fn router<S, B>(api: ManagementApi<S, B>) -> Router
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    Router::new()
        .route("/api/webhooks", get(list::<S, B>).post(create::<S, B>))
        .route(
            "/api/webhooks/{id}",
            get(fetch::<S, B>)
                .put(update::<S, B>)
                .delete(remove::<S, B>),
        )
        .with_state(api)
}

/// Titan's JSON names for the store's validation fields: the same.
fn field(name: &'static str) -> &'static str {
    name
}

/// Creates a webhook; `hmacKey` is in this answer and never again.
#[utoipa::path(
    post,
    path = "/api/webhooks",
    tag = "titan",
    operation_id = "titan_create",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created; `hmacKey` is shown only here", body = Data<CreatedWebhook>),
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
pub(super) async fn create<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<Data<CreatedWebhook>>), ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let created = api
        .webhooks()
        .create(caller.owner(), &Flavour::titan(), request)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    Ok((StatusCode::CREATED, Json(Data { data: created })))
}

/// Lists the caller's Titan webhooks, newest first, without their keys.
#[utoipa::path(
    get,
    path = "/api/webhooks",
    tag = "titan",
    operation_id = "titan_list",
    responses(
        (status = 200, description = "The caller's webhooks", body = Data<Vec<Webhook>>),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
) -> Result<Json<Data<Vec<Webhook>>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let webhooks = all_of_catalog(&api, caller.owner(), Catalog::titan())
        .await?
        .into_iter()
        .map(|stored| stored.webhook)
        .collect();
    Ok(Json(Data { data: webhooks }))
}

/// Every webhook of `catalog` that `owner` has, newest first.
pub(super) async fn all_of_catalog<S, B: WebhookBackend>(
    api: &ManagementApi<S, B>,
    owner: &Owner,
    catalog: Catalog,
) -> Result<Vec<StoredWebhook>, ApiError> {
    let mut all = Vec::new();
    let mut query = WebhookQuery::default()
        .catalog(catalog.clone())
        .limit(crate::queue::MAX_LIST_LIMIT);
    loop {
        let page = api
            .webhooks()
            .list(owner, &query)
            .await
            .map_err(|err| ApiError::internal(&err))?;
        all.extend(page.webhooks);
        match page.next {
            Some(next) => query = query.after(next),
            None => return Ok(all),
        }
    }
}

/// The caller's webhook `id` of `catalog`, or `404`.
pub(super) async fn owned<S, B: WebhookBackend>(
    api: &ManagementApi<S, B>,
    owner: &Owner,
    id: u64,
    catalog: &Catalog,
) -> Result<StoredWebhook, ApiError> {
    api.webhooks()
        .get(owner, &WebhookId::Number(id))
        .await
        .map_err(|err| ApiError::internal(&err))?
        .filter(|stored| of_catalog(&stored.webhook, catalog))
        .ok_or_else(ApiError::not_found)
}

/// Gets one webhook, without its key.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}",
    tag = "titan",
    operation_id = "titan_fetch",
    params(("id" = i64, Path, minimum = 1, description = "Webhook ID")),
    responses(
        (status = 200, description = "The webhook", body = Data<Webhook>),
        (status = 400, description = "The id is not a positive integer", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such webhook", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn fetch<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
) -> Result<Json<Data<Webhook>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    let stored = owned(&api, caller.owner(), id, &Catalog::titan()).await?;
    Ok(Json(Data {
        data: stored.webhook,
    }))
}

/// Updates a webhook: only the fields given change; `headers` replaces the
/// list; a new `hmacKey` takes effect at once.
#[utoipa::path(
    put,
    path = "/api/webhooks/{id}",
    tag = "titan",
    operation_id = "titan_update",
    params(("id" = i64, Path, minimum = 1, description = "Webhook ID")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The updated webhook", body = Data<Webhook>),
        (status = 400, description = "Malformed JSON, not UTF-8, or a bad id", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such webhook", body = super::ErrorBody),
        (status = 409, description = "Changed by another request meanwhile", body = super::ErrorBody),
        (status = 413, description = "The body is too large", body = super::ErrorBody),
        (status = 415, description = "The body is not JSON", body = super::ErrorBody),
        (status = 422, description = "A field breaks a rule", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn update<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
    ApiJson(change): ApiJson<UpdateWebhook>,
) -> Result<Json<Data<Webhook>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    owned(&api, caller.owner(), id, &Catalog::titan()).await?;
    let updated = api
        .webhooks()
        .update(caller.owner(), &WebhookId::Number(id), change)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    Ok(Json(Data {
        data: updated.into_webhook(),
    }))
}

/// Deletes a webhook. An attempt already in flight still completes.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{id}",
    tag = "titan",
    operation_id = "titan_remove",
    params(("id" = i64, Path, minimum = 1, description = "Webhook ID")),
    responses(
        (status = 200, description = "Deleted", body = Data<DeleteResult>),
        (status = 400, description = "The id is not a positive integer", body = super::ErrorBody),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 404, description = "No such webhook", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn remove<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
    PathId(id): PathId,
) -> Result<Json<Data<DeleteResult>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let id = row_id(&id)?;
    owned(&api, caller.owner(), id, &Catalog::titan()).await?;
    let deleted = api
        .webhooks()
        .delete(caller.owner(), &WebhookId::Number(id))
        .await
        .map_err(|err| ApiError::internal(&err))?;
    if !deleted {
        return Err(ApiError::not_found());
    }
    Ok(Json(Data {
        data: DeleteResult::deleted(),
    }))
}

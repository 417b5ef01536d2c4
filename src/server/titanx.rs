//! TitanX's routes (seed 002): `/api/public/v2/webhooks`, UUID ids and a
//! `whsec_…` secret shown once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::extract::{ApiJson, Caller, PathId};
use super::titan::{all_of_catalog, owned};
use super::{ApiError, ManagementApi};
use crate::queue::{DeliveryAdmin, DeliveryStore};
use crate::subscription::{
    CreateTitanXWebhook, CreateWebhook, Data, HmacKey, TitanXWebhook, TitanXWebhookStatus,
    WebhookId,
};
use crate::webhooks::{Flavour, StoredWebhook, WebhookBackend};
use crate::{Catalog, TitanXEvent, WHSEC_PREFIX};

/// Random bytes in a generated secret.
const SECRET_BYTES: usize = 32;
/// The high half of every TitanX id: a version 8 UUID (RFC 9562).
const ID_HIGH: u64 = 0x0000_0000_0000_8000;
/// The variant bits of the low half.
const ID_VARIANT: u64 = 0x8000_0000_0000_0000;
const ID_VARIANT_MASK: u64 = 0xC000_0000_0000_0000;

pub(super) fn router<S, B>(api: ManagementApi<S, B>) -> Router
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    Router::new()
        .route(
            "/api/public/v2/webhooks",
            get(list::<S, B>).post(create::<S, B>),
        )
        .route(
            "/api/public/v2/webhooks/{id}",
            get(fetch::<S, B>).delete(remove::<S, B>),
        )
        .with_state(api)
}

/// TitanX's JSON names for the store's validation fields.
fn field(name: &'static str) -> &'static str {
    match name {
        "events" => "eventTypes",
        "label" => "name",
        "hmacKey" => "secret",
        other => other,
    }
}

/// A TitanX id: a version 8 UUID whose low 62 bits carry the store's row
/// id, so the store keeps one kind of id for every flavour.
fn public_id(row: u64) -> Result<String, ApiError> {
    if row & ID_VARIANT_MASK != 0 {
        return Err(ApiError::internal(&"a row id does not fit a TitanX id"));
    }
    Ok(uuid::Uuid::from_u64_pair(ID_HIGH, ID_VARIANT | row).to_string())
}

/// The row id inside a TitanX id: `400` for text that is not a UUID, `404`
/// for a UUID this server never gave out.
fn row_of(text: &str) -> Result<u64, ApiError> {
    let uuid = uuid::Uuid::try_parse(text).map_err(|_| {
        ApiError::bad_request("invalid_id", "the id must be a UUID").with_field("id")
    })?;
    let (high, low) = uuid.as_u64_pair();
    let row = low & !ID_VARIANT_MASK;
    if high != ID_HIGH || low & ID_VARIANT_MASK != ID_VARIANT || row == 0 {
        return Err(ApiError::not_found());
    }
    Ok(row)
}

/// A new `whsec_…` secret. Deliveries are signed with its text as the key,
/// as Titan signs with `hmacKey`.
fn generate_secret() -> Result<HmacKey, ApiError> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|_| ApiError::internal(&"the random source failed"))?;
    let text = Zeroizing::new(format!(
        "{WHSEC_PREFIX}{}",
        STANDARD.encode(bytes.as_slice())
    ));
    Ok(HmacKey::new(text.as_str()))
}

fn view(stored: &StoredWebhook, secret: Option<HmacKey>) -> Result<TitanXWebhook, ApiError> {
    let webhook = &stored.webhook;
    let WebhookId::Number(row) = webhook.id() else {
        return Err(ApiError::internal(&"a stored webhook has a text id"));
    };
    Ok(TitanXWebhook {
        id: public_id(*row)?,
        name: webhook.label().map(str::to_owned),
        url: webhook.url().to_string(),
        event_types: webhook
            .filter()
            .events()
            .iter()
            .map(|name| TitanXEvent::from(name.as_str()))
            .collect(),
        status: if webhook.enabled() {
            TitanXWebhookStatus::Active
        } else {
            TitanXWebhookStatus::Inactive
        },
        secret,
        created_at: *webhook.created_at(),
    })
}

/// Creates a webhook; `secret` is in this answer and never again.
#[utoipa::path(
    post,
    path = "/api/public/v2/webhooks",
    tag = "titanx",
    operation_id = "titanx_create",
    request_body = CreateTitanXWebhook,
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = TitanXWebhook),
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
    ApiJson(request): ApiJson<CreateTitanXWebhook>,
) -> Result<(StatusCode, Json<TitanXWebhook>), ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    if request.event_types.is_empty() {
        return Err(
            ApiError::validation("`eventTypes`: name at least one event type")
                .with_field("eventTypes"),
        );
    }
    if request.name.as_deref() == Some("") {
        return Err(ApiError::validation("`name`: must not be empty").with_field("name"));
    }
    let secret = generate_secret()?;
    let mut create = CreateWebhook::new(request.url);
    create.events = Some(
        request
            .event_types
            .iter()
            .map(|event| event.as_str().to_owned())
            .collect(),
    );
    create.label = request.name;
    create.enabled = request
        .status
        .map(|status| status == TitanXWebhookStatus::Active);
    create.hmac_key = Some(secret.clone());
    let created = api
        .webhooks()
        .create(caller.owner(), &Flavour::titanx(), create)
        .await
        .map_err(|err| ApiError::from_store(err, field))?;
    let stored = api
        .webhooks()
        .get(caller.owner(), created.webhook().id())
        .await
        .map_err(|err| ApiError::internal(&err))?
        .ok_or_else(|| ApiError::internal(&"a created webhook did not read back"))?;
    Ok((StatusCode::CREATED, Json(view(&stored, Some(secret))?)))
}

/// Lists the caller's TitanX webhooks, newest first, without secrets.
#[utoipa::path(
    get,
    path = "/api/public/v2/webhooks",
    tag = "titanx",
    operation_id = "titanx_list",
    responses(
        (status = 200, description = "The caller's webhooks", body = Data<Vec<TitanXWebhook>>),
        (status = 401, description = "No valid bearer token", body = super::ErrorBody),
        (status = 403, description = "The token lacks `webhooks:manage`", body = super::ErrorBody),
        (status = 500, description = "The store failed; try again later", body = super::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list<S, B>(
    State(api): State<ManagementApi<S, B>>,
    Caller(caller): Caller,
) -> Result<Json<Data<Vec<TitanXWebhook>>>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let webhooks = all_of_catalog(&api, caller.owner(), Catalog::titanx())
        .await?
        .iter()
        .map(|stored| view(stored, None))
        .collect::<Result<_, _>>()?;
    Ok(Json(Data { data: webhooks }))
}

/// Gets one webhook, without its secret.
#[utoipa::path(
    get,
    path = "/api/public/v2/webhooks/{id}",
    tag = "titanx",
    operation_id = "titanx_fetch",
    params(("id" = uuid::Uuid, Path, description = "Webhook ID")),
    responses(
        (status = 200, description = "The webhook", body = TitanXWebhook),
        (status = 400, description = "The id is not a UUID", body = super::ErrorBody),
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
) -> Result<Json<TitanXWebhook>, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let row = row_of(&id)?;
    let stored = owned(&api, caller.owner(), row, &Catalog::titanx()).await?;
    view(&stored, None).map(Json)
}

/// Deletes a webhook. An attempt already in flight still completes.
#[utoipa::path(
    delete,
    path = "/api/public/v2/webhooks/{id}",
    tag = "titanx",
    operation_id = "titanx_remove",
    params(("id" = uuid::Uuid, Path, description = "Webhook ID")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = super::ErrorBody),
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
) -> Result<StatusCode, ApiError>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    let row = row_of(&id)?;
    owned(&api, caller.owner(), row, &Catalog::titanx()).await?;
    let deleted = api
        .webhooks()
        .delete(caller.owner(), &WebhookId::Number(row))
        .await
        .map_err(|err| ApiError::internal(&err))?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_strangers_are_not_found() {
        for row in [1, 42, (1 << 62) - 1] {
            let id = public_id(row).unwrap();
            assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 8);
            assert_eq!(row_of(&id).unwrap(), row);
        }
        assert_eq!(
            row_of("550e8400-e29b-41d4-a716-446655440000")
                .unwrap_err()
                .code(),
            "not_found"
        );
        assert_eq!(row_of("not-a-uuid").unwrap_err().code(), "invalid_id");
        assert_eq!(public_id(1 << 62).unwrap_err().code(), "internal");
    }

    #[test]
    fn secrets_look_like_titanx_secrets() {
        let secret = generate_secret().unwrap();
        assert!(secret.expose().starts_with("whsec_"));
        assert_ne!(secret.expose(), generate_secret().unwrap().expose());
    }
}

//! The OpenAPI 3.1 document, derived by utoipa from the types that
//! serialize the requests and answers.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::Modify;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{eventium, titan, titanx};

/// Where [`ManagementApi::router`](super::ManagementApi::router) serves the
/// document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "titan-webhooks management API",
        description = "The seeds' webhook management routes: Titan, Eventium and TitanX."
    ),
    paths(
        titan::create,
        titan::list,
        titan::fetch,
        titan::update,
        titan::remove,
        eventium::create_endpoint,
        eventium::list_endpoints,
        eventium::get_endpoint,
        eventium::update_endpoint,
        eventium::delete_endpoint,
        eventium::rotate_secret,
        eventium::list_deliveries,
        eventium::redeliver,
        eventium::send_test,
        eventium::list_events,
        titanx::create,
        titanx::list,
        titanx::fetch,
        titanx::remove,
    ),
    components(schemas(eventium::DeliveryStatus)),
    modifiers(&BearerAuth),
    tags(
        (name = "titan", description = "Titan webhooks (seeds 000 and 001)"),
        (name = "eventium", description = "Eventium endpoints, deliveries and test events (seed 003)"),
        (name = "titanx", description = "TitanX webhooks (seed 002)"),
    )
)]
struct ManagementDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The management API's OpenAPI 3.1 document.
///
/// ```
/// let document = titan_webhooks::server::openapi();
/// assert!(document.paths.paths.contains_key("/api/webhooks/{id}"));
/// ```
#[must_use]
pub fn openapi() -> Document {
    <ManagementDoc as utoipa::OpenApi>::openapi()
}

pub(super) fn router() -> Router {
    let document = openapi();
    Router::new().route(OPENAPI_PATH, get(move || async move { Json(document) }))
}

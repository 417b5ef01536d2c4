//! `titan-webhooks webhooks`: the management API's webhooks, through the
//! library's client.

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::Value;
use titan_webhooks::subscription::{
    CreateEndpoint, CreateTitanXWebhook, CreateWebhook, Endpoint, HmacKey, RotateSecret,
    TitanXWebhook, TitanXWebhookStatus, UpdateEndpoint, UpdateWebhook, Webhook, WebhookId,
};
use titan_webhooks::{EventiumEvent, EventiumTestRequest, TitanXEvent};

use crate::api::{Api, events_text, numeric_id, yes_no};
use crate::cli::{
    ApiFlavour, CreateArgs, HmacKeyArgs, ListArgs, RotateArgs, TestArgs, UpdateArgs, WebhooksArgs,
    WebhooksCommand,
};
use crate::error::{CliError, Outcome};
use crate::{output, secret};

/// Runs a `webhooks` subcommand.
pub fn run(args: &WebhooksArgs) -> Result<Outcome, CliError> {
    let api = Api::new(&args.api, ApiFlavour::Titan)?;
    match &args.command {
        WebhooksCommand::List(list) => self::list(&api, list),
        WebhooksCommand::Get(id) => get(&api, &id.id),
        WebhooksCommand::Create(create) => self::create(&api, create),
        WebhooksCommand::Update(update) => self::update(&api, update),
        WebhooksCommand::Delete(id) => delete(&api, &id.id),
        WebhooksCommand::Test(test) => self::test(&api, test),
        WebhooksCommand::Rotate(rotate) => self::rotate(&api, rotate),
    }?;
    Ok(Outcome::Success)
}

fn list(api: &Api, args: &ListArgs) -> Result<(), CliError> {
    let limit = args.limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit).unwrap_or(usize::MAX)
    });
    match api.flavour {
        ApiFlavour::Titan => {
            let mut webhooks = api.run(api.client.titan().list())?;
            webhooks.truncate(limit);
            if api.json {
                return api.print_json(&webhooks);
            }
            let rows = webhooks.iter().map(titan_row).collect::<Vec<_>>();
            print_table(
                &[
                    "ID", "URL", "EVENTS", "SESSION", "ENABLED", "LABEL", "CREATED",
                ],
                &rows,
                "webhooks",
            );
        }
        ApiFlavour::Eventium => {
            let endpoints: Vec<Endpoint> =
                api.run(api.client.eventium().endpoints().take(limit).try_collect())?;
            if api.json {
                return api.print_json(&endpoints);
            }
            let rows = endpoints.iter().map(eventium_row).collect::<Vec<_>>();
            print_table(
                &["ID", "URL", "EVENTS", "ENABLED", "DESCRIPTION", "CREATED"],
                &rows,
                "endpoints",
            );
        }
        ApiFlavour::Titanx => {
            let mut webhooks = api.run(api.client.titanx().list())?;
            webhooks.truncate(limit);
            if api.json {
                return api.print_json(&webhooks);
            }
            let rows = webhooks.iter().map(titanx_row).collect::<Vec<_>>();
            print_table(
                &["ID", "NAME", "URL", "EVENT TYPES", "STATUS", "CREATED"],
                &rows,
                "webhooks",
            );
        }
    }
    Ok(())
}

fn get(api: &Api, id: &str) -> Result<(), CliError> {
    match api.flavour {
        ApiFlavour::Titan => {
            let webhook = api.run(api.client.titan().get(titan_id(id)))?;
            show(api, &webhook, titan_details(&webhook))
        }
        ApiFlavour::Eventium => {
            let id = numeric_id(id, "the endpoint id")?;
            let endpoint = api.run(api.client.eventium().get_endpoint(id))?;
            show(api, &endpoint, eventium_details(&endpoint))
        }
        ApiFlavour::Titanx => {
            let webhook = api.run(api.client.titanx().get(id))?;
            show(api, &webhook, titanx_details(&webhook))
        }
    }
}

fn create(api: &Api, args: &CreateArgs) -> Result<(), CliError> {
    let events = (!args.events.is_empty()).then(|| args.events.clone());
    match api.flavour {
        ApiFlavour::Titan => {
            let mut request = CreateWebhook::new(args.url.clone());
            request.events = events;
            request.session = args.session.clone();
            request.label = args.label.clone();
            request.enabled = args.disabled.then_some(false);
            request.hmac_key = hmac_key(&args.hmac_key)?;
            let created = api.run(api.client.titan().create(&request))?;
            let mut rows = titan_details(created.webhook());
            rows.push(("hmacKey", created.hmac_key().expose().to_owned()));
            shown_once(api, &created, rows, "hmacKey")
        }
        ApiFlavour::Eventium => {
            titan_only(api, args.session.is_some(), "--session", SESSION_HINT)?;
            no_key(api, &args.hmac_key)?;
            let mut request = CreateEndpoint::new(args.url.clone());
            request.events = events;
            request.description = args.label.clone();
            request.enabled = args.disabled.then_some(false);
            let created = api.run(api.client.eventium().create_endpoint(&request))?;
            let mut rows = eventium_details(&created.endpoint);
            rows.push(("secret", created.secret.expose().to_owned()));
            shown_once(api, &created, rows, "secret")
        }
        ApiFlavour::Titanx => {
            titan_only(api, args.session.is_some(), "--session", SESSION_HINT)?;
            no_key(api, &args.hmac_key)?;
            let events = args
                .events
                .iter()
                .map(|event| TitanXEvent::from(event.as_str()))
                .collect();
            let mut request = CreateTitanXWebhook::new(args.url.clone(), events);
            request.name = args.label.clone();
            request.status = args.disabled.then_some(TitanXWebhookStatus::Inactive);
            let created = api.run(api.client.titanx().create(&request))?;
            let rows = titanx_details(&created);
            shown_once(api, &created, rows, "secret")
        }
    }
}

fn update(api: &Api, args: &UpdateArgs) -> Result<(), CliError> {
    let events = if args.all_events {
        Some(Vec::new())
    } else {
        (!args.events.is_empty()).then(|| args.events.clone())
    };
    let label = if args.no_label {
        Some(None)
    } else {
        args.label.clone().map(Some)
    };
    let enabled = match (args.enable, args.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    match api.flavour {
        ApiFlavour::Titan => {
            let mut change = UpdateWebhook::default();
            change.url = args.url.clone();
            change.events = events;
            change.session = if args.all_sessions {
                Some(None)
            } else {
                args.session.clone().map(Some)
            };
            change.label = label;
            change.enabled = enabled;
            change.hmac_key = hmac_key(&args.hmac_key)?;
            if change == UpdateWebhook::default() {
                return Err(nothing_to_change());
            }
            let webhook = api.run(api.client.titan().update(titan_id(&args.id), &change))?;
            show(api, &webhook, titan_details(&webhook))
        }
        ApiFlavour::Eventium => {
            titan_only(
                api,
                args.session.is_some() || args.all_sessions,
                "--session and --all-sessions",
                SESSION_HINT,
            )?;
            no_key(api, &args.hmac_key)?;
            let id = numeric_id(&args.id, "the endpoint id")?;
            let mut change = UpdateEndpoint::default();
            change.url = args.url.clone();
            change.events = events;
            change.description = label;
            change.enabled = enabled;
            if change == UpdateEndpoint::default() {
                return Err(nothing_to_change());
            }
            let endpoint = api.run(api.client.eventium().update_endpoint(id, &change))?;
            show(api, &endpoint, eventium_details(&endpoint))
        }
        ApiFlavour::Titanx => Err(api.unsupported(
            "updating a webhook",
            "delete it and create it again: titan-webhooks webhooks --flavour titanx delete ID",
        )),
    }
}

fn delete(api: &Api, id: &str) -> Result<(), CliError> {
    match api.flavour {
        ApiFlavour::Titan => {
            let deleted = api.run(api.client.titan().delete(titan_id(id)))?;
            if api.json {
                return api.print_json(&deleted);
            }
            output::out(&format!("deleted webhook {id}: {}\n", deleted.message));
        }
        ApiFlavour::Eventium => {
            let number = numeric_id(id, "the endpoint id")?;
            api.run(api.client.eventium().delete_endpoint(number))?;
            if api.json {
                return api.print_json(&serde_json::json!({ "deleted": number }));
            }
            output::out(&format!("deleted endpoint {id}\n"));
        }
        ApiFlavour::Titanx => {
            api.run(api.client.titanx().delete(id))?;
            if api.json {
                return api.print_json(&serde_json::json!({ "deleted": id }));
            }
            output::out(&format!("deleted webhook {id}\n"));
        }
    }
    Ok(())
}

fn test(api: &Api, args: &TestArgs) -> Result<(), CliError> {
    if api.flavour != ApiFlavour::Eventium {
        return Err(api.unsupported(
            "a test event",
            "Eventium's API sends test events (--flavour eventium); to send one yourself, \
             use titan-webhooks send",
        ));
    }
    let data: Value = match &args.data {
        Some(text) => serde_json::from_str(text)
            .map_err(|err| CliError::usage(format!("--data is not JSON: {err}")))?,
        None => Value::Object(serde_json::Map::new()),
    };
    let mut request = EventiumTestRequest::new(EventiumEvent::from(args.event.as_str()), data);
    request.endpoint_id = args.endpoint;
    let queued = api.run(api.client.eventium().test(&request))?;
    if api.json {
        return api.print_json(&queued);
    }
    if queued.endpoint_ids.is_empty() {
        output::warn("no enabled endpoint: the test event went nowhere");
    }
    let endpoints = queued
        .endpoint_ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    output::out(&output::aligned(
        "",
        &[
            ("event", queued.event_id.clone()),
            ("type", args.event.clone()),
            (
                "queued for",
                if endpoints.is_empty() {
                    "-".to_owned()
                } else {
                    endpoints
                },
            ),
        ],
    ));
    Ok(())
}

fn rotate(api: &Api, args: &RotateArgs) -> Result<(), CliError> {
    if api.flavour != ApiFlavour::Eventium {
        return Err(api.unsupported(
            "rotating a secret",
            "Titan's key changes with titan-webhooks webhooks update ID --hmac-key-env VAR; \
             TitanX's by deleting and creating the webhook",
        ));
    }
    let id = numeric_id(&args.id, "the endpoint id")?;
    let mut request = RotateSecret::default();
    request.grace_period_seconds = args.grace;
    let rotated = api.run(api.client.eventium().rotate_secret(id, &request))?;
    let rows = vec![
        ("id", rotated.id.to_string()),
        (
            "old secret until",
            rotated
                .previous_secret_expires_at
                .map_or_else(|| "-".to_owned(), |at| at.to_string()),
        ),
        ("secret", rotated.secret.expose().to_owned()),
    ];
    shown_once(api, &rotated, rows, "secret")
}

/// Titan's ids are numbers; anything else is sent as it is, for the
/// server to refuse.
fn titan_id(text: &str) -> WebhookId {
    match text.parse::<u64>() {
        Ok(id) if text.bytes().all(|b| b.is_ascii_digit()) => WebhookId::Number(id),
        _ => WebhookId::from(text),
    }
}

fn hmac_key(args: &HmacKeyArgs) -> Result<Option<HmacKey>, CliError> {
    let text = match (&args.hmac_key_env, &args.hmac_key_file) {
        (Some(var), _) => secret::from_env(var)?,
        (None, Some(path)) => secret::from_file(path)?,
        (None, None) => return Ok(None),
    };
    if text.is_empty() {
        return Err(CliError::other("the hmacKey is empty"));
    }
    Ok(Some(HmacKey::new(text.as_str())))
}

const SESSION_HINT: &str = "sessions are Titan's: its webhooks can filter on one";

fn no_key(api: &Api, args: &HmacKeyArgs) -> Result<(), CliError> {
    titan_only(
        api,
        args.hmac_key_env.is_some() || args.hmac_key_file.is_some(),
        "--hmac-key-env and --hmac-key-file",
        "the server generates the secret and shows it in the create (or rotate) answer",
    )
}

fn titan_only(api: &Api, given: bool, options: &str, hint: &str) -> Result<(), CliError> {
    if given {
        return Err(api.unsupported(&format!("{options} (Titan only)"), hint));
    }
    Ok(())
}

fn nothing_to_change() -> CliError {
    CliError::usage("nothing to change: name at least one field (see --help)")
}

/// Prints one object: JSON, or aligned rows.
fn show(
    api: &Api,
    value: &impl serde::Serialize,
    rows: Vec<(&str, String)>,
) -> Result<(), CliError> {
    if api.json {
        return api.print_json(value);
    }
    output::out(&output::aligned("", &rows));
    Ok(())
}

/// Prints an answer holding a secret that is shown only this once.
fn shown_once(
    api: &Api,
    value: &impl serde::Serialize,
    rows: Vec<(&str, String)>,
    name: &str,
) -> Result<(), CliError> {
    show(api, value, rows)?;
    if !api.json {
        output::warn(&format!(
            "the {name} is shown only this once: store it now, as you would a password"
        ));
    }
    Ok(())
}

fn print_table(headers: &[&str], rows: &[Vec<String>], what: &str) {
    if rows.is_empty() {
        output::out(&format!(
            "{}\n",
            output::paint(output::DIM, format!("(no {what})"))
        ));
    } else {
        output::out(&output::table(headers, rows));
    }
}

fn titan_row(webhook: &Webhook) -> Vec<String> {
    vec![
        webhook.id().to_string(),
        webhook.url().to_string(),
        events_text(webhook.filter().events()),
        webhook.filter().session().unwrap_or("*").to_owned(),
        yes_no(webhook.enabled()),
        webhook.label().unwrap_or("-").to_owned(),
        webhook.created_at().to_string(),
    ]
}

fn titan_details(webhook: &Webhook) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("id", webhook.id().to_string()),
        ("url", webhook.url().to_string()),
        ("events", events_text(webhook.filter().events())),
        (
            "session",
            webhook.filter().session().unwrap_or("*").to_owned(),
        ),
        ("enabled", yes_no(webhook.enabled())),
    ];
    if let Some(label) = webhook.label() {
        rows.push(("label", label.to_owned()));
    }
    if !webhook.headers().is_empty() {
        // Header values often hold credentials: names only.
        let names: Vec<&str> = webhook
            .headers()
            .iter()
            .map(|header| header.name())
            .collect();
        rows.push(("headers", names.join(", ")));
    }
    if let Some(retries) = webhook.retries() {
        rows.push((
            "retries",
            format!(
                "{} attempts, {} from {} s",
                retries.attempts(),
                retries.backoff(),
                retries.delay_seconds()
            ),
        ));
    }
    rows.push(("created", webhook.created_at().to_string()));
    rows
}

fn eventium_enabled(endpoint: &Endpoint) -> String {
    match (&endpoint.disabled_reason, endpoint.enabled) {
        (_, true) => "yes".to_owned(),
        (Some(reason), false) => format!("no ({reason})"),
        (None, false) => "no".to_owned(),
    }
}

fn eventium_row(endpoint: &Endpoint) -> Vec<String> {
    vec![
        endpoint.id.to_string(),
        endpoint.url.clone(),
        events_text(&endpoint.events),
        eventium_enabled(endpoint),
        endpoint
            .description
            .clone()
            .unwrap_or_else(|| "-".to_owned()),
        endpoint.created_at.to_string(),
    ]
}

fn eventium_details(endpoint: &Endpoint) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("id", endpoint.id.to_string()),
        ("url", endpoint.url.clone()),
        ("events", events_text(&endpoint.events)),
        ("enabled", eventium_enabled(endpoint)),
    ];
    if let Some(description) = &endpoint.description {
        rows.push(("description", description.clone()));
    }
    if !endpoint.headers.is_empty() {
        let names: Vec<&str> = endpoint
            .headers
            .iter()
            .map(|header| header.name())
            .collect();
        rows.push(("headers", names.join(", ")));
    }
    if let Some(until) = &endpoint.previous_secret_expires_at {
        rows.push(("old secret until", until.to_string()));
    }
    rows.push(("created", endpoint.created_at.to_string()));
    rows
}

fn titanx_status(status: TitanXWebhookStatus) -> String {
    match status {
        TitanXWebhookStatus::Active => "active",
        TitanXWebhookStatus::Inactive => "inactive",
        _ => "unknown",
    }
    .to_owned()
}

fn titanx_row(webhook: &TitanXWebhook) -> Vec<String> {
    vec![
        webhook.id.clone(),
        webhook.name.clone().unwrap_or_else(|| "-".to_owned()),
        webhook.url.clone(),
        events_text(&webhook.event_types),
        titanx_status(webhook.status),
        webhook.created_at.to_string(),
    ]
}

fn titanx_details(webhook: &TitanXWebhook) -> Vec<(&'static str, String)> {
    let mut rows = vec![("id", webhook.id.clone())];
    if let Some(name) = &webhook.name {
        rows.push(("name", name.clone()));
    }
    rows.extend([
        ("url", webhook.url.clone()),
        ("event types", events_text(&webhook.event_types)),
        ("status", titanx_status(webhook.status)),
        ("created", webhook.created_at.to_string()),
    ]);
    if let Some(secret) = &webhook.secret {
        rows.push(("secret", secret.expose().to_owned()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_ids_are_numbers_when_they_can_be() {
        assert_eq!(titan_id("42"), WebhookId::Number(42));
        assert_eq!(titan_id("+42"), WebhookId::from("+42"));
        assert_eq!(titan_id("wh_1"), WebhookId::from("wh_1"));
    }
}

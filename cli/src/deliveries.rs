//! `titan-webhooks deliveries`: Eventium's deliveries listing and
//! redelivery, through the library's client.

use futures_util::{StreamExt as _, TryStreamExt as _};
use titan_webhooks::client::DeliveryFilter;
use titan_webhooks::subscription::DeliveryView;

use crate::api::{Api, numeric_id};
use crate::cli::{ApiFlavour, DeliveriesArgs, DeliveriesCommand, DeliveriesListArgs};
use crate::error::{CliError, Outcome};
use crate::output;

/// The longest last error shown in the table; `get` on the JSON has all.
const MAX_ERROR_SHOWN: usize = 60;

/// Runs a `deliveries` subcommand.
pub fn run(args: &DeliveriesArgs) -> Result<Outcome, CliError> {
    let api = Api::new(&args.api, ApiFlavour::Eventium)?;
    if api.flavour != ApiFlavour::Eventium {
        return Err(api.unsupported(
            "the deliveries listing",
            "deliveries are Eventium's API: --flavour eventium",
        ));
    }
    match &args.command {
        DeliveriesCommand::List(list) => self::list(&api, list)?,
        DeliveriesCommand::Redeliver(id) => redeliver(&api, &id.id)?,
    }
    Ok(Outcome::Success)
}

fn list(api: &Api, args: &DeliveriesListArgs) -> Result<(), CliError> {
    let limit = args.limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit).unwrap_or(usize::MAX)
    });
    let mut filter = DeliveryFilter::default();
    filter.endpoint_id = args.endpoint;
    filter.status = args.status.clone();
    let deliveries: Vec<DeliveryView> = api.run(
        api.client
            .eventium()
            .deliveries(filter)
            .take(limit)
            .try_collect(),
    )?;
    if api.json {
        return api.print_json(&deliveries);
    }
    if deliveries.is_empty() {
        output::out(&format!(
            "{}\n",
            output::paint(output::DIM, "(no deliveries)")
        ));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = deliveries.iter().map(row).collect();
    output::out(&output::table(
        &[
            "ID",
            "ENDPOINT",
            "EVENT",
            "STATUS",
            "ATTEMPTS",
            "LAST",
            "NEXT RETRY",
            "CREATED",
        ],
        &rows,
    ));
    Ok(())
}

fn row(delivery: &DeliveryView) -> Vec<String> {
    let last = match (&delivery.last_status_code, &delivery.last_error) {
        (Some(status), Some(error)) => format!("{status}: {}", shorten(error)),
        (Some(status), None) => status.to_string(),
        (None, Some(error)) => shorten(error),
        (None, None) => "-".to_owned(),
    };
    vec![
        delivery.id.to_string(),
        delivery.endpoint_id.to_string(),
        delivery.event_type.clone(),
        delivery.status.clone(),
        delivery.attempts.to_string(),
        last,
        delivery
            .next_retry_at
            .map_or_else(|| "-".to_owned(), |at| at.to_string()),
        delivery.created_at.to_string(),
    ]
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_ERROR_SHOWN {
        return text.to_owned();
    }
    let mut short: String = text
        .chars()
        .take(MAX_ERROR_SHOWN.saturating_sub(1))
        .collect();
    short.push('…');
    short
}

fn redeliver(api: &Api, id: &str) -> Result<(), CliError> {
    let id = numeric_id(id, "the delivery id")?;
    let queued = api.run(api.client.eventium().redeliver(id))?;
    if api.json {
        return api.print_json(&queued);
    }
    output::out(&format!(
        "delivery {} queued again: {}\n",
        queued.id, queued.status
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(100);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_ERROR_SHOWN);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("refused"), "refused");
    }
}

//! TitanX's operations (seed 002): `/api/public/v2/webhooks`, UUID ids and
//! a `whsec_…` secret shown once.

use http::Method;

use super::request::Call;
use super::{Client, ClientError};
use crate::subscription::{CreateTitanXWebhook, Data, TitanXWebhook};

const WEBHOOKS: [&str; 4] = ["api", "public", "v2", "webhooks"];

/// TitanX's webhook operations. Made by [`Client::titanx`]; cloning is
/// cheap.
///
/// ```no_run
/// use titan_webhooks::client::{BearerToken, Client};
/// use titan_webhooks::subscription::CreateTitanXWebhook;
/// use titan_webhooks::TitanXEvent;
///
/// # async fn run() -> Result<(), titan_webhooks::client::ClientError> {
/// let titanx = Client::new("https://app.titanx.example", BearerToken::from_env("TITANX_API_KEY")?)?.titanx();
/// let request = CreateTitanXWebhook::new("https://your-app.example/webhooks/titanx", vec![TitanXEvent::JobContactScored]);
/// let created = titanx.create(&request).await?;
/// let secret = created.secret.as_ref().map(|secret| secret.expose()); // whsec_…, shown once
/// # let _ = secret;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TitanXClient {
    client: Client,
}

impl TitanXClient {
    pub(super) fn new(client: Client) -> Self {
        Self { client }
    }

    /// `POST /api/public/v2/webhooks`: creates a webhook. The answer's
    /// `secret`, `whsec_…`, is never shown again. Never retried.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::subscription::CreateTitanXWebhook;
    /// use titan_webhooks::TitanXEvent;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut request = CreateTitanXWebhook::new("https://your-app.example/webhooks/titanx", vec![TitanXEvent::JobContactScored]);
    /// request.name = Some("Production Contact Webhook".into());
    /// let created = client.titanx().create(&request).await?;
    /// assert!(created.secret.is_some());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] when the server refuses the request, for
    /// example `422 validation_failed` naming `eventTypes`; the other
    /// [`ClientError`]s when it cannot be made or its answer is not
    /// TitanX's.
    pub async fn create(
        &self,
        request: &CreateTitanXWebhook,
    ) -> Result<TitanXWebhook, ClientError> {
        let call = Call::new(Method::POST, &WEBHOOKS).json(request)?;
        self.client.call_json(call).await
    }

    /// `GET /api/public/v2/webhooks`: every webhook, without secrets.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// for webhook in client.titanx().list().await? {
    ///     println!("{} {} {:?}", webhook.id, webhook.url, webhook.status);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub async fn list(&self) -> Result<Vec<TitanXWebhook>, ClientError> {
        let answer: Data<Vec<TitanXWebhook>> = self
            .client
            .call_json(Call::new(Method::GET, &WEBHOOKS))
            .await?;
        Ok(answer.data)
    }

    /// `GET /api/public/v2/webhooks/{id}`: one webhook, without its secret.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let webhook = client.titanx().get("550e8400-e29b-41d4-a716-446655440000").await?;
    /// assert!(webhook.secret.is_none());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `400 invalid_id` for an id that is not a
    /// UUID and `404 not_found` for no such webhook; otherwise as
    /// [`create`](Self::create).
    pub async fn get(&self, id: &str) -> Result<TitanXWebhook, ClientError> {
        self.client
            .call_json(Call::new(Method::GET, &webhook_path(id)))
            .await
    }

    /// `DELETE /api/public/v2/webhooks/{id}`: deletes the webhook.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// client.titanx().delete("550e8400-e29b-41d4-a716-446655440000").await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub async fn delete(&self, id: &str) -> Result<(), ClientError> {
        self.client
            .call_empty(Call::new(Method::DELETE, &webhook_path(id)))
            .await
    }
}

fn webhook_path(id: &str) -> [&str; 5] {
    ["api", "public", "v2", "webhooks", id]
}

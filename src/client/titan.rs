//! Titan's operations (seeds 000 and 001): `/api/webhooks`, every answer
//! inside `{"data": …}`.

use http::Method;

use super::request::Call;
use super::{Client, ClientError};
use crate::subscription::{
    CreateWebhook, CreatedWebhook, Data, DeleteResult, UpdateWebhook, Webhook, WebhookId,
};

const WEBHOOKS: [&str; 2] = ["api", "webhooks"];

/// Titan's webhook operations. Made by [`Client::titan`]; cloning is cheap.
///
/// ```no_run
/// use titan_webhooks::client::{BearerToken, Client};
/// use titan_webhooks::subscription::UpdateWebhook;
///
/// # async fn run() -> Result<(), titan_webhooks::client::ClientError> {
/// let titan = Client::new("https://api.titan.example", BearerToken::from_env("TITAN_WEBHOOKS_TOKEN")?)?.titan();
/// let mut disable = UpdateWebhook::default();
/// disable.enabled = Some(false);
/// for webhook in titan.list().await? {
///     titan.update(webhook.id().clone(), &disable).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TitanClient {
    client: Client,
}

impl TitanClient {
    pub(super) fn new(client: Client) -> Self {
        Self { client }
    }

    /// `POST /api/webhooks`: creates a webhook. The answer holds the
    /// `hmacKey`, given or generated, which is never shown again. Never
    /// retried.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// use titan_webhooks::subscription::CreateWebhook;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut request = CreateWebhook::new("https://myapp.example/webhooks/titan");
    /// request.events = Some(vec!["message.received".into()]);
    /// let created = client.titan().create(&request).await?;
    /// println!("webhook {} signs with {:?}", created.webhook().id(), created.hmac_key());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] when the server refuses the request, for
    /// example `422 validation_failed` naming the field; the other
    /// [`ClientError`]s when it cannot be made or its answer is not
    /// Titan's.
    pub async fn create(&self, request: &CreateWebhook) -> Result<CreatedWebhook, ClientError> {
        let call = Call::new(Method::POST, &WEBHOOKS).json(request)?;
        let answer: Data<CreatedWebhook> = self.client.call_json(call).await?;
        Ok(answer.data)
    }

    /// `GET /api/webhooks`: every webhook of the account, without keys.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// for webhook in client.titan().list().await? {
    ///     println!("{} {}", webhook.id(), webhook.url());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub async fn list(&self) -> Result<Vec<Webhook>, ClientError> {
        let answer: Data<Vec<Webhook>> = self
            .client
            .call_json(Call::new(Method::GET, &WEBHOOKS))
            .await?;
        Ok(answer.data)
    }

    /// `GET /api/webhooks/{id}`: one webhook, without its key.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let webhook = client.titan().get(42).await?;
    /// assert_eq!(webhook.id().to_string(), "42");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with `404 not_found` when there is no such
    /// webhook; otherwise as [`create`](Self::create).
    pub async fn get(&self, id: impl Into<WebhookId>) -> Result<Webhook, ClientError> {
        let id = id.into().to_string();
        let answer: Data<Webhook> = self
            .client
            .call_json(Call::new(Method::GET, &["api", "webhooks", &id]))
            .await?;
        Ok(answer.data)
    }

    /// `PUT /api/webhooks/{id}`: changes the fields `change` names; a new
    /// `hmacKey` takes effect at once. Returns the webhook as changed.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// use titan_webhooks::subscription::UpdateWebhook;
    ///
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let mut change = UpdateWebhook::default();
    /// change.events = Some(vec!["message.received".into(), "message.sent".into()]);
    /// let webhook = client.titan().update(42, &change).await?;
    /// assert_eq!(webhook.filter().events().len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), and [`ClientError::Api`] with `422
    /// validation_failed` for a change that breaks a rule.
    pub async fn update(
        &self,
        id: impl Into<WebhookId>,
        change: &UpdateWebhook,
    ) -> Result<Webhook, ClientError> {
        let id = id.into().to_string();
        let call = Call::new(Method::PUT, &["api", "webhooks", &id]).json(change)?;
        let answer: Data<Webhook> = self.client.call_json(call).await?;
        Ok(answer.data)
    }

    /// `DELETE /api/webhooks/{id}`: deletes the webhook; a delivery in
    /// flight still completes.
    ///
    /// ```no_run
    /// # use titan_webhooks::client::Client;
    /// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
    /// let deleted = client.titan().delete(42).await?;
    /// assert!(deleted.success);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub async fn delete(&self, id: impl Into<WebhookId>) -> Result<DeleteResult, ClientError> {
        let id = id.into().to_string();
        let answer: Data<DeleteResult> = self
            .client
            .call_json(Call::new(Method::DELETE, &["api", "webhooks", &id]))
            .await?;
        Ok(answer.data)
    }
}

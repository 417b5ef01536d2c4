//! Group commit: concurrent dispatches share one store transaction.
//!
//! One writer task per dispatcher takes whatever enqueues are waiting, up
//! to [`MAX_GROUP_COMMIT`] envelopes, commits them with
//! [`DeliveryStore::enqueue_many`] (one alone with
//! [`DeliveryStore::enqueue`]) and answers each caller with its own part.
//! It never waits for more to arrive: a lone dispatch is committed at once,
//! and batches form only from dispatches that arrive while a commit is in
//! flight.

use std::sync::{Mutex, PoisonError, Weak};

use tokio::sync::{mpsc, oneshot};

use super::dispatcher::Inner;
use crate::queue::{DeliveryStore, Prepared, StoreError};
use crate::subscription::WebhookId;

/// The most envelopes the dispatcher commits in one store transaction.
///
/// Dispatches waiting while a commit is in flight are committed together,
/// up to this many; so, as long as fewer than this many envelopes wait, a
/// dispatch waits for at most the commit in flight and then its own.
/// [`Dispatcher::dispatch_many`](super::Dispatcher::dispatch_many) commits
/// more envelopes than this in several transactions of up to this size.
///
/// ```
/// assert_eq!(titan_webhooks::transport::MAX_GROUP_COMMIT, 256);
/// ```
pub const MAX_GROUP_COMMIT: usize = 256;

/// An envelope with what the store newly queued it for.
pub(super) type Committed = (Prepared, Vec<WebhookId>);

/// Envelopes to commit together, and where their caller waits.
struct Request {
    items: Vec<Prepared>,
    reply: oneshot::Sender<Result<Vec<Committed>, StoreError>>,
}

/// The way to a dispatcher's writer task, started on first use.
#[derive(Debug, Default)]
pub(super) struct Writer {
    requests: Mutex<Option<mpsc::UnboundedSender<Request>>>,
}

/// The writer stopped before it answered: its runtime shut down, or the
/// store panicked. The items may or may not be committed.
pub(super) struct Interrupted;

impl<S: DeliveryStore, W: Send + Sync + 'static> Inner<S, W> {
    /// Commits `items` (at most [`MAX_GROUP_COMMIT`]) together with
    /// whatever other dispatches are waiting, and returns each with the
    /// webhooks it was newly queued for.
    ///
    /// Dropping the returned future does not disturb the other callers:
    /// the writer skips a request whose caller is gone if it has not begun
    /// committing it, and otherwise commits it and drops the answer.
    pub(super) async fn commit(
        self: &std::sync::Arc<Self>,
        items: Vec<Prepared>,
    ) -> Result<Result<Vec<Committed>, StoreError>, Interrupted> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No tokio runtime to run a writer on: commit alone.
            let queued = match self.store.enqueue_many(&items).await {
                Ok(queued) => queued,
                Err(err) => return Ok(Err(err)),
            };
            return Ok(Ok(pair_up(items, queued)));
        };
        let (reply, answer) = oneshot::channel();
        let request = Request { items, reply };
        {
            let mut requests = self
                .writer
                .requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let unsent = match requests.as_ref() {
                Some(sender) => sender.send(request).err().map(|unsent| unsent.0),
                None => Some(request),
            };
            // First use, or the writer is gone (its runtime shut down):
            // start one on the caller's runtime.
            if let Some(request) = unsent {
                let (sender, receiver) = mpsc::unbounded_channel();
                let _ = sender.send(request);
                runtime.spawn(write(std::sync::Arc::downgrade(self), receiver));
                *requests = Some(sender);
            }
        }
        answer.await.map_err(|_| Interrupted)
    }
}

/// The writer: commits what is waiting, answers, and repeats until the
/// dispatcher is dropped. It holds the dispatcher only weakly, so dropping
/// the last handle ends it; callers whose requests it then drops are told
/// they were interrupted.
async fn write<S: DeliveryStore, W: Send + Sync + 'static>(
    inner: Weak<Inner<S, W>>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut held_over: Option<Request> = None;
    loop {
        let first = match held_over.take() {
            Some(request) => request,
            None => match requests.recv().await {
                Some(request) => request,
                None => return,
            },
        };
        let mut size = first.items.len();
        let mut batch = vec![first];
        while size < MAX_GROUP_COMMIT {
            let Ok(request) = requests.try_recv() else {
                break;
            };
            if size.saturating_add(request.items.len()) > MAX_GROUP_COMMIT {
                held_over = Some(request);
                break;
            }
            size = size.saturating_add(request.items.len());
            batch.push(request);
        }
        // A caller that gave up before its commit began is not committed
        // for.
        batch.retain(|request| !request.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut counts = Vec::with_capacity(batch.len());
        let mut items = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(batch.len());
        for request in batch {
            counts.push(request.items.len());
            items.extend(request.items);
            replies.push(request.reply);
        }
        let result = match items.as_slice() {
            // Alone, the store's own `enqueue` is the cheaper statement.
            [one] => inner
                .store
                .enqueue(&one.record, &one.webhooks)
                .await
                .map(|queued| vec![queued]),
            _ => inner.store.enqueue_many(&items).await,
        };
        drop(inner);
        match result {
            Ok(queued) => {
                let mut committed = pair_up(items, queued).into_iter();
                for (reply, count) in replies.into_iter().zip(counts) {
                    let _ = reply.send(Ok(committed.by_ref().take(count).collect()));
                }
            }
            Err(err) => {
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Each item with what the store newly queued it for; a store that
/// answered for fewer items queued nothing new for the rest.
fn pair_up(items: Vec<Prepared>, queued: Vec<Vec<WebhookId>>) -> Vec<Committed> {
    let mut queued = queued.into_iter();
    items
        .into_iter()
        .map(|item| (item, queued.next().unwrap_or_default()))
        .collect()
}

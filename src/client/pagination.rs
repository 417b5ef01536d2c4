//! Cursor pagination as a [`Stream`]: each page fetched when the one
//! before has been consumed.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, BoxStream, Stream, StreamExt as _};
use http::StatusCode;

use super::ClientError;
use crate::subscription::Page;

/// Every item of a listing, across its pages: a [`Stream`] of
/// `Result<T, ClientError>`. The next page is fetched, with the last
/// page's `next_cursor`, only once the items before it are consumed; the
/// stream ends after the page without a `next_cursor`, or after the first
/// error.
///
/// Made by [`EventiumClient::endpoints`](super::EventiumClient::endpoints)
/// and [`EventiumClient::deliveries`](super::EventiumClient::deliveries).
///
/// ```no_run
/// use futures_util::TryStreamExt as _;
/// use titan_webhooks::client::{Client, DeliveryFilter};
///
/// # async fn run(client: Client) -> Result<(), titan_webhooks::client::ClientError> {
/// let mut failing = client.eventium().deliveries(DeliveryFilter::default().status("retry"));
/// while let Some(delivery) = failing.try_next().await? {
///     println!("{} {}: {:?}", delivery.id, delivery.event_type, delivery.last_error);
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a stream does nothing until polled"]
pub struct PageStream<T> {
    inner: BoxStream<'static, Result<T, ClientError>>,
}

impl<T: Send + 'static> PageStream<T> {
    /// The items of the pages `fetch` gives for each cursor, starting with
    /// no cursor.
    pub(super) fn new<F, Fut>(fetch: F) -> Self
    where
        F: FnMut(Option<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, ClientError>> + Send + 'static,
    {
        let state = State {
            fetch,
            cursor: None,
            items: VecDeque::new(),
            done: false,
        };
        let inner = stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.items.pop_front() {
                    return Some((Ok(item), state));
                }
                if state.done {
                    return None;
                }
                match (state.fetch)(state.cursor.clone()).await {
                    Ok(page) => {
                        if page.next_cursor.is_some() && page.next_cursor == state.cursor {
                            state.done = true;
                            let err = ClientError::InvalidBody {
                                status: StatusCode::OK,
                                detail: "`next_cursor` repeats the cursor of the page it is on"
                                    .to_owned(),
                            };
                            return Some((Err(err), state));
                        }
                        state.done = page.next_cursor.is_none();
                        state.cursor = page.next_cursor;
                        state.items = page.data.into();
                    }
                    Err(err) => {
                        state.done = true;
                        return Some((Err(err), state));
                    }
                }
            }
        })
        .boxed();
        Self { inner }
    }
}

struct State<T, F> {
    fetch: F,
    cursor: Option<String>,
    items: VecDeque<T>,
    done: bool,
}

impl<T> Stream for PageStream<T> {
    type Item = Result<T, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<T> fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt as _;
    use std::sync::{Arc, Mutex};

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn pages_are_followed_by_cursor_until_the_last() {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let stream = PageStream::new(move |cursor: Option<String>| {
            seen.lock().unwrap().push(cursor.clone());
            async move {
                Ok(match cursor.as_deref() {
                    None => Page::new(vec![1, 2], Some("2".into())),
                    Some("2") => Page::new(vec![], Some("3".into())),
                    _ => Page::new(vec![3], None),
                })
            }
        });
        let items: Vec<u32> = block_on(stream.try_collect()).unwrap();
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(
            *asked.lock().unwrap(),
            [None, Some("2".to_owned()), Some("3".to_owned())]
        );
    }

    #[test]
    fn a_cursor_that_does_not_advance_ends_the_stream_with_an_error() {
        let stream = PageStream::new(|cursor: Option<String>| async move {
            let _ = cursor;
            Ok(Page::new(vec![1u32], Some("same".into())))
        });
        let results: Vec<_> = block_on(stream.collect::<Vec<_>>());
        // The repeated page is the first one again: its items are not
        // given twice.
        assert_eq!(results.len(), 2, "one item, then the error: {results:?}");
        assert_eq!(results[0].as_ref().unwrap(), &1);
        assert!(matches!(results[1], Err(ClientError::InvalidBody { .. })));
    }

    #[test]
    fn an_error_ends_the_stream() {
        let stream = PageStream::<u32>::new(|_| async {
            Err(ClientError::Timeout {
                after: std::time::Duration::from_secs(1),
            })
        });
        let results: Vec<_> = block_on(stream.collect::<Vec<_>>());
        assert_eq!(results.len(), 1);
        assert!(results[0].as_ref().unwrap_err().is_timeout());
    }
}

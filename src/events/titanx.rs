//! TitanX's event catalog (seed 002).
//!
//! TitanX documents its event types and its subscription object but not the
//! body of a delivery, so deliveries are read as `serde_json::Value`.

use super::{event_catalog, event_category};

event_category! {
    /// The groups of TitanX's event types.
    pub enum TitanXCategory {
        /// Scoring jobs.
        Job = "job",
    }
}

event_catalog! {
    /// TitanX's event types: `job.contact.scored` and `job.completed`.
    ///
    /// ```
    /// use titan_webhooks::TitanXEvent;
    ///
    /// let event: TitanXEvent = "job.contact.scored".parse().unwrap();
    /// assert_eq!(event, TitanXEvent::JobContactScored);
    /// assert_eq!(TitanXEvent::ALL.len(), 2);
    /// ```
    pub enum TitanXEvent in TitanXCategory {
        JobContactScored = "job.contact.scored" => Job,
        JobCompleted = "job.completed" => Job,
    }
}

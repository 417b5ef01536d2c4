//! Titan's event catalog (seeds 000 and 001).

use super::{event_catalog, event_category};

event_category! {
    /// The groups of Titan's event reference.
    pub enum TitanCategory {
        /// Messages: received, sent, acknowledged, edited and so on.
        Message = "message",
        /// Session status and lifecycle.
        Session = "session",
        /// Group updates and participants.
        Group = "group",
        /// Presence updates.
        Presence = "presence",
        /// Calls.
        Call = "call",
        /// Contacts.
        Contact = "contact",
        /// Chats.
        Chat = "chat",
        /// Labels.
        Labels = "labels",
        /// Newsletters.
        Newsletter = "newsletter",
        /// The blocklist.
        Blocklist = "blocklist",
        /// History sync.
        History = "history",
        /// Command results.
        Command = "command",
    }
}

event_catalog! {
    /// The 31 event types of Titan's catalog, from `message.received` to
    /// `command.result`, plus any type Titan adds later as
    /// [`TitanEvent::Unknown`].
    ///
    /// ```
    /// use titan_webhooks::{TitanCategory, TitanEvent};
    ///
    /// let event: TitanEvent = "session.status".parse().unwrap();
    /// assert_eq!(event, TitanEvent::SessionStatus);
    /// assert_eq!(event.category(), Some(TitanCategory::Session));
    /// assert_eq!(serde_json::to_string(&event).unwrap(), r#""session.status""#);
    ///
    /// // A type Titan adds later is kept, never an error.
    /// let added: TitanEvent = serde_json::from_str(r#""message.pinned""#).unwrap();
    /// assert!(!added.is_known());
    /// assert_eq!(added.category(), Some(TitanCategory::Message));
    /// assert_eq!(serde_json::to_string(&added).unwrap(), r#""message.pinned""#);
    /// ```
    pub enum TitanEvent in TitanCategory {
        MessageReceived = "message.received" => Message,
        MessageSent = "message.sent" => Message,
        MessageAck = "message.ack" => Message,
        MessageRevoked = "message.revoked" => Message,
        MessageReaction = "message.reaction" => Message,
        MessageEdited = "message.edited" => Message,
        MessageUpdate = "message.update" => Message,
        MessageDelete = "message.delete" => Message,
        MessageVote = "message.vote" => Message,
        SessionStatus = "session.status" => Session,
        SessionQr = "session.qr" => Session,
        SessionConnected = "session.connected" => Session,
        SessionLoggedOut = "session.logged_out" => Session,
        GroupUpdate = "group.update" => Group,
        GroupParticipant = "group.participant" => Group,
        PresenceUpdate = "presence.update" => Presence,
        CallReceived = "call.received" => Call,
        CallMissed = "call.missed" => Call,
        CallAccepted = "call.accepted" => Call,
        CallRejected = "call.rejected" => Call,
        ContactUpdate = "contact.update" => Contact,
        ChatArchive = "chat.archive" => Chat,
        ChatMute = "chat.mute" => Chat,
        ChatRead = "chat.read" => Chat,
        ChatClear = "chat.clear" => Chat,
        ChatDelete = "chat.delete" => Chat,
        LabelsUpdate = "labels.update" => Labels,
        NewsletterUpdate = "newsletter.update" => Newsletter,
        BlocklistUpdate = "blocklist.update" => Blocklist,
        HistorySync = "history.sync" => History,
        CommandResult = "command.result" => Command,
    }
}

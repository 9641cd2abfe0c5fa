//! Where a push message stands on its way to a phone, as the outbox stores it.

/// A push message's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for its next attempt.
    Pending,
    /// Taken by a worker under a lease.
    Sending,
    /// FCM accepted it.
    Sent,
    /// FCM refused it for good.
    Failed,
    /// Nothing to send it to (the user has no device).
    Skipped,
}

impl Delivery {
    pub const fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sending => "sending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::Skipped => "skipped",
        }
    }
}

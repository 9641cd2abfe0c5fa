//! Push notifications to the canvassers' phones.
//!
//! [`fcm`] is a small Firebase Cloud Messaging HTTP v1 client: it turns a Google
//! service-account key into OAuth2 access tokens, sends one message per request and
//! says what to do with each outcome (done, delete the device token, retry later, or
//! give up loudly). [`notify`] writes walk-list events to the outbox in the
//! transaction that made the change; [`worker`] drains the outbox and expires lists.

pub mod fcm;
pub mod notify;
pub mod worker;

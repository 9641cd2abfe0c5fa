//! Pure domain types and rules: no actix, no diesel. Every value with a rule is parsed
//! into a type here once, at the edge, and trusted afterwards.

mod email;
pub mod json;
mod page;
mod password;
mod role;
mod text;

pub use email::Email;
pub use page::{MAX_PAGE_LIMIT, PageRequest};
pub use password::NewPassword;
pub use role::Role;
pub use text::{DeviceToken, DisplayName, Platform};

/// A value that broke a rule: which input, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            field,
            message: message.into(),
        }
    }
}

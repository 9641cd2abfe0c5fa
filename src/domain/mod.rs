//! Pure domain types and rules: no actix, no diesel. Every value with a rule is parsed
//! into a type here once, at the edge, and trusted afterwards.

mod delivery;
mod email;
pub mod ids;
pub mod json;
mod page;
mod password;
mod role;
mod text;
mod when;

pub use delivery::Delivery;
pub use email::Email;
pub use ids::{DoorId, KnockId, PersonId, ScriptId, TurfId, WalkListId};
pub use page::{MAX_PAGE_LIMIT, PageRequest};
pub use password::NewPassword;
pub use role::Role;
pub use text::{DeviceToken, DisplayName, Platform};
pub use when::When;

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

/// A door's address as a person writes it: "Street 12, unit 3, Town", leaving out the
/// parts that are empty.
pub fn address_line(street: &str, housenumber: &str, unit: &str, city: &str) -> String {
    let first = [street.trim(), housenumber.trim()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let unit = unit.trim();
    let unit = (!unit.is_empty()).then(|| format!("unit {unit}"));
    [Some(first), unit, Some(city.trim().to_owned())]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_line_leaves_out_empty_parts() {
        assert_eq!(
            super::address_line("Landstrasse", "12", "3", "Vaduz"),
            "Landstrasse 12, unit 3, Vaduz"
        );
        assert_eq!(
            super::address_line("Landstrasse", " ", "", "Vaduz"),
            "Landstrasse, Vaduz"
        );
        assert_eq!(super::address_line("", "", "", ""), "");
    }
}

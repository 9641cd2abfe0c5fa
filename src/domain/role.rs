//! Roles, ordered by what they may do: volunteer < organizer < director < admin.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A user's role in their campaign. The order of the variants is the order of privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Volunteer,
    Organizer,
    Director,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Volunteer,
        Role::Organizer,
        Role::Director,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Volunteer => "volunteer",
            Role::Organizer => "organizer",
            Role::Director => "director",
            Role::Admin => "admin",
        }
    }

    /// Whether someone with this role may hand `other` to a user: never above one's own.
    pub fn may_grant(self, other: Role) -> bool {
        self >= Role::Organizer && other <= self
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    "role",
                    format!("unknown role {s:?}; expected volunteer, organizer, director or admin"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Volunteer < Role::Organizer);
        assert!(Role::Organizer < Role::Director);
        assert!(Role::Director < Role::Admin);
    }

    #[test]
    fn nobody_grants_above_their_own_role() {
        assert!(Role::Organizer.may_grant(Role::Volunteer));
        assert!(Role::Organizer.may_grant(Role::Organizer));
        assert!(!Role::Organizer.may_grant(Role::Director));
        assert!(!Role::Director.may_grant(Role::Admin));
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Volunteer.may_grant(Role::Volunteer));
    }

    #[test]
    fn parses_its_own_names_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("superuser".parse::<Role>().is_err());
    }
}

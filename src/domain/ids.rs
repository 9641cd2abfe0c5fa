//! Typed ids: a door id is not a list id, and the compiler says so. Each is the row's
//! 64-bit key, serialised as a plain number (so stored knocks keep their content hash);
//! the store layer takes and gives bare `i64`, converted at its edge.

use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The row's key, for the store.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A door (an address with its unit).
    DoorId;
    /// A person of the voter file, or one met at a door.
    PersonId;
    /// A walk list.
    WalkListId;
    /// A turf.
    TurfId;
    /// A script of an experiment.
    ScriptId;
    /// A stored knock.
    KnockId;
}

/// The ids of a slice of typed ids, for the store.
pub fn raw<I: Copy + Into<i64>>(ids: &[I]) -> Vec<i64> {
    ids.iter().map(|&i| i.into()).collect()
}

macro_rules! into_i64 {
    ($($name:ident),*) => {$(
        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

into_i64!(DoorId, PersonId, WalkListId, TurfId, ScriptId, KnockId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_on_the_wire() {
        assert_eq!(serde_json::to_string(&DoorId(7)).ok().as_deref(), Some("7"));
        let list: WalkListId = serde_json::from_str("42").unwrap_or(WalkListId(0));
        assert_eq!(list, WalkListId(42));
        assert_eq!(raw(&[PersonId(1), PersonId(2)]), vec![1, 2]);
    }
}

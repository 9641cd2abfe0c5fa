//! Nested request objects that are objects only.
//!
//! serde lets a struct be written as a JSON array of its fields in order (`"scope":
//! [null, [12]]`), which the API contract does not allow and nobody means. A field read
//! with these helpers takes a JSON object (or, for the optional ones, null or nothing)
//! and answers anything else with "expected a JSON object". Field paths in errors are
//! kept (`scope.turf_ids`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A value that must be written as a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

/// For `#[serde(deserialize_with = "…")]` on a struct-typed field.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|o| o.0)
}

/// For an optional struct-typed field (with `#[serde(default)]`): null or an object.
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// For a list of structs: a list of objects.
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(deserialize_with = "object")]
        one: Inner,
        #[serde(default, deserialize_with = "optional_object")]
        maybe: Option<Inner>,
        #[serde(default, deserialize_with = "objects")]
        many: Vec<Inner>,
    }

    #[test]
    fn objects_are_taken_and_arrays_are_not() {
        let ok: Result<Outer, _> =
            serde_json::from_str(r#"{"one": {"a": 1}, "maybe": null, "many": [{"a": 2}]}"#);
        assert_eq!(
            ok.ok(),
            Some(Outer {
                one: Inner { a: 1 },
                maybe: None,
                many: vec![Inner { a: 2 }],
            })
        );
        let absent: Result<Outer, _> = serde_json::from_str(r#"{"one": {"a": 1}}"#);
        assert!(absent.is_ok_and(|o| o.maybe.is_none() && o.many.is_empty()));
        for bad in [
            r#"{"one": [1]}"#,
            r#"{"one": {"a": 1}, "maybe": [1]}"#,
            r#"{"one": {"a": 1}, "many": [[2]]}"#,
        ] {
            let err = serde_json::from_str::<Outer>(bad)
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains("a JSON object")),
                "{bad}: {err:?}"
            );
        }
    }
}

//! The checks of a knock against what the store knows, without a store.

use chrono::NaiveDateTime;
use serde_json::json;

use super::*;

const LIST: WalkListId = WalkListId(7);
const DOOR: DoorId = DoorId(40);
const OTHER_LIST: WalkListId = WalkListId(9);
const ANNA: PersonId = PersonId(1);
const BEN: PersonId = PersonId(2);

fn time(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

/// A list created on 1 May with one door, where Anna (1) and Ben (2) live; the door has
/// since moved to another list.
fn known() -> Known {
    let mut k = Known::default();
    k.lists.insert(LIST, (time("2024-05-01 09:00"), true));
    k.lists
        .insert(OTHER_LIST, (time("2024-05-01 09:00"), false));
    k.turfs.insert(LIST, TurfId(3));
    k.doors.insert(DOOR, (47.14, 9.52, 644_123_456_789));
    k.stops.insert((LIST, DOOR), Some(WalkListId(8)));
    k.residents.insert(DOOR, vec![ANNA, BEN]);
    k
}

fn input(v: serde_json::Value) -> KnockInput {
    let mut base = json!({
        "client_id": "0b7c1f0e-8d5b-4c35-9d8e-2f8f7b3c1a01",
        "walk_list_id": LIST,
        "door_id": DOOR,
        "result": "contacted",
        "knocked_at": "2024-05-04T10:00:00Z",
    });
    if let (Some(b), Some(extra)) = (base.as_object_mut(), v.as_object()) {
        for (key, value) in extra {
            b.insert(key.clone(), value.clone());
        }
    }
    serde_json::from_value(base).unwrap()
}

fn run(k: &KnockInput) -> Result<Accepted<'_>, String> {
    let known = known();
    let questions = vec![knock::support_id_question()];
    let checks = Checks {
        questions: &questions,
        known: &known,
        now: time("2024-05-04 12:00"),
    };
    check(&checks, 0, k, ("c".into(), "h".into()))
}

#[test]
fn a_knock_at_a_door_that_moved_counts_on_its_list_now_with_its_support_id() {
    let k = input(json!({ "people": [{ "person_id": 1, "answers": { "support_id": 2 } }] }));
    let a = run(&k).unwrap();
    assert_eq!(a.counted_list, WalkListId(8));
    assert_eq!(a.residents, vec![ANNA, BEN]);
    assert_eq!(a.named, vec![ANNA]);
    assert_eq!(a.support_ids, vec![(ANNA, 2)]);
    assert_eq!(
        a.answers,
        vec![(ANNA, "support_id".to_owned(), "2".to_owned())]
    );
    assert!(a.flagged.is_empty());
}

#[test]
fn each_broken_rule_is_its_own_reason() {
    let cases = [
        (json!({ "walk_list_id": 99 }), "unknown walk list 99"),
        (json!({ "walk_list_id": OTHER_LIST }), "is not yours"),
        (json!({ "door_id": 41 }), "unknown door 41"),
        (
            json!({ "knocked_at": "2024-04-20T10:00:00Z" }),
            "more than a day before walk list",
        ),
        (
            json!({ "people": [{ "person_id": 3, "answers": {} }] }),
            "person 3 does not live at door 40",
        ),
        (
            json!({ "people": [{ "person_id": 1, "answers": { "mood": 1 } }] }),
            "unknown question \"mood\"",
        ),
        (
            json!({ "people": [{ "person_id": 1, "answers": { "support_id": 9 } }] }),
            "support_id",
        ),
        (json!({ "script_id": 5 }), "unknown script 5"),
    ];
    for (change, why) in cases {
        let k = input(change.clone());
        let reason = run(&k).err().unwrap_or_default();
        assert!(reason.contains(why), "{change}: {reason:?}");
    }
}

#[test]
fn moved_without_names_flags_the_people_the_list_names_there() {
    let mut known = known();
    known.listed.insert((LIST, DOOR), vec![BEN]);
    let questions = vec![knock::support_id_question()];
    let checks = Checks {
        questions: &questions,
        known: &known,
        now: time("2024-05-04 12:00"),
    };
    let k = input(json!({ "result": "moved" }));
    let a = check(&checks, 0, &k, ("c".into(), "h".into())).unwrap();
    assert_eq!(a.flagged, vec![BEN]);
    let named = input(json!({ "result": "moved", "people": [{ "person_id": 1 }] }));
    let a = check(&checks, 0, &named, ("c".into(), "h".into())).unwrap();
    assert_eq!(a.flagged, vec![ANNA]);
}

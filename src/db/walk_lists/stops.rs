//! A list's stops after it was built: the unfinished ones, new walking orders, doors
//! moved between lists, and which doors other live lists hold.

use super::*;

/// The stops of the list not finished yet, in walking order, with the people the list
/// names at each.
pub fn unfinished(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<Vec<(Door, Vec<i64>)>> {
    let doors: Vec<Door> = walk_list_stops::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(doors::id.eq(walk_list_stops::door_id))),
        )
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null())
        .filter(walk_list_stops::finished.eq(false))
        .order(walk_list_stops::position)
        .select(Door::as_select())
        .load(conn)?;
    let mut named = people(conn, campaign_id, list_id)?;
    Ok(doors
        .into_iter()
        .map(|d| {
            let ids = named
                .remove(&d.id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect();
            (d, ids)
        })
        .collect())
}

/// Which of `door_ids` are stops of the list.
pub fn stops_among(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::door_id.eq_any(door_ids))
        .filter(walk_list_stops::moved_to.is_null())
        .select(walk_list_stops::door_id)
        .load(conn)
}

/// Replaces the order and the route figures of a list whose stops changed: `order`
/// holds every remaining door of the list, in walking order.
pub fn reorder(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    order: &[i64],
    route: (f64, f64),
) -> QueryResult<()> {
    // Positions are unique only by convention, so they can be rewritten one by one.
    for (i, door_id) in order.iter().enumerate() {
        diesel::update(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::walk_list_id.eq(list_id))
                .filter(walk_list_stops::door_id.eq(door_id)),
        )
        .set(walk_list_stops::position.eq(count(i)))
        .execute(conn)?;
    }
    let people_count: i64 = walk_list_people::table
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::walk_list_id.eq(list_id))
        .count()
        .get_result(conn)?;
    diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id)),
    )
    .set((
        walk_lists::door_count.eq(count(order.len())),
        walk_lists::people_count.eq(people_count),
        walk_lists::distance_m.eq(route.0),
        walk_lists::walking_seconds.eq(route.1),
    ))
    .execute(conn)?;
    touch(conn, campaign_id, list_id)
}

/// Moves doors (with their people) from one list to the end of another; the caller
/// reorders both afterwards. Cells of the target are added; the source keeps its cells
/// (a stale cell only makes "near me" look one ring further, never miss a list).
pub fn move_stops(
    conn: &mut DbConnection,
    campaign_id: i64,
    from: i64,
    to: i64,
    door_ids: &[i64],
    cells9: &[i64],
) -> QueryResult<()> {
    let moved_people: Vec<(i64, i64)> = walk_list_people::table
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::walk_list_id.eq(from))
        .filter(walk_list_people::door_id.eq_any(door_ids))
        .select((walk_list_people::person_id, walk_list_people::door_id))
        .load(conn)?;
    diesel::delete(
        walk_list_people::table
            .filter(walk_list_people::campaign_id.eq(campaign_id))
            .filter(walk_list_people::walk_list_id.eq(from))
            .filter(walk_list_people::door_id.eq_any(door_ids)),
    )
    .execute(conn)?;
    // The source keeps its rows (not live, pointing at the target), so knocks made
    // offline against it still sync; what the doors have seen moves with them.
    let moved = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(from))
        .filter(walk_list_stops::door_id.eq_any(door_ids));
    let seen: Vec<(i64, Option<String>, Option<NaiveDateTime>, bool)> = moved
        .clone()
        .select((
            walk_list_stops::door_id,
            walk_list_stops::last_result,
            walk_list_stops::last_knocked_at,
            walk_list_stops::finished,
        ))
        .load(conn)?;
    diesel::update(moved)
        .set((
            walk_list_stops::live.eq(false),
            walk_list_stops::moved_to.eq(to),
        ))
        .execute(conn)?;
    let last: Option<i64> = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(to))
        .select(diesel::dsl::max(walk_list_stops::position))
        .first(conn)?;
    let mut people_by_door: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (person, door) in moved_people {
        people_by_door.entry(door).or_default().push(person);
    }
    let stops: Vec<NewStop> = door_ids
        .iter()
        .zip(cells9)
        .map(|(&door_id, &cell9)| NewStop {
            door_id,
            people: people_by_door.remove(&door_id).unwrap_or_default(),
            cell9,
        })
        .collect();
    insert_stops(conn, campaign_id, to, last.map_or(0, |p| p + 1), &stops)?;
    for (door, result, at, finished) in seen {
        diesel::update(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::walk_list_id.eq(to))
                .filter(walk_list_stops::door_id.eq(door)),
        )
        .set((
            walk_list_stops::last_result.eq(result),
            walk_list_stops::last_knocked_at.eq(at),
            walk_list_stops::finished.eq(finished),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// Whether any of the doors is on a live list now.
pub fn any_live(conn: &mut DbConnection, campaign_id: i64, door_ids: &[i64]) -> QueryResult<bool> {
    for chunk in door_ids.chunks(1000) {
        let n: i64 = walk_list_stops::table
            .filter(walk_list_stops::campaign_id.eq(campaign_id))
            .filter(walk_list_stops::door_id.eq_any(chunk))
            .filter(walk_list_stops::live)
            .count()
            .get_result(conn)?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Which of `door_ids` are live on a list other than `except`.
pub fn live_elsewhere(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
    except: i64,
) -> QueryResult<std::collections::HashSet<i64>> {
    let mut out = std::collections::HashSet::new();
    for chunk in door_ids.chunks(1000) {
        out.extend(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::door_id.eq_any(chunk))
                .filter(walk_list_stops::live)
                .filter(walk_list_stops::walk_list_id.ne(except))
                .select(walk_list_stops::door_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(out)
}

/// Where the list's doors are, in walking order.
pub fn stop_locations(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<Vec<(f64, f64)>> {
    walk_list_stops::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(doors::id.eq(walk_list_stops::door_id))),
        )
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null())
        .order(walk_list_stops::position)
        .select((doors::lat, doors::lng))
        .load(conn)
}

/// One stop of a turf's list: (door, the list's universe as stored, finished, last
/// result).
pub type StopHistory = (i64, String, bool, Option<String>);

/// What the turf's lists did at each door so far, for the stops still on their list.
pub fn turf_stop_history(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
) -> QueryResult<Vec<StopHistory>> {
    walk_list_stops::table
        .inner_join(
            walk_lists::table.on(walk_lists::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(walk_lists::id.eq(walk_list_stops::walk_list_id))),
        )
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::turf_id.eq(turf_id))
        .filter(walk_list_stops::moved_to.is_null())
        .select((
            walk_list_stops::door_id,
            walk_lists::universe,
            walk_list_stops::finished,
            walk_list_stops::last_result,
        ))
        .load(conn)
}

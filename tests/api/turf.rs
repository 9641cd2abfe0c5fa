//! Turf on the real Liechtenstein data: municipalities drawn as turfs, overlap refused,
//! bad geometry explained, doors and people found by cell, and auto-cut.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use groundswell::domain::Role;
use groundswell::spatial::autocut;
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json_with, spawn_app, spawn_app_with};

/// Loads the demo's synthetic people on the real doors into the test campaign.
pub(crate) fn seed_liechtenstein(app: &TestApp, campaign_id: i64) -> usize {
    let doors = groundswell::demo::doors().unwrap();
    let towns = groundswell::demo::municipalities().unwrap();
    let csv = groundswell::demo::people_csv(&doors, &towns, 2026);
    let report = groundswell::import::import_people(
        &mut app.conn(),
        campaign_id,
        csv.as_bytes(),
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(report.rejected, 0, "{:?}", report.errors);
    doors.len()
}

/// The resolution-15 cells of the shipped doors.
fn door_cells() -> Vec<CellIndex> {
    groundswell::demo::doors()
        .unwrap()
        .iter()
        .map(|d| {
            LatLng::new(d.lat, d.lng)
                .unwrap()
                .to_cell(Resolution::Fifteen)
        })
        .collect()
}

fn square(lng: f64, lat: f64, size: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]] })
}

fn turf_cells(body: &Value) -> Vec<CellIndex> {
    body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn every_municipality_becomes_a_turf_with_exactly_its_doors() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let doors = door_cells();
    let mut all_cells: BTreeMap<CellIndex, String> = BTreeMap::new();
    let mut counted = 0;
    for town in groundswell::demo::municipalities().unwrap() {
        let created = json_with(
            app.post(
                "/api/v1/turfs",
                Some(&token),
                json!({ "name": town.name, "geometry": town.geometry }),
            )
            .await,
            201,
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        let full = json_with(app.get(&format!("/api/v1/turfs/{id}"), &token).await, 200).await;
        let cells: HashSet<CellIndex> = turf_cells(&full).into_iter().collect();
        assert_eq!(created["resolution"], 10);
        assert_eq!(
            created["cell_count"].as_u64().unwrap() as usize,
            cells.len()
        );
        // The door count is exactly the doors whose resolution-10 parent is a turf cell.
        let expected = doors
            .iter()
            .filter(|d| cells.contains(&d.parent(Resolution::Ten).unwrap()))
            .count();
        assert_eq!(
            created["door_count"].as_u64().unwrap() as usize,
            expected,
            "{}",
            town.name
        );
        assert!(expected > 0, "{} has doors", town.name);
        counted += expected;
        // No cell is in two municipalities.
        for cell in cells {
            if let Some(other) = all_cells.insert(cell, town.name.clone()) {
                panic!("cell {cell} is in {other} and {}", town.name);
            }
        }
        // The outline is a Feature; towns with exclaves keep them as separate polygons.
        let outline = json_with(
            app.get(&format!("/api/v1/turfs/{id}/geojson"), &token)
                .await,
            200,
        )
        .await;
        assert_eq!(outline["type"], "Feature");
        assert_eq!(outline["geometry"]["type"], "MultiPolygon");
        if town.name == "Schaan" {
            assert!(
                outline["geometry"]["coordinates"].as_array().unwrap().len() > 1,
                "Schaan has exclaves"
            );
        }
    }
    // Doors outside every municipality are the ones across the border.
    assert!(counted > 2000 && counted <= doors.len(), "{counted}");
}

#[tokio::test]
async fn turf_doors_and_people_are_found_by_cell_and_paginated() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let vaduz = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Vaduz")
        .unwrap();
    let turf = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Vaduz", "resolution": 11, "geometry": vaduz.geometry }),
        )
        .await,
        201,
    )
    .await;
    let id = turf["id"].as_i64().unwrap();
    let mut seen = BTreeSet::new();
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/turfs/{id}/doors?limit=200&after={a}"),
            None => format!("/api/v1/turfs/{id}/doors?limit=200"),
        };
        let page = json_with(app.get(&path, &token).await, 200).await;
        for door in page["items"].as_array().unwrap() {
            assert!(seen.insert(door["id"].as_i64().unwrap()), "door twice");
            let cell: CellIndex = door["cell"].as_str().unwrap().parse().unwrap();
            assert_eq!(cell.resolution(), Resolution::Fifteen);
        }
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, turf["door_count"].as_i64().unwrap());
    let people = json_with(
        app.get(&format!("/api/v1/people?turf_id={id}&limit=200"), &token)
            .await,
        200,
    )
    .await;
    let listed = people["items"].as_array().unwrap();
    assert_eq!(listed.len(), 200);
    assert!(
        listed
            .iter()
            .all(|p| seen.contains(&p["door_id"].as_i64().unwrap()))
    );
    assert!(turf["people_count"].as_i64().unwrap() >= seen.len() as i64);
    assert_error(
        app.get(&format!("/api/v1/turfs/{id}/doors?limit=201"), &token)
            .await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_turf_taking_cells_of_another_is_refused_or_trimmed() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let first = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "West", "geometry": square(9.50, 47.10, 0.02) }),
        )
        .await,
        201,
    )
    .await;
    let overlapping = json!({ "name": "Middle", "geometry": square(9.51, 47.10, 0.02) });
    let refused = assert_error(
        app.post("/api/v1/turfs", Some(&token), overlapping.clone())
            .await,
        409,
        "conflict",
    )
    .await;
    let others = refused["error"]["details"]["turfs"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["id"], first["id"]);
    assert_eq!(others[0]["name"], "West");
    let shared = others[0]["shared_cells"].as_u64().unwrap();
    assert!(shared > 10, "{shared}");

    // With overlap=trim the turf takes only the free cells.
    let alone = groundswell::spatial::tiling::area_cells(
        &groundswell::spatial::tiling::parse_area(
            &serde_json::from_value::<geojson::Geometry>(overlapping["geometry"].clone())
                .unwrap()
                .value,
            &Default::default(),
        )
        .unwrap(),
        Resolution::Ten,
        &Default::default(),
    )
    .unwrap();
    let trimmed = json_with(
        app.post("/api/v1/turfs?overlap=trim", Some(&token), overlapping)
            .await,
        201,
    )
    .await;
    assert_eq!(
        trimmed["cell_count"].as_u64().unwrap(),
        alone.len() as u64 - shared
    );

    // A coarser turf over both is refused too: overlap is checked across resolutions.
    let coarse =
        json!({ "name": "Coarse", "resolution": 9, "geometry": square(9.505, 47.105, 0.02) });
    assert_error(
        app.post("/api/v1/turfs", Some(&token), coarse).await,
        409,
        "conflict",
    )
    .await;

    // Deleting frees the cells.
    let id = first["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/turfs/{id}"), &token)
            .await
            .status(),
        204
    );
    assert_error(
        app.get(&format!("/api/v1/turfs/{id}"), &token).await,
        404,
        "not_found",
    )
    .await;
    json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "West again", "geometry": square(9.50, 47.10, 0.005) }),
        )
        .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn bad_geometry_gets_a_clear_error_and_never_a_hang() {
    let app = spawn_app_with(|s| {
        s.max_area_vertices = 50;
        s.max_area_cells = 5_000;
    })
    .await;
    let token = app.admin_token().await;
    let post = |body: Value| app.post("/api/v1/turfs", Some(&token), body);
    let bow_tie = json!({ "type": "Polygon", "coordinates": [[[9.5, 47.1], [9.6, 47.2], [9.6, 47.1], [9.5, 47.2], [9.5, 47.1]]] });
    let body = assert_error(
        post(json!({ "name": "x", "geometry": bow_tie })).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("crosses itself"),
        "{body}"
    );
    let point = json!({ "type": "Point", "coordinates": [9.5, 47.1] });
    assert_error(
        post(json!({ "name": "x", "geometry": point })).await,
        422,
        "validation_failed",
    )
    .await;
    let out_of_range = json!({ "type": "Polygon", "coordinates": [[[9.5, 95.0], [9.6, 47.1], [9.6, 47.2], [9.5, 95.0]]] });
    assert_error(
        post(json!({ "name": "x", "geometry": out_of_range })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(json!({ "name": "x", "geometry": { "type": "Polygon" } })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(json!({ "name": "x", "resolution": 12, "geometry": square(9.5, 47.1, 0.01) })).await,
        422,
        "validation_failed",
    )
    .await;

    // Too many vertices: 413 with the limit.
    let ring: Vec<Value> = (0..=60)
        .map(|i| {
            let a = f64::from(i % 60) / 60.0 * std::f64::consts::TAU;
            json!([9.5 + 0.01 * a.cos(), 47.1 + 0.01 * a.sin()])
        })
        .collect();
    let body = assert_error(
        post(json!({ "name": "x", "geometry": { "type": "Polygon", "coordinates": [ring] } }))
            .await,
        413,
        "payload_too_large",
    )
    .await;
    assert_eq!(body["error"]["details"]["limit"], 50);
    // A country-sized area at resolution 11 is refused at once, not computed.
    let body = assert_error(
        post(json!({ "name": "x", "resolution": 11, "geometry": square(5.0, 45.0, 5.0) })).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("5000"),
        "{body}"
    );
}

#[tokio::test]
async fn only_organizers_and_above_cut_turf_and_campaigns_stay_apart() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    let body = json!({ "name": "x", "geometry": square(9.5, 47.1, 0.01) });
    assert_error(
        app.post("/api/v1/turfs", Some(&volunteer), body.clone())
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(app.get("/api/v1/turfs", &volunteer).await, 403, "forbidden").await;
    let (_, organizer) = app.user_with_role(Role::Organizer).await;
    let turf = json_with(
        app.post("/api/v1/turfs", Some(&organizer), body.clone())
            .await,
        201,
    )
    .await;
    let id = turf["id"].as_i64().unwrap();

    let rival = app.create_campaign("Rival");
    app.create_user(rival, "boss@rival.org", Role::Admin);
    let theirs = app.token("boss@rival.org").await;
    for path in [
        format!("/api/v1/turfs/{id}"),
        format!("/api/v1/turfs/{id}/doors"),
        format!("/api/v1/turfs/{id}/geojson"),
        format!("/api/v1/people?turf_id={id}"),
    ] {
        assert_error(app.get(&path, &theirs).await, 404, "not_found").await;
    }
    assert_error(
        app.delete(&format!("/api/v1/turfs/{id}"), &theirs).await,
        404,
        "not_found",
    )
    .await;
    // The same area is free in the other campaign: overlap is per campaign.
    json_with(app.post("/api/v1/turfs", Some(&theirs), body).await, 201).await;
    let list = json_with(app.get("/api/v1/turfs", &token).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn autocut_of_the_demo_campaign_makes_contiguous_balanced_turfs() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let country = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .map(|m| m.geometry)
        .collect::<Vec<_>>();
    // The whole country: every municipality's polygons as one MultiPolygon.
    let mut polygons = Vec::new();
    for g in country {
        if let geojson::GeometryValue::MultiPolygon { coordinates } = g.value {
            polygons.extend(
                coordinates
                    .into_iter()
                    .map(|p| serde_json::to_value(p).unwrap()),
            );
        }
    }
    let area = json!({ "type": "MultiPolygon", "coordinates": polygons });
    let cut = json_with(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "area": area, "target_doors": 80, "name_prefix": "LI" }),
        )
        .await,
        201,
    )
    .await;
    let turfs = cut["turfs"].as_array().unwrap();
    let total = cut["doors"].as_u64().unwrap();
    assert!(total > 2000, "{total}");
    assert!(
        turfs.len() as u64 >= total / 80 - 2,
        "{} turfs for {total} doors",
        turfs.len()
    );
    let doors = door_cells();
    let mut owner: BTreeMap<CellIndex, i64> = BTreeMap::new();
    let mut summed = 0;
    for turf in turfs {
        let id = turf["id"].as_i64().unwrap();
        let full = json_with(app.get(&format!("/api/v1/turfs/{id}"), &token).await, 200).await;
        let cells = turf_cells(&full);
        assert!(
            autocut::is_contiguous(&cells),
            "turf {id} is not contiguous"
        );
        for c in &cells {
            assert!(owner.insert(*c, id).is_none(), "cell {c} in two turfs");
        }
        summed += turf["door_count"].as_u64().unwrap();
    }
    assert_eq!(summed, total, "every door in exactly one turf");
    // Every door whose cell lies in a cut turf is counted once.
    let inside = doors
        .iter()
        .filter(|d| owner.contains_key(&d.parent(Resolution::Ten).unwrap()))
        .count() as u64;
    assert_eq!(inside, total);
    // Sizes within ±15% of 80, except the turfs the cut itself names with a reason.
    let excused: HashSet<i64> = cut["unbalanced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["reason"].as_str().is_some_and(|r| !r.is_empty()), "{u}");
            u["turf_id"].as_i64().unwrap()
        })
        .collect();
    let mut outside = Vec::new();
    for turf in turfs {
        let n = turf["door_count"].as_u64().unwrap();
        if !(68..=92).contains(&n) {
            outside.push(turf["id"].as_i64().unwrap());
            assert!(
                excused.contains(&turf["id"].as_i64().unwrap()),
                "turf {} has {n} doors and no reason",
                turf["id"]
            );
        }
    }
    assert!(
        outside.len() * 10 <= turfs.len(),
        "{} of {} turfs are off target: {}",
        outside.len(),
        turfs.len(),
        cut["unbalanced"]
    );
    // The cut cells are taken now: a second cut of the same area finds no free doors.
    let vaduz = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Vaduz")
        .unwrap();
    let again = assert_error(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "area": vaduz.geometry, "target_doors": 80 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no doors"),
        "{again}"
    );
}

#[tokio::test]
async fn autocut_by_region_uses_the_regions_area() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let ruggell = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Ruggell")
        .unwrap();
    let region = json_with(
        app.post(
            "/api/v1/regions",
            Some(&token),
            json!({ "name": "Ruggell", "area": ruggell.geometry }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(region["has_area"], true);
    let region_id = region["id"].as_i64().unwrap();
    let cut = json_with(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "region_id": region_id, "target_doors": 50, "resolution": 11 }),
        )
        .await,
        201,
    )
    .await;
    let turfs = cut["turfs"].as_array().unwrap();
    assert!(turfs.len() >= 3, "{cut}");
    assert!(turfs.iter().all(|t| t["region_id"] == region_id));
    let listed = json_with(
        app.get(
            &format!("/api/v1/turfs?region_id={region_id}&limit=200"),
            &token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), turfs.len());

    // The director's map: the region's boundary, and every turf outline of the region
    // with its figures in one request, both valid GeoJSON with longitude first.
    let boundary = app
        .get(&format!("/api/v1/regions/{region_id}/geojson"), &token)
        .await;
    assert_eq!(boundary.headers()["content-type"], "application/geo+json");
    let boundary = json_with(boundary, 200).await;
    assert_valid_geojson(&boundary);
    assert_eq!(boundary["properties"]["name"], "Ruggell");
    assert_eq!(boundary["geometry"], json!(ruggell.geometry));
    let map = json_with(
        app.get(
            &format!("/api/v1/turfs/geojson?region_id={region_id}"),
            &token,
        )
        .await,
        200,
    )
    .await;
    assert_valid_geojson(&map);
    let features = map["features"].as_array().unwrap();
    assert_eq!(features.len(), turfs.len());
    for (f, t) in features.iter().zip(turfs) {
        assert_eq!(f["properties"]["id"], t["id"]);
        assert_eq!(f["properties"]["name"], t["name"]);
        assert_eq!(f["geometry"]["type"], "MultiPolygon");
        assert_eq!(f["properties"]["attempts"], 0);
        assert_eq!(f["properties"]["doors_knocked"], 0);
    }
    // The whole campaign holds the same turfs (there are no others here).
    let all = json_with(app.get("/api/v1/turfs/geojson", &token).await, 200).await;
    assert_eq!(all["features"].as_array().unwrap().len(), turfs.len());
    assert_error(
        app.get("/api/v1/turfs/geojson?region_id=999999", &token)
            .await,
        404,
        "not_found",
    )
    .await;

    // A region without an area cannot be cut by id.
    let bare = json_with(
        app.post("/api/v1/regions", Some(&token), json!({ "name": "Bare" }))
            .await,
        201,
    )
    .await;
    let bare_map = json_with(
        app.get(&format!("/api/v1/regions/{}/geojson", bare["id"]), &token)
            .await,
        200,
    )
    .await;
    assert_valid_geojson(&bare_map);
    assert!(bare_map["geometry"].is_null(), "{bare_map}");
    assert_error(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "region_id": bare["id"], "target_doors": 50 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "target_doors": 50 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&token),
            json!({ "region_id": region_id, "target_doors": 0 }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_turf_with_swapped_coordinates_is_made_with_a_warning_naming_the_cause() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let square = |ring: [[f64; 2]; 5]| json!({ "type": "Polygon", "coordinates": [ring] });
    let vaduz = [
        [9.515, 47.135],
        [9.53, 47.135],
        [9.53, 47.145],
        [9.515, 47.145],
        [9.515, 47.135],
    ];
    let swapped = vaduz.map(|[lng, lat]| [lat, lng]);
    let made = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Vaduz, drawn as lat/lng", "geometry": square(swapped) }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(made["door_count"], 0);
    assert_eq!(made["warnings"][0]["code"], "no_doors", "{made}");
    assert!(
        made["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("longitude and latitude swapped"),
        "{made}"
    );
    // Drawn the right way round, it holds doors and has nothing to warn about.
    let right = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Vaduz", "geometry": square(vaduz) }),
        )
        .await,
        201,
    )
    .await;
    assert!(right["door_count"].as_i64().unwrap() > 0);
    assert!(right.get("warnings").is_none(), "{right}");
}

#[tokio::test]
async fn planner_statistics_follow_a_second_campaign_and_new_turf_cells() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::Double)]
        rows: f64,
    }
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let other = app.create_campaign("Second campaign");
    seed_liechtenstein(&app, other);
    let town = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "Vaduz")
        .unwrap();
    json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Vaduz", "geometry": town.geometry }),
        )
        .await,
        201,
    )
    .await;
    if !app.db.is_postgres() {
        // SQLite keeps its statistics in sqlite_stat1: the voter tables have some.
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let analysed = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl IN ('doors', 'people')",
        )
        .get_result::<Count>(&mut app.conn())
        .map_or(0, |c| c.n);
        assert!(analysed > 0, "no SQLite statistics for the voter tables");
        return;
    }
    let groundswell::db::DbConnection::Postgresql(mut pg) = app.conn() else {
        unreachable!("a PostgreSQL test database")
    };
    let mut estimate = |table: &str| {
        diesel::sql_query(format!(
            "SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE relname = '{table}'"
        ))
        .get_result::<Rows>(&mut pg)
        .unwrap()
        .rows
    };
    // Both campaigns' doors are counted, not only the first's.
    let doors_of_one = groundswell::demo::doors().unwrap().len() as f64;
    assert!(
        estimate("doors") > 1.5 * doors_of_one,
        "doors estimated at {} rows, one campaign has {doors_of_one}",
        estimate("doors")
    );
    // The new turf's cells are known to the planner soon after it is made.
    let mut cells = 0.0;
    for _ in 0..100 {
        cells = estimate("turf_cells");
        if cells > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(cells > 0.0, "turf_cells has no statistics");
}

/// GeoJSON as RFC 7946 has it: parses, positions are longitude then latitude inside
/// their ranges, and every ring is closed with at least four positions.
fn assert_valid_geojson(value: &Value) {
    let parsed: Result<geojson::GeoJson, _> = value.to_string().parse();
    assert!(parsed.is_ok(), "not GeoJSON: {parsed:?}");
    fn rings(geometry: &Value) -> Vec<&Vec<Value>> {
        let c = &geometry["coordinates"];
        match geometry["type"].as_str() {
            Some("Polygon") => c
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .collect(),
            Some("MultiPolygon") => c
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_array)
                .collect(),
            _ => Vec::new(),
        }
    }
    let geometries: Vec<&Value> = match value["type"].as_str() {
        Some("Feature") => vec![&value["geometry"]],
        Some("FeatureCollection") => value["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["geometry"])
            .collect(),
        other => panic!("unexpected GeoJSON type {other:?}"),
    };
    for g in geometries.into_iter().filter(|g| !g.is_null()) {
        for ring in rings(g) {
            assert!(ring.len() >= 4, "a ring has four positions or more");
            assert_eq!(ring.first(), ring.last(), "a ring is closed");
            for p in ring {
                let (lng, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                assert!((-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat));
                // Liechtenstein: longitude about 9.5, latitude about 47.1.
                assert!(lng < lat, "longitude first: {p}");
            }
        }
    }
}

/// A turf's cells, as the API lists them.
async fn cells_of(app: &TestApp, token: &str, id: &Value) -> BTreeSet<String> {
    let turf = json_with(app.get(&format!("/api/v1/turfs/{id}"), token).await, 200).await;
    turf["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_turf_split_then_merged_is_the_turf_it_was() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let turf = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Vaduz centre", "geometry": square(9.515, 47.135, 0.015) }),
        )
        .await,
        201,
    )
    .await;
    let id = turf["id"].clone();
    let original = cells_of(&app, &token, &id).await;
    let doors = turf["door_count"].as_i64().unwrap();
    assert!(doors > 50, "{doors}");
    // The turf has a list: its history must follow it.
    let lists = json_with(
        app.post(
            "/api/v1/walk-lists",
            Some(&token),
            json!({ "turf_id": id, "max_doors": 500 }),
        )
        .await,
        201,
    )
    .await;
    let list_id = lists["items"][0]["id"].as_i64().unwrap();
    let (_, volunteer) = app.user_with_role(Role::Volunteer).await;
    let split_path = format!("/api/v1/turfs/{id}/split");
    assert_error(
        app.post(&split_path, Some(&volunteer), json!({ "pieces": 2 }))
            .await,
        403,
        "forbidden",
    )
    .await;

    // Along a line down the middle: west and east, every cell in exactly one.
    let halves = json_with(
        app.post(
            &split_path,
            Some(&token),
            json!({ "line": { "type": "LineString", "coordinates": [[9.5225, 47.13], [9.5225, 47.155]] } }),
        )
        .await,
        201,
    )
    .await;
    let halves = halves["items"].as_array().unwrap().clone();
    assert_eq!(halves.len(), 2);
    assert_eq!(halves[0]["id"], id, "the first piece keeps the turf");
    assert_eq!(halves[0]["name"], "Vaduz centre 1");
    let west = cells_of(&app, &token, &halves[0]["id"]).await;
    let east = cells_of(&app, &token, &halves[1]["id"]).await;
    assert!(west.is_disjoint(&east));
    assert_eq!(&west | &east, original);
    assert_eq!(
        halves[0]["door_count"].as_i64().unwrap() + halves[1]["door_count"].as_i64().unwrap(),
        doors
    );
    // A line beside the turf leaves it whole.
    assert_error(
        app.post(
            &format!("/api/v1/turfs/{}/split", halves[1]["id"]),
            Some(&token),
            json!({ "line": { "type": "LineString", "coordinates": [[9.40, 47.0], [9.40, 47.3]] } }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // Merged back: the same cells, the same id, the list still its own.
    let merged = json_with(
        app.post(
            "/api/v1/turfs/merge",
            Some(&token),
            json!({ "turf_ids": [halves[0]["id"], halves[1]["id"]], "name": "Vaduz centre" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(merged["id"], id);
    assert_eq!(merged["door_count"], doors);
    assert_eq!(cells_of(&app, &token, &id).await, original);
    let list = json_with(
        app.get(&format!("/api/v1/walk-lists/{list_id}"), &token)
            .await,
        200,
    )
    .await;
    assert_eq!(list["turf_id"], id);
    assert_eq!(
        app.get(&format!("/api/v1/turfs/{}", halves[1]["id"]), &token)
            .await
            .status(),
        404
    );

    // Into three pieces by door count, then all merged again.
    let pieces = json_with(
        app.post(&split_path, Some(&token), json!({ "pieces": 3 }))
            .await,
        201,
    )
    .await;
    let pieces = pieces["items"].as_array().unwrap().clone();
    assert!(pieces.len() >= 2, "{pieces:?}");
    let mut union = BTreeSet::new();
    for p in &pieces {
        let cells = cells_of(&app, &token, &p["id"]).await;
        assert!(union.is_disjoint(&cells));
        union.extend(cells);
        assert!(p["door_count"].as_i64().unwrap() > 0);
    }
    assert_eq!(union, original);
    let ids: Vec<Value> = pieces.iter().map(|p| p["id"].clone()).collect();
    json_with(
        app.post(
            "/api/v1/turfs/merge",
            Some(&token),
            json!({ "turf_ids": ids }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cells_of(&app, &token, &id).await, original);

    // Cells one by one: out and back in; another turf's cell is refused, naming it.
    let path = format!("/api/v1/turfs/{id}");
    let one = original.iter().next().unwrap().clone();
    let fewer = json_with(
        app.patch(&path, &token, json!({ "remove_cells": [one] }))
            .await,
        200,
    )
    .await;
    assert_eq!(
        fewer["cell_count"].as_u64().unwrap() as usize,
        original.len() - 1
    );
    let other = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Next door", "geometry": square(9.531, 47.135, 0.01) }),
        )
        .await,
        201,
    )
    .await;
    let theirs = cells_of(&app, &token, &other["id"]).await;
    let refused = assert_error(
        app.patch(
            &path,
            &token,
            json!({ "add_cells": [one.clone(), theirs.iter().next().unwrap()] }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(refused["error"]["details"]["turfs"][0]["id"], other["id"]);
    // Touching, but another turf: not merged unless they touch.
    let far = json_with(
        app.post(
            "/api/v1/turfs",
            Some(&token),
            json!({ "name": "Far", "geometry": square(9.50, 47.20, 0.01) }),
        )
        .await,
        201,
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/turfs/merge",
            Some(&token),
            json!({ "turf_ids": [id, far["id"]] }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let back = json_with(
        app.patch(
            &path,
            &token,
            json!({ "add_cells": [one], "name": "Vaduz" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(back["name"], "Vaduz");
    assert_eq!(cells_of(&app, &token, &id).await, original);
}

//! The served routes and `api-spec/openapi.yaml` agree, both ways.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/openapi.yaml"
    ))
    .unwrap();
    yaml_serde::from_str(&text).unwrap()
}

fn spec_routes() -> BTreeSet<(String, String)> {
    let spec = spec();
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_served_route_is_in_the_spec_and_every_spec_route_is_served() {
    let served: BTreeSet<_> = groundswell::routes::route_table().into_iter().collect();
    let documented = spec_routes();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in api-spec/openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in api-spec/openapi.yaml but not served: {unserved:?}"
    );
}

#[test]
fn pages_are_served_apart_from_the_api_and_its_contract() {
    // The pages (dashboard, packets, organizer) are for people in a browser: never
    // under /api, never in the spec, never the same route as an API one.
    let api: BTreeSet<_> = groundswell::routes::route_table().into_iter().collect();
    let documented = spec_routes();
    let pages = groundswell::pages::route_table();
    assert!(pages.iter().any(|(m, p)| m == "GET" && p == "/"));
    for route in pages {
        assert!(
            !route.1.starts_with("/api/"),
            "a page under /api: {route:?}"
        );
        assert!(
            !api.contains(&route),
            "a page shadows an API route: {route:?}"
        );
        assert!(
            !documented.contains(&route),
            "a page in the spec: {route:?}"
        );
    }
}

#[tokio::test]
async fn every_spec_route_reaches_a_handler_on_the_live_server() {
    let app = spawn_app().await;
    for (method, path) in spec_routes() {
        let concrete = path.replace("{id}", "1").replace("{token}", "some-token");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            code != "route_not_found" && code != "method_not_allowed",
            "{method} {path} is not routed: {body}"
        );
    }
}

#[test]
fn every_operation_documents_its_errors_with_the_shared_shape() {
    let spec = spec();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            let public = op
                .get("security")
                .is_some_and(|s| s.as_array().is_some_and(|a| a.is_empty()));
            if !public {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} does not document 401"
                );
            }
        }
    }
    assert!(spec["components"]["schemas"]["Error"].is_object());
}

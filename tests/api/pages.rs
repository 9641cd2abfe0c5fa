//! The pages people look at, rendered on each store and read back: signing in through
//! the form, the dashboard's figures against the API's, walk packets (HTML and PDF) and
//! the organizer page's forms, with the API seeing what they did.

use std::collections::BTreeMap;

use groundswell::domain::Role;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, json_with, spawn_app};
use crate::knocks::{knock, sync};
use crate::turf::seed_liechtenstein;

/// A campaign in the field: two regions with their boundaries (Vaduz and Planken), Vaduz
/// cut into turfs, lists on two of them and on Planken, a volunteer who knocked a list.
pub(crate) struct Field {
    pub app: TestApp,
    pub admin: String,
    pub vaduz: i64,
    pub planken: i64,
    pub turfs: Vec<i64>,
    /// The volunteer's list (read whole, as the API gives it) and their token.
    pub list: Value,
    pub volunteer: String,
    pub volunteer_email: String,
    pub volunteer_id: i64,
}

async fn region(app: &TestApp, token: &str, name: &str) -> i64 {
    let town = groundswell::demo::municipalities()
        .unwrap()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap();
    json_with(
        app.post(
            "/api/v1/regions",
            Some(token),
            json!({ "name": name, "area": town.geometry }),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn lists_of(app: &TestApp, token: &str, turf: i64, max_doors: u32) -> Vec<i64> {
    json_with(
        app.post(
            "/api/v1/walk-lists",
            Some(token),
            json!({ "turf_id": turf, "max_doors": max_doors }),
        )
        .await,
        201,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

pub(crate) async fn field() -> Field {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    seed_liechtenstein(&app, app.campaign_id);
    let vaduz = region(&app, &admin, "Vaduz").await;
    let planken = region(&app, &admin, "Planken").await;
    let cut = json_with(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&admin),
            json!({ "region_id": vaduz, "target_doors": 120, "name_prefix": "Vaduz" }),
        )
        .await,
        201,
    )
    .await;
    let mut turfs: Vec<i64> = cut["turfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(turfs.len() >= 3, "{cut}");
    let planken_turf = json_with(
        app.post(
            "/api/v1/turfs/autocut",
            Some(&admin),
            json!({ "region_id": planken, "target_doors": 500, "name_prefix": "Planken" }),
        )
        .await,
        201,
    )
    .await["turfs"][0]["id"]
        .as_i64()
        .unwrap();
    let first = lists_of(&app, &admin, turfs[0], 25).await;
    lists_of(&app, &admin, turfs[1], 40).await;
    lists_of(&app, &admin, planken_turf, 60).await;
    turfs.push(planken_turf);

    let volunteer_email = "vera@test.org".to_owned();
    let volunteer_id = app.create_user(app.campaign_id, &volunteer_email, Role::Volunteer);
    json_with(
        app.post(
            &format!("/api/v1/walk-lists/{}/assignments", first[0]),
            Some(&admin),
            json!({ "user_id": volunteer_id }),
        )
        .await,
        201,
    )
    .await;
    let volunteer = app.token(&volunteer_email).await;
    let list = json_with(
        app.get(&format!("/api/v1/walk-lists/{}", first[0]), &admin)
            .await,
        200,
    )
    .await;
    let results = [
        "contacted",
        "not_home",
        "refused",
        "contacted",
        "come_back",
        "contacted",
        "not_home",
        "moved",
    ];
    let knocks: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| knock(&list, i, r, 90 - i64::try_from(i).unwrap() * 5))
        .collect();
    let answer = sync(&app, &volunteer, &knocks).await;
    assert_eq!(answer["created"], results.len(), "{answer}");
    let list = json_with(
        app.get(&format!("/api/v1/walk-lists/{}", first[0]), &admin)
            .await,
        200,
    )
    .await;
    Field {
        app,
        admin,
        vaduz,
        planken,
        turfs,
        list,
        volunteer,
        volunteer_email,
        volunteer_id,
    }
}

/// A browser's view of the pages: a client that does not follow redirects, and the
/// session cookie it got from the sign-in form.
pub(crate) struct PageSession {
    client: reqwest::Client,
    base: String,
    pub cookie: String,
}

fn cookie_from(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let first = v.split(';').next()?;
            let (k, value) = first.split_once('=')?;
            (k.trim() == name).then(|| value.trim().to_owned())
        })
}

/// The value of the first `<input … name="{name}" value="…">`.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} field in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form, as a browser does: the form's token and its cookie, then
/// the credentials as form data.
pub(crate) async fn sign_in(app: &TestApp, email: &str) -> PageSession {
    let client = no_redirects();
    let form = client.get(app.url("/login?next=/")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let login_cookie = cookie_from(&form, "gs_login").expect("sign-in form cookie");
    let html = form.text().await.unwrap();
    let token = hidden(&html, "csrf");
    let res = client
        .post(app.url("/login"))
        .header("cookie", format!("gs_login={login_cookie}"))
        .header("origin", app.address.clone())
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(location(&res), "/");
    let set = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gs_session="))
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    PageSession {
        cookie: cookie_from(&res, "gs_session").unwrap(),
        client,
        base: app.address.clone(),
    }
}

impl PageSession {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("gs_session={}", self.cookie))
            .send()
            .await
            .unwrap()
    }

    /// A page that must answer 200, as text.
    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        text
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("gs_session={}", self.cookie))
            .form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send().await.unwrap()
    }
}

/// The progress table's rows: key → (attempts, doors knocked, contacts).
fn table(html: &str) -> BTreeMap<String, (i64, i64, i64)> {
    let mut out = BTreeMap::new();
    for part in html.split("<tr data-key=\"").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let key = tag[..tag.find('"').unwrap()].to_owned();
        let attr = |name: &str| -> i64 {
            let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
        };
        out.insert(
            key,
            (
                attr("data-attempts"),
                attr("data-doors"),
                attr("data-contacts"),
            ),
        );
    }
    out
}

fn api_table(body: &Value) -> BTreeMap<String, (i64, i64, i64)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = match &r["key"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                key,
                (
                    r["attempts"].as_i64().unwrap(),
                    r["doors_knocked"].as_i64().unwrap(),
                    r["contacts"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_dashboard_after_signing_in_shows_the_apis_figures_on_a_map() {
    let f = field().await;
    let app = &f.app;

    // Not signed in: to the sign-in page, coming back afterwards.
    let anonymous = no_redirects()
        .get(app.url("/?group_by=day"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(location(&anonymous), "/login?next=/%3Fgroup_by%3Dday");

    let s = sign_in(app, "admin@test.org").await;
    let res = s.get("/").await;
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = res.text().await.unwrap();

    // The table equals GET /api/v1/progress for the same scope, for every grouping.
    for (group, path) in [
        ("turf", "/".to_owned()),
        ("region", "/?group_by=region".to_owned()),
        ("volunteer", "/?group_by=volunteer".to_owned()),
        ("day", "/?group_by=day".to_owned()),
        ("turf", format!("/?group_by=turf&region_id={}", f.vaduz)),
        (
            "day",
            format!("/?group_by=day&turf_id={}&from=2020-01-01", f.turfs[0]),
        ),
    ] {
        let page = if path == "/" {
            html.clone()
        } else {
            s.page(&path).await
        };
        let api_path = {
            let mut q: Vec<String> = vec![format!("group_by={group}")];
            for pair in path
                .trim_start_matches('/')
                .trim_start_matches('?')
                .split('&')
            {
                if !pair.is_empty() && !pair.starts_with("group_by=") {
                    q.push(pair.to_owned());
                }
            }
            format!("/api/v1/progress?{}", q.join("&"))
        };
        let api = json_with(app.get(&api_path, &f.admin).await, 200).await;
        let expected = api_table(&api);
        assert!(!expected.is_empty(), "{api_path}: {api}");
        assert_eq!(table(&page), expected, "{path} against {api_path}");
    }
    // The headline figures are the campaign's.
    let all = json_with(
        app.get("/api/v1/progress?group_by=campaign", &f.admin)
            .await,
        200,
    )
    .await;
    let totals = &all["items"][0];
    assert!(html.contains(&format!(
        "id=\"totals\" data-attempts=\"{}\" data-doors=\"{}\" data-contacts=\"{}\"",
        totals["attempts"], totals["doors_knocked"], totals["contacts"]
    )));
    assert_eq!(totals["attempts"], 8);

    // The map: region boundaries, turf outlines, hexagons with their place and figures.
    assert!(html.contains("<svg class=\"map\" viewBox=\"0 0 640 "));
    assert_eq!(html.matches("class=\"region\"").count(), 2);
    assert!(html.matches("class=\"turf\"").count() >= 4);
    let hexes = html.matches("<path class=\"hex\"").count();
    assert!(hexes >= 1, "no hexagons");
    assert!(
        html.contains(" (Vaduz): ") && html.contains(" doors knocked, "),
        "a hexagon names its turf and region, and its figures"
    );
    assert!(html.contains("Region Vaduz") && html.contains("Region Planken"));
    // The heatmap's cells at the map's resolution are the hexagons drawn.
    let resolution: u8 = html
        .split("(resolution ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|r| r.parse().ok())
        .unwrap();
    let heat = json_with(
        app.get(
            &format!("/api/v1/progress/heatmap?resolution={resolution}"),
            &f.admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(heat["features"].as_array().unwrap().len(), hexes);
    // Leaderboard and flags name people; the colour is never the only carrier.
    let leaders = json_with(app.get("/api/v1/leaderboard", &f.admin).await, 200).await;
    for l in leaders["items"].as_array().unwrap() {
        assert!(
            html.contains(&format!(
                "{}: {} doors",
                l["name"].as_str().unwrap(),
                l["doors"]
            )),
            "leaderboard by name: {l}"
        );
    }
    assert!(html.contains("Doors knocked per hexagon"));
    assert!(
        s.page("/?color=rate")
            .await
            .contains("Contact rate per hexagon")
    );

    // The live part alone, for the page's refresh.
    let fragment = s.get("/?group_by=volunteer&fragment=1").await;
    assert_eq!(fragment.status(), 200);
    assert_eq!(
        fragment
            .headers()
            .get("x-groundswell-fragment")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let fragment = fragment.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("id=\"progress-table\""));
    assert_eq!(table(&fragment).len(), 1);
    let js = no_redirects()
        .get(app.url("/static/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.text().await.unwrap().contains("fragment"));
}

#[tokio::test]
async fn sessions_are_cookies_the_server_can_end_and_forms_need_their_token() {
    let f = field().await;
    let app = &f.app;
    let s = sign_in(app, "admin@test.org").await;

    // Wrong password: the form again, with a message; no session.
    let client = no_redirects();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let login_cookie = cookie_from(&form, "gs_login").unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf");
    let wrong = client
        .post(app.url("/login"))
        .header("cookie", format!("gs_login={login_cookie}"))
        .form(&[
            ("email", "admin@test.org"),
            ("password", "not the password"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(cookie_from(&wrong, "gs_session").is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password")
    );
    // Without the form's own token (a sign-in from another site): refused.
    let forged = client
        .post(app.url("/login"))
        .form(&[
            ("email", "admin@test.org"),
            ("password", PASSWORD),
            ("csrf", "0000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(cookie_from(&forged, "gs_session").is_none());

    // The cookie is not a refresh token: the API never turns it into a bearer token.
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": s.cookie }),
        )
        .await;
    assert_eq!(refresh.status(), 401);
    assert_eq!(
        s.get("/").await.status(),
        200,
        "and the session still works"
    );

    // A volunteer may sign in, and is told the pages are not for them.
    let v = sign_in(app, &f.volunteer_email).await;
    let res = v.get("/").await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("organizers, directors and admins")
    );
    assert_eq!(v.get("/organize").await.status(), 403);
    let list_id = f.list["id"].as_i64().unwrap();
    assert_eq!(
        v.get(&format!("/walk-lists/{list_id}/packet"))
            .await
            .status(),
        403
    );

    // A deactivated user is signed out of the pages at once.
    let o_email = "olga@test.org";
    let olga = app.create_user(app.campaign_id, o_email, Role::Organizer);
    let o = sign_in(app, o_email).await;
    assert_eq!(o.get("/organize").await.status(), 200);
    assert_eq!(
        app.delete(&format!("/api/v1/users/{olga}"), &f.admin)
            .await
            .status(),
        204
    );
    let gone = o.get("/organize").await;
    assert_eq!(gone.status(), 303);
    assert!(location(&gone).starts_with("/login"));

    // Signing out needs the form's token and this site as origin; then the cookie is dead.
    let csrf = hidden(&s.page("/").await, "csrf");
    assert_eq!(
        s.post("/logout", &[("csrf", "nope")], None).await.status(),
        403
    );
    assert_eq!(
        s.post("/logout", &[("csrf", &csrf)], Some("http://evil.example"))
            .await
            .status(),
        403
    );
    assert_eq!(s.get("/").await.status(), 200, "still signed in");
    let out = s
        .post("/logout", &[("csrf", &csrf)], Some(&app.address))
        .await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/login");
    assert_eq!(s.get("/").await.status(), 303);
    let _ = &f.volunteer;
}

/// The PDF's page count.
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

/// A stop's address as the packet prints it (escaped as the template escapes).
fn printed_address(stop: &Value) -> String {
    let a = &stop["address"];
    let text = format!(
        "{} {}",
        a["street"].as_str().unwrap().trim(),
        a["housenumber"].as_str().unwrap().trim()
    );
    text.trim().to_owned()
}

#[tokio::test]
async fn packets_print_each_list_with_its_number_qr_code_route_and_stops_in_order() {
    let f = field().await;
    let app = &f.app;
    let s = sign_in(app, "admin@test.org").await;
    let list = &f.list;
    let id = list["id"].as_i64().unwrap();
    let number = list["number"].as_i64().unwrap();
    let stops = list["stops"].as_array().unwrap();

    let html = s.page(&format!("/walk-lists/{id}/packet")).await;
    assert!(html.contains(&format!("Walk list <span class=\"big\">{number}</span>")));
    assert!(html.contains("<svg class=\"qr\""), "a QR code drawn as SVG");
    assert!(html.contains(&format!("http://localhost:8080/l/{number}")));
    assert!(html.contains("@page") || html.contains("/static/paper-a4.css"));
    // Every stop, in walking order, with its people and the boxes to fill in.
    let mut at = 0;
    let mut found = 0;
    for (i, stop) in stops.iter().enumerate() {
        let row = format!("data-position=\"{}\"", i + 1);
        let pos = html[at..]
            .find(&row)
            .unwrap_or_else(|| panic!("stop {}", i + 1))
            + at;
        let address = printed_address(stop);
        let plain = !address.contains(['&', '<', '>', '"', '\'']);
        if plain {
            let next = html[pos..].find("</tr>").unwrap() + pos;
            assert!(
                html[pos..next].contains(&address),
                "stop {} is {address}",
                i + 1
            );
            for p in stop["people"].as_array().unwrap() {
                let name = p["first_name"].as_str().unwrap();
                if !name.contains(['&', '<', '>', '"', '\'']) {
                    assert!(html[pos..next].contains(name));
                }
            }
            found += 1;
        }
        at = pos;
    }
    assert!(found * 2 > stops.len());
    assert_eq!(html.matches("<g class=\"stop-mark").count(), stops.len());
    assert_eq!(html.matches("class=\"box wide\"").count(), stops.len());
    assert!(html.contains("Spoke with someone") && html.contains("strong support"));
    assert!(
        s.page(&format!("/walk-lists/{id}/packet?paper=letter"))
            .await
            .contains("/static/paper-letter.css")
    );

    // The PDF: a cover and a page per 16 stops.
    let pdf = s.get(&format!("/walk-lists/{id}/packet.pdf")).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(
        pdf.headers().get("content-type").unwrap().to_str().unwrap(),
        "application/pdf"
    );
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(pdf_pages(&pdf), 1 + stops.len().div_ceil(16));

    // A whole turf, and a whole region, as one document: every live list, one per page run.
    let turf = f.turfs[1];
    let api_lists = json_with(
        app.get(
            &format!("/api/v1/walk-lists?turf_id={turf}&limit=200"),
            &f.admin,
        )
        .await,
        200,
    )
    .await;
    let lists = api_lists["items"].as_array().unwrap();
    assert!(lists.len() >= 2);
    let html = s.page(&format!("/turfs/{turf}/packets")).await;
    assert_eq!(
        html.matches("<section class=\"packet\"").count(),
        lists.len()
    );
    let mut expected_pages = 0;
    for l in lists {
        assert!(html.contains(&format!("data-number=\"{}\"", l["number"])));
        expected_pages += 1 + usize::try_from(l["door_count"].as_i64().unwrap())
            .unwrap()
            .div_ceil(16);
    }
    let pdf = s
        .get(&format!("/turfs/{turf}/packets.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(pdf_pages(&pdf), expected_pages);
    let region = s.page(&format!("/regions/{}/packets", f.vaduz)).await;
    let in_region = region.matches("<section class=\"packet\"").count();
    assert!(in_region > lists.len(), "{in_region}");
    assert!(!region.contains("Planken"), "only the region's lists");
    assert_eq!(
        s.get(&format!("/regions/{}/packets.pdf", f.planken))
            .await
            .status(),
        200
    );

    // Where the QR code leads: a page that says what to do, with nothing but the number.
    let link = no_redirects()
        .get(app.url(&format!("/l/{number}")))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 200);
    assert!(
        link.text()
            .await
            .unwrap()
            .contains(&format!("<strong>{number}</strong>"))
    );
    // Another campaign's list, or none: not found, as a page.
    assert_eq!(s.get("/walk-lists/999999/packet").await.status(), 404);
}

#[tokio::test]
async fn the_organizer_page_assigns_closes_and_recycles_lists_as_the_api_does() {
    let f = field().await;
    let app = &f.app;
    let s = sign_in(app, "admin@test.org").await;
    let html = s.page(&format!("/organize?region_id={}", f.vaduz)).await;
    assert!(html.contains("Turfs and walk lists of Vaduz"));
    assert!(html.contains("vera@test.org"), "volunteers to choose from");
    let csrf = hidden(&html, "csrf");
    // The turf's completion is the API's doors knocked over its doors.
    let turf = json_with(
        app.get(&format!("/api/v1/turfs/{}", f.turfs[0]), &f.admin)
            .await,
        200,
    )
    .await;
    assert!(html.contains(&format!("8 of {} doors knocked", turf["door_count"])));

    let lists = json_with(
        app.get(
            &format!("/api/v1/walk-lists?turf_id={}&limit=200", f.turfs[1]),
            &f.admin,
        )
        .await,
        200,
    )
    .await;
    let other = lists["items"][0]["id"].as_i64().unwrap();
    assert!(html.contains(&format!("data-list=\"{other}\" data-status=\"open\"")));

    // Assign: the API sees the volunteer holding it.
    let vol = f.volunteer_id.to_string();
    let back = f.vaduz.to_string();
    let res = s
        .post(
            &format!("/organize/walk-lists/{other}/assign"),
            &[("csrf", &csrf), ("user_id", &vol), ("back", &back)],
            Some(&app.address),
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert!(
        location(&res).starts_with(&format!("/organize?region_id={}&notice=assigned", f.vaduz))
    );
    let read = json_with(
        app.get(&format!("/api/v1/walk-lists/{other}"), &f.admin)
            .await,
        200,
    )
    .await;
    assert_eq!(read["assignees"], json!([f.volunteer_id]));
    assert_eq!(read["status"], "assigned");
    let mine = json_with(app.get("/api/v1/me/walk-lists", &f.volunteer).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let page = s.page(&location(&res)).await;
    assert!(
        page.contains("is assigned")
            && page.contains(&format!("data-list=\"{other}\" data-status=\"assigned\""))
    );

    // Without the form's token, or from another site: refused, nothing changes.
    let close = format!("/organize/walk-lists/{other}/close");
    assert_eq!(s.post(&close, &[("csrf", "x")], None).await.status(), 403);
    assert_eq!(
        s.post(&close, &[("csrf", &csrf)], Some("https://evil.example"))
            .await
            .status(),
        403
    );
    let read = json_with(
        app.get(&format!("/api/v1/walk-lists/{other}"), &f.admin)
            .await,
        200,
    )
    .await;
    assert_eq!(read["status"], "assigned");

    // Close: the API sees it closed.
    let res = s
        .post(&close, &[("csrf", &csrf), ("back", &back)], None)
        .await;
    assert_eq!(res.status(), 303);
    let read = json_with(
        app.get(&format!("/api/v1/walk-lists/{other}"), &f.admin)
            .await,
        200,
    )
    .await;
    assert_eq!(read["status"], "closed");
    // Closing it again: the API's 409, as a page.
    let again = s.post(&close, &[("csrf", &csrf)], None).await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("already closed"));

    // Recycle the knocked list: its unfinished doors become a new list.
    let id = f.list["id"].as_i64().unwrap();
    let res = s
        .post(
            &format!("/organize/walk-lists/{id}/recycle"),
            &[("csrf", &csrf), ("back", &back)],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);
    let new_number: i64 = location(&res)
        .rsplit("list=")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let old = json_with(
        app.get(&format!("/api/v1/walk-lists/{id}"), &f.admin).await,
        200,
    )
    .await;
    assert_eq!(old["status"], "closed");
    let all = json_with(
        app.get(
            &format!("/api/v1/walk-lists?turf_id={}&limit=200", f.turfs[0]),
            &f.admin,
        )
        .await,
        200,
    )
    .await;
    let recycled = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == new_number)
        .expect("the recycled list");
    // Three of the eight knocks left their door to knock again.
    let unfinished = f.list["door_count"].as_i64().unwrap() - 5;
    assert_eq!(recycled["door_count"], unfinished);
}

//! Walk packets: a walk list on paper, as a printable page (A4 or Letter) and as a PDF.
//! Each has the list number, a QR code a phone opens the list with, a route map of the
//! numbered stops, and the stops in walking order with the people to ask for, the
//! units of buildings, a box for the result code and boxes for each person's support
//! ID. A turf or a region prints every live list as one document, a list per page.
//!
//! The QR code holds `{public_url}/l/{number}`: an https link the app claims (Android
//! App Links, iOS Universal Links) and opens list `number` with; without the app the
//! link shows a short page telling the reader to type the number into the app (it
//! shows nothing else: whoever holds the paper already has the number).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::map::{self, Projection};
use super::qr::{self, Modules};
use super::session::PageUser;
use super::{PageError, render, run, secure};
use crate::app::{self, Actor};
use crate::db::names::{self, Named};
use crate::db::walk_lists::WalkList;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::knock::KnockResult;
use crate::routes::walk_lists::view;
use crate::state::AppState;
use crate::walk::Status;

/// Most lists one document prints.
pub const MAX_LISTS: usize = 200;

/// A person to ask for at a stop.
#[derive(Debug, Clone)]
pub struct PacketPerson {
    pub name: String,
    pub age: Option<i64>,
}

/// A stop as printed.
#[derive(Debug, Clone)]
pub struct PacketStop {
    /// 1, 2, 3, … in walking order.
    pub number: usize,
    /// Street and house number.
    pub address: String,
    pub unit: String,
    pub city: String,
    pub lat: f64,
    pub lng: f64,
    pub people: Vec<PacketPerson>,
    /// Whether the door is done for this list already (printed greyed).
    pub finished: bool,
    /// Doors of the same building next to each other are marked as one building.
    pub same_building_as_previous: bool,
    /// The building's notes (access, entry code), on its first unit only.
    pub building_notes: Option<String>,
}

/// One list as printed.
#[derive(Debug, Clone)]
pub struct Packet {
    pub id: i64,
    pub number: i64,
    pub name: String,
    pub turf: String,
    pub status: &'static str,
    pub door_count: i64,
    pub people_count: i64,
    pub distance_km: String,
    pub walking_minutes: f64,
    pub qr_url: String,
    pub qr: Modules,
    pub stops: Vec<PacketStop>,
}

/// A result code as the legend prints it: the number a canvasser writes in the box.
pub struct Code {
    pub number: usize,
    pub label: &'static str,
    pub code: &'static str,
}

/// The legend of result codes, numbered in the order a phone lists them.
pub fn codes() -> Vec<Code> {
    KnockResult::ALL
        .into_iter()
        .enumerate()
        .map(|(i, r)| Code {
            number: i + 1,
            label: r.label(),
            code: r.code(),
        })
        .collect()
}

fn is_live(status: Status) -> bool {
    matches!(status, Status::Open | Status::Assigned | Status::InProgress)
}

/// The packet of one list: the same view `GET /api/v1/walk-lists/{id}` gives.
fn packet(
    conn: &mut DbConnection,
    list: &WalkList,
    public_base: &str,
    now: NaiveDateTime,
) -> Result<Packet, ApiError> {
    let v = view(conn, list, now)?;
    let turf = names::of(conn, list.campaign_id, Named::Turf, [list.turf_id])?
        .remove(&list.turf_id)
        .unwrap_or_default();
    let qr_url = format!("{public_base}/l/{}", list.number);
    let qr = qr::encode(&qr_url)?;
    let mut previous: Option<(String, String, String)> = None;
    let stops = v
        .stops
        .into_iter()
        .map(|s| {
            let a = s.address;
            let building = (a.street.clone(), a.housenumber.clone(), a.city.clone());
            let same = previous.as_ref() == Some(&building) && !a.unit.is_empty();
            previous = Some(building);
            let building_notes = s
                .building
                .as_ref()
                .and_then(|b| b.notes.clone())
                .filter(|_| !same);
            PacketStop {
                number: s.position + 1,
                address: [a.street.trim(), a.housenumber.trim()]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
                unit: a.unit,
                city: a.city,
                lat: s.location.lat,
                lng: s.location.lng,
                people: s
                    .people
                    .into_iter()
                    .map(|p| PacketPerson {
                        name: format!("{} {}", p.first_name, p.last_name)
                            .trim()
                            .to_owned(),
                        age: p.age,
                    })
                    .collect(),
                finished: s.finished,
                same_building_as_previous: same,
                building_notes,
            }
        })
        .collect();
    Ok(Packet {
        id: list.id,
        number: list.number,
        name: list.name.clone(),
        turf,
        status: v.summary.status.as_str(),
        door_count: v.summary.door_count,
        people_count: v.summary.people_count,
        distance_km: format!("{:.1}", v.summary.distance_m / 1000.0),
        walking_minutes: v.summary.walking_minutes,
        qr_url,
        qr,
        stops,
    })
}

/// What to print.
#[derive(Debug, Clone, Copy)]
enum Which {
    List(i64),
    Turf(i64),
    Region(i64),
}

fn gather(
    conn: &mut DbConnection,
    actor: Actor,
    which: Which,
    public_base: &str,
) -> Result<(String, Vec<Packet>), ApiError> {
    let now = db::now();
    let (title, lists) = match which {
        Which::List(id) => {
            let list = app::walk_lists::readable(conn, actor, id, now)?;
            (format!("Walk list {}", list.number), vec![list])
        }
        Which::Turf(id) => {
            let turf = app::turfs::find(conn, actor.campaign_id, id)?;
            (
                format!("Turf {}", turf.name),
                live_lists(conn, actor, &[id], now)?,
            )
        }
        Which::Region(id) => {
            let region = db::regions::find(conn, actor.campaign_id, id)?
                .ok_or_else(|| ApiError::not_found("region"))?;
            let turfs: Vec<i64> = db::turfs::all(conn, actor.campaign_id, Some(id), 100_000)?
                .into_iter()
                .map(|t| t.id)
                .collect();
            (
                format!("Region {}", region.name),
                live_lists(conn, actor, &turfs, now)?,
            )
        }
    };
    let packets = lists
        .iter()
        .map(|l| packet(conn, l, public_base, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((title, packets))
}

/// The live lists of some turfs, in turf and number order; more than [`MAX_LISTS`] is
/// a 413.
fn live_lists(
    conn: &mut DbConnection,
    actor: Actor,
    turfs: &[i64],
    now: NaiveDateTime,
) -> Result<Vec<WalkList>, ApiError> {
    let mut out = Vec::new();
    for turf in turfs {
        let mut after = None;
        loop {
            let page = db::walk_lists::list(conn, actor.campaign_id, Some(*turf), after, 500)?;
            after = page.last().map(|l| l.id);
            let done = page.len() < 500;
            out.extend(
                page.into_iter()
                    .filter(|l| is_live(l.list_state().status(now))),
            );
            if out.len() > MAX_LISTS {
                return Err(ApiError::TooLarge {
                    message: format!(
                        "one document prints at most {MAX_LISTS} lists; print a turf at a time"
                    ),
                    details: serde_json::json!({ "limit": MAX_LISTS }),
                });
            }
            if done {
                break;
            }
        }
    }
    out.sort_by_key(|l| l.number);
    Ok(out)
}

/// A route map: the stops in walking order, numbered.
pub struct RouteMap {
    pub view_box: String,
    pub line: String,
    pub radius: String,
    pub font: String,
    pub marks: Vec<Mark>,
}

/// A numbered stop on the route map.
pub struct Mark {
    pub x: String,
    pub y: String,
    /// Where the number sits (a little below the centre, to look centred).
    pub text_y: String,
    pub label: usize,
    pub done: bool,
}

/// The route map of a list's stops, `width` wide.
pub fn route_map(stops: &[PacketStop], width: f64) -> RouteMap {
    let bbox =
        map::bbox_of_points(stops.iter().map(|s| (s.lng, s.lat))).unwrap_or([0.0, 0.0, 0.0, 0.0]);
    let projection = Projection::fit(bbox, width, width * 0.75, 16.0);
    let n = stops.len().max(1) as f64;
    // Circles shrink as stops crowd, within reason.
    let radius = (width / (n.sqrt() * 5.0)).clamp(5.0, 11.0);
    let marks = stops
        .iter()
        .map(|s| {
            let (x, y) = projection.point(s.lng, s.lat);
            Mark {
                x: map::num(x),
                y: map::num(y),
                text_y: map::num(y + radius * 0.35),
                label: s.number,
                done: s.finished,
            }
        })
        .collect();
    RouteMap {
        view_box: projection.view_box(),
        line: projection.line(stops.iter().map(|s| (s.lng, s.lat))),
        radius: map::num(radius),
        font: map::num(radius * 1.05),
        marks,
    }
}

/// A packet as the page shows it.
pub struct PacketView {
    pub packet: Packet,
    pub qr_svg: String,
    pub route: RouteMap,
}

#[derive(Template)]
#[template(path = "packets.html")]
struct PacketsPage {
    title: String,
    paper: &'static str,
    pdf_link: String,
    a4_link: String,
    letter_link: String,
    packets: Vec<PacketView>,
    codes: Vec<Code>,
}

#[derive(Debug, Deserialize)]
pub struct PaperQuery {
    paper: Option<String>,
}

/// A4 unless Letter is asked for.
fn letter(q: &PaperQuery) -> bool {
    q.paper.as_deref() == Some("letter")
}

async fn html_of(
    state: web::Data<AppState>,
    user: PageUser,
    which: Which,
    base_path: String,
    q: &PaperQuery,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    let actor = Actor::from(&user.auth);
    let public = state.settings.public_base().to_owned();
    let (title, packets) = run(&state.db, move |conn| gather(conn, actor, which, &public)).await?;
    let letter = letter(q);
    let paper = if letter { "letter" } else { "a4" };
    let packets = packets
        .into_iter()
        .map(|p| PacketView {
            qr_svg: p
                .qr
                .svg(132, &format!("QR code opening walk list {}", p.number)),
            route: route_map(&p.stops, 640.0),
            packet: p,
        })
        .collect();
    render(
        StatusCode::OK,
        &PacketsPage {
            title,
            paper,
            pdf_link: format!("{base_path}.pdf?paper={paper}"),
            a4_link: format!("{base_path}?paper=a4"),
            letter_link: format!("{base_path}?paper=letter"),
            packets,
            codes: codes(),
        },
    )
}

async fn pdf_of(
    state: web::Data<AppState>,
    user: PageUser,
    which: Which,
    file: String,
    q: &PaperQuery,
) -> Result<HttpResponse, PageError> {
    user.staff()?;
    let actor = Actor::from(&user.auth);
    let public = state.settings.public_base().to_owned();
    let (title, packets) = run(&state.db, move |conn| gather(conn, actor, which, &public)).await?;
    let paper = if letter(q) {
        super::pdf::Paper::Letter
    } else {
        super::pdf::Paper::A4
    };
    let bytes = crate::lanes::compute(move || super::pdf::render(&title, &packets, paper))
        .await
        .map_err(ApiError::Internal)?;
    Ok(secure(
        HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file}\""),
            ))
            .body(bytes),
    ))
}

/// `GET /walk-lists/{id}/packet`.
pub async fn list_html(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    html_of(
        state,
        user,
        Which::List(id),
        format!("/walk-lists/{id}/packet"),
        &q,
    )
    .await
}

/// `GET /walk-lists/{id}/packet.pdf`.
pub async fn list_pdf(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    pdf_of(
        state,
        user,
        Which::List(id),
        format!("walk-list-{id}.pdf"),
        &q,
    )
    .await
}

/// `GET /turfs/{id}/packets`: every live list of the turf.
pub async fn turf_html(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    html_of(
        state,
        user,
        Which::Turf(id),
        format!("/turfs/{id}/packets"),
        &q,
    )
    .await
}

/// `GET /turfs/{id}/packets.pdf`.
pub async fn turf_pdf(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    pdf_of(
        state,
        user,
        Which::Turf(id),
        format!("turf-{id}-packets.pdf"),
        &q,
    )
    .await
}

/// `GET /regions/{id}/packets`: every live list of the region's turfs.
pub async fn region_html(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    html_of(
        state,
        user,
        Which::Region(id),
        format!("/regions/{id}/packets"),
        &q,
    )
    .await
}

/// `GET /regions/{id}/packets.pdf`.
pub async fn region_pdf(
    state: web::Data<AppState>,
    user: PageUser,
    path: web::Path<i64>,
    q: web::Query<PaperQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    pdf_of(
        state,
        user,
        Which::Region(id),
        format!("region-{id}-packets.pdf"),
        &q,
    )
    .await
}

#[derive(Template)]
#[template(path = "list_link.html")]
struct ListLink {
    title: String,
    csrf: String,
    number: i64,
}

/// `GET /l/{number}`: where a packet's QR code leads. The app opens such links itself;
/// in a browser this page says what to do. It reads nothing from the store.
pub async fn list_link(path: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let number = path.into_inner();
    render(
        StatusCode::OK,
        &ListLink {
            title: format!("Walk list {number}"),
            csrf: String::new(),
            number,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(number: usize, lng: f64, lat: f64) -> PacketStop {
        PacketStop {
            number,
            address: format!("Street {number}"),
            unit: String::new(),
            city: "Vaduz".into(),
            lat,
            lng,
            people: Vec::new(),
            finished: false,
            same_building_as_previous: false,
            building_notes: None,
        }
    }

    #[test]
    fn the_route_map_numbers_stops_in_order_inside_the_view() {
        let stops = vec![
            stop(1, 9.52, 47.14),
            stop(2, 9.521, 47.141),
            stop(3, 9.522, 47.139),
        ];
        let m = route_map(&stops, 600.0);
        assert_eq!(
            m.marks.iter().map(|k| k.label).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(m.line.matches('L').count(), 2);
        for k in &m.marks {
            let x: f64 = k.x.parse().unwrap_or(-1.0);
            assert!((0.0..=600.0).contains(&x));
        }
        assert_eq!(codes().len(), KnockResult::ALL.len());
        assert_eq!(codes()[0].code, "contacted");
    }
}

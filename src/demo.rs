//! `groundswell demo`: a living campaign in one command, on the real doors of
//! Liechtenstein (OpenStreetMap, ODbL; see `data/liechtenstein/README.md`) with
//! deterministic synthetic people, a region per municipality and one user per role.

use std::fmt::Write as _;

use geo::{BoundingRect, Contains, MultiPolygon, Point, Rect};

use crate::admin;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::import;
use crate::spatial::tiling::{self, AreaLimits};

/// The real doors, as shipped in the repository.
pub const DOORS_CSV: &str = include_str!("../data/liechtenstein/doors.csv");
/// The real boundaries: country, two districts and eleven municipalities.
pub const BOUNDARIES_GEOJSON: &str = include_str!("../data/liechtenstein/boundaries.geojson");

/// A municipality: its name, area (GeoJSON text and polygons) and bounding box.
pub struct Municipality {
    pub name: String,
    pub geometry: geojson::Geometry,
    pub area: MultiPolygon,
    bbox: Rect,
}

impl Municipality {
    pub fn contains(&self, lng: f64, lat: f64) -> bool {
        let p = Point::new(lng, lat);
        self.bbox.contains(&p) && self.area.contains(&p)
    }
}

/// The eleven municipalities (admin level 8), in file order.
pub fn municipalities() -> anyhow::Result<Vec<Municipality>> {
    let collection: geojson::FeatureCollection =
        BOUNDARIES_GEOJSON.parse::<geojson::GeoJson>()?.try_into()?;
    let limits = AreaLimits {
        max_vertices: 100_000,
        max_cells: 0,
    };
    let mut out = Vec::new();
    for feature in collection.features {
        let level = feature
            .property("admin_level")
            .and_then(serde_json::Value::as_i64);
        if level != Some(8) {
            continue;
        }
        let name = feature
            .property("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unnamed")
            .to_owned();
        let Some(geometry) = feature.geometry else {
            continue;
        };
        let area = tiling::parse_area(&geometry.value, &limits)
            .map_err(|e| anyhow::anyhow!("boundary {name}: {e}"))?;
        let bbox = area
            .bounding_rect()
            .ok_or_else(|| anyhow::anyhow!("boundary {name} is empty"))?;
        out.push(Municipality {
            name,
            geometry,
            area,
            bbox,
        });
    }
    Ok(out)
}

/// One door of the shipped file.
pub struct DemoDoor {
    pub osm_id: String,
    pub lat: f64,
    pub lng: f64,
    pub street: String,
    pub housenumber: String,
    pub postcode: String,
    pub city: String,
}

/// The 3,215 real doors.
pub fn doors() -> anyhow::Result<Vec<DemoDoor>> {
    let mut reader = csv::Reader::from_reader(DOORS_CSV.as_bytes());
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row?;
        let field = |i: usize| row.get(i).unwrap_or("").to_owned();
        out.push(DemoDoor {
            osm_id: field(0),
            lat: field(1).parse()?,
            lng: field(2).parse()?,
            street: field(3),
            housenumber: field(4),
            postcode: field(5),
            city: field(6),
        });
    }
    Ok(out)
}

/// A small deterministic generator (SplitMix64), seeded per door so that every door
/// always gets the same people whatever else changes.
struct Rng(u64);

impl Rng {
    fn for_key(key: &str) -> Rng {
        // FNV-1a of the key as the seed.
        let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(i).copied().unwrap_or("")
    }

    /// Roughly normal (sum of uniforms) around `mean`, clamped to 0..=100.
    fn score(&mut self, mean: f64) -> f64 {
        let noise: f64 = (0..4)
            .map(|_| (self.below(1000) as f64) / 1000.0)
            .sum::<f64>()
            - 2.0;
        (mean + noise * 25.0).clamp(0.0, 100.0).round()
    }
}

const FIRST_NAMES: [&str; 40] = [
    "Anna",
    "Maria",
    "Laura",
    "Sarah",
    "Julia",
    "Lea",
    "Sophie",
    "Elena",
    "Nina",
    "Andrea",
    "Claudia",
    "Monika",
    "Sandra",
    "Petra",
    "Ursula",
    "Martina",
    "Theresa",
    "Katharina",
    "Johanna",
    "Eva",
    "Thomas",
    "Peter",
    "Martin",
    "Daniel",
    "Michael",
    "Markus",
    "Stefan",
    "Andreas",
    "Christoph",
    "Patrick",
    "Lukas",
    "Simon",
    "David",
    "Josef",
    "Franz",
    "Hans",
    "Roman",
    "Matthias",
    "Florian",
    "Manuel",
];
const LAST_NAMES: [&str; 40] = [
    "Büchel",
    "Frick",
    "Marxer",
    "Beck",
    "Vogt",
    "Kaiser",
    "Wohlwend",
    "Ospelt",
    "Hasler",
    "Meier",
    "Schädler",
    "Risch",
    "Batliner",
    "Nigg",
    "Kieber",
    "Eberle",
    "Gassner",
    "Negele",
    "Walser",
    "Sprenger",
    "Kindle",
    "Matt",
    "Oehri",
    "Banzer",
    "Biedermann",
    "Näscher",
    "Hilti",
    "Gstöhl",
    "Lampert",
    "Quaderer",
    "Ritter",
    "Schurte",
    "Tschütscher",
    "Wille",
    "Zech",
    "Heeb",
    "Jehle",
    "Konrad",
    "Lingg",
    "Feger",
];
/// Party codes with the mean support score a model might give their voters.
const PARTIES: [(&str, f64); 5] = [
    ("FBP", 62.0),
    ("VU", 48.0),
    ("FL", 70.0),
    ("DPL", 30.0),
    ("", 50.0),
];

/// The demo's voter file as CSV: 1–4 people per real door, the same every time.
pub fn people_csv(doors: &[DemoDoor], municipalities: &[Municipality], this_year: i64) -> String {
    let mut out = String::from(
        "external_id,first_name,last_name,party,birth_year,phone,street,housenumber,unit,postcode,city,lat,lng,flags,support_score,turnout_score\n",
    );
    for door in doors {
        let mut rng = Rng::for_key(&door.osm_id);
        let city = if door.city.is_empty() {
            municipalities
                .iter()
                .find(|m| m.contains(door.lng, door.lat))
                .map_or("", |m| m.name.as_str())
        } else {
            door.city.as_str()
        };
        let household = 1 + rng.below(4);
        let family = rng.pick(&LAST_NAMES);
        for n in 0..household {
            // Most people at a door share a surname; some do not.
            let last = if rng.below(5) == 0 {
                rng.pick(&LAST_NAMES)
            } else {
                family
            };
            let first = rng.pick(&FIRST_NAMES);
            let (party, mean) =
                PARTIES[usize::try_from(rng.below(PARTIES.len() as u64)).unwrap_or(0)];
            let age = 18 + rng.below(72);
            let phone = if rng.below(3) == 0 {
                String::new()
            } else {
                format!(
                    "+423 {:03} {:02} {:02}",
                    200 + rng.below(600),
                    rng.below(100),
                    rng.below(100)
                )
            };
            let flags = match rng.below(100) {
                0 => "do_not_walk",
                1 => "moved",
                _ => "",
            };
            let support = rng.score(mean);
            let turnout = rng.score(55.0 + (age as f64 - 40.0) * 0.4);
            let quote = |s: &str| {
                if s.contains([',', '"']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.to_owned()
                }
            };
            let _ = writeln!(
                out,
                "LI-{}-{},{},{},{},{},{},{},{},,{},{},{},{},{},{},{}",
                door.osm_id,
                n + 1,
                first,
                last,
                party,
                this_year - i64::try_from(age).unwrap_or(40),
                phone,
                quote(&door.street),
                quote(&door.housenumber),
                quote(&door.postcode),
                quote(city),
                door.lat,
                door.lng,
                flags,
                support,
                turnout
            );
        }
    }
    out
}

/// A login the demo created.
pub struct Login {
    pub role: Role,
    pub email: String,
    pub password: String,
}

/// What the demo made.
pub struct Demo {
    pub campaign_id: i64,
    pub regions: usize,
    pub report: import::Report,
    pub logins: Vec<Login>,
}

fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("demo-{}", hex::encode(bytes)))
}

/// Builds the demo campaign.
pub fn create(conn: &mut DbConnection) -> anyhow::Result<Demo> {
    use chrono::Datelike;
    let municipalities = municipalities()?;
    let doors = doors()?;
    let campaign_id = admin::create_campaign(conn, "Demo: Liechtenstein")?;
    for m in &municipalities {
        let area = serde_json::to_string(&m.geometry)?;
        db::regions::insert(conn, campaign_id, &m.name, None, Some(&area))?;
    }
    let csv = people_csv(
        &doors,
        &municipalities,
        i64::from(chrono::Utc::now().year()),
    );
    let report = import::import_people(conn, campaign_id, csv.as_bytes(), &mut |_, _| Ok(()))?;
    let mut logins = Vec::new();
    for role in [
        Role::Admin,
        Role::Director,
        Role::Organizer,
        Role::Volunteer,
    ] {
        let email = format!("{role}+{campaign_id}@demo.groundswell.test");
        let password = random_password()?;
        admin::create_user(
            conn,
            admin::NewAccount {
                campaign_id,
                email: &email,
                name: Some(&format!("Demo {role}")),
                role,
                password: password.clone(),
            },
        )?;
        logins.push(Login {
            role,
            email,
            password,
        });
    }
    Ok(Demo {
        campaign_id,
        regions: municipalities.len(),
        report,
        logins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_data_is_complete() {
        assert_eq!(doors().unwrap().len(), 3215);
        let names: Vec<String> = municipalities()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names.len(), 11);
        assert!(names.iter().any(|n| n == "Vaduz") && names.iter().any(|n| n == "Planken"));
    }

    #[test]
    fn demo_people_are_deterministic_and_plausible() {
        let doors = doors().unwrap();
        let towns = municipalities().unwrap();
        let a = people_csv(&doors[..200], &towns, 2026);
        let b = people_csv(&doors[..200], &towns, 2026);
        assert_eq!(a, b);
        let rows = a.lines().count() - 1;
        assert!((200..=800).contains(&rows), "{rows}");
        let header = import::row::Header::parse(a.lines().next().unwrap().split(',')).unwrap();
        assert!(header.ignored.is_empty());
    }
}

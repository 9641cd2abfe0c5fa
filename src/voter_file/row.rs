//! One voter-file row: the columns we know, parsed and checked. Pure: no I/O.

use crate::spatial::cells;

/// Columns of the people CSV. Names are matched case-insensitively; columns we do not
/// know are ignored (voter files carry many), and the required ones must be present.
pub const REQUIRED_COLUMNS: [&str; 5] = ["external_id", "street", "housenumber", "lat", "lng"];
pub const OPTIONAL_COLUMNS: [&str; 11] = [
    "first_name",
    "last_name",
    "party",
    "birth_year",
    "phone",
    "unit",
    "postcode",
    "city",
    "flags",
    "support_score",
    "turnout_score",
];
/// The flags a row may carry in its `flags` column, separated by `;` or `|`.
pub const FLAGS: [&str; 3] = ["do_not_walk", "deceased", "moved"];
/// The longest text a field may hold.
pub const MAX_FIELD_CHARS: usize = 200;

/// Where each known column sits in a row.
#[derive(Debug, Clone, Default)]
pub struct Header {
    index: [Option<usize>; 16],
    /// Columns present in the file that we do not use.
    pub ignored: Vec<String>,
}

const ALL: [&str; 16] = [
    "external_id",
    "street",
    "housenumber",
    "lat",
    "lng",
    "first_name",
    "last_name",
    "party",
    "birth_year",
    "phone",
    "unit",
    "postcode",
    "city",
    "flags",
    "support_score",
    "turnout_score",
];

impl Header {
    /// Reads the header row, or says which required columns are missing or repeated.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Header, String> {
        let mut header = Header::default();
        for (position, raw) in names.into_iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}').to_lowercase();
            match ALL.iter().position(|known| *known == name) {
                Some(slot) => {
                    if header.index[slot].is_some() {
                        return Err(format!("column `{name}` appears twice in the header"));
                    }
                    header.index[slot] = Some(position);
                }
                None => header.ignored.push(name),
            }
        }
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .enumerate()
            .filter(|(slot, _)| header.index[*slot].is_none())
            .map(|(_, name)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the header lacks required column(s): {}",
                missing.join(", ")
            ));
        }
        Ok(header)
    }

    /// The trimmed value of the column in `slot` (an index into `ALL`), or "" when the
    /// file lacks the column or the row is short.
    /// The field, trimmed, without the apostrophe our exports put before text a
    /// spreadsheet would run as a formula (see [`crate::export::cell_text`]), so an
    /// exported file re-imports as it was.
    fn field<'r>(&self, row: &[&'r str], slot: usize) -> &'r str {
        self.index[slot]
            .and_then(|i| row.get(i))
            .map_or("", |v| crate::export::unguard(v.trim()))
    }
}

// Positions in `ALL`.
const EXTERNAL_ID: usize = 0;
const STREET: usize = 1;
const HOUSENUMBER: usize = 2;
const LAT: usize = 3;
const LNG: usize = 4;
const FIRST_NAME: usize = 5;
const LAST_NAME: usize = 6;
const PARTY: usize = 7;
const BIRTH_YEAR: usize = 8;
const PHONE: usize = 9;
const UNIT: usize = 10;
const POSTCODE: usize = 11;
const CITY: usize = 12;
const FLAGS_COLUMN: usize = 13;
const SUPPORT_SCORE: usize = 14;
const TURNOUT_SCORE: usize = 15;

/// A normalised postal address: what makes two rows the same door.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address {
    pub street: String,
    pub housenumber: String,
    pub postcode: String,
    pub city: String,
    pub unit: String,
}

impl Address {
    /// The key two rows share when they are the same building: street, number, postcode
    /// and city compared without case, surplus spaces or dots (`Haupt-Str. 5 A` and
    /// `haupt-str 5a` are one door). The unit is kept beside the key.
    pub fn key(&self) -> String {
        let mut key = String::new();
        push_address_key(
            &mut key,
            [&self.street, &self.housenumber, &self.postcode, &self.city],
        );
        key
    }

    pub fn unit_key(&self) -> String {
        let mut key = String::with_capacity(self.unit.len());
        push_normalised(&mut key, &self.unit, true);
        key
    }
}

/// Appends the key of [`Address::key`] for street, house number, postcode and city.
fn push_address_key(out: &mut String, [street, housenumber, postcode, city]: [&str; 4]) {
    out.reserve(street.len() + housenumber.len() + postcode.len() + city.len() + 3);
    push_normalised(out, street, true);
    out.push('|');
    push_normalised(out, housenumber, false);
    out.push('|');
    push_normalised(out, postcode, false);
    out.push('|');
    push_normalised(out, city, true);
}

/// Appends `text` split into words at whitespace, dots and commas, the words joined by
/// one space and lower-cased as a whole (so context-dependent lower-casing, such as a
/// word-final Greek sigma, comes out as for the joined string). Without `spaces` the
/// joining spaces are then dropped (house numbers and postcodes: `5 A` is `5a`).
fn push_normalised(out: &mut String, text: &str, spaces: bool) {
    let start = out.len();
    let mut ascii = true;
    for word in text
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
    {
        if out.len() > start {
            out.push(' ');
        }
        out.push_str(word);
        ascii &= word.is_ascii();
    }
    if ascii {
        out[start..].make_ascii_lowercase();
    } else {
        let lower = out[start..].to_lowercase();
        out.truncate(start);
        out.push_str(&lower);
    }
    if !spaces {
        let mut from = start;
        while let Some(at) = out[from..].find(' ') {
            out.remove(from + at);
            from += at;
        }
    }
}

/// A person as the voter file gives them, with the door they live at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonRecord {
    pub external_id: String,
    pub first_name: String,
    pub last_name: String,
    pub party: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub do_not_walk: bool,
    pub deceased: bool,
    pub moved: bool,
    pub support_score: Option<f64>,
    pub turnout_score: Option<f64>,
    pub address: Address,
    /// `address.key()` and `address.unit_key()`, worked out once when the row is read:
    /// the door is (campaign, door_key, unit_key).
    pub door_key: String,
    pub unit_key: String,
    pub lat: f64,
    pub lng: f64,
    /// The door's resolution-15 H3 cell, as stored.
    pub cell: i64,
}

/// Parses one data row; the error is the reason it was skipped.
pub fn parse_row(header: &Header, row: &[&str], this_year: i64) -> Result<PersonRecord, String> {
    let mut person = PersonRecord::default();
    parse_row_into(header, row, this_year, &mut person)?;
    Ok(person)
}

/// [`parse_row`] into a record that is reused, keeping the memory of its strings (the
/// import parses a million rows into a few thousand records). The row is checked
/// completely before anything is written: on an error, `out` is left as it was.
pub fn parse_row_into(
    header: &Header,
    row: &[&str],
    this_year: i64,
    out: &mut PersonRecord,
) -> Result<(), String> {
    let text = |slot: usize| -> Result<&str, String> {
        let value = header.field(row, slot);
        // A value of at most MAX_FIELD_CHARS bytes has at most as many characters.
        if value.len() > MAX_FIELD_CHARS && value.chars().count() > MAX_FIELD_CHARS {
            return Err(format!(
                "{} is longer than {MAX_FIELD_CHARS} characters",
                ALL[slot]
            ));
        }
        if value.contains('\0') {
            return Err(format!(
                "{} contains the NUL character (U+0000), which cannot be stored",
                ALL[slot]
            ));
        }
        Ok(value)
    };
    let external_id = text(EXTERNAL_ID)?;
    if external_id.is_empty() {
        return Err("external_id is missing".into());
    }
    let street = text(STREET)?;
    if street.is_empty() {
        return Err("street is missing".into());
    }
    let housenumber = text(HOUSENUMBER)?;
    if housenumber.is_empty() {
        return Err("housenumber is missing".into());
    }
    let lat = coordinate(header.field(row, LAT), "lat")?;
    let lng = coordinate(header.field(row, LNG), "lng")?;
    let cell = cells::door_cell(lat, lng).map_err(str::to_owned)?;
    let birth_year = match header.field(row, BIRTH_YEAR) {
        "" => None,
        v => {
            let year: i64 = v
                .parse()
                .map_err(|_| format!("birth_year `{v}` is not a whole number"))?;
            if !(1900..=this_year).contains(&year) {
                return Err(format!("birth_year {year} is outside 1900..{this_year}"));
            }
            Some(year)
        }
    };
    let (mut do_not_walk, mut deceased, mut moved) = (false, false, false);
    for flag in header
        .field(row, FLAGS_COLUMN)
        .split([';', '|'])
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty())
    {
        match flag.as_str() {
            "do_not_walk" => do_not_walk = true,
            "deceased" => deceased = true,
            "moved" => moved = true,
            other => {
                return Err(format!(
                    "unknown flag `{other}` (known: {})",
                    FLAGS.join(", ")
                ));
            }
        }
    }
    let first_name = text(FIRST_NAME)?;
    let last_name = text(LAST_NAME)?;
    let party = text(PARTY)?;
    let phone = text(PHONE)?;
    let support_score = score(header.field(row, SUPPORT_SCORE), "support_score")?;
    let turnout_score = score(header.field(row, TURNOUT_SCORE), "turnout_score")?;
    let postcode = text(POSTCODE)?;
    let city = text(CITY)?;
    let unit = text(UNIT)?;

    set(&mut out.external_id, external_id);
    set(&mut out.first_name, first_name);
    set(&mut out.last_name, last_name);
    set_optional(&mut out.party, party);
    out.birth_year = birth_year;
    set_optional(&mut out.phone, phone);
    (out.do_not_walk, out.deceased, out.moved) = (do_not_walk, deceased, moved);
    out.support_score = support_score;
    out.turnout_score = turnout_score;
    set(&mut out.address.street, street);
    set(&mut out.address.housenumber, housenumber);
    set(&mut out.address.postcode, postcode);
    set(&mut out.address.city, city);
    set(&mut out.address.unit, unit);
    out.door_key.clear();
    push_address_key(&mut out.door_key, [street, housenumber, postcode, city]);
    out.unit_key.clear();
    push_normalised(&mut out.unit_key, unit, true);
    out.lat = lat;
    out.lng = lng;
    out.cell = cells::to_db(cell);
    Ok(())
}

fn set(into: &mut String, value: &str) {
    into.clear();
    into.push_str(value);
}

/// An empty value is no value.
fn set_optional(into: &mut Option<String>, value: &str) {
    if value.is_empty() {
        *into = None;
    } else {
        set(into.get_or_insert_with(String::new), value);
    }
}

fn coordinate(value: &str, column: &str) -> Result<f64, String> {
    if value.is_empty() {
        return Err(format!("{column} is missing"));
    }
    let number: f64 = value
        .parse()
        .map_err(|_| format!("{column} `{value}` is not a number"))?;
    let limit = if column == "lat" { 90.0 } else { 180.0 };
    if !number.is_finite() || number.abs() > limit {
        return Err(format!("{column} {value} is outside -{limit}..{limit}"));
    }
    Ok(number)
}

fn score(value: &str, column: &str) -> Result<Option<f64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let number: f64 = value
        .parse()
        .map_err(|_| format!("{column} `{value}` is not a number"))?;
    if !number.is_finite() || !(0.0..=100.0).contains(&number) {
        return Err(format!("{column} {value} is outside 0..100"));
    }
    Ok(Some(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::parse(
            "external_id,first_name,last_name,street,housenumber,unit,postcode,city,lat,lng,flags,support_score,birth_year,precinct"
                .split(','),
        )
        .unwrap()
    }

    fn row(line: &str) -> Result<PersonRecord, String> {
        let fields: Vec<&str> = line.split(',').collect();
        parse_row(&header(), &fields, 2026)
    }

    #[test]
    fn a_good_row_parses_with_its_door() {
        let p = row("V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1399905,9.5228593,moved;do_not_walk,71.5,1980,P7").unwrap();
        assert_eq!(p.external_id, "V1");
        assert!(p.moved && p.do_not_walk && !p.deceased);
        assert_eq!(p.support_score, Some(71.5));
        assert_eq!(p.birth_year, Some(1980));
        assert_eq!(p.address.key(), "städtle|23|9490|vaduz");
        assert_eq!(header().ignored, vec!["precinct".to_owned()]);
    }

    #[test]
    fn bad_rows_say_why() {
        let cases = [
            (
                ",Anna,Beck,Städtle,23,,9490,Vaduz,47.1,9.5,,,,",
                "external_id is missing",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,north,9.5,,,,",
                "lat `north` is not a number",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1,190,,,,",
                "lng 190 is outside",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,,9.5,,,,",
                "lat is missing",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1,9.5,vip,,,",
                "unknown flag `vip`",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1,9.5,,101,,",
                "support_score 101 is outside 0..100",
            ),
            (
                "V1,Anna,Beck,Städtle,23,,9490,Vaduz,47.1,9.5,,,1850,",
                "birth_year 1850",
            ),
            (
                "V1,Anna,Beck,,23,,9490,Vaduz,47.1,9.5,,,,",
                "street is missing",
            ),
        ];
        for (line, expected) in cases {
            let err = row(line).unwrap_err();
            assert!(err.contains(expected), "{line}: {err}");
        }
    }

    #[test]
    fn the_same_address_written_differently_is_one_door() {
        let a = row("V1,,,Haupt-Str.  5,5 A,,9490,Vaduz,47.1,9.5,,,,").unwrap();
        let b = row("V2,,,haupt-str 5,5a,,9490, VADUZ ,47.1,9.5,,,,").unwrap();
        assert_eq!(a.address.key(), b.address.key());
        let c = row("V3,,,Haupt-Str. 5,5a,,9494,Schaan,47.1,9.5,,,,").unwrap();
        assert_ne!(a.address.key(), c.address.key());
    }

    /// The address key as first written: split, join, lower-case, and drop the spaces
    /// of house number and postcode. Stored keys were made this way, so the faster
    /// version must agree with it exactly or re-imports would miss their doors.
    fn reference_key(a: &Address) -> (String, String) {
        fn normalise(text: &str) -> String {
            text.split(|c: char| c.is_whitespace() || c == '.' || c == ',')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        }
        (
            format!(
                "{}|{}|{}|{}",
                normalise(&a.street),
                normalise(&a.housenumber).replace(' ', ""),
                normalise(&a.postcode).replace(' ', ""),
                normalise(&a.city)
            ),
            normalise(&a.unit),
        )
    }

    fn address(parts: [&str; 5]) -> Address {
        Address {
            street: parts[0].into(),
            housenumber: parts[1].into(),
            postcode: parts[2].into(),
            city: parts[3].into(),
            unit: parts[4].into(),
        }
    }

    #[test]
    fn the_address_key_is_the_one_stored_before() {
        let cases = [
            ["Haupt-Str.  5", "5 A", "94 90", " VADUZ ", "2.OG, links"],
            ["ΟΔΟΣ ΕΡΜΟΥ", "1 Σ", "ΑΣ Σ", "ΑΘΗΝΑΣ.", "ΣΑΣ,Σ"],
            ["İstanbul Cd", "12\u{a0}B", "\t", "ẞtraße", "Ǆ ǅ"],
            ["...", ", ,", "", "a", ""],
        ];
        for parts in cases {
            let a = address(parts);
            assert_eq!((a.key(), a.unit_key()), reference_key(&a), "{parts:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_address_key_matches_the_reference(
            parts in proptest::array::uniform5("[ .,a-zA-Z0-9ΣσςΑİẞß\\u{a0}\t-]{0,12}|\\PC{0,12}")
        ) {
            let a = address([&parts[0], &parts[1], &parts[2], &parts[3], &parts[4]]);
            proptest::prop_assert_eq!((a.key(), a.unit_key()), reference_key(&a));
        }
    }

    #[test]
    fn a_reused_record_holds_only_the_new_row() {
        let mut reused =
            row("V1,Anna,Beck,Städtle,23,2a,9490,Vaduz,47.1,9.5,moved,71.5,1980,P7").unwrap();
        let fields: Vec<&str> = "V2,,,Au,7,,,,47.2,9.6,,,,".split(',').collect();
        parse_row_into(&header(), &fields, 2026, &mut reused).unwrap();
        assert_eq!(reused, parse_row(&header(), &fields, 2026).unwrap());
        // A bad row leaves the record alone.
        let before = reused.clone();
        let fields: Vec<&str> = "V3,,,Au,7,,,,north,9.6,,,,".split(',').collect();
        assert!(parse_row_into(&header(), &fields, 2026, &mut reused).is_err());
        assert_eq!(reused, before);
    }

    #[test]
    fn a_row_carries_its_door_key() {
        let p = row("V1,,,Haupt-Str.  5,5 A,2. OG,9490,Vaduz,47.1,9.5,,,,").unwrap();
        assert_eq!(p.door_key, p.address.key());
        assert_eq!(p.unit_key, "2 og");
    }

    #[test]
    fn a_header_without_required_columns_is_refused() {
        let err = Header::parse("id,name,lat".split(',')).unwrap_err();
        assert!(
            err.contains("external_id, street, housenumber, lng"),
            "{err}"
        );
        let err =
            Header::parse("external_id,street,housenumber,lat,lng,LAT".split(',')).unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }
}

//! Walk packets as PDF, written with `pdf-writer` in the PDF's built-in Helvetica (no
//! font is embedded; text is WinAnsi, which covers the Latin-1 letters of street and
//! people's names; anything else prints as `?`).
//!
//! Each list gets a cover page (number, name, counts, QR code, route map, the legend
//! of result codes) and then [`STOPS_PER_PAGE`] stops per page, so a list of `n`
//! stops takes `1 + ceil(n / STOPS_PER_PAGE)` pages on A4 and on Letter alike.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::map::{self, Projection};
use super::packets::{Packet, PacketStop, codes};
use super::qr::QUIET;

/// Stops printed on one page after the cover.
pub const STOPS_PER_PAGE: usize = 16;
/// People named per stop on paper (more are counted, "+2 more").
const PEOPLE_PER_STOP: usize = 3;
const MARGIN: f32 = 36.0;

/// The sheet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.0, 842.0),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// The pages a list of `stops` stops takes.
pub fn pages_for(stops: usize) -> usize {
    1 + stops.div_ceil(STOPS_PER_PAGE)
}

/// WinAnsi bytes of `text` (Latin-1 and ASCII as is; anything else `?`).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7E | 0xA0..=0xFF => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            0x2013 => 0x96,
            0x2014 => 0x97,
            0x2019 => 0x92,
            0x2026 => 0x85,
            0x20AC => 0x80,
            _ => b'?',
        })
        .collect()
}

/// `text` cut to about `width` points at `size` (Helvetica's letters average a little
/// over half an em).
fn fit(text: &str, width: f32, size: f32) -> String {
    let max = ((width / (size * 0.53)).floor() as usize).max(1);
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Writes one page's drawing.
struct Page {
    content: Content,
    height: f32,
}

impl Page {
    fn new(height: f32) -> Page {
        Page {
            content: Content::new(),
            height,
        }
    }

    /// Text at `(x, top)` measured from the top of the sheet.
    fn text(&mut self, x: f32, top: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { Name(b"F2") } else { Name(b"F1") };
        let bytes = win_ansi(text);
        self.content
            .begin_text()
            .set_font(font, size)
            .next_line(x, self.height - top)
            .show(Str(&bytes))
            .end_text();
    }

    fn rect(&mut self, x: f32, top: f32, w: f32, h: f32, fill: bool) {
        self.content.rect(x, self.height - top - h, w, h);
        if fill {
            self.content.fill_nonzero();
        } else {
            self.content.stroke();
        }
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32)) {
        self.content
            .move_to(from.0, self.height - from.1)
            .line_to(to.0, self.height - to.1)
            .stroke();
    }

    fn circle(&mut self, cx: f32, ctop: f32, r: f32, fill_grey: f32) {
        let (cx, cy) = (cx, self.height - ctop);
        let k = 0.552_284_8 * r;
        self.content
            .set_fill_rgb(fill_grey, fill_grey, fill_grey)
            .move_to(cx + r, cy)
            .cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r)
            .cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy)
            .cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r)
            .cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy)
            .close_path()
            .fill_nonzero_and_stroke()
            .set_fill_rgb(0.0, 0.0, 0.0);
    }
}

/// The cover page of a list: header, QR code, route map, legend.
fn cover(p: &Packet, (w, h): (f32, f32)) -> Page {
    let mut page = Page::new(h);
    page.content.set_line_width(0.8);
    let qr_size = 100.0;
    let text_width = w - 2.0 * MARGIN - qr_size - 12.0;
    page.text(
        MARGIN,
        MARGIN + 22.0,
        24.0,
        true,
        &format!("Walk list {}", p.number),
    );
    page.text(
        MARGIN,
        MARGIN + 42.0,
        13.0,
        true,
        &fit(&p.name, text_width, 13.0),
    );
    page.text(
        MARGIN,
        MARGIN + 58.0,
        9.5,
        false,
        &fit(
            &format!(
                "Turf {} - {} doors - {} people - {} km, about {} minutes on foot",
                p.turf, p.door_count, p.people_count, p.distance_km, p.walking_minutes
            ),
            text_width,
            9.5,
        ),
    );
    page.text(MARGIN, MARGIN + 84.0, 10.0, false, "Canvasser:");
    page.line(
        (MARGIN + 52.0, MARGIN + 86.0),
        (MARGIN + 210.0, MARGIN + 86.0),
    );
    page.text(MARGIN + 222.0, MARGIN + 84.0, 10.0, false, "Date:");
    page.line(
        (MARGIN + 250.0, MARGIN + 86.0),
        (MARGIN + 330.0, MARGIN + 86.0),
    );

    // The QR code, top right, quiet zone included.
    let qx = w - MARGIN - qr_size;
    let n = p.qr.width + 2 * QUIET;
    let module = qr_size / n as f32;
    for y in 0..p.qr.width {
        for x in 0..p.qr.width {
            if p.qr.is_dark(x, y) {
                page.rect(
                    qx + (x + QUIET) as f32 * module,
                    MARGIN + (y + QUIET) as f32 * module,
                    module + 0.05,
                    module + 0.05,
                    true,
                );
            }
        }
    }
    page.text(
        qx,
        MARGIN + qr_size + 8.0,
        6.5,
        false,
        &fit(&p.qr_url, qr_size + 20.0, 6.5),
    );
    page.text(
        qx,
        MARGIN + qr_size + 16.0,
        6.5,
        false,
        "Scan to open the list",
    );

    // The route map.
    let top = MARGIN + qr_size + 28.0;
    let map_w = w - 2.0 * MARGIN;
    let map_h = (h - top - MARGIN - 150.0).min(map_w * 0.8);
    page.rect(MARGIN, top, map_w, map_h, false);
    route(&mut page, &p.stops, (MARGIN, top, map_w, map_h));

    // The legend.
    let mut y = top + map_h + 18.0;
    page.text(
        MARGIN,
        y,
        10.0,
        true,
        "Result codes (write the number in the box):",
    );
    let codes = codes();
    let col = map_w / 2.0;
    for (i, c) in codes.iter().enumerate() {
        let (cx, cy) = (
            MARGIN + (i % 2) as f32 * col,
            y + 13.0 + (i / 2) as f32 * 11.0,
        );
        page.text(cx, cy, 8.5, true, &c.number.to_string());
        page.text(cx + 14.0, cy, 8.5, false, c.label);
    }
    y += 13.0 + codes.len().div_ceil(2) as f32 * 11.0 + 8.0;
    page.text(MARGIN, y, 10.0, true, "Support ID (tick one per person):");
    page.text(
        MARGIN,
        y + 12.0,
        8.5,
        false,
        "1 strong support - 2 lean support - 3 undecided - 4 lean oppose - 5 strong oppose",
    );
    page
}

/// The stops in walking order as numbered circles on a dashed line, in a box.
fn route(page: &mut Page, stops: &[PacketStop], (x, top, w, h): (f32, f32, f32, f32)) {
    let Some(bbox) = map::bbox_of_points(stops.iter().map(|s| (s.lng, s.lat))) else {
        return;
    };
    let projection = Projection::fit(bbox, f64::from(w), f64::from(h), 16.0);
    // The projection keeps the box's shape: centre it vertically in the box.
    let dy = (h - projection.height as f32) / 2.0;
    let at = |s: &PacketStop| {
        let (px, py) = projection.point(s.lng, s.lat);
        (x + px as f32, top + dy + py as f32)
    };
    page.content
        .set_stroke_rgb(0.35, 0.35, 0.35)
        .set_dash_pattern([4.0, 3.0], 0.0);
    for pair in stops.windows(2) {
        page.line(at(&pair[0]), at(&pair[1]));
    }
    page.content
        .set_dash_pattern(std::iter::empty::<f32>(), 0.0)
        .set_stroke_rgb(0.0, 0.0, 0.0);
    let r = (w / ((stops.len().max(1) as f32).sqrt() * 5.0)).clamp(4.5, 10.0);
    for s in stops {
        let (cx, cy) = at(s);
        page.circle(cx, cy, r, if s.finished { 0.8 } else { 1.0 });
        let label = s.number.to_string();
        let size = r * 1.05;
        let width = label.len() as f32 * size * 0.556;
        page.text(cx - width / 2.0, cy + size * 0.35, size, true, &label);
    }
}

/// The stops pages of a list.
fn stop_pages(p: &Packet, (w, h): (f32, f32), first_page: usize, total: usize) -> Vec<Page> {
    let width = w - 2.0 * MARGIN;
    // Columns: number, address, unit, people with support boxes, result box.
    let cols = [24.0, 165.0, 44.0, width - 24.0 - 165.0 - 44.0 - 50.0, 50.0];
    let head_top = MARGIN + 20.0;
    let head_h = 16.0;
    let row_h = (h - head_top - head_h - MARGIN - 14.0) / STOPS_PER_PAGE as f32;
    let mut pages = Vec::new();
    for (k, chunk) in p.stops.chunks(STOPS_PER_PAGE).enumerate() {
        let mut page = Page::new(h);
        page.content.set_line_width(0.6);
        page.text(
            MARGIN,
            MARGIN + 8.0,
            11.0,
            true,
            &fit(&format!("Walk list {} - {}", p.number, p.name), width, 11.0),
        );
        let mut x = MARGIN;
        page.content.set_fill_rgb(0.9, 0.9, 0.9);
        page.rect(MARGIN, head_top, width, head_h, true);
        page.content.set_fill_rgb(0.0, 0.0, 0.0);
        for (title, cw) in ["#", "Address", "Unit", "Ask for - support ID", "Result"]
            .into_iter()
            .zip(cols)
        {
            page.rect(x, head_top, cw, head_h, false);
            page.text(x + 3.0, head_top + 11.5, 8.5, true, title);
            x += cw;
        }
        for (i, s) in chunk.iter().enumerate() {
            let top = head_top + head_h + i as f32 * row_h;
            let mut x = MARGIN;
            for cw in cols {
                page.rect(x, top, cw, row_h, false);
                x += cw;
            }
            page.text(MARGIN + 3.0, top + 12.0, 10.0, true, &s.number.to_string());
            let ax = MARGIN + cols[0] + 3.0;
            let same = if s.same_building_as_previous {
                "\" "
            } else {
                ""
            };
            page.text(
                ax,
                top + 12.0,
                9.0,
                false,
                &fit(&format!("{same}{}", s.address), cols[1] - 6.0, 9.0),
            );
            page.text(
                ax,
                top + 22.0,
                7.5,
                false,
                &fit(&s.city, cols[1] - 6.0, 7.5),
            );
            if s.finished {
                page.text(ax, top + 31.0, 7.5, false, "done already");
            }
            let ux = ax + cols[1];
            page.text(
                ux,
                top + 12.0,
                9.0,
                false,
                &fit(&s.unit, cols[2] - 6.0, 9.0),
            );
            let px = ux + cols[2];
            let boxes_w = 5.0 * 11.0;
            for (j, person) in s.people.iter().take(PEOPLE_PER_STOP).enumerate() {
                let line_top = top + 4.0 + j as f32 * 11.0;
                let mut name = person.name.clone();
                if let Some(age) = person.age {
                    name.push_str(&format!(" ({age})"));
                }
                if j + 1 == PEOPLE_PER_STOP && s.people.len() > PEOPLE_PER_STOP {
                    name.push_str(&format!(" +{} more", s.people.len() - PEOPLE_PER_STOP));
                }
                page.text(
                    px,
                    line_top + 8.0,
                    8.0,
                    false,
                    &fit(&name, cols[3] - boxes_w - 10.0, 8.0),
                );
                let bx = px - 3.0 + cols[3] - boxes_w - 3.0;
                for b in 0..5 {
                    let x = bx + b as f32 * 11.0;
                    page.rect(x, line_top, 9.0, 9.0, false);
                    page.text(x + 2.6, line_top + 7.0, 5.5, false, &(b + 1).to_string());
                }
            }
            let rx = px - 3.0 + cols[3];
            page.rect(
                rx + 6.0,
                top + 4.0,
                cols[4] - 12.0,
                (row_h - 8.0).min(18.0),
                false,
            );
        }
        page.text(
            MARGIN,
            h - MARGIN + 14.0,
            7.5,
            false,
            &format!(
                "Walk list {} - page {} of {total} - stops {} to {}",
                p.number,
                first_page + k + 1,
                k * STOPS_PER_PAGE + 1,
                k * STOPS_PER_PAGE + chunk.len()
            ),
        );
        pages.push(page);
    }
    pages
}

/// The document: every packet's cover and stop pages, in order.
pub fn render(title: &str, packets: &[Packet], paper: Paper) -> Vec<u8> {
    let size = paper.size();
    let mut pages: Vec<Page> = Vec::new();
    for p in packets {
        let total = pages_for(p.stops.len());
        let mut cover_page = cover(p, size);
        cover_page.text(
            MARGIN,
            size.1 - MARGIN + 14.0,
            7.5,
            false,
            &format!("Walk list {} - page 1 of {total}", p.number),
        );
        pages.push(cover_page);
        pages.extend(stop_pages(p, size, 1, total));
    }
    if pages.is_empty() {
        let mut empty = Page::new(size.1);
        empty.text(
            MARGIN,
            MARGIN + 20.0,
            14.0,
            false,
            "No live walk lists to print here.",
        );
        pages.push(empty);
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut next = 6;
    let mut ids = Vec::with_capacity(pages.len());
    for _ in &pages {
        ids.push((Ref::new(next), Ref::new(next + 1)));
        next += 2;
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(ids.len()).unwrap_or(i32::MAX));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Groundswell"));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (page, (page_id, content_id)) in pages.into_iter().zip(ids) {
        let mut writer = pdf.page(page_id);
        writer
            .media_box(Rect::new(0.0, 0.0, size.0, size.1))
            .parent(tree)
            .contents(content_id);
        let mut resources = writer.resources();
        resources
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        resources.finish();
        writer.finish();
        let data = page.content.finish();
        pdf.stream(content_id, &data);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::packets::PacketPerson;
    use crate::pages::qr;

    fn packet(stops: usize) -> Packet {
        Packet {
            id: 1,
            number: 7,
            name: "Vaduz Nord 1 – Städtle".into(),
            turf: "Vaduz".into(),
            status: "open",
            door_count: i64::try_from(stops).unwrap_or(0),
            people_count: 2,
            distance_km: "1.2".into(),
            walking_minutes: 20.0,
            qr_url: "http://localhost:8080/l/7".into(),
            qr: qr::encode("http://localhost:8080/l/7").unwrap_or(qr::Modules {
                width: 0,
                dark: Vec::new(),
            }),
            stops: (0..stops)
                .map(|i| PacketStop {
                    number: i + 1,
                    address: format!("Äulestrasse {}", i + 1),
                    unit: if i % 3 == 0 {
                        "2".into()
                    } else {
                        String::new()
                    },
                    city: "Vaduz".into(),
                    lat: 47.14 + i as f64 * 0.0003,
                    lng: 9.52 + (i % 5) as f64 * 0.0004,
                    people: (0..(i % 5))
                        .map(|j| PacketPerson {
                            name: format!("Person {j}"),
                            age: Some(40),
                        })
                        .collect(),
                    finished: i == 0,
                    same_building_as_previous: false,
                    building_notes: None,
                })
                .collect(),
        }
    }

    fn page_count(pdf: &[u8]) -> usize {
        let text = String::from_utf8_lossy(pdf);
        text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
    }

    #[test]
    fn a_cover_and_a_page_per_sixteen_stops() {
        for (stops, paper) in [
            (1, Paper::A4),
            (16, Paper::Letter),
            (17, Paper::A4),
            (40, Paper::Letter),
        ] {
            let pdf = render("List 7", &[packet(stops)], paper);
            assert!(pdf.starts_with(b"%PDF-"));
            assert_eq!(page_count(&pdf), pages_for(stops), "{stops} stops");
        }
        assert_eq!(pages_for(17), 3);
        // Two lists: one document, each list starting on its own page.
        let pdf = render("Turf", &[packet(17), packet(3)], Paper::A4);
        assert_eq!(page_count(&pdf), 3 + 2);
    }

    #[test]
    fn text_is_win_ansi() {
        assert_eq!(win_ansi("Ä–€x"), vec![0xC4, 0x96, 0x80, b'x']);
        assert_eq!(win_ansi("日"), vec![b'?']);
        assert_eq!(fit("abcdefghij", 10.0, 4.0), "abc…");
        assert_eq!(fit("abc", 100.0, 10.0), "abc");
    }
}

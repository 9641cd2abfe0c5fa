//! Maps drawn as SVG by the server, as pure functions: an equirectangular projection
//! (longitude scaled by the cosine of the middle latitude, so a square kilometre looks
//! square) fitted to a box, polygons as path data, the H3 resolution that fits a view,
//! and the colour classes of the hexagons.
//!
//! Colours are one hue from light to dark (ColorBrewer's "Blues", safe for every kind
//! of colour blindness and in greyscale print), and never the only carrier: every
//! hexagon has a title with its place and figures, the legend gives numbers, and the
//! tables beside the map list the same figures.

use geo::MultiPolygon;
use h3o::Resolution;

/// `[min_lng, min_lat, max_lng, max_lat]`.
pub type BBox = [f64; 4];

/// Five classes, light to dark. The two lightest carry dark text, the others white.
pub const PALETTE: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];

/// Most hexagons across the longer side of a view: finer than this is noise on a
/// dashboard (and slower to count).
pub const MAX_HEXAGONS_ACROSS: f64 = 60.0;

/// Most hexagons one map draws.
pub const MAX_HEXAGONS: usize = 2_000;

/// The box around two boxes.
pub fn union(a: Option<BBox>, b: BBox) -> BBox {
    match a {
        None => b,
        Some(a) => [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ],
    }
}

/// The box around `(lng, lat)` points, if any.
pub fn bbox_of_points(points: impl IntoIterator<Item = (f64, f64)>) -> Option<BBox> {
    points
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .fold(None, |acc, (x, y)| Some(union(acc, [x, y, x, y])))
}

/// The box around polygons, if they have any point.
pub fn bbox_of(area: &MultiPolygon) -> Option<BBox> {
    bbox_of_points(
        area.0
            .iter()
            .flat_map(|p| p.exterior().0.iter().map(|c| (c.x, c.y))),
    )
}

/// Width and height of a box in metres (roughly: a sphere).
fn extent_m(b: BBox) -> (f64, f64) {
    let mid = ((b[1] + b[3]) / 2.0).to_radians();
    (
        (b[2] - b[0]).abs() * 111_320.0 * mid.cos(),
        (b[3] - b[1]).abs() * 110_540.0,
    )
}

/// The finest H3 resolution between 5 and `finest` that puts at most
/// [`MAX_HEXAGONS_ACROSS`] hexagons across the longer side of `b`.
pub fn choose_resolution(b: BBox, finest: u8) -> u8 {
    let (w, h) = extent_m(b);
    let longer = w.max(h);
    let mut chosen = 5;
    for r in 5..=finest.clamp(5, 15) {
        let Ok(res) = Resolution::try_from(r) else {
            break;
        };
        // A hexagon is √3 edges wide, flat side to flat side.
        let across = longer / (res.edge_length_m() * 3f64.sqrt());
        if across <= MAX_HEXAGONS_ACROSS {
            chosen = r;
        } else {
            break;
        }
    }
    chosen
}

/// Lon/lat to SVG coordinates for one view.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    min_lng: f64,
    max_lat: f64,
    kx: f64,
    scale: f64,
    off_x: f64,
    off_y: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    /// Fits `b` into a view `width` wide, with `pad` around it; the height follows the
    /// box's shape, between `width / 3` and `max_height`.
    pub fn fit(b: BBox, width: f64, max_height: f64, pad: f64) -> Projection {
        let mid = ((b[1] + b[3]) / 2.0).to_radians();
        let kx = mid.cos().max(0.01);
        let (real_dx, real_dy) = ((b[2] - b[0]) * kx, b[3] - b[1]);
        // A point (or a line) still gets a sensible scale: about 100 m around it.
        let (dx, dy) = (real_dx.max(0.001), real_dy.max(0.001));
        let inner_w = (width - 2.0 * pad).max(1.0);
        let wanted_h = inner_w * dy / dx + 2.0 * pad;
        let height = wanted_h.clamp(width / 3.0, max_height.max(width / 3.0));
        let inner_h = (height - 2.0 * pad).max(1.0);
        let scale = (inner_w / dx).min(inner_h / dy);
        Projection {
            min_lng: b[0],
            max_lat: b[3],
            kx,
            scale,
            // Centred in the view.
            off_x: (width - real_dx * scale) / 2.0,
            off_y: (height - real_dy * scale) / 2.0,
            width,
            height,
        }
    }

    /// The SVG point of `(lng, lat)`.
    pub fn point(&self, lng: f64, lat: f64) -> (f64, f64) {
        (
            self.off_x + (lng - self.min_lng) * self.kx * self.scale,
            self.off_y + (self.max_lat - lat) * self.scale,
        )
    }

    /// Degrees of latitude one unit of the view covers (for simplifying outlines).
    pub fn degrees_per_unit(&self) -> f64 {
        1.0 / self.scale
    }

    /// `viewBox` of the view.
    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", num(self.width), num(self.height))
    }

    /// Path data of polygons, holes included (draw with `fill-rule="evenodd"`).
    pub fn path(&self, area: &MultiPolygon) -> String {
        let mut d = String::new();
        for polygon in &area.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                self.ring(&mut d, ring.0.iter().map(|c| (c.x, c.y)), true);
            }
        }
        d
    }

    /// Path data of a line through `(lng, lat)` points, in order.
    pub fn line(&self, points: impl IntoIterator<Item = (f64, f64)>) -> String {
        let mut d = String::new();
        self.ring(&mut d, points, false);
        d
    }

    fn ring(&self, d: &mut String, points: impl IntoIterator<Item = (f64, f64)>, close: bool) {
        let mut first = true;
        for (lng, lat) in points {
            let (x, y) = self.point(lng, lat);
            d.push(if first { 'M' } else { 'L' });
            first = false;
            d.push_str(&num(x));
            d.push(' ');
            d.push_str(&num(y));
        }
        if close && !first {
            d.push('Z');
        }
    }
}

/// A coordinate with one decimal (a tenth of a pixel is plenty), no trailing `.0`.
pub fn num(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// One class of the legend: its colour and the values it covers, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendClass {
    pub color: &'static str,
    pub label: String,
}

/// The upper bound of each of the five count classes for counts up to `max`.
fn count_bounds(max: i64) -> [i64; 5] {
    let max = max.max(1);
    let mut out = [0; 5];
    for (i, b) in out.iter_mut().enumerate() {
        let k = i64::try_from(i).unwrap_or(0) + 1;
        *b = (max * k + 4) / 5;
    }
    out
}

/// The class (0–4) of a count among counts up to `max`.
pub fn count_class(value: i64, max: i64) -> usize {
    count_bounds(max)
        .iter()
        .position(|&hi| value <= hi)
        .unwrap_or(4)
}

/// The legend of counts up to `max`, classes that hold no whole number left out.
pub fn count_legend(max: i64) -> Vec<LegendClass> {
    let bounds = count_bounds(max);
    let mut lo = 1;
    let mut out = Vec::new();
    for (i, hi) in bounds.into_iter().enumerate() {
        if hi >= lo {
            out.push(LegendClass {
                color: PALETTE[i],
                label: if hi == lo {
                    format!("{lo}")
                } else {
                    format!("{lo}–{hi}")
                },
            });
            lo = hi + 1;
        }
    }
    out
}

/// The class (0–4) of a rate between 0 and 1: fifths.
pub fn rate_class(rate: f64) -> usize {
    let r = if rate.is_finite() { rate } else { 0.0 };
    // Truncation is the point: 0.39 is in the 20–39 % class.
    let fifth = (r.clamp(0.0, 1.0) * 5.0).floor();
    (fifth as usize).min(4)
}

/// The legend of rates.
pub fn rate_legend() -> Vec<LegendClass> {
    ["0–19 %", "20–39 %", "40–59 %", "60–79 %", "80–100 %"]
        .into_iter()
        .enumerate()
        .map(|(i, label)| LegendClass {
            color: PALETTE[i],
            label: label.to_owned(),
        })
        .collect()
}

/// The text colour that reads on a class's fill (contrast above 4.5:1 on each).
pub fn ink_on(class: usize) -> &'static str {
    if class < 2 { "#111827" } else { "#ffffff" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    #[test]
    fn the_projection_keeps_shapes_and_fits_the_view() {
        // A box of about 1 km × 1 km at 47° N: twice as many degrees of longitude.
        let b = [9.50, 47.10, 9.5132, 47.109];
        let p = Projection::fit(b, 400.0, 1000.0, 10.0);
        let (x0, y0) = p.point(b[0], b[1]);
        let (x1, y1) = p.point(b[2], b[3]);
        let (w, h) = (x1 - x0, y0 - y1);
        assert!(w > 0.0 && h > 0.0, "north is up, east is right");
        assert!((w / h - 1.0).abs() < 0.05, "square stays square: {w} × {h}");
        for (x, y) in [(x0, y0), (x1, y1)] {
            assert!((0.0..=400.0).contains(&x) && (0.0..=p.height).contains(&y));
        }
        assert!((p.height - 400.0).abs() < 1.0, "{}", p.height);
    }

    #[test]
    fn a_single_point_is_centred() {
        let p = Projection::fit([9.5, 47.1, 9.5, 47.1], 300.0, 300.0, 10.0);
        let (x, y) = p.point(9.5, 47.1);
        assert!((x - 150.0).abs() < 0.5 && (y - p.height / 2.0).abs() < 0.5);
    }

    #[test]
    fn paths_close_their_rings_and_keep_holes() {
        let ring = |pts: &[(f64, f64)]| LineString::from(pts.to_vec());
        let square = Polygon::new(
            ring(&[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]),
            vec![ring(&[
                (0.4, 0.4),
                (0.6, 0.4),
                (0.6, 0.6),
                (0.4, 0.6),
                (0.4, 0.4),
            ])],
        );
        let p = Projection::fit([0.0, 0.0, 1.0, 1.0], 100.0, 100.0, 0.0);
        let d = p.path(&MultiPolygon(vec![square]));
        assert_eq!(d.matches('M').count(), 2);
        assert_eq!(d.matches('Z').count(), 2);
        assert!(d.starts_with("M0 100L100 100"), "{d}");
        assert_eq!(p.line([(0.0, 0.0), (1.0, 1.0)]), "M0 100L100 0");
    }

    #[test]
    fn the_resolution_fits_the_view() {
        // Liechtenstein, about 12 × 25 km: hexagons of resolution 8 (about 0.9 km wide).
        let country = [9.47, 47.04, 9.64, 47.27];
        assert_eq!(choose_resolution(country, 10), 8);
        // A turf of about 1 km: as fine as allowed.
        let turf = [9.515, 47.135, 9.53, 47.145];
        assert_eq!(choose_resolution(turf, 10), 10);
        assert_eq!(choose_resolution(turf, 9), 9);
        // A continent: never coarser than 5.
        assert_eq!(choose_resolution([-10.0, 35.0, 30.0, 60.0], 10), 5);
    }

    #[test]
    fn classes_cover_every_count_once_and_rates_by_fifths() {
        assert_eq!(count_class(1, 100), 0);
        assert_eq!(count_class(20, 100), 0);
        assert_eq!(count_class(21, 100), 1);
        assert_eq!(count_class(100, 100), 4);
        let legend = count_legend(100);
        assert_eq!(legend.len(), 5);
        assert_eq!(legend[0].label, "1–20");
        assert_eq!(legend[4].label, "81–100");
        // Small counts: no empty classes, each count in exactly one.
        let small = count_legend(3);
        assert_eq!(
            small.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        for v in 1..=3 {
            assert_eq!(
                small[usize::try_from(v - 1).unwrap_or(0)].color,
                PALETTE[count_class(v, 3)]
            );
        }
        assert_eq!(rate_class(0.0), 0);
        assert_eq!(rate_class(0.39), 1);
        assert_eq!(rate_class(0.4), 2);
        assert_eq!(rate_class(1.0), 4);
        assert_eq!(rate_class(f64::NAN), 0);
        assert_eq!(rate_legend().len(), 5);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.04), "12");
        assert_eq!(num(12.06), "12.1");
        assert_eq!(num(-0.25), "-0.3");
    }
}

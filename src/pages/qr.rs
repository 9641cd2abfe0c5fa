//! QR codes for walk packets: encoded by the `qrcode` crate, drawn by us (as one SVG
//! path for the page, as filled squares in the PDF), so the crate's image and SVG
//! renderers are not built.

use qrcode::{Color, EcLevel, QrCode};

/// A QR code's modules, row by row (`true` is dark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    pub width: usize,
    pub dark: Vec<bool>,
}

/// The quiet zone around a code, in modules (the standard asks for four).
pub const QUIET: usize = 4;

/// Encodes `text` with medium error correction (a creased or smudged sheet still
/// scans).
pub fn encode(text: &str) -> anyhow::Result<Modules> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| anyhow::anyhow!("QR code of {text:?}: {e}"))?;
    Ok(Modules {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    })
}

impl Modules {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// An SVG of the code, `size` CSS pixels square, quiet zone included; `label` is
    /// its accessible name.
    pub fn svg(&self, size: u32, label: &str) -> String {
        let n = self.width + 2 * QUIET;
        let mut d = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    // A run of dark modules is one rectangle.
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    d.push_str(&format!(
                        "M{} {}h{}v1h-{}z",
                        start + QUIET,
                        y + QUIET,
                        x - start,
                        x - start
                    ));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
             viewBox=\"0 0 {n} {n}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{}\">\
             <rect width=\"{n}\" height=\"{n}\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"{d}\"/></svg>",
            escape_attribute(label)
        )
    }
}

/// Text for an attribute: the five characters HTML gives meaning to, escaped.
pub fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_a_square_code_drawn_as_one_path() {
        let m = encode("https://field.example.org/l/42").unwrap_or(Modules {
            width: 0,
            dark: Vec::new(),
        });
        assert!(
            m.width >= 21 && (m.width - 17).is_multiple_of(4),
            "{}",
            m.width
        );
        assert_eq!(m.dark.len(), m.width * m.width);
        // The finder pattern: the top-left corner is dark.
        assert!(m.is_dark(0, 0) && m.is_dark(6, 0) && !m.is_dark(7, 0));
        let svg = m.svg(160, "List 42 <on a phone>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"List 42 &lt;on a phone&gt;\""));
        assert_eq!(svg.matches("<path").count(), 1);
    }
}

//! A tiny SVG writer: elements appended to a string, attribute values and text escaped, numbers
//! with two decimals. Enough for rectangles, lines, polylines, circles and text; no plotting
//! crate and no system library.

use std::fmt::Write;

/// An SVG document being written.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

/// Escapes text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length, two decimals (sub-pixel enough, keeps files small).
pub fn num(x: f64) -> String {
    format!("{x:.2}")
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// `<name a="v" …/>`, or `<name …>text</name>` when `text` is given.
    pub fn element(&mut self, name: &str, attrs: &[(&str, String)], text: Option<&str>) {
        let _ = write!(self.body, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.body, " {k}=\"{}\"", escape(v));
        }
        match text {
            Some(t) => {
                let _ = writeln!(self.body, ">{}</{name}>", escape(t));
            }
            None => self.body.push_str("/>\n"),
        }
    }

    /// Opens a `<g>` carrying `attrs`; close it with `end_group`.
    pub fn group(&mut self, attrs: &[(&str, String)]) {
        self.body.push_str("<g");
        for (k, v) in attrs {
            let _ = write!(self.body, " {k}=\"{}\"", escape(v));
        }
        self.body.push_str(">\n");
    }

    pub fn end_group(&mut self) {
        self.body.push_str("</g>\n");
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, extra: &[(&str, String)]) {
        let mut attrs = vec![
            ("x", num(x)),
            ("y", num(y)),
            ("width", num(w)),
            ("height", num(h)),
        ];
        attrs.extend_from_slice(extra);
        self.element("rect", &attrs, None);
    }

    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        stroke: &str,
        extra: &[(&str, String)],
    ) {
        let mut attrs = vec![
            ("x1", num(x1)),
            ("y1", num(y1)),
            ("x2", num(x2)),
            ("y2", num(y2)),
            ("stroke", stroke.to_string()),
        ];
        attrs.extend_from_slice(extra);
        self.element("line", &attrs, None);
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, extra: &[(&str, String)]) {
        let pts: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{},{}", num(x), num(y)))
            .collect();
        let mut attrs = vec![
            ("points", pts.join(" ")),
            ("fill", "none".to_string()),
            ("stroke", stroke.to_string()),
        ];
        attrs.extend_from_slice(extra);
        self.element("polyline", &attrs, None);
    }

    pub fn circle(&mut self, (cx, cy): (f64, f64), r: f64, fill: &str, extra: &[(&str, String)]) {
        let mut attrs = vec![
            ("cx", num(cx)),
            ("cy", num(cy)),
            ("r", num(r)),
            ("fill", fill.to_string()),
        ];
        attrs.extend_from_slice(extra);
        self.element("circle", &attrs, None);
    }

    /// Text at (x, y); `anchor` is start, middle or end.
    pub fn text(
        &mut self,
        (x, y): (f64, f64),
        text: &str,
        size: f64,
        anchor: &str,
        extra: &[(&str, String)],
    ) {
        let mut attrs = vec![
            ("x", num(x)),
            ("y", num(y)),
            ("font-size", num(size)),
            ("text-anchor", anchor.to_string()),
        ];
        attrs.extend_from_slice(extra);
        self.element("text", &attrs, Some(text));
    }

    /// A `<title>` child: the tooltip of the enclosing group in a browser.
    pub fn title(&mut self, text: &str) {
        self.element("title", &[], Some(text));
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = num(self.width),
            h = num(self.height)
        )
    }
}

/// Viridis (matplotlib's), by linear interpolation between five of its colours; t in [0, 1].
pub fn viridis(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + f * (y - x)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// Viridis' dark half gets white text, the light half black.
pub fn text_on(t: f64) -> &'static str {
    if t < 0.55 {
        "white"
    } else {
        "black"
    }
}

/// Twelve distinguishable line colours (Tableau's, then darker variants), cycled.
pub fn palette(i: usize) -> &'static str {
    const COLORS: [&str; 12] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#393b79", "#637939",
    ];
    COLORS[i % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_ends_colour_scale_at_viridis_ends() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&apos;");
        assert_eq!(viridis(0.0), "#440154");
        assert_eq!(viridis(1.0), "#fde725");
        assert_eq!(viridis(f64::NAN), "#440154");
        let mut s = Svg::new(10.0, 5.0);
        s.text((1.0, 2.0), "x<y", 3.0, "start", &[]);
        let doc = s.finish();
        assert!(doc.contains(">x&lt;y</text>"), "{doc}");
    }
}

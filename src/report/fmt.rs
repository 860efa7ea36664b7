//! The prototype's number formats, character for character (Python's f-string rules).

use crate::defaults::{BAND_HIGH, BAND_LOW};

/// Python's `f"{x:.{prec}f}"`, including its spelling of non-finite values.
pub fn fixed(x: f64, prec: usize) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:.prec$}")
    }
}

/// Python's `f"{x:+.4f}"`.
pub fn signed4(x: f64) -> String {
    match x {
        x if x.is_finite() => format!("{x:+.4}"),
        x if x < 0.0 => "-inf".into(),
        x if x > 0.0 => "+inf".into(),
        _ => "+nan".into(),
    }
}

/// Python's `f"{x:.2%}"`: the value times 100, two decimals, a percent sign.
pub fn percent(x: f64) -> String {
    format!("{}%", fixed(x * 100.0, 2))
}

/// True inside the prototype's band, 0.13 < CV < 0.30 (open at both ends).
pub fn in_band(cv: f64) -> bool {
    BAND_LOW < cv && cv < BAND_HIGH
}

/// The prototype's `fmt_cv`: `*0.1585*` inside the band, ` 0.1228 ` outside, `  N/A  ` for none.
pub fn fmt_cv(cv: Option<f64>) -> String {
    match cv {
        None => "  N/A  ".into(),
        Some(v) => {
            let band = if in_band(v) { "*" } else { " " };
            format!("{band}{}{band}", fixed(v, 4))
        }
    }
}

/// The movement `post − pre` as the prototype prints it: `+0.0520`, or `  N/A  ` when either is
/// missing.
pub fn fmt_delta(pre: Option<f64>, post: Option<f64>) -> String {
    match (pre, post) {
        (Some(a), Some(b)) => signed4(b - a),
        _ => "  N/A  ".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_formatting() {
        // Expected strings from CPython 3.11 f-strings with the same format specs.
        assert_eq!(fmt_cv(Some(0.1585)), "*0.1585*");
        assert_eq!(fmt_cv(Some(0.1228)), " 0.1228 ");
        assert_eq!(fmt_cv(None), "  N/A  ");
        assert_eq!(fmt_cv(Some(0.13)), " 0.1300 ", "the band is open at 0.13");
        assert_eq!(fmt_cv(Some(0.30)), " 0.3000 ", "the band is open at 0.30");
        assert_eq!(signed4(0.0001), "+0.0001");
        assert_eq!(signed4(-0.00001), "-0.0000");
        assert_eq!(percent(0.968), "96.80%");
        assert_eq!(percent(1.0), "100.00%");
        assert_eq!(fixed(f64::NAN, 4), "nan");
        assert_eq!(signed4(f64::NEG_INFINITY), "-inf");
        assert_eq!(signed4(f64::INFINITY), "+inf");
        assert_eq!(fmt_delta(Some(0.1585), Some(0.1549)), "-0.0036");
        assert_eq!(fmt_delta(None, Some(0.1549)), "  N/A  ");
    }
}

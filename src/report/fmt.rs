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
    fmt_cv_flagged(cv, cv.is_some_and(in_band))
}

/// `fmt_cv` with the band flag decided by the caller (e.g. by the interval rule).
pub fn fmt_cv_flagged(cv: Option<f64>, band: bool) -> String {
    match cv {
        None => NA.into(),
        Some(v) => flagged(&fixed(v, 4), band),
    }
}

/// The prototype's spelling of a missing value.
pub const NA: &str = "  N/A  ";

/// `*text*` in the band, ` text ` outside.
pub fn flagged(text: &str, band: bool) -> String {
    let b = if band { "*" } else { " " };
    format!("{b}{text}{b}")
}

/// ` ±0.0123`: half the width of an interval, or as many blanks when there is none (so the
/// columns after it stay aligned).
pub fn ci_part(half: Option<f64>) -> String {
    match half {
        Some(h) => format!(" ±{}", fixed(h, 4)),
        None => " ".repeat(8),
    }
}

/// ` z=  -1.23` (the value right-aligned in 7), or as many blanks when there is none.
pub fn z_part(z: Option<f64>) -> String {
    match z {
        Some(z) => format!(" z={:>7}", format!("{z:+.2}")),
        None => " ".repeat(10),
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

    #[test]
    fn annotations_keep_their_width() {
        assert_eq!(fmt_cv_flagged(Some(0.1), true), "*0.1000*");
        assert_eq!(fmt_cv_flagged(Some(0.2), false), " 0.2000 ");
        assert_eq!(ci_part(Some(0.01234)), " ±0.0123");
        assert_eq!(
            ci_part(None).chars().count(),
            ci_part(Some(0.5)).chars().count()
        );
        assert_eq!(z_part(Some(-1.234)), " z=  -1.23");
        assert_eq!(z_part(Some(123.456)), " z=+123.46");
        assert_eq!(z_part(None).len(), z_part(Some(0.0)).len());
    }
}

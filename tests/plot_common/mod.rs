//! Shared by the plot tests: a tiny XML well-formedness checker and synthetic results.

#![allow(dead_code)] // each test file uses part of it

use mha_cv::stats::aggregate::{aggregate, SeedRow};

/// Checks that `doc` is well-formed XML: an optional `<?xml …?>` prolog, comments, exactly one
/// root element, every tag closed in order, attributes `name="value"` (unique per element, no
/// `<` in values), and `&` only in the five predefined entities or numeric references.
/// Returns the element names in document order.
pub fn check_xml(doc: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").ok_or("unterminated <?")?;
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unterminated end tag")?;
            let name = after[..end].trim();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after)?;
            let (inner, empty) = match after[..end].strip_suffix('/') {
                Some(i) => (i, true),
                None => (&after[..end], false),
            };
            let name = parse_tag(inner)?;
            if stack.is_empty() {
                roots += 1;
            }
            names.push(name.clone());
            if !empty {
                stack.push(name);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_entities(text)?;
            rest = &rest[end..];
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements, expected 1"));
    }
    Ok(names)
}

/// The `>` ending a start tag, skipping quoted attribute values.
fn tag_end(s: &str) -> Result<usize, String> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"') | (None, '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Ok(i),
            (None, '<') | (Some(_), '<') => return Err("'<' inside a tag".into()),
            _ => {}
        }
    }
    Err("unterminated start tag".into())
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
}

/// `name a="v" b='w'` → name, checking the attributes.
fn parse_tag(inner: &str) -> Result<String, String> {
    let inner = inner.trim_end();
    let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
    let name = &inner[..name_end];
    if !is_name(name) {
        return Err(format!("bad element name {name:?}"));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or(format!("attribute without value in <{name}>"))?;
        let attr = rest[..eq].trim();
        if !is_name(attr) || seen.contains(&attr) {
            return Err(format!("bad or repeated attribute {attr:?} in <{name}>"));
        }
        seen.push(attr);
        let value = rest[eq + 1..].trim_start();
        let q = value
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or("unquoted attribute")?;
        let close = value[1..].find(q).ok_or("unterminated attribute")? + 1;
        check_entities(&value[1..close])?;
        rest = value[close + 1..].trim_start();
    }
    Ok(name.to_string())
}

fn check_entities(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or("'&' without ';'")?;
        let ent = &after[..end];
        let ok = ["amp", "lt", "gt", "quot", "apos"].contains(&ent)
            || ent
                .strip_prefix('#')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(format!("unknown entity &{ent};"));
        }
        rest = &after[end + 1..];
    }
    if text.contains('>') && text.contains("]]>") {
        return Err("]]> in text".into());
    }
    Ok(())
}

pub const DIMS: [usize; 3] = [64, 128, 256];
pub const HEADS: [usize; 4] = [1, 2, 4, 8];

/// Per-seed rows for the prototype's 12 configs, 2 seeds, three phases, two summary metrics;
/// D=64 heads=2 post emb is N/A in one seed.
pub fn seed_rows() -> Vec<SeedRow> {
    let mut rows = Vec::new();
    for seed in [42u64, 43] {
        for dim in DIMS {
            for heads in HEADS {
                for (p, phase) in ["pre", "mid", "post"].into_iter().enumerate() {
                    for metric in ["emb", "act_Q_h0"] {
                        let hd = dim / heads;
                        let cv =
                            0.6 / (hd as f64).sqrt() + 0.01 * p as f64 + 0.002 * seed as f64 - 0.08;
                        let missing = dim == 64
                            && heads == 2
                            && phase == "post"
                            && metric == "emb"
                            && seed == 43;
                        rows.push(SeedRow {
                            dim,
                            heads,
                            head_dim: hd,
                            seed,
                            phase: phase.into(),
                            metric: metric.into(),
                            cv: (!missing).then_some(cv),
                            ci_low: Some(cv - 0.01),
                            ci_high: Some(cv + 0.01),
                            null_cv: Some(1.2 / (hd as f64).sqrt()),
                            null_sd: Some(0.01),
                            z: Some((cv - 1.2 / (hd as f64).sqrt()) / 0.01),
                        });
                    }
                }
            }
        }
    }
    rows
}

pub fn figure_input() -> mha_cv::report::figures::FigureInput {
    let aggs = aggregate(&seed_rows()).unwrap();
    mha_cv::report::figures::FigureInput::new("test <report> & co", vec!["epochs: 2".into()], aggs)
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mha-cv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

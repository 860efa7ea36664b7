//! The PyTorch reference fixtures (tests/gen_torch_fixture.py) hold what the contract names, with
//! the contract's shapes and dtypes, and are consistent with themselves and with each other. This
//! needs only the io room; the comparison with the model is tests/torch_parity.rs.

use crate::torch_parity::compare;

use std::path::{Path, PathBuf};

use compare::{step_tolerance, Report, F32_TOL, F64_TOL};

use mha_cv::io::dataset::dataset_from_tensors;
use mha_cv::io::safetensors::read_tensors;
use mha_cv::io::{find, AnyTensor};

const PARAMS: [(&str, &[usize]); 10] = [
    ("emb.weight", &[32, 12]),
    ("pos", &[1, 8, 12]),
    ("mha.in_proj_weight", &[36, 12]),
    ("mha.in_proj_bias", &[36]),
    ("mha.out_proj.weight", &[12, 12]),
    ("mha.out_proj.bias", &[12]),
    ("norm.weight", &[12]),
    ("norm.bias", &[12]),
    ("head.weight", &[10, 12]),
    ("head.bias", &[10]),
];

/// Batch 7, sequence 8, dim 12, heads 2, classes 10.
const ACTS: [(&str, &[usize]); 10] = [
    ("act.h", &[7, 8, 12]),
    ("act.qkv", &[7, 8, 36]),
    ("act.attn_probs", &[7, 2, 8, 8]),
    ("act.attn", &[7, 8, 12]),
    ("act.attn_out", &[7, 8, 12]),
    ("act.resid", &[7, 8, 12]),
    ("act.ln", &[7, 8, 12]),
    ("act.pooled", &[7, 12]),
    ("act.logits", &[7, 10]),
    ("act.loss", &[1]),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every name the contract lists, with its shape.
fn expected() -> Vec<(String, Vec<usize>)> {
    let mut names = vec![("x".to_string(), vec![7, 8]), ("y".to_string(), vec![7])];
    for prefix in ["init.", "grad.", "step1.", "step5."] {
        names.extend(
            PARAMS
                .iter()
                .map(|(n, s)| (format!("{prefix}{n}"), s.to_vec())),
        );
    }
    names.extend(ACTS.iter().map(|(n, s)| (n.to_string(), s.to_vec())));
    names.push(("losses".to_string(), vec![5]));
    names.sort();
    names
}

fn check_file(name: &str, float: &str) -> Vec<AnyTensor> {
    let path = fixture(name);
    let tensors = read_tensors(&path).unwrap();
    let mut found: Vec<(String, Vec<usize>)> = tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        expected(),
        "{name}: names or shapes differ from the contract"
    );
    for t in &tensors {
        let dtype = if t.name == "x" || t.name == "y" {
            "I64"
        } else {
            float
        };
        assert_eq!(t.data.dtype(), dtype, "{name}: {}", t.name);
    }
    let data = dataset_from_tensors(&path, &tensors).unwrap();
    data.validate(32, 10).unwrap();
    tensors
}

fn values(tensors: &[AnyTensor], name: &str) -> Vec<f64> {
    find(Path::new("fixture"), tensors, name)
        .unwrap()
        .to_f64_vec()
}

/// Relations that hold by construction and pin down what each name means.
fn check_meaning(tensors: &[AnyTensor], u: f64) {
    let v = |n: &str| values(tensors, n);
    // act.resid = act.h + act.attn_out, one rounding each: exact in the file's precision, and
    // within u·|resid| after the conversion to f64.
    let (h, out, resid) = (v("act.h"), v("act.attn_out"), v("act.resid"));
    for i in 0..resid.len() {
        assert!(
            (h[i] + out[i] - resid[i]).abs() <= u * resid[i].abs(),
            "resid[{i}]"
        );
    }
    // attn_probs is (B, H, S, S) normalised over the last axis: rows sum to 1 within 8 roundings.
    for row in v("act.attn_probs").chunks(8) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() <= 8.0 * u);
    }
    // pooled = mean of ln over the 8 positions: 8 roundings of values of size ≤ max|ln|.
    let (ln, pooled) = (v("act.ln"), v("act.pooled"));
    let bound = 8.0 * u * ln.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for b in 0..7 {
        for d in 0..12 {
            let mean = (0..8).map(|s| ln[(b * 8 + s) * 12 + d]).sum::<f64>() / 8.0;
            assert!(
                (mean - pooled[b * 12 + d]).abs() <= bound,
                "pooled[{b}, {d}]"
            );
        }
    }
    // The trace's loss is the first training step's loss (the same forward pass).
    assert_eq!(v("act.loss")[0], v("losses")[0]);
}

#[test]
fn fixtures_hold_the_contract_names_shapes_and_dtypes() {
    let f64s = check_file("torch_ref_f64.safetensors", "F64");
    let f32s = check_file("torch_ref_f32.safetensors", "F32");
    check_meaning(&f64s, F64_TOL.u);
    check_meaning(&f32s, F32_TOL.u);

    // Same data; the f32 file starts from the f64 file's parameters rounded to f32.
    for name in ["x", "y"] {
        assert_eq!(values(&f64s, name), values(&f32s, name));
    }
    for (p, _) in PARAMS {
        let name = format!("init.{p}");
        let rounded: Vec<f64> = values(&f64s, &name)
            .iter()
            .map(|&x| x as f32 as f64)
            .collect();
        assert_eq!(rounded, values(&f32s, &name), "{name}");
    }
}

/// PyTorch's f32 run stands to its f64 run as this crate's f32 run should stand to PyTorch's:
/// the two fixtures must agree within the f32 tolerances of tests/torch_parity.rs. This checks
/// the fixtures against each other and the tolerances against real f32 rounding.
#[test]
fn fixtures_agree_with_each_other_within_the_f32_tolerances() {
    let f64s = read_tensors(&fixture("torch_ref_f64.safetensors")).unwrap();
    let f32s = read_tensors(&fixture("torch_ref_f32.safetensors")).unwrap();
    let mut report = Report::default();
    for reference in f32s.iter().filter(|t| t.name != "x" && t.name != "y") {
        let name = reference.name.as_str();
        let ours = values(&f64s, name);
        let ours = (reference.shape.as_slice(), ours.as_slice());
        match name.strip_prefix("step").and_then(|r| r.split_once('.')) {
            Some((t, param)) => {
                let grad = values(&f32s, &format!("grad.{param}"));
                let t = t.parse().unwrap();
                let tol = step_tolerance(&reference.to_f64_vec(), &grad, t, F32_TOL);
                report.compare(name, ours, reference, &tol);
            }
            None => report.compare_scaled(name, ours, reference, F32_TOL.rel),
        }
    }
    report.finish("torch_ref_f64 vs torch_ref_f32", &f32s);
}

//! Comparing tensors with a PyTorch fixture: tolerances per precision, a report that collects
//! every mismatch (name, max abs error, max relative error, tolerance) and fails once with all of
//! them. Shared by tests/torch_parity.rs and tests/io_torch_fixture.rs.
//!
//! Tolerances (numerics.md: error ∝ unit roundoff u × condition × depth):
//! - activations, gradients, losses: |ours − ref| ≤ rel · max|ref| over the tensor. The pass is
//!   about 15 ops deep with well-conditioned steps (softmax, LayerNorm with σ of order 1), so the
//!   expected error is of order u·10·20: ~2e-14 in f64 (u = 1.1e-16), ~1e-5 in f32 (u = 6e-8).
//!   rel = 1e-10 (f64) and 1e-4 (f32) leave a wide margin while any formula error (a wrong
//!   scale, eps or index) shows at 1e-4 or more.
//! - parameters after t Adam steps ([`step_tolerance`]): Adam normalises each gradient
//!   (m̂ / (√v̂ + eps)), so an error δg in a gradient g moves a parameter by about
//!   lr·δg / (|g| + eps) per step, and a gradient that is pure rounding noise (|g| ≲ δg; e.g. the
//!   key bias, whose gradient is exactly zero in exact arithmetic because softmax ignores a
//!   per-row constant) can move it anywhere within the step bound: |update| ≤ ≈1.01·lr for
//!   t ≤ 5 (Cauchy–Schwarz on the bias-corrected moments), so two correct implementations differ
//!   by at most 2.02·lr per step. Per element:
//!   tol = t·lr·min(2.1, rel + 2·δg / (|g| + eps)) + 4·t·u·|p|, with δg = rel · max|grad| (the
//!   gradient tolerance above), g the initial gradient, and the last term the rounding of p.

use mha_cv::defaults::{ADAM_EPS, LR};
use mha_cv::io::{fmt_shape, AnyTensor};

/// One precision's unit roundoff and relative tolerance (see the module comment).
#[derive(Clone, Copy)]
pub struct Tol {
    pub u: f64,
    pub rel: f64,
}

pub const F64_TOL: Tol = Tol {
    u: 1.1e-16,
    rel: 1e-10,
};
pub const F32_TOL: Tol = Tol { u: 6e-8, rel: 1e-4 };

pub fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Per-element tolerance for parameters `reference` after `t` Adam steps (lr = the prototype's)
/// from initial gradients `grad` (module comment).
pub fn step_tolerance(reference: &[f64], grad: &[f64], t: usize, tol: Tol) -> Vec<f64> {
    let dg = tol.rel * max_abs(grad);
    let t = t as f64;
    reference
        .iter()
        .zip(grad)
        .map(|(&p, &g)| {
            let normalised = (tol.rel + 2.0 * dg / (g.abs() + ADAM_EPS)).min(2.1);
            t * LR * normalised + 4.0 * t * tol.u * p.abs()
        })
        .collect()
}

/// Every comparison made, and the ones that failed.
#[derive(Default)]
pub struct Report {
    compared: Vec<String>,
    pub failures: Vec<String>,
    /// (worst error / tolerance, name), to show the margin.
    worst: Option<(f64, String)>,
}

impl Report {
    /// Compares `ours` (shape, values) with `reference` element by element against `tol[i]`.
    pub fn compare(
        &mut self,
        name: &str,
        ours: (&[usize], &[f64]),
        reference: &AnyTensor,
        tol: &[f64],
    ) {
        self.compared.push(name.to_string());
        if ours.0 != reference.shape.as_slice() {
            self.failures.push(format!(
                "{name}: shape {}, expected {}",
                fmt_shape(ours.0),
                fmt_shape(&reference.shape)
            ));
            return;
        }
        let want = reference.to_f64_vec();
        let (mut max_abs, mut max_rel, mut ratio, mut at) = (0.0f64, 0.0f64, 0.0f64, 0);
        for (i, (&a, &b)) in ours.1.iter().zip(&want).enumerate() {
            // A NaN difference is the worst possible error.
            let err = match (a - b).abs() {
                e if e.is_nan() => f64::INFINITY,
                e => e,
            };
            max_abs = max_abs.max(err);
            if b != 0.0 {
                max_rel = max_rel.max(err / b.abs());
            }
            let r = if err == 0.0 {
                0.0
            } else if tol[i] > 0.0 {
                err / tol[i]
            } else {
                f64::INFINITY
            };
            if r > ratio {
                (ratio, at) = (r, i);
            }
        }
        if ratio > 1.0 {
            self.failures.push(format!(
                "{name}: max abs err {max_abs:.3e}, max rel err {max_rel:.3e}; worst at flat \
                 index {at}: ours {:.17e}, reference {:.17e}, tolerance {:.3e}",
                ours.1[at], want[at], tol[at]
            ));
        }
        if self.worst.as_ref().is_none_or(|(w, _)| ratio > *w) {
            self.worst = Some((ratio, name.to_string()));
        }
    }

    /// Compares with the uniform tolerance `rel · max|reference|`.
    pub fn compare_scaled(
        &mut self,
        name: &str,
        ours: (&[usize], &[f64]),
        reference: &AnyTensor,
        rel: f64,
    ) {
        let tol = rel * max_abs(&reference.to_f64_vec());
        self.compare(name, ours, reference, &vec![tol; reference.numel()]);
    }

    /// Fails with every mismatch, after checking that every tensor of the fixture was compared
    /// (the inputs `x`, `y` are used, not compared).
    pub fn finish(self, what: &str, tensors: &[AnyTensor]) {
        let mut failures = self.failures;
        for t in tensors {
            if t.name != "x" && t.name != "y" && !self.compared.contains(&t.name) {
                failures.push(format!("{}: in the fixture but never compared", t.name));
            }
        }
        if let Some((ratio, name)) = &self.worst {
            eprintln!(
                "{what}: {} tensors compared; largest error/tolerance {ratio:.3e} ({name})",
                self.compared.len()
            );
        }
        assert!(
            failures.is_empty(),
            "{what}: {} mismatch(es):\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
}

//! Adam, PyTorch's `_single_tensor_adam` (the path `torch.optim.Adam` takes for CPU tensors),
//! element by element:
//! m.lerp_(g, 1−β1)                 → m = m + (1−β1)·(g − m)   (lerp's form for weight < 0.5)
//! v.mul_(β2).addcmul_(g, g, 1−β2)  → v = v·β2 + (1−β2)·g·g
//! denom = v.sqrt() / √(1−β2ᵗ) + eps
//! p.addcdiv_(m, denom, −lr/(1−β1ᵗ)) → p = p + (−step_size)·(m / denom)
//! The scalars are Python floats (f64) cast to the tensor's type, as PyTorch does.

use rayon::prelude::*;

use super::check_len;
use crate::backend::{AdamStep, Scalar};
use crate::error::{Error, Result};

/// Elements per parallel task.
const PER_TASK: usize = 1 << 15;

pub(super) fn step<T: Scalar>(
    param: &mut [T],
    grad: &[T],
    m: &mut [T],
    v: &mut [T],
    s: AdamStep,
) -> Result<()> {
    let n = param.len();
    check_len("adam_step", "grad", grad, n)?;
    check_len("adam_step", "m", m, n)?;
    check_len("adam_step", "v", v, n)?;
    if s.t == 0 {
        return Err(Error::input("adam_step: step number t is 0, expected ≥ 1"));
    }
    let w1: T = Scalar::from_f64(1.0 - s.beta1);
    let b2: T = Scalar::from_f64(s.beta2);
    let w2: T = Scalar::from_f64(1.0 - s.beta2);
    let neg_step_size: T = Scalar::from_f64(-s.step_size());
    let bc2_sqrt: T = Scalar::from_f64(s.bias_correction2_sqrt());
    let eps: T = Scalar::from_f64(s.eps);
    // Elementwise, so split over rayon in blocks (the embedding and projections hold half a
    // million parameters at D = 256); small tensors stay on this thread.
    let update = |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = *m + w1 * (g - *m);
            *v = *v * b2 + w2 * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            *p = *p + neg_step_size * (*m / denom);
        }
    };
    if n <= PER_TASK {
        update(param, grad, m, v);
        return Ok(());
    }
    param
        .par_chunks_mut(PER_TASK)
        .zip(grad.par_chunks(PER_TASK))
        .zip(m.par_chunks_mut(PER_TASK))
        .zip(v.par_chunks_mut(PER_TASK))
        .for_each(|(((p, g), m), v)| update(p, g, m, v));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: [f64; 6] = [0.5, -1.25, 2.0, 0.0, 3.0, -0.75];
    /// Three steps of gradients: signs that flip, a zero, and 1e-9 (where eps dominates the
    /// denominator, so its placement matters).
    const GRADS: [[f64; 6]; 3] = [
        [0.25, -2.0, 1e-9, 0.0, 0.5, 4.0],
        [-0.5, -1.0, 1e-9, 0.0, 0.25, -4.0],
        [0.125, 3.0, 1e-9, 1.5, -0.5, 2.0],
    ];
    const LR: f64 = 0.01;

    /// The textbook form (seed-semantics.md), in f64:
    /// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·(m/(1−β1ᵗ)) / (√v/√(1−β2ᵗ) + eps).
    fn reference() -> [[f64; 6]; 3] {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let (mut p, mut m, mut v) = (P0, [0.0; 6], [0.0; 6]);
        for (t, g) in GRADS.iter().enumerate() {
            let t = t as i32 + 1;
            for i in 0..6 {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                let m_hat = m[i] / (1.0 - b1.powi(t));
                let denom = v[i].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
                p[i] -= LR * m_hat / denom;
            }
        }
        [p, m, v]
    }

    fn run<T: Scalar>() -> [Vec<f64>; 3] {
        let mut p: Vec<T> = P0.iter().map(|&x| Scalar::from_f64(x)).collect();
        let (mut m, mut v) = (vec![T::zero(); 6], vec![T::zero(); 6]);
        for (t, g) in GRADS.iter().enumerate() {
            let g: Vec<T> = g.iter().map(|&x| Scalar::from_f64(x)).collect();
            let s = AdamStep {
                lr: LR,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                t: t as u64 + 1,
            };
            step(&mut p, &g, &mut m, &mut v, s).unwrap();
        }
        [&p, &m, &v].map(|x| x.iter().map(|&y| Scalar::to_f64(y)).collect())
    }

    /// |got − want| ≤ tol·max(1, |want|) for p, m and v.
    fn assert_matches(got: [Vec<f64>; 3], tol: f64) {
        for ((name, got), want) in ["p", "m", "v"].iter().zip(got).zip(reference()) {
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= tol * w.abs().max(1.0),
                    "{name}[{i}]: {g:e} vs reference {w:e}"
                );
            }
        }
    }

    #[test]
    fn three_steps_match_the_textbook_formula_in_f64() {
        // PyTorch's lerp form of m and the reference's β1·m + (1−β1)·g differ by a few
        // roundings, as do the two ways of writing the update: a few ulps of values ≤ 4 after
        // three steps, so 1e-14 (≈ 20 ulps). A formula error (no bias correction, eps inside
        // the root) moves p by ≳ 1e-4.
        assert_matches(run::<f64>(), 1e-14);
    }

    #[test]
    fn three_steps_match_the_textbook_formula_in_f32() {
        // The same in f32: a few roundings of u = 6e-8 per step, three steps: 1e-6 (≈ 17 ulps).
        assert_matches(run::<f32>(), 1e-6);
    }

    #[test]
    fn a_large_tensor_split_over_threads_gets_each_elements_update() {
        // Above PER_TASK the update runs in parallel blocks: each element must get exactly the
        // update it gets alone (a one-element tensor takes the serial path).
        let n = 3 * PER_TASK + 5;
        let s = AdamStep {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 2,
        };
        let f = |i: usize, k: f32| ((i * 7919 + 13) % 1000) as f32 / 500.0 - k;
        let g: Vec<f32> = (0..n).map(|i| f(i, 1.0)).collect();
        let mut p: Vec<f32> = (0..n).map(|i| f(i * 3, 0.5)).collect();
        let mut m: Vec<f32> = (0..n).map(|i| f(i * 5, 1.0) * 0.1).collect();
        let mut v: Vec<f32> = (0..n).map(|i| f(i * 7, 0.0) * 0.01).collect();
        let mut alone = (p.clone(), m.clone(), v.clone());
        step(&mut p, &g, &mut m, &mut v, s).unwrap();
        for i in 0..n {
            let (mut pi, mut mi, mut vi) = ([alone.0[i]], [alone.1[i]], [alone.2[i]]);
            step(&mut pi, &g[i..i + 1], &mut mi, &mut vi, s).unwrap();
            (alone.0[i], alone.1[i], alone.2[i]) = (pi[0], mi[0], vi[0]);
        }
        assert_eq!((p, m, v), alone);
    }

    #[test]
    fn step_zero_is_an_error() {
        let (mut p, mut m, mut v) = (vec![1.0f64], vec![0.0], vec![0.0]);
        let s = AdamStep {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
        };
        assert!(step(&mut p, &[1.0], &mut m, &mut v, s).is_err());
    }
}

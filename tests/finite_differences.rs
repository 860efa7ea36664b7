//! Every backward checked against central finite differences in f64.
//!
//! Each op test draws random inputs of awkward sizes (batch 7, seq 5, 3 heads of head_dim 5,
//! vocab 11, 4 classes), a random output weighting r, and checks the gradient of
//! f(inputs) = Σ r ⊙ op(inputs) that the op's `*_bwd` accumulates (into buffers holding random
//! values beforehand, so "accumulate, not overwrite" is checked too) against
//! (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for EVERY input element.
//!
//! Tolerance. With h = 1e-6·max(1, |xᵢ|), the central difference's error is the truncation
//! h²·|f'''|/6 ≲ 1e-12·|f'''| plus the roundoff u·S/h, where u = 1.1e-16 and S is the size of
//! the terms summed in f (S ≲ 1e3 here: at most ~2000 terms of size ≲ 1), so ≲ 1e-7 at worst and
//! ~1e-9 typically. We allow |g − fd| ≤ 1e-6·(1 + |g|): ten times the worst case, while a
//! missing or wrong term (a dropped 1/√hd, a transposed index, an overwrite instead of an
//! accumulate) is off by ≳ 1e-2.

use mha_cv::backend::cpu::Cpu;
use mha_cv::backend::{AttnDims, Backend, EmbedDims, HeadProjDims};
use mha_cv::data::Dataset;
use mha_cv::model::{init_params, DeviceData, Factoring, HostParams, Model, ModelConfig};
use mha_cv::rng::Rng;
use mha_cv::tape::Tape;

const TOL: f64 = 1e-6;

fn be() -> Cpu<f64> {
    Cpu::<f64>::new()
}

fn randn(rng: &mut Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n).map(|_| rng.normal() * scale).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central difference of `f` at `x` for every coordinate, step 1e-6·max(1, |xᵢ|).
fn numeric_grad(x: &[f64], f: &dyn Fn(&[f64]) -> f64) -> Vec<f64> {
    numeric_grad_step(x, f, 1e-6)
}

/// Central difference with step `rel_step`·max(1, |xᵢ|).
fn numeric_grad_step(x: &[f64], f: &dyn Fn(&[f64]) -> f64, rel_step: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = rel_step * x[i].abs().max(1.0);
            xp[i] = x[i] + h;
            let up = f(&xp);
            xp[i] = x[i] - h;
            let down = f(&xp);
            xp[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Asserts |g − fd| ≤ TOL·(1 + |g|) everywhere, reporting every mismatch by index.
fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    let bad: Vec<String> = analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .filter(|(_, (g, n))| (*g - *n).abs() > TOL * (1.0 + g.abs()))
        .map(|(i, (g, n))| format!("[{i}] analytic {g:.12e} numeric {n:.12e}"))
        .collect();
    let worst = analytic
        .iter()
        .zip(numeric)
        .map(|(g, n)| (g - n).abs() / (1.0 + g.abs()))
        .fold(0.0, f64::max);
    eprintln!(
        "{what}: {} elements, worst scaled error {worst:.2e}",
        analytic.len()
    );
    assert!(
        bad.is_empty(),
        "{what}: {} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // The gradient must not be trivially zero, or the comparison proves nothing.
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-3),
        "{what}: gradient is all ~0"
    );
}

/// Runs a `*_bwd` into buffers pre-filled with `before` and returns what it added.
fn added(before: &[f64], after: &[f64]) -> Vec<f64> {
    after.iter().zip(before).map(|(a, b)| a - b).collect()
}

/// Whole rows, and the leading columns only (`cols` < dim: the q and k blocks of the factored
/// out projection), whose gradient must leave the other columns untouched.
#[test]
fn embed_backward() {
    for cols in [6, 4] {
        let mut rng = Rng::new(1);
        let d = EmbedDims {
            batch: 7,
            seq: 5,
            dim: 6,
            vocab: 11,
            cols,
        };
        // Few tokens so that many repeat (the scatter must sum them).
        let ids: Vec<u32> = (0..d.batch * d.seq)
            .map(|_| rng.below(4) as u32 * 3)
            .collect();
        let emb = randn(&mut rng, d.vocab * d.dim, 1.0);
        let pos = randn(&mut rng, d.seq * d.dim, 0.5);
        let r = randn(&mut rng, d.batch * d.seq * d.cols, 1.0);
        let (demb0, dpos0) = (
            randn(&mut rng, emb.len(), 1.0),
            randn(&mut rng, pos.len(), 1.0),
        );
        let (mut demb, mut dpos) = (demb0.clone(), dpos0.clone());
        be().embed_bwd(&ids, &r, d, &mut demb, &mut dpos).unwrap();
        let f_emb = |e: &[f64]| dot(&r, &be().embed_fwd(&ids, &e.to_vec(), &pos, d).unwrap());
        let f_pos = |p: &[f64]| dot(&r, &be().embed_fwd(&ids, &emb, &p.to_vec(), d).unwrap());
        assert_close(
            &format!("embed demb, {cols} of 6 columns"),
            &added(&demb0, &demb),
            &numeric_grad(&emb, &f_emb),
        );
        assert_close(
            &format!("embed dpos, {cols} of 6 columns"),
            &added(&dpos0, &dpos),
            &numeric_grad(&pos, &f_pos),
        );
    }
}

#[test]
fn linear_backward() {
    let mut rng = Rng::new(2);
    let (m, k, n) = (13, 7, 11);
    let x = randn(&mut rng, m * k, 1.0);
    let w = randn(&mut rng, n * k, 0.5);
    let b = randn(&mut rng, n, 0.5);
    let r = randn(&mut rng, m * n, 1.0);
    let (dx0, dw0, db0) = (
        randn(&mut rng, m * k, 1.0),
        randn(&mut rng, n * k, 1.0),
        randn(&mut rng, n, 1.0),
    );
    let (mut dx, mut dw, mut db) = (dx0.clone(), dw0.clone(), db0.clone());
    be().linear_bwd(&x, &w, &r, m, k, n, &mut dx, &mut dw, &mut db)
        .unwrap();
    let y = |x: &[f64], w: &[f64], b: &[f64]| {
        dot(
            &r,
            &be()
                .linear_fwd(&x.to_vec(), &w.to_vec(), &b.to_vec(), m, k, n)
                .unwrap(),
        )
    };
    assert_close(
        "linear dx",
        &added(&dx0, &dx),
        &numeric_grad(&x, &|v| y(v, &w, &b)),
    );
    assert_close(
        "linear dw",
        &added(&dw0, &dw),
        &numeric_grad(&w, &|v| y(&x, v, &b)),
    );
    assert_close(
        "linear db",
        &added(&db0, &db),
        &numeric_grad(&b, &|v| y(&x, &w, v)),
    );
}

#[test]
fn linear_backward_on_many_rows_uses_every_row_block() {
    // m = 150 rows spans three of the GEMM's 64-row parallel blocks (and n = 130 three of dw's),
    // the last one partial. f = Σ r ⊙ (x·wᵀ) is linear in x and in w, so the central difference
    // has no truncation error and a large step (1e-2) keeps the roundoff (u·S/h with S ~ 2e4
    // terms of size ~1) at ~1e-10.
    let mut rng = Rng::new(12);
    let (m, k, n) = (150, 3, 130);
    let x = randn(&mut rng, m * k, 1.0);
    let w = randn(&mut rng, n * k, 0.5);
    let b = vec![0.0; n];
    let r = randn(&mut rng, m * n, 1.0);
    let (mut dx, mut dw, mut db) = (vec![0.0; m * k], vec![0.0; n * k], vec![0.0; n]);
    be().linear_bwd(&x, &w, &r, m, k, n, &mut dx, &mut dw, &mut db)
        .unwrap();
    let y = |x: &[f64], w: &[f64]| {
        dot(
            &r,
            &be()
                .linear_fwd(&x.to_vec(), &w.to_vec(), &b, m, k, n)
                .unwrap(),
        )
    };
    let (fx, fw) = (|v: &[f64]| y(v, &w), |v: &[f64]| y(&x, v));
    assert_close("linear (blocks) dx", &dx, &numeric_grad_step(&x, &fx, 1e-2));
    assert_close("linear (blocks) dw", &dw, &numeric_grad_step(&w, &fw, 1e-2));
}

#[test]
fn attention_backward() {
    let mut rng = Rng::new(3);
    let d = AttnDims {
        batch: 7,
        seq: 5,
        heads: 3,
        head_dim: 5,
    };
    let len = d.batch * d.seq * 3 * d.dim();
    // Scale 1.5 so that the softmaxes are far from uniform (scores of size ~ 1.5² · √5 / √5).
    let qkv = randn(&mut rng, len, 1.5);
    let r = randn(&mut rng, d.batch * d.seq * d.dim(), 1.0);
    let (_, probs) = be().attention_fwd(&qkv, d).unwrap();
    let dqkv0 = randn(&mut rng, len, 1.0);
    let mut dqkv = dqkv0.clone();
    be().attention_bwd(&qkv, &probs, &r, d, &mut dqkv).unwrap();
    let f = |v: &[f64]| dot(&r, &be().attention_fwd(&v.to_vec(), d).unwrap().0);
    assert_close(
        "attention dqkv",
        &added(&dqkv0, &dqkv),
        &numeric_grad(&qkv, &f),
    );
}

#[test]
fn attention_probs_are_row_softmaxes_of_scaled_scores() {
    // One batch element, one head, seq 2, hd 4: probs by hand.
    let d = AttnDims {
        batch: 1,
        seq: 2,
        heads: 1,
        head_dim: 4,
    };
    let q = [[1.0, 0.0, 2.0, -1.0], [0.5, 0.5, 0.0, 0.0]];
    let k = [[0.0, 1.0, 1.0, 0.0], [2.0, 0.0, -1.0, 1.0]];
    let v = [[1.0, 2.0, 3.0, 4.0], [-1.0, 0.0, 1.0, 0.0]];
    let mut qkv = Vec::new();
    for s in 0..2 {
        qkv.extend(q[s]);
        qkv.extend(k[s]);
        qkv.extend(v[s]);
    }
    let (out, probs) = be().attention_fwd(&qkv, d).unwrap();
    for i in 0..2 {
        let s: Vec<f64> = (0..2).map(|t| dot(&q[i], &k[t]) / 2.0).collect();
        let z: f64 = s.iter().map(|x| x.exp()).sum();
        for t in 0..2 {
            let p = s[t].exp() / z;
            // A handful of roundings of values ≤ 1: 1e-15.
            assert!((probs[i * 2 + t] - p).abs() < 1e-15);
        }
        for j in 0..4 {
            let o = probs[i * 2] * v[0][j] + probs[i * 2 + 1] * v[1][j];
            assert!((out[i * 4 + j] - o).abs() < 1e-14);
        }
    }
}

#[test]
fn head_proj_backward() {
    let mut rng = Rng::new(13);
    let d = HeadProjDims {
        rows: 11,
        heads: 3,
        head_dim: 5,
    };
    let dim = d.dim();
    let src = randn(&mut rng, d.rows * 3 * dim, 1.0);
    let w = randn(&mut rng, dim * dim, 0.5);
    let r = randn(&mut rng, d.rows * d.heads * dim, 1.0);
    let (dsrc0, dw0) = (
        randn(&mut rng, src.len(), 1.0),
        randn(&mut rng, w.len(), 1.0),
    );
    let (mut dsrc, mut dw) = (dsrc0.clone(), dw0.clone());
    be().head_proj_bwd(&src, &w, &r, d, &mut dsrc, &mut dw)
        .unwrap();
    let f = |s: &[f64], w: &[f64]| {
        dot(
            &r,
            &be().head_proj_fwd(&s.to_vec(), &w.to_vec(), d).unwrap(),
        )
    };
    // dsrc is zero in the q and k columns: f does not read them (the difference sees that too).
    assert_close(
        "head_proj dsrc",
        &added(&dsrc0, &dsrc),
        &numeric_grad(&src, &|v| f(v, &w)),
    );
    assert_close(
        "head_proj dw",
        &added(&dw0, &dw),
        &numeric_grad(&w, &|v| f(&src, v)),
    );
}

/// q and k are read from the projected rows (qk_e[ids] + qk_p), so their gradients are
/// checked against differences in those rows' entries, v blocks included (zero there).
#[test]
fn attention_out_backward() {
    let mut rng = Rng::new(14);
    let d = AttnDims {
        batch: 7,
        seq: 5,
        heads: 3,
        head_dim: 5,
    };
    // Vocab 40: three tasks of the by-token pass (16 tokens each), the last one partial. Twelve
    // tokens in use, so that many repeat (their rows must sum), the others never used.
    let (dim, vocab) = (d.dim(), 40);
    let ids: Vec<u32> = (0..d.batch * d.seq)
        .map(|_| rng.below(12) as u32 * 3)
        .collect();
    let qk_e = randn(&mut rng, vocab * 3 * dim, 1.0);
    let qk_p = randn(&mut rng, d.seq * 3 * dim, 0.8);
    let tab_e = randn(&mut rng, vocab * d.heads * dim, 1.0);
    let tab_p = randn(&mut rng, d.seq * d.heads * dim, 0.5);
    let bias = randn(&mut rng, dim, 0.5);
    let r = randn(&mut rng, d.batch * d.seq * dim, 1.0);
    let (_, probs) = be()
        .attention_out_fwd((&ids, &qk_e, &qk_p), (&tab_e, &tab_p), &bias, d, vocab)
        .unwrap();
    let g = be()
        .attention_out_bwd((&ids, &qk_e, &qk_p), (&tab_e, &tab_p), &probs, &r, d, vocab)
        .unwrap();
    let f = |[e, p, te, tp, b]: [&[f64]; 5]| {
        let (out, _) = be()
            .attention_out_fwd(
                (&ids, &e.to_vec(), &p.to_vec()),
                (&te.to_vec(), &tp.to_vec()),
                &b.to_vec(),
                d,
                vocab,
            )
            .unwrap();
        dot(&r, &out)
    };
    let fd = |i: usize| -> Vec<f64> {
        let all = [&qk_e, &qk_p, &tab_e, &tab_p, &bias];
        numeric_grad(all[i], &|v| {
            let mut args = all.map(|a| a.as_slice());
            args[i] = v;
            f(args)
        })
    };
    assert_close("attention_out dqk_e", &g.dqk_e, &fd(0));
    assert_close("attention_out dqk_p", &g.dqk_p, &fd(1));
    assert_close("attention_out dtab_e", &g.dtab_e, &fd(2));
    assert_close("attention_out dtab_p", &g.dtab_p, &fd(3));
    assert_close("attention_out dbias", &g.dbias, &fd(4));
}

#[test]
fn layernorm_backward() {
    let mut rng = Rng::new(4);
    let (rows, d) = (35, 15);
    // Rows centred away from zero, so that the mean subtraction matters.
    let x: Vec<f64> = randn(&mut rng, rows * d, 1.3)
        .iter()
        .map(|v| v + 2.0)
        .collect();
    let gamma: Vec<f64> = randn(&mut rng, d, 0.3).iter().map(|v| v + 1.0).collect();
    let beta = randn(&mut rng, d, 0.3);
    let r = randn(&mut rng, rows * d, 1.0);
    let eps = 1e-5;
    let saved = be().layernorm_fwd(&x, &gamma, &beta, rows, d, eps).unwrap();
    let (dx0, dg0, db0) = (
        randn(&mut rng, rows * d, 1.0),
        randn(&mut rng, d, 1.0),
        randn(&mut rng, d, 1.0),
    );
    let (mut dx, mut dg, mut db) = (dx0.clone(), dg0.clone(), db0.clone());
    be().layernorm_bwd(&x, &gamma, &saved, &r, rows, d, &mut dx, &mut dg, &mut db)
        .unwrap();
    let f = |x: &[f64], g: &[f64], b: &[f64]| {
        let out = be()
            .layernorm_fwd(&x.to_vec(), &g.to_vec(), &b.to_vec(), rows, d, eps)
            .unwrap();
        dot(&r, &out.y)
    };
    assert_close(
        "layernorm dx",
        &added(&dx0, &dx),
        &numeric_grad(&x, &|v| f(v, &gamma, &beta)),
    );
    assert_close(
        "layernorm dgamma",
        &added(&dg0, &dg),
        &numeric_grad(&gamma, &|v| f(&x, v, &beta)),
    );
    assert_close(
        "layernorm dbeta",
        &added(&db0, &db),
        &numeric_grad(&beta, &|v| f(&x, &gamma, v)),
    );
}

#[test]
fn layernorm_forward_matches_the_definition() {
    // Biased variance and eps inside the root, as PyTorch: row (1, 2, 3, 6): mean 3,
    // var (4 + 1 + 0 + 9) / 4 = 3.5.
    let x = vec![1.0, 2.0, 3.0, 6.0];
    let out = be()
        .layernorm_fwd(&x, &vec![2.0; 4], &vec![0.5; 4], 1, 4, 1e-5)
        .unwrap();
    let rstd = 1.0 / (3.5f64 + 1e-5).sqrt();
    assert!((out.mean[0] - 3.0).abs() < 1e-15);
    assert!((out.rstd[0] - rstd).abs() < 1e-15);
    for (y, v) in out.y.iter().zip(&x) {
        assert!((y - ((v - 3.0) * rstd * 2.0 + 0.5)).abs() < 1e-14);
    }
}

#[test]
fn mean_pool_backward() {
    let mut rng = Rng::new(5);
    let (batch, seq, dim) = (7, 5, 6);
    let x = randn(&mut rng, batch * seq * dim, 1.0);
    let r = randn(&mut rng, batch * dim, 1.0);
    let dx0 = randn(&mut rng, x.len(), 1.0);
    let mut dx = dx0.clone();
    be().mean_pool_bwd(&r, batch, seq, dim, &mut dx).unwrap();
    let f = |v: &[f64]| {
        dot(
            &r,
            &be().mean_pool_fwd(&v.to_vec(), batch, seq, dim).unwrap(),
        )
    };
    assert_close("mean_pool dx", &added(&dx0, &dx), &numeric_grad(&x, &f));
}

#[test]
fn cross_entropy_backward() {
    let mut rng = Rng::new(6);
    let (batch, classes) = (7, 4);
    let logits = randn(&mut rng, batch * classes, 2.0);
    let labels: Vec<u32> = (0..batch)
        .map(|_| rng.below(classes as u64) as u32)
        .collect();
    // An upstream gradient ≠ 1, so that its scaling is checked.
    let dloss = vec![0.7];
    let (_, probs) = be()
        .cross_entropy_fwd(&logits, &labels, batch, classes)
        .unwrap();
    let d0 = randn(&mut rng, logits.len(), 1.0);
    let mut d = d0.clone();
    be().cross_entropy_bwd(&probs, &labels, &dloss, batch, classes, &mut d)
        .unwrap();
    let f = |v: &[f64]| {
        let (loss, _) = be()
            .cross_entropy_fwd(&v.to_vec(), &labels, batch, classes)
            .unwrap();
        0.7 * loss[0]
    };
    assert_close(
        "cross_entropy dlogits",
        &added(&d0, &d),
        &numeric_grad(&logits, &f),
    );
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    // exp(1000) overflows; log-sum-exp does not. loss = ln(1 + e⁻¹) for label 0.
    let (loss, probs) = be()
        .cross_entropy_fwd(&vec![1000.0, 999.0], &vec![0], 1, 2)
        .unwrap();
    let expected = (1.0 + (-1.0f64).exp()).ln();
    assert!((loss[0] - expected).abs() < 1e-13, "{}", loss[0]);
    assert!(probs.iter().all(|p| p.is_finite()));
}

#[test]
fn add_backward_through_the_tape() {
    // loss = CE(a + b) and CE(a + a): the add passes its gradient to both inputs, and a value
    // used twice sums both.
    let mut rng = Rng::new(7);
    let (batch, classes) = (7, 4);
    let a = randn(&mut rng, batch * classes, 1.0);
    let b = randn(&mut rng, batch * classes, 1.0);
    let labels: Vec<u32> = (0..batch)
        .map(|_| rng.below(classes as u64) as u32)
        .collect();
    let backend = be();
    let loss_of = |a: &[f64], b: Option<&[f64]>| {
        let (a, b) = (a.to_vec(), b.map(|b| b.to_vec()));
        let mut tape = Tape::new(&backend);
        let va = tape.leaf(&a, &[batch, classes]);
        let vb = b.as_ref().map(|b| tape.leaf(b, &[batch, classes]));
        let s = tape.add(va, vb.unwrap_or(va)).unwrap();
        let loss = tape.cross_entropy(s, &labels).unwrap();
        let value = tape.value(loss)[0];
        let mut grads = tape.backward(loss).unwrap();
        (
            value,
            grads.take(va).unwrap(),
            vb.map(|v| grads.take(v).unwrap()),
        )
    };
    let (_, da, db) = loss_of(&a, Some(&b));
    assert_close(
        "add da",
        &da,
        &numeric_grad(&a, &|v| loss_of(v, Some(&b)).0),
    );
    assert_close(
        "add db",
        &db.unwrap(),
        &numeric_grad(&b, &|v| loss_of(&a, Some(v)).0),
    );
    let (_, daa, _) = loss_of(&a, None);
    assert_close(
        "add(a, a) da",
        &daa,
        &numeric_grad(&a, &|v| loss_of(v, None).0),
    );
}

/// The awkward config: 3 heads of head_dim 5, seq 5, vocab 11, 4 classes; batch 7.
fn small_model_inputs() -> (ModelConfig, HostParams<f64>, Dataset) {
    let cfg = ModelConfig {
        vocab: 11,
        dim: 15,
        heads: 3,
        seq_len: 5,
        classes: 4,
    };
    let mut rng = Rng::new(8);
    let mut params = init_params::<f64>(&cfg, 8);
    // Move every parameter off its initial value (zero biases, unit LayerNorm weight), so the
    // check is at a generic point.
    for t in &mut params.tensors {
        for v in &mut t.data {
            *v += 0.3 * rng.normal();
        }
    }
    let batch = 7;
    let data = Dataset {
        x: (0..batch * cfg.seq_len)
            .map(|_| rng.below(6) as u32)
            .collect(),
        y: (0..batch).map(|_| rng.below(4) as u32).collect(),
        n: batch,
        seq_len: cfg.seq_len,
    };
    (cfg, params, data)
}

fn whole_model_gradients(path: Factoring) {
    let (cfg, params, data) = small_model_inputs();
    let backend = be();
    let dd = DeviceData::new(&backend, &data).unwrap();
    let mut model = Model::new(be(), cfg, &params).unwrap();
    model.set_factoring(path).unwrap();
    let trace = model.trace(&dd).unwrap();
    for (ti, t) in params.tensors.iter().enumerate() {
        let grad = trace
            .iter()
            .find(|g| g.name == format!("grad.{}", t.name))
            .unwrap();
        assert_eq!(grad.shape, t.shape);
        let loss = |v: &[f64]| {
            let mut p = params.clone();
            p.tensors[ti].data = v.to_vec();
            let mut m = Model::new(be(), cfg, &p).unwrap();
            m.set_factoring(path).unwrap();
            m.loss(&dd).unwrap()
        };
        let what = format!("model ({path:?}) d loss / d {}", t.name);
        assert_close(&what, &grad.data, &numeric_grad(&t.data, &loss));
    }
}

#[test]
fn whole_model_loss_per_token() {
    whole_model_gradients(Factoring::PerToken);
}

#[test]
fn whole_model_loss_factored_qkv() {
    whole_model_gradients(Factoring::Qkv);
}

#[test]
fn whole_model_loss_factored_qkv_and_out() {
    whole_model_gradients(Factoring::QkvAndOut);
}

#[test]
fn all_three_factorings_agree_to_rounding() {
    let (cfg, params, data) = small_model_inputs();
    let backend = be();
    let dd = DeviceData::new(&backend, &data).unwrap();
    let run = |path| {
        let mut m = Model::new(be(), cfg, &params).unwrap();
        m.set_factoring(path).unwrap();
        m.trace(&dd).unwrap()
    };
    let a = run(Factoring::PerToken);
    // The same sums in another order: values of size ≲ 10 agree to ~1e-14; allow 1e-12.
    for (x, y) in [Factoring::Qkv, Factoring::QkvAndOut]
        .into_iter()
        .flat_map(|path| a.iter().zip(run(path)))
    {
        assert_eq!((&x.name, &x.shape), (&y.name, &y.shape));
        let worst = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{}: paths differ by {worst:e}", x.name);
    }
}

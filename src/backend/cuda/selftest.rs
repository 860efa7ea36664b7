//! Every kernel against an independent reference on fresh random inputs, at several sizes
//! (including ones that are not multiples of the block sizes): the training ops against the CPU
//! backend in f64 on the same (f32) inputs, the determinant and Cayley–Menger kernels against
//! exact integer arithmetic. Run with [`Cuda::set_checked`] on: each launch is synchronised and
//! its fresh outputs start as NaN, so a fault names its kernel and an unwritten element fails.
//!
//! Tolerances (u = 2⁻²⁴ for f32, 2⁻⁵³ for f64, γₙ = nu / (1 − nu)):
//! - linear ops (sums of products: add, embedding, matrix products, column sums, mean pool) are
//!   checked componentwise against the bound |ŷ − y| ≤ γₙ·(the same op on |inputs|), n the number
//!   of terms per output: rigorous for any summation order, with or without FMA;
//! - ops with exp/log/sqrt/division (attention, LayerNorm, softmax cross-entropy, Adam) are
//!   checked normwise, max|ŷ − y| / max|y|, against c·(length of the longest reduction)·u; a
//!   gradient that is accumulated into a non-zero buffer is measured against the norm of the
//!   gradient alone, so `=` instead of `+=` fails;
//! - det6 and vol² against the error law of numerics.md: |err| ≤ 64·u·H, H the Hadamard bound
//!   ∏‖rowᵢ‖ (det) or ∏|pₖ − p₀|²/576 (vol²); the host check (kernels/host) sees ≤ 6·u·H.

use super::geometry::{det6_batch_gpu, vol2_fused_device, vol2_fused_gpu, DetScalar};
use super::kernels as k;
use super::launch::{self as geo, to_u32};
use super::{launch_kernel, Cuda};
use crate::backend::cpu::Cpu;
use crate::backend::{AdamStep, AttnDims, Backend, EmbedDims};
use crate::error::Result;
use crate::options::Precision;
use crate::rng::Rng;

const U32: f64 = f32::EPSILON as f64 / 2.0;
const U64: f64 = f64::EPSILON / 2.0;

/// One row of the selftest table.
#[derive(Clone, Debug)]
pub struct Check {
    pub kernel: String,
    pub sizes: String,
    /// Largest error found, in the check's own measure (see the module doc).
    pub err: f64,
    pub tol: f64,
    /// A CUDA or input error instead of a result.
    pub failure: Option<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.err <= self.tol
    }
}

/// Runs every check; `cuda` should be in checked mode. Never stops early: a failing check
/// (even a CUDA fault) becomes a failed row.
pub fn run_all(cuda: &Cuda, seed: u64) -> Vec<Check> {
    let mut s = Suite {
        dev: cuda,
        cpu: Cpu::new(),
        rng: Rng::new(seed),
        checks: Vec::new(),
    };
    s.reductions();
    s.training_ops();
    s.det6::<f32>(U32, "det6_f32");
    s.det6::<f64>(U64, "det6_f64");
    s.cayley_menger();
    s.checks
}

impl<B: Backend<T = f32>> Suite<'_, B> {
    fn training_ops(&mut self) {
        self.elementwise();
        self.embedding();
        self.linear();
        self.attention();
        self.layernorm();
        self.mean_pool();
        self.cross_entropy();
        self.adam();
    }
}

fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    nu / (1.0 - nu)
}

/// One measured output of a check: (output name, error, tolerance).
type Measured = (&'static str, f64, f64);

struct Suite<'a, D> {
    dev: &'a D,
    cpu: Cpu<f64>,
    rng: Rng,
    checks: Vec<Check>,
}

impl<D> Suite<'_, D> {
    fn record(
        &mut self,
        kernel: &str,
        sizes: String,
        f: impl FnOnce(&mut Self) -> Result<Vec<Measured>>,
    ) {
        match f(self) {
            Ok(measured) => {
                for (output, err, tol) in measured {
                    let name = if output.is_empty() {
                        kernel.to_string()
                    } else {
                        format!("{kernel} {output}")
                    };
                    self.checks.push(Check {
                        kernel: name,
                        sizes: sizes.clone(),
                        err,
                        tol,
                        failure: None,
                    });
                }
            }
            Err(e) => self.checks.push(Check {
                kernel: kernel.to_string(),
                sizes,
                err: f64::INFINITY,
                tol: 0.0,
                failure: Some(e.to_string()),
            }),
        }
    }

    /// Uniform in [−1, 1), as f32.
    fn rand(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| self.rng.uniform_in(-1.0, 1.0) as f32)
            .collect()
    }

    fn rand_ids(&mut self, n: usize, below: usize) -> Vec<u32> {
        (0..n)
            .map(|_| self.rng.below(below as u64) as u32)
            .collect()
    }

    /// A starting value for a gradient buffer that is accumulated into: random, of the size of
    /// the gradient itself (so `=` instead of `+=` is caught), rounded to f32.
    fn accum_init(&mut self, grad: &[f64]) -> Vec<f32> {
        let scale = 0.5 * inf_norm(grad).max(f64::MIN_POSITIVE);
        (0..grad.len())
            .map(|_| (self.rng.uniform_in(-1.0, 1.0) * scale) as f32)
            .collect()
    }
}

impl<B: Backend<T = f32>> Suite<'_, B> {
    fn up(&self, x: &[f32]) -> Result<B::Buf> {
        self.dev.upload(x)
    }

    fn down(&self, x: &B::Buf) -> Result<Vec<f32>> {
        self.dev.download(x)
    }
}

impl Suite<'_, Cuda> {
    fn reductions(&mut self) {
        for (rows, cols) in [(3, 1), (5, 31), (4, 33), (2, 257), (3, 1000), (1, 4099)] {
            self.record(
                "reduce (block_sum, block_max)",
                format!("rows={rows} cols={cols}"),
                |s| {
                    let x = s.rand(rows * cols);
                    let dx = s.up(&x)?;
                    let cfg = geo::per_row(rows, cols)?;
                    let c = to_u32(cols, "cols")?;
                    let mut sums = s.dev.output::<f32>(rows)?;
                    let mut maxs = s.dev.output::<f32>(rows)?;
                    launch_kernel!(s.dev, k::REDUCE_SUM_ROWS, cfg, &dx, &c, &mut sums)?;
                    launch_kernel!(s.dev, k::REDUCE_MAX_ROWS, cfg, &dx, &c, &mut maxs)?;
                    let (sums, maxs) = (s.down(&sums)?, s.down(&maxs)?);
                    let mut sum_err: f64 = 0.0;
                    let mut max_err: f64 = 0.0;
                    for r in 0..rows {
                        let row = &x[r * cols..(r + 1) * cols];
                        let exact: f64 = row.iter().map(|&v| f64::from(v)).sum();
                        let abs: f64 = row.iter().map(|&v| f64::from(v).abs()).sum();
                        sum_err = sum_err.max(rel(f64::from(sums[r]), exact, abs));
                        let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        max_err = max_err.max(if maxs[r] == mx { 0.0 } else { f64::INFINITY });
                    }
                    Ok(vec![
                        ("sum", sum_err, gamma(cols, U32)),
                        ("max", max_err, 0.0),
                    ])
                },
            );
        }
    }
}

impl<B: Backend<T = f32>> Suite<'_, B> {
    fn elementwise(&mut self) {
        for n in [1, 255, 257, 100_003] {
            self.record("add_f32, accumulate_f32", format!("n={n}"), |s| {
                let (a, b) = (s.rand(n), s.rand(n));
                let (da, db) = (s.up(&a)?, s.up(&b)?);
                let sum = s.down(&s.dev.add(&da, &db)?)?;
                let mut dst = s.up(&a)?;
                s.dev.accumulate(&mut dst, &db)?;
                let acc = s.down(&dst)?;
                let exact: Vec<f64> = a
                    .iter()
                    .zip(&b)
                    .map(|(&x, &y)| f64::from(x) + f64::from(y))
                    .collect();
                let scale: Vec<f64> = a
                    .iter()
                    .zip(&b)
                    .map(|(&x, &y)| f64::from(x).abs() + f64::from(y).abs())
                    .collect();
                Ok(vec![
                    ("add", componentwise(&sum, &exact, &scale), gamma(1, U32)),
                    (
                        "accumulate",
                        componentwise(&acc, &exact, &scale),
                        gamma(1, U32),
                    ),
                ])
            });
        }
    }

    fn embedding(&mut self) {
        for (batch, seq, dim, vocab) in [
            (1, 1, 1, 1),
            (7, 8, 12, 32),
            (13, 5, 33, 50),
            (500, 8, 64, 256),
        ] {
            let d = EmbedDims {
                batch,
                seq,
                dim,
                vocab,
                cols: dim,
            };
            self.record(
                "embed_fwd_f32",
                format!("B={batch} S={seq} D={dim} V={vocab}"),
                |s| {
                    let ids = s.rand_ids(batch * seq, vocab);
                    let (emb, pos) = (s.rand(vocab * dim), s.rand(seq * dim));
                    let h =
                        s.dev
                            .embed_fwd(&s.dev.upload_ids(&ids)?, &s.up(&emb)?, &s.up(&pos)?, d)?;
                    let exact = s.cpu.embed_fwd(&ids, &f64s(&emb), &f64s(&pos), d)?;
                    let scale = s.cpu.embed_fwd(&ids, &abs64(&emb), &abs64(&pos), d)?;
                    Ok(vec![(
                        "",
                        componentwise(&s.down(&h)?, &exact, &scale),
                        gamma(1, U32),
                    )])
                },
            );
            self.record(
                "embed_bwd_f32, col_sum_acc_f32",
                format!("B={batch} S={seq} D={dim} V={vocab}"),
                |s| {
                    let ids = s.rand_ids(batch * seq, vocab);
                    let (dh, demb0, dpos0) = (
                        s.rand(batch * seq * dim),
                        s.rand(vocab * dim),
                        s.rand(seq * dim),
                    );
                    let (mut demb, mut dpos) = (s.up(&demb0)?, s.up(&dpos0)?);
                    s.dev.embed_bwd(
                        &s.dev.upload_ids(&ids)?,
                        &s.up(&dh)?,
                        d,
                        &mut demb,
                        &mut dpos,
                    )?;
                    let (mut e_emb, mut e_pos) = (f64s(&demb0), f64s(&dpos0));
                    s.cpu
                        .embed_bwd(&ids, &f64s(&dh), d, &mut e_emb, &mut e_pos)?;
                    let (mut s_emb, mut s_pos) = (abs64(&demb0), abs64(&dpos0));
                    s.cpu
                        .embed_bwd(&ids, &abs64(&dh), d, &mut s_emb, &mut s_pos)?;
                    Ok(vec![
                        (
                            "demb",
                            componentwise(&s.down(&demb)?, &e_emb, &s_emb),
                            gamma(batch * seq + 1, U32),
                        ),
                        (
                            "dpos",
                            componentwise(&s.down(&dpos)?, &e_pos, &s_pos),
                            gamma(batch + 1, U32),
                        ),
                    ])
                },
            );
        }
    }

    fn linear(&mut self) {
        for (m, kk, n) in [
            (1, 1, 1),
            (7, 12, 36),
            (65, 33, 17),
            (130, 70, 129),
            (4000, 64, 192),
        ] {
            let sizes = format!("m={m} k={kk} n={n}");
            self.record("linear_fwd_f32", sizes.clone(), |s| {
                let (x, w, b) = (s.rand(m * kk), s.rand(n * kk), s.rand(n));
                let y = s
                    .dev
                    .linear_fwd(&s.up(&x)?, &s.up(&w)?, &s.up(&b)?, m, kk, n)?;
                let exact = s
                    .cpu
                    .linear_fwd(&f64s(&x), &f64s(&w), &f64s(&b), m, kk, n)?;
                let scale = s
                    .cpu
                    .linear_fwd(&abs64(&x), &abs64(&w), &abs64(&b), m, kk, n)?;
                Ok(vec![(
                    "",
                    componentwise(&s.down(&y)?, &exact, &scale),
                    gamma(kk + 1, U32),
                )])
            });
            self.record("linear_bwd_{dx,dw}_f32, col_sum_acc_f32", sizes, |s| {
                let (x, w, dy) = (s.rand(m * kk), s.rand(n * kk), s.rand(m * n));
                let (dx0, dw0, db0) = (s.rand(m * kk), s.rand(n * kk), s.rand(n));
                let (mut dx, mut dw, mut db) = (s.up(&dx0)?, s.up(&dw0)?, s.up(&db0)?);
                s.dev.linear_bwd(
                    &s.up(&x)?,
                    &s.up(&w)?,
                    &s.up(&dy)?,
                    m,
                    kk,
                    n,
                    &mut dx,
                    &mut dw,
                    &mut db,
                )?;
                let (mut ex, mut ew, mut eb) = (f64s(&dx0), f64s(&dw0), f64s(&db0));
                s.cpu.linear_bwd(
                    &f64s(&x),
                    &f64s(&w),
                    &f64s(&dy),
                    m,
                    kk,
                    n,
                    &mut ex,
                    &mut ew,
                    &mut eb,
                )?;
                let (mut sx, mut sw, mut sb) = (abs64(&dx0), abs64(&dw0), abs64(&db0));
                s.cpu.linear_bwd(
                    &abs64(&x),
                    &abs64(&w),
                    &abs64(&dy),
                    m,
                    kk,
                    n,
                    &mut sx,
                    &mut sw,
                    &mut sb,
                )?;
                Ok(vec![
                    (
                        "dx",
                        componentwise(&s.down(&dx)?, &ex, &sx),
                        gamma(n + 1, U32),
                    ),
                    (
                        "dw",
                        componentwise(&s.down(&dw)?, &ew, &sw),
                        gamma(m + 1, U32),
                    ),
                    (
                        "dbias",
                        componentwise(&s.down(&db)?, &eb, &sb),
                        gamma(m + 1, U32),
                    ),
                ])
            });
        }
    }

    fn attention(&mut self) {
        for (batch, seq, heads, head_dim) in [
            (1, 1, 1, 1),
            (7, 8, 2, 6),
            (3, 5, 3, 7),
            (20, 8, 1, 256),
            (500, 8, 8, 8),
        ] {
            let d = AttnDims {
                batch,
                seq,
                heads,
                head_dim,
            };
            let sizes = format!("B={batch} S={seq} H={heads} hd={head_dim}");
            // Chains of dot products of length hd and seq, exp (≤ 2 ulp on the GPU), division.
            let tol_fwd = 8.0 * (head_dim + seq + 8) as f64 * U32;
            let tol_bwd = 16.0 * (head_dim + 2 * seq + 8) as f64 * U32;
            self.record("attention_fwd_f32", sizes.clone(), |s| {
                let qkv = s.rand(batch * seq * 3 * d.dim());
                let (out, probs) = s.dev.attention_fwd(&s.up(&qkv)?, d)?;
                let (e_out, e_probs) = s.cpu.attention_fwd(&f64s(&qkv), d)?;
                Ok(vec![
                    (
                        "out",
                        normwise(&s.down(&out)?, &e_out, inf_norm(&e_out)),
                        tol_fwd,
                    ),
                    (
                        "probs",
                        normwise(&s.down(&probs)?, &e_probs, inf_norm(&e_probs)),
                        tol_fwd,
                    ),
                ])
            });
            self.record("attention_bwd_f32", sizes, |s| {
                let qkv = s.rand(batch * seq * 3 * d.dim());
                let (_, probs64) = s.cpu.attention_fwd(&f64s(&qkv), d)?;
                // The probabilities as the forward pass would have stored them, in f32.
                let probs: Vec<f32> = probs64.iter().map(|&p| p as f32).collect();
                let dout = s.rand(batch * seq * d.dim());
                let mut grad = vec![0.0; qkv.len()];
                s.cpu
                    .attention_bwd(&f64s(&qkv), &f64s(&probs), &f64s(&dout), d, &mut grad)?;
                let init = s.accum_init(&grad);
                let mut dqkv = s.up(&init)?;
                s.dev
                    .attention_bwd(&s.up(&qkv)?, &s.up(&probs)?, &s.up(&dout)?, d, &mut dqkv)?;
                let exact: Vec<f64> = init
                    .iter()
                    .zip(&grad)
                    .map(|(&i, &g)| f64::from(i) + g)
                    .collect();
                Ok(vec![(
                    "dqkv",
                    normwise(&s.down(&dqkv)?, &exact, inf_norm(&grad)),
                    tol_bwd,
                )])
            });
        }
    }

    fn layernorm(&mut self) {
        let eps = crate::defaults::LN_EPS;
        for (rows, d) in [(1, 1), (7, 12), (33, 31), (100, 257), (4000, 64)] {
            let sizes = format!("rows={rows} d={d}");
            let tol_fwd = 8.0 * (d + 8) as f64 * U32;
            self.record("layernorm_fwd_f32", sizes.clone(), |s| {
                let (x, g, b) = (s.rand(rows * d), s.rand(d), s.rand(d));
                let out = s
                    .dev
                    .layernorm_fwd(&s.up(&x)?, &s.up(&g)?, &s.up(&b)?, rows, d, eps)?;
                let e = s
                    .cpu
                    .layernorm_fwd(&f64s(&x), &f64s(&g), &f64s(&b), rows, d, eps)?;
                Ok(vec![
                    (
                        "y",
                        normwise(&s.down(&out.y)?, &e.y, inf_norm(&e.y)),
                        tol_fwd,
                    ),
                    (
                        "mean",
                        normwise(&s.down(&out.mean)?, &e.mean, inf_norm(&e.mean)),
                        tol_fwd,
                    ),
                    (
                        "rstd",
                        normwise(&s.down(&out.rstd)?, &e.rstd, inf_norm(&e.rstd)),
                        tol_fwd,
                    ),
                ])
            });
            self.record("layernorm_bwd_{dx,params}_f32", sizes, |s| {
                let (x, g, b, dy) = (s.rand(rows * d), s.rand(d), s.rand(d), s.rand(rows * d));
                let (x64, g64) = (f64s(&x), f64s(&g));
                let saved64 = s.cpu.layernorm_fwd(&x64, &g64, &f64s(&b), rows, d, eps)?;
                let (mut gx, mut gg, mut gb) = (vec![0.0; rows * d], vec![0.0; d], vec![0.0; d]);
                s.cpu.layernorm_bwd(
                    &x64,
                    &g64,
                    &saved64,
                    &f64s(&dy),
                    rows,
                    d,
                    &mut gx,
                    &mut gg,
                    &mut gb,
                )?;
                // The GPU gets its own forward pass's saved statistics, as in training.
                let (dx_, dg_, db_) = (s.up(&x)?, s.up(&g)?, s.up(&b)?);
                let saved = s.dev.layernorm_fwd(&dx_, &dg_, &db_, rows, d, eps)?;
                let (ix, ig, ib) = (s.accum_init(&gx), s.accum_init(&gg), s.accum_init(&gb));
                let (mut dx, mut dgam, mut dbet) = (s.up(&ix)?, s.up(&ig)?, s.up(&ib)?);
                s.dev.layernorm_bwd(
                    &dx_,
                    &dg_,
                    &saved,
                    &s.up(&dy)?,
                    rows,
                    d,
                    &mut dx,
                    &mut dgam,
                    &mut dbet,
                )?;
                let plus = |i: &[f32], g: &[f64]| -> Vec<f64> {
                    i.iter().zip(g).map(|(&a, &b)| f64::from(a) + b).collect()
                };
                let tol_params = 8.0 * (rows + d + 8) as f64 * U32;
                // dx = rstd·(γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)) cancels terms of size
                // rstd·|γ·dy|: its rounding error scales with them, not with |dx|, which is
                // exactly 0 when d = 1.
                let cancelled = (0..rows)
                    .map(|r| {
                        let gdy = (0..d).map(|j| (g64[j] * f64::from(dy[r * d + j])).abs());
                        saved64.rstd[r] * gdy.fold(0.0, f64::max)
                    })
                    .fold(inf_norm(&gx), f64::max);
                Ok(vec![
                    (
                        "dx",
                        normwise(&s.down(&dx)?, &plus(&ix, &gx), cancelled),
                        16.0 * (d + 8) as f64 * U32,
                    ),
                    (
                        "dgamma",
                        normwise(&s.down(&dgam)?, &plus(&ig, &gg), inf_norm(&gg)),
                        tol_params,
                    ),
                    (
                        "dbeta",
                        normwise(&s.down(&dbet)?, &plus(&ib, &gb), inf_norm(&gb)),
                        tol_params,
                    ),
                ])
            });
        }
    }

    fn mean_pool(&mut self) {
        for (batch, seq, dim) in [(1, 1, 1), (7, 8, 12), (13, 5, 33), (500, 8, 256)] {
            let sizes = format!("B={batch} S={seq} D={dim}");
            self.record("mean_pool_{fwd,bwd}_f32", sizes, |s| {
                let x = s.rand(batch * seq * dim);
                let y = s.dev.mean_pool_fwd(&s.up(&x)?, batch, seq, dim)?;
                let e = s.cpu.mean_pool_fwd(&f64s(&x), batch, seq, dim)?;
                let sc = s.cpu.mean_pool_fwd(&abs64(&x), batch, seq, dim)?;
                let (dy, dx0) = (s.rand(batch * dim), s.rand(batch * seq * dim));
                let mut dx = s.up(&dx0)?;
                s.dev.mean_pool_bwd(&s.up(&dy)?, batch, seq, dim, &mut dx)?;
                let mut ex = f64s(&dx0);
                s.cpu.mean_pool_bwd(&f64s(&dy), batch, seq, dim, &mut ex)?;
                let mut sx = abs64(&dx0);
                s.cpu.mean_pool_bwd(&abs64(&dy), batch, seq, dim, &mut sx)?;
                Ok(vec![
                    (
                        "fwd",
                        componentwise(&s.down(&y)?, &e, &sc),
                        gamma(seq + 1, U32),
                    ),
                    ("bwd", componentwise(&s.down(&dx)?, &ex, &sx), gamma(2, U32)),
                ])
            });
        }
    }

    fn cross_entropy(&mut self) {
        for (batch, classes) in [(1, 1), (7, 10), (500, 10), (300, 257)] {
            let sizes = format!("B={batch} C={classes}");
            self.record("xent_rows_f32, mean_f32", sizes.clone(), |s| {
                let logits: Vec<f32> = s.rand(batch * classes).iter().map(|v| 4.0 * v).collect();
                let labels = s.rand_ids(batch, classes);
                let (loss, probs) = s.dev.cross_entropy_fwd(
                    &s.up(&logits)?,
                    &s.dev.upload_ids(&labels)?,
                    batch,
                    classes,
                )?;
                let (e_loss, e_probs) =
                    s.cpu
                        .cross_entropy_fwd(&f64s(&logits), &labels, batch, classes)?;
                Ok(vec![
                    (
                        "loss",
                        normwise(&s.down(&loss)?, &e_loss, inf_norm(&e_loss)),
                        8.0 * (classes + batch + 8) as f64 * U32,
                    ),
                    (
                        "probs",
                        normwise(&s.down(&probs)?, &e_probs, inf_norm(&e_probs)),
                        8.0 * (classes + 8) as f64 * U32,
                    ),
                ])
            });
            self.record("xent_bwd_f32", sizes, |s| {
                let logits: Vec<f32> = s.rand(batch * classes).iter().map(|v| 4.0 * v).collect();
                let labels = s.rand_ids(batch, classes);
                let (_, p64) = s
                    .cpu
                    .cross_entropy_fwd(&f64s(&logits), &labels, batch, classes)?;
                let probs: Vec<f32> = p64.iter().map(|&p| p as f32).collect();
                let dloss = [s.rng.uniform_in(0.5, 1.5) as f32];
                let mut grad = vec![0.0; batch * classes];
                s.cpu.cross_entropy_bwd(
                    &f64s(&probs),
                    &labels,
                    &f64s(&dloss),
                    batch,
                    classes,
                    &mut grad,
                )?;
                let init = s.accum_init(&grad);
                let mut dl = s.up(&init)?;
                let ids = s.dev.upload_ids(&labels)?;
                s.dev.cross_entropy_bwd(
                    &s.up(&probs)?,
                    &ids,
                    &s.up(&dloss)?,
                    batch,
                    classes,
                    &mut dl,
                )?;
                let exact: Vec<f64> = init
                    .iter()
                    .zip(&grad)
                    .map(|(&i, &g)| f64::from(i) + g)
                    .collect();
                Ok(vec![(
                    "dlogits",
                    normwise(&s.down(&dl)?, &exact, inf_norm(&grad)),
                    16.0 * U32,
                )])
            });
        }
    }

    fn adam(&mut self) {
        for (n, t) in [(1, 1), (257, 1), (10_000, 7)] {
            self.record("adam_f32", format!("n={n} t={t}"), |s| {
                let step = AdamStep {
                    lr: crate::defaults::LR,
                    beta1: crate::defaults::ADAM_BETA1,
                    beta2: crate::defaults::ADAM_BETA2,
                    eps: crate::defaults::ADAM_EPS,
                    t,
                };
                let (p0, g, m0) = (s.rand(n), s.rand(n), s.rand(n));
                let v0: Vec<f32> = s.rand(n).iter().map(|x| x.abs()).collect();
                let (mut p, mut m, mut v) = (s.up(&p0)?, s.up(&m0)?, s.up(&v0)?);
                s.dev.adam_step(&mut p, &s.up(&g)?, &mut m, &mut v, step)?;
                let (mut ep, mut em, mut ev) = (f64s(&p0), f64s(&m0), f64s(&v0));
                s.cpu
                    .adam_step(&mut ep, &f64s(&g), &mut em, &mut ev, step)?;
                // p moves by ~lr: measure against the size of the move; rounding p + Δp to f32
                // costs u·|p| on top of the update's own few roundings.
                let delta: Vec<f64> = ep
                    .iter()
                    .zip(&p0)
                    .map(|(&e, &q)| e - f64::from(q))
                    .collect();
                let dnorm = inf_norm(&delta);
                let tol_p = 16.0 * U32 + 2.0 * U32 * inf_norm(&f64s(&p0)) / dnorm;
                Ok(vec![
                    ("param", normwise(&s.down(&p)?, &ep, dnorm), tol_p),
                    ("m", normwise(&s.down(&m)?, &em, inf_norm(&em)), 8.0 * U32),
                    ("v", normwise(&s.down(&v)?, &ev, inf_norm(&ev)), 8.0 * U32),
                ])
            });
        }
    }
}

impl Suite<'_, Cuda> {
    /// Integer matrices (entries in [−8, 8]) against exact determinants; err = |det − exact| / H.
    fn det6<T: DetScalar>(&mut self, u: f64, kernel: &str) {
        for batch in [1, 127, 129, 100_003] {
            self.record(kernel, format!("B={batch}"), |s| {
                let ints: Vec<i64> = (0..batch * 36)
                    .map(|_| s.rng.below(17) as i64 - 8)
                    .collect();
                let mats: Vec<T> = ints
                    .iter()
                    .map(|&v| <T as crate::backend::Scalar>::from_f64(v as f64))
                    .collect();
                let got = det6_batch_gpu(s.dev, &mats)?;
                let mut worst: f64 = 0.0;
                for (b, g) in got.iter().enumerate() {
                    let m: &[i64; 36] = ints[b * 36..(b + 1) * 36].try_into().expect("36 entries");
                    let h: f64 = m
                        .chunks(6)
                        .map(|r| r.iter().map(|&v| (v * v) as f64).sum::<f64>().sqrt())
                        .product();
                    let exact = det_exact(m) as f64;
                    worst = worst.max(rel(crate::backend::Scalar::to_f64(*g), exact, h.max(1.0)));
                }
                Ok(vec![("", worst, 64.0 * u)])
            });
        }
    }

    /// Integer points (coordinates in [−4, 4]) against exact vol² = −det(CM)/9216; err in units
    /// of H = ∏|pₖ − p₀|²/576. Also the device-resident path on a column block of a wider matrix.
    fn cayley_menger(&mut self) {
        let rows = 40;
        for (dim, samples) in [(1, 1), (4, 255), (7, 257), (33, 1000)] {
            self.record(
                "cm_vol2_{f32,f64,f32_f64}",
                format!("rows={rows} D={dim} samples={samples}"),
                |s| {
                    let pts: Vec<i64> =
                        (0..rows * dim).map(|_| s.rng.below(9) as i64 - 4).collect();
                    let idx: Vec<[u32; 5]> =
                        (0..samples).map(|_| distinct5(&mut s.rng, rows)).collect();
                    let (exact, h): (Vec<f64>, Vec<f64>) =
                        idx.iter().map(|t| vol2_exact(&pts, dim, t)).unzip();
                    let worst = |got: &[f64]| -> f64 {
                        got.iter()
                            .zip(&exact)
                            .zip(&h)
                            .map(|((&g, &e), &hh)| rel(g, e, hh.max(1e-300)))
                            .fold(0.0, f64::max)
                    };
                    let p64: Vec<f64> = pts.iter().map(|&v| v as f64).collect();
                    let p32: Vec<f32> = pts.iter().map(|&v| v as f32).collect();
                    let g64 = vol2_fused_gpu(s.dev, &p64, rows, dim, &idx)?;
                    let g32: Vec<f64> = vol2_fused_gpu(s.dev, &p32, rows, dim, &idx)?
                        .into_iter()
                        .map(f64::from)
                        .collect();
                    // The same points as columns 3..3+dim of a (rows × (dim + 5)) matrix.
                    let ld = dim + 5;
                    let mut wide = s.rand(rows * ld);
                    for r in 0..rows {
                        wide[r * ld + 3..r * ld + 3 + dim]
                            .copy_from_slice(&p32[r * dim..(r + 1) * dim]);
                    }
                    let dwide = s.up(&wide)?;
                    let dev64 =
                        vol2_fused_device(s.dev, &dwide, 3, ld, rows, dim, &idx, Precision::F64)?;
                    let dev32 =
                        vol2_fused_device(s.dev, &dwide, 3, ld, rows, dim, &idx, Precision::F32)?;
                    Ok(vec![
                        ("f64", worst(&g64), 64.0 * U64),
                        ("f32", worst(&g32), 64.0 * U32),
                        ("device f32→f64, column block", worst(&dev64), 64.0 * U64),
                        ("device f32, column block", worst(&dev32), 64.0 * U32),
                    ])
                },
            );
        }
    }
}

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

fn abs64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v).abs()).collect()
}

fn inf_norm(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// |got − exact| / scale; a NaN result or a non-zero error on a zero scale is infinitely wrong.
fn rel(got: f64, exact: f64, scale: f64) -> f64 {
    let diff = (got - exact).abs();
    if got.is_nan() {
        f64::INFINITY
    } else if diff == 0.0 {
        0.0
    } else if scale > 0.0 {
        diff / scale
    } else {
        f64::INFINITY
    }
}

/// max_i |got_i − exact_i| / scale_i.
fn componentwise(got: &[f32], exact: &[f64], scale: &[f64]) -> f64 {
    if got.len() != exact.len() {
        return f64::INFINITY;
    }
    got.iter()
        .zip(exact)
        .zip(scale)
        .map(|((&g, &e), &s)| rel(f64::from(g), e, s))
        .fold(0.0, f64::max)
}

/// max_i |got_i − exact_i| / norm.
fn normwise(got: &[f32], exact: &[f64], norm: f64) -> f64 {
    if got.len() != exact.len() {
        return f64::INFINITY;
    }
    got.iter()
        .zip(exact)
        .map(|(&g, &e)| rel(f64::from(g), e, norm))
        .fold(0.0, f64::max)
}

/// 5 distinct rows below `rows`.
fn distinct5(rng: &mut Rng, rows: usize) -> [u32; 5] {
    let mut t = [0u32; 5];
    let mut n = 0;
    while n < 5 {
        let c = rng.below(rows as u64) as u32;
        if !t[..n].contains(&c) {
            t[n] = c;
            n += 1;
        }
    }
    t
}

/// Exact vol² of integer points rows t of `pts` (rows × dim), and H = ∏|pₖ − p₀|²/576.
fn vol2_exact(pts: &[i64], dim: usize, t: &[u32; 5]) -> (f64, f64) {
    let p = |v: usize| &pts[t[v] as usize * dim..(t[v] as usize + 1) * dim];
    let d2 =
        |a: usize, b: usize| -> i64 { p(a).iter().zip(p(b)).map(|(x, y)| (x - y) * (x - y)).sum() };
    let mut cm = [0i64; 36];
    for i in 1..6 {
        cm[i] = 1;
        cm[i * 6] = 1;
        for j in 1..6 {
            cm[i * 6 + j] = d2(i - 1, j - 1);
        }
    }
    let h = (1..5).map(|kk| d2(0, kk) as f64).product::<f64>() / 576.0;
    (-(det_exact(&cm) as f64) / 9216.0, h)
}

/// Exact determinant of an integer 6×6 matrix: fraction-free (Bareiss) elimination in i128,
/// every division exact; row swaps on a zero pivot.
fn det_exact(m: &[i64; 36]) -> i128 {
    let mut a = [[0i128; 6]; 6];
    for (i, &v) in m.iter().enumerate() {
        a[i / 6][i % 6] = i128::from(v);
    }
    let (mut prev, mut sign) = (1i128, 1i128);
    for kk in 0..5 {
        if a[kk][kk] == 0 {
            match (kk + 1..6).find(|&r| a[r][kk] != 0) {
                Some(r) => {
                    a.swap(kk, r);
                    sign = -sign;
                }
                None => return 0,
            }
        }
        for i in kk + 1..6 {
            for j in kk + 1..6 {
                a[i][j] = (a[i][j] * a[kk][kk] - a[i][kk] * a[kk][j]) / prev;
            }
        }
        prev = a[kk][kk];
    }
    sign * a[5][5]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_determinants() {
        let mut id = [0i64; 36];
        for i in 0..6 {
            id[i * 6 + i] = 1;
        }
        assert_eq!(det_exact(&id), 1);
        // Swapping two rows flips the sign; the (0,0) zero forces a pivot swap.
        let mut p = id;
        p.swap(0, 6);
        p.swap(1, 7);
        assert_eq!(det_exact(&p), -1);
        // Diagonal 1..6: 720; a repeated row: 0.
        let mut d = [0i64; 36];
        for i in 0..6 {
            d[i * 6 + i] = i as i64 + 1;
        }
        assert_eq!(det_exact(&d), 720);
        let mut r = d;
        r.copy_within(0..6, 6);
        assert_eq!(det_exact(&r), 0);
    }

    #[test]
    fn exact_volume_of_the_axis_simplex() {
        // Origin plus 2e₁, 3e₂, 1e₃, 4e₄: vol = 24/24 = 1, so vol² = 1; H = 4·9·1·16/576 = 1.
        let pts = [0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4];
        let (v, h) = vol2_exact(&pts, 4, &[0, 1, 2, 3, 4]);
        assert_eq!((v, h), (1.0, 1.0));
        // Unit-edge regular simplex has det(CM) = −5 (numerics.md): scaled by 2, edges² = 2 on
        // e₁..e₅ in 5-D, det scales by 2⁴ → vol² = 80/9216.
        let mut reg = [0i64; 25];
        for i in 0..5 {
            reg[i * 5 + i] = 1;
        }
        assert_eq!(vol2_exact(&reg, 5, &[0, 1, 2, 3, 4]).0, 80.0 / 9216.0);
    }

    /// The checks of the `Backend` ops, on any f32 device (the unit tests run them on `Cpu<f32>`
    /// to show that the tolerances hold for a correct f32 implementation).
    fn training_ops<B: Backend<T = f32>>(dev: &B, seed: u64) -> Vec<Check> {
        let mut s = Suite {
            dev,
            cpu: Cpu::new(),
            rng: Rng::new(seed),
            checks: Vec::new(),
        };
        s.training_ops();
        s.checks
    }

    /// A correct f32 implementation (the CPU backend in f32) passes every op check, and the
    /// checks are not vacuous: every error is finite and most are non-zero.
    #[test]
    fn cpu_f32_passes_the_op_checks() {
        let checks = training_ops(&Cpu::<f32>::new(), 7);
        for c in &checks {
            assert!(
                c.ok(),
                "{} [{}]: err {:.3e} > tol {:.3e} {:?}",
                c.kernel,
                c.sizes,
                c.err,
                c.tol,
                c.failure
            );
        }
        let nonzero = checks.iter().filter(|c| c.err > 0.0).count();
        assert!(
            nonzero * 2 > checks.len(),
            "only {nonzero} of {} checks saw any rounding",
            checks.len()
        );
    }

    #[test]
    fn error_measures_catch_nan_and_missing_writes() {
        assert_eq!(componentwise(&[1.0], &[1.0], &[0.0]), 0.0);
        assert_eq!(componentwise(&[f32::NAN], &[1.0], &[1.0]), f64::INFINITY);
        assert_eq!(normwise(&[0.5, 2.0], &[0.5, 1.0], 2.0), 0.5);
        assert_eq!(normwise(&[1.0], &[1.0, 2.0], 2.0), f64::INFINITY);
        assert!(gamma(10, U32) > 10.0 * U32);
    }
}

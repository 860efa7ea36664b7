//! Cross-entropy, mean over the batch, from logits through log-sum-exp (as
//! `F.cross_entropy` = nll_loss(log_softmax(logits))).

use super::{check_len, check_sizes};
use crate::backend::Scalar;
use crate::error::{Error, Result};

fn check_labels(op: &str, labels: &[u32], batch: usize, classes: usize) -> Result<()> {
    check_len(op, "labels", labels, batch)?;
    match labels.iter().find(|&&c| c as usize >= classes) {
        Some(c) => Err(Error::input(format!(
            "{op}: label {c} is outside the classes [0, {classes})"
        ))),
        None => Ok(()),
    }
}

/// Returns (loss (1), probs (batch, classes)). loss = (1/batch) Σ_b (lse_b − logits[b, label_b])
/// with lse_b = max_b + ln Σ_c exp(logits[b,c] − max_b); the batch sum is taken in f64.
pub(super) fn forward<T: Scalar>(
    logits: &[T],
    labels: &[u32],
    batch: usize,
    classes: usize,
) -> Result<(Vec<T>, Vec<T>)> {
    let op = "cross_entropy_fwd";
    check_sizes(op, &[("batch", batch), ("classes", classes)])?;
    check_len(op, "logits", logits, batch * classes)?;
    check_labels(op, labels, batch, classes)?;
    let mut probs = vec![T::zero(); batch * classes];
    let mut total = 0.0f64;
    for ((row, p), &label) in logits
        .chunks_exact(classes)
        .zip(probs.chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        p.iter_mut()
            .zip(row)
            .for_each(|(e, &z)| *e = (z - max).exp());
        let sum: T = p.iter().copied().sum();
        let lse = max + sum.ln();
        total += Scalar::to_f64(lse - row[label as usize]);
        p.iter_mut().for_each(|e| *e = *e / sum);
    }
    Ok((vec![Scalar::from_f64(total / batch as f64)], probs))
}

/// dlogits += dloss · (probs − onehot(labels)) / batch.
pub(super) fn backward<T: Scalar>(
    probs: &[T],
    labels: &[u32],
    dloss: &[T],
    batch: usize,
    classes: usize,
    dlogits: &mut [T],
) -> Result<()> {
    let op = "cross_entropy_bwd";
    check_sizes(op, &[("batch", batch), ("classes", classes)])?;
    check_len(op, "probs", probs, batch * classes)?;
    check_len(op, "dloss", dloss, 1)?;
    check_len(op, "dlogits", dlogits, batch * classes)?;
    check_labels(op, labels, batch, classes)?;
    let scale = dloss[0] / <T as Scalar>::from_f64(batch as f64);
    for ((d, p), &label) in dlogits
        .chunks_exact_mut(classes)
        .zip(probs.chunks_exact(classes))
        .zip(labels)
    {
        for (c, (dc, &pc)) in d.iter_mut().zip(p).enumerate() {
            let onehot = if c == label as usize {
                T::one()
            } else {
                T::zero()
            };
            *dc = *dc + scale * (pc - onehot);
        }
    }
    Ok(())
}

//! The prototype's forward pass, recorded on a tape:
//!
//! h = emb[x] + pos                       (B, S, D)
//! qkv = h·W_inᵀ + b_in                   (B, S, 3D)
//! attn = heads of softmax(q·kᵀ/√hd)·v    (B, S, D)
//! attn_out = attn·W_outᵀ + b_out         (B, S, D)
//! resid = h + attn_out                   (B, S, D)   h is used twice: QKV and the residual
//! ln = LayerNorm(resid)                  (B, S, D)
//! pooled = mean over S of ln             (B, D)
//! logits = pooled·W_headᵀ + b_head       (B, C)
//!
//! The projections may run on the distinct rows instead (`Factoring`); the values are the same
//! up to the order of the sums. A pass read for the loss alone records resid, ln and pooled as
//! one op where the backend has it (`Tape::resid_norm_pool`: the same bits, without the two
//! (B, S, D) values).

use super::ModelConfig;
use crate::backend::Backend;
use crate::defaults;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// Which projections run on the distinct rows instead of all batch·seq tokens. `h = emb[x] + pos`
/// has only vocab + seq distinct rows (264 against 4000 for the prototype), and every projection
/// is linear, so all three give the same values up to the order of the sums; the
/// finite-difference and PyTorch audits run on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factoring {
    /// `qkv = (emb[x] + pos)·Wᵀ + b` and `attn_out = attn·W_outᵀ + b_out` on all rows, as PyTorch.
    PerToken,
    /// `qkv = (emb·Wᵀ)[x] + (pos·Wᵀ + b)[s]`: the QKV projection of the distinct rows, gathered
    /// by the embedding op (its backward scatter-adds, then two small products).
    Qkv,
    /// `Qkv`, and the out projection too: attn_out = b_out + Σ_h P_h·(V_h·W_out,hᵀ), where the
    /// value rows V_h·W_out,hᵀ of the distinct rows are computed once (`head_proj`) and mixed
    /// per sequence (`attention_out`): per token, seq·heads multiply-adds per output instead of
    /// dim. Needs a backend with those ops (`Backend::has_attention_out`).
    QkvAndOut,
}

impl Factoring {
    /// The fastest path for `cfg`: `QkvAndOut` where the backend has its ops and
    /// 4·seq·heads ≤ dim, else `Qkv`. Per token and output element, the factored out projection
    /// mixes seq·heads value rows where the plain one sums dim products, but its small
    /// per-sequence products run at a fraction of a large product's speed: one step of each of
    /// the sweep's twelve configs on one thread put the break-even between a quarter and a half
    /// (BENCHMARKS.md).
    pub fn fastest(cfg: &ModelConfig, has_attention_out: bool) -> Factoring {
        if has_attention_out && 4 * cfg.seq_len * cfg.heads <= cfg.dim {
            Factoring::QkvAndOut
        } else {
            Factoring::Qkv
        }
    }
}

/// The parameter leaves, in `PARAM_NAMES` order.
pub(super) struct ParamVars {
    pub emb: Var,
    pub pos: Var,
    pub in_w: Var,
    pub in_b: Var,
    pub out_w: Var,
    pub out_b: Var,
    pub norm_w: Var,
    pub norm_b: Var,
    pub head_w: Var,
    pub head_b: Var,
}

impl ParamVars {
    pub fn from_array(v: [Var; 10]) -> Self {
        let [emb, pos, in_w, in_b, out_w, out_b, norm_w, norm_b, head_w, head_b] = v;
        ParamVars {
            emb,
            pos,
            in_w,
            in_b,
            out_w,
            out_b,
            norm_w,
            norm_b,
            head_w,
            head_b,
        }
    }
}

/// What a forward pass is read for, beyond the loss.
#[derive(Clone, Copy)]
pub(super) struct Reads {
    /// The heads' outputs before out_proj (`Forward::attn`), on every path.
    pub attn: bool,
    /// The whole qkv (`Forward::qkv`), which `QkvAndOut` does not need for the loss.
    pub qkv: bool,
}

impl Reads {
    /// The loss only (training, evaluation).
    pub const LOSS: Reads = Reads {
        attn: false,
        qkv: false,
    };

    /// Whether nothing but the loss is read: then neither the whole qkv on `QkvAndOut` nor the
    /// values between the attention and the pool (resid, ln) are recorded.
    fn loss_only(self) -> bool {
        !self.attn && !self.qkv
    }
}

/// The vars of every intermediate (the fixture's `act.*`).
#[derive(Clone, Copy)]
pub(super) struct Forward {
    pub h: Var,
    /// (B, S, 3D); not recorded on `QkvAndOut` read for the loss alone (attention_out gathers q
    /// and k from the projected rows itself, and takes v through head_proj's tables).
    pub qkv: Option<Var>,
    /// The heads' outputs before out_proj: on `QkvAndOut` recorded only when asked for (the
    /// loss does not use it there).
    pub attn: Option<Var>,
    /// The op that holds the attention probabilities (`Tape::attention_probs`).
    pub probs: Var,
    pub attn_out: Var,
    /// h + attn_out and its LayerNorm: recorded unless the pass is read for the loss alone on
    /// a backend with the fused op (`Tape::resid_norm_pool`, the same bits).
    pub resid: Option<Var>,
    pub ln: Option<Var>,
    pub pooled: Var,
    pub logits: Var,
}

/// Records the forward pass for `batch` sequences `ids` (batch, seq_len). `zero_qkv_bias`
/// (3·dim zeros) is the bias of the vocabulary projection on the factored paths; `reads` says
/// what else is read (the heads' outputs are recorded on `QkvAndOut` only when asked).
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<'a, B: Backend>(
    tape: &mut Tape<'a, B>,
    p: &ParamVars,
    cfg: &ModelConfig,
    ids: &'a B::Ids,
    batch: usize,
    path: Factoring,
    zero_qkv_bias: Var,
    reads: Reads,
) -> Result<Forward> {
    let s = cfg.seq_len;
    let h = tape.embed(ids, batch, s, p.emb, p.pos)?;
    // On the factored paths, the QKV projection of the vocabulary and position rows.
    let projected_rows = |tape: &mut Tape<'a, B>| -> Result<(Var, Var)> {
        let emb_proj = tape.linear(p.emb, p.in_w, zero_qkv_bias)?; // (vocab, 3D)
        let pos_proj = tape.linear(p.pos, p.in_w, p.in_b)?; // (1, S, 3D)
        Ok((emb_proj, pos_proj))
    };
    // Attention on qkv, then the out projection on every token.
    type Attended = (Option<Var>, Option<Var>, Var, Var);
    let attend = |tape: &mut Tape<'a, B>, qkv: Var| -> Result<Attended> {
        let attn = tape.attention(qkv, cfg.heads)?;
        let attn_out = tape.linear(attn, p.out_w, p.out_b)?;
        Ok((Some(qkv), Some(attn), attn_out, attn))
    };
    // (qkv, attn, attn_out, the op holding the probabilities)
    let (qkv, attn, attn_out, probs) = match path {
        Factoring::PerToken => {
            let qkv = tape.linear(h, p.in_w, p.in_b)?;
            attend(tape, qkv)?
        }
        Factoring::Qkv => {
            let rows = projected_rows(tape)?;
            let qkv = tape.embed(ids, batch, s, rows.0, rows.1)?;
            attend(tape, qkv)?
        }
        Factoring::QkvAndOut => {
            let rows = projected_rows(tape)?;
            // attention_out gathers q and k itself: the whole qkv only where it is read
            let qkv = if reads.loss_only() {
                None
            } else {
                Some(tape.embed(ids, batch, s, rows.0, rows.1)?)
            };
            let tab_e = tape.head_proj(rows.0, p.out_w, cfg.heads)?; // (vocab, H, D)
            let tab_p = tape.head_proj(rows.1, p.out_w, cfg.heads)?; // (S, H, D)
            let attn_out = tape.attention_out((ids, batch), rows, (tab_e, tab_p), p.out_b)?;
            let attn = match qkv.filter(|_| reads.attn) {
                Some(qkv) => Some(tape.attention(qkv, cfg.heads)?),
                None => None,
            };
            (qkv, attn, attn_out, attn_out)
        }
    };
    let affine = (p.norm_w, p.norm_b);
    let (resid, ln, pooled) = if reads.loss_only() && tape.backend().has_resid_norm_pool() {
        let pooled = tape.resid_norm_pool(h, attn_out, affine, defaults::LN_EPS)?;
        (None, None, pooled)
    } else {
        let resid = tape.add(h, attn_out)?;
        let ln = tape.layernorm(resid, affine.0, affine.1, defaults::LN_EPS)?;
        (Some(resid), Some(ln), tape.mean_pool(ln)?)
    };
    let logits = tape.linear(pooled, p.head_w, p.head_b)?;
    Ok(Forward {
        h,
        qkv,
        attn,
        probs,
        attn_out,
        resid,
        ln,
        pooled,
        logits,
    })
}

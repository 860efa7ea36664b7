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

use super::ModelConfig;
use crate::backend::Backend;
use crate::defaults;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// How the QKV projection is computed. Both give the same values up to rounding (the
/// projection is linear), and the finite-difference tests check both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QkvPath {
    /// qkv = (emb[x] + pos)·Wᵀ + b on all B·S rows, as PyTorch computes it.
    PerToken,
    /// qkv = (emb·Wᵀ)[x] + (pos·Wᵀ + b)[s]: the projection of the vocab + seq distinct rows,
    /// gathered by the embedding op (its backward scatter-adds, then two small products).
    /// Cheaper whenever vocab + seq < B·S (264 vs 4000 rows for the prototype).
    Factored,
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

/// The vars of every intermediate (the fixture's `act.*`).
#[derive(Clone, Copy)]
pub(super) struct Forward {
    pub h: Var,
    pub qkv: Var,
    pub attn: Var,
    pub attn_out: Var,
    pub resid: Var,
    pub ln: Var,
    pub pooled: Var,
    pub logits: Var,
}

/// Records the forward pass for `batch` sequences `ids` (batch, seq_len). `zero_qkv_bias`
/// (3·dim zeros) is the bias of the vocabulary projection on the factored path.
pub(super) fn forward<'a, B: Backend>(
    tape: &mut Tape<'a, B>,
    p: &ParamVars,
    cfg: &ModelConfig,
    ids: &'a B::Ids,
    batch: usize,
    path: QkvPath,
    zero_qkv_bias: Var,
) -> Result<Forward> {
    let s = cfg.seq_len;
    let h = tape.embed(ids, batch, s, p.emb, p.pos)?;
    let qkv = match path {
        QkvPath::PerToken => tape.linear(h, p.in_w, p.in_b)?,
        QkvPath::Factored => {
            let emb_proj = tape.linear(p.emb, p.in_w, zero_qkv_bias)?; // (vocab, 3D)
            let pos_proj = tape.linear(p.pos, p.in_w, p.in_b)?; // (1, S, 3D)
            tape.embed(ids, batch, s, emb_proj, pos_proj)?
        }
    };
    let attn = tape.attention(qkv, cfg.heads)?;
    let attn_out = tape.linear(attn, p.out_w, p.out_b)?;
    let resid = tape.add(h, attn_out)?;
    let ln = tape.layernorm(resid, p.norm_w, p.norm_b, defaults::LN_EPS)?;
    let pooled = tape.mean_pool(ln)?;
    let logits = tape.linear(pooled, p.head_w, p.head_b)?;
    Ok(Forward {
        h,
        qkv,
        attn,
        attn_out,
        resid,
        ln,
        pooled,
        logits,
    })
}

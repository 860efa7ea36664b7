//! The one definition of the metric names (the prototype's `measure_all_cv` keys) and of the
//! matrices they measure. Tables, JSON, the model and the tests all take names from here.
//!
//! Weights, rows being the points: `emb` (vocab, D); `Q_full`, `K_full`, `V_full` (D, D), the
//! three row blocks of in_proj_weight; per head i in turn `Q_h{i}`, `K_h{i}`, `V_h{i}` (hd, D),
//! rows i·hd..(i+1)·hd of each block; `out_proj` (D, D); `cls_head` (classes, D).
//!
//! Activations (`forward_activations`), on all n·seq rows: per head i in turn `act_Q_h{i}`,
//! `act_K_h{i}`, `act_V_h{i}` (the head's columns of the projections, before the 1/√hd scaling)
//! and `act_post_h{i}` (columns i·hd..(i+1)·hd of the LayerNorm output); then `act_emb`
//! (`emb[x] + pos`) and `act_post_full` (the LayerNorm output).
//!
//! Not in the default list: `act_attn_h{i}`, head i's softmax·v before out_proj
//! ([`attn_head_activations`]).

use crate::model::{HostParams, HostTensor, ModelConfig};

/// Where a weight metric's rows come from.
enum WeightSource {
    Emb,
    /// Rows start..start+len of in_proj_weight.
    InProj {
        start: usize,
        len: usize,
    },
    OutProj,
    ClsHead,
}

/// Where an activation metric's columns come from.
enum ActSource {
    /// Columns start..start+width of qkv (n·seq, 3D).
    Qkv { start: usize, width: usize },
    /// Columns start..start+width of the LayerNorm output (n·seq, D).
    Post { start: usize, width: usize },
    /// emb[x] + pos, all columns.
    Emb,
    /// The LayerNorm output, all columns.
    PostFull,
}

fn weight_layout(dim: usize, heads: usize) -> Vec<(String, WeightSource)> {
    let hd = dim / heads.max(1);
    let mut out = vec![("emb".to_string(), WeightSource::Emb)];
    for (block, name) in ["Q", "K", "V"].iter().enumerate() {
        let (start, len) = (block * dim, dim);
        out.push((format!("{name}_full"), WeightSource::InProj { start, len }));
    }
    for i in 0..heads {
        for (block, name) in ["Q", "K", "V"].iter().enumerate() {
            let (start, len) = (block * dim + i * hd, hd);
            out.push((format!("{name}_h{i}"), WeightSource::InProj { start, len }));
        }
    }
    out.push(("out_proj".to_string(), WeightSource::OutProj));
    out.push(("cls_head".to_string(), WeightSource::ClsHead));
    out
}

fn activation_layout(dim: usize, heads: usize) -> Vec<(String, ActSource)> {
    let hd = dim / heads.max(1);
    let mut out = Vec::new();
    for i in 0..heads {
        for (block, name) in ["Q", "K", "V"].iter().enumerate() {
            let start = block * dim + i * hd;
            out.push((
                format!("act_{name}_h{i}"),
                ActSource::Qkv { start, width: hd },
            ));
        }
        let start = i * hd;
        out.push((
            format!("act_post_h{i}"),
            ActSource::Post { start, width: hd },
        ));
    }
    out.push(("act_emb".to_string(), ActSource::Emb));
    out.push(("act_post_full".to_string(), ActSource::PostFull));
    out
}

/// The weight metric names, in the prototype's order.
pub fn weight_names(heads: usize) -> Vec<String> {
    // Names do not depend on the dimension; any multiple of heads gives the same list.
    weight_layout(heads, heads)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// The activation metric names, in the prototype's order.
pub fn activation_names(heads: usize) -> Vec<String> {
    activation_layout(heads, heads)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// `act_attn_h{i}` for each head.
pub fn attn_head_names(heads: usize) -> Vec<String> {
    (0..heads).map(|i| format!("act_attn_h{i}")).collect()
}

/// All metric names of one measurement, weights first, as the prototype prints them.
pub fn metric_names(heads: usize, include_activations: bool) -> Vec<String> {
    let mut names = weight_names(heads);
    if include_activations {
        names.extend(activation_names(heads));
    }
    names
}

/// Every matrix one measurement reads, as (name, rows, cols), in its order: the weights, the
/// activations of `rows` = n·seq token rows, then `act_attn_h{i}`. The shapes of what
/// [`weight_matrices`], [`activation_matrices`] and [`attn_head_activations`] return, known
/// before any model exists (null baselines are computed from them up front).
pub fn metric_shapes(cfg: &ModelConfig, rows: usize) -> Vec<(String, usize, usize)> {
    let (dim, hd) = (cfg.dim, cfg.head_dim());
    let weights = weight_layout(dim, cfg.heads)
        .into_iter()
        .map(|(name, src)| {
            let points = match src {
                WeightSource::Emb => cfg.vocab,
                WeightSource::InProj { len, .. } => len,
                WeightSource::OutProj => dim,
                WeightSource::ClsHead => cfg.classes,
            };
            (name, points, dim)
        });
    let acts = activation_layout(dim, cfg.heads)
        .into_iter()
        .map(|(name, src)| {
            let width = match src {
                ActSource::Qkv { width, .. } | ActSource::Post { width, .. } => width,
                ActSource::Emb | ActSource::PostFull => dim,
            };
            (name, rows, width)
        });
    let attn = attn_head_names(cfg.heads)
        .into_iter()
        .map(|name| (name, rows, hd));
    weights.chain(acts).chain(attn).collect()
}

/// Rows start..start+len of a row-major (_, cols) matrix.
fn rows_of<T: Copy>(data: &[T], cols: usize, start: usize, len: usize) -> Vec<T> {
    data[start * cols..(start + len) * cols].to_vec()
}

/// Columns start..start+width of a row-major (rows, cols) matrix.
fn cols_of<T: Copy>(data: &[T], cols: usize, start: usize, width: usize) -> Vec<T> {
    data.chunks_exact(cols)
        .flat_map(|row| &row[start..start + width])
        .copied()
        .collect()
}

fn tensor<T>(name: String, rows: usize, cols: usize, data: Vec<T>) -> HostTensor<T> {
    HostTensor {
        name,
        shape: vec![rows, cols],
        data,
    }
}

/// The weight matrices of [`weight_names`], as 2-D tensors (rows are the points).
///
/// # Panics
/// If `params` does not hold the prototype's tensors with their shapes for some dim divisible
/// by `heads`: check with `HostParams::validate` first (loading and `Model::params` do).
pub fn weight_matrices<T: num_traits::Float>(
    params: &HostParams<T>,
    heads: usize,
) -> Vec<HostTensor<T>> {
    let get = |name: &str| {
        params
            .get(name)
            .unwrap_or_else(|| panic!("weight_matrices: no `{name}` (validate the parameters)"))
    };
    let (emb, in_proj) = (get("emb.weight"), get("mha.in_proj_weight"));
    let (out_proj, head) = (get("mha.out_proj.weight"), get("head.weight"));
    let dim = in_proj.shape[1];
    weight_layout(dim, heads)
        .into_iter()
        .map(|(name, src)| match src {
            WeightSource::Emb => tensor(name, emb.shape[0], dim, emb.data.clone()),
            WeightSource::InProj { start, len } => {
                tensor(name, len, dim, rows_of(&in_proj.data, dim, start, len))
            }
            WeightSource::OutProj => tensor(name, dim, dim, out_proj.data.clone()),
            WeightSource::ClsHead => tensor(name, head.shape[0], dim, head.data.clone()),
        })
        .collect()
}

/// The activation matrices of [`activation_names`] from the forward pass's `h = emb[x] + pos`
/// (rows, dim), qkv (rows, 3·dim) and LayerNorm output (rows, dim), rows = n·seq.
pub fn activation_matrices<T: Copy>(
    h: &[T],
    qkv: &[T],
    post: &[T],
    rows: usize,
    dim: usize,
    heads: usize,
) -> Vec<HostTensor<T>> {
    activation_layout(dim, heads)
        .into_iter()
        .map(|(name, src)| match src {
            ActSource::Qkv { start, width } => {
                tensor(name, rows, width, cols_of(qkv, 3 * dim, start, width))
            }
            ActSource::Post { start, width } => {
                tensor(name, rows, width, cols_of(post, dim, start, width))
            }
            ActSource::Emb => tensor(name, rows, dim, h.to_vec()),
            ActSource::PostFull => tensor(name, rows, dim, post.to_vec()),
        })
        .collect()
}

/// `act_attn_h{i}`: columns i·hd..(i+1)·hd of the attention output before out_proj
/// (rows, dim), i.e. head i's softmax·v.
pub fn attn_head_activations<T: Copy>(
    attn: &[T],
    rows: usize,
    dim: usize,
    heads: usize,
) -> Vec<HostTensor<T>> {
    let hd = dim / heads.max(1);
    attn_head_names(heads)
        .into_iter()
        .enumerate()
        .map(|(i, name)| tensor(name, rows, hd, cols_of(attn, dim, i * hd, hd)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{init_params, ModelConfig};

    #[test]
    fn names_follow_the_prototype_order() {
        let names = metric_names(2, true);
        let expected = [
            "emb",
            "Q_full",
            "K_full",
            "V_full",
            "Q_h0",
            "K_h0",
            "V_h0",
            "Q_h1",
            "K_h1",
            "V_h1",
            "out_proj",
            "cls_head",
            "act_Q_h0",
            "act_K_h0",
            "act_V_h0",
            "act_post_h0",
            "act_Q_h1",
            "act_K_h1",
            "act_V_h1",
            "act_post_h1",
            "act_emb",
            "act_post_full",
        ];
        assert_eq!(names, expected);
        assert_eq!(metric_names(2, false), expected[..12]);
        assert_eq!(attn_head_names(2), ["act_attn_h0", "act_attn_h1"]);
    }

    #[test]
    fn weight_matrices_are_the_right_row_blocks() {
        let cfg = ModelConfig::prototype(12, 3);
        let p = init_params::<f64>(&cfg, 1);
        let w = weight_matrices(&p, 3);
        let names: Vec<&str> = w.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, weight_names(3));
        let in_proj = &p.get("mha.in_proj_weight").unwrap().data;
        // K_h2 = rows 12 + 2·4 .. 12 + 3·4 of in_proj (hd 4).
        let k_h2 = w.iter().find(|t| t.name == "K_h2").unwrap();
        assert_eq!(k_h2.shape, [4, 12]);
        assert_eq!(k_h2.data, in_proj[20 * 12..24 * 12]);
        let v_full = w.iter().find(|t| t.name == "V_full").unwrap();
        assert_eq!(v_full.data, in_proj[24 * 12..]);
        assert_eq!(w.last().unwrap().shape, [10, 12]);
    }

    #[test]
    fn activation_matrices_take_the_head_columns() {
        // rows 2, dim 4, heads 2 (hd 2); qkv entries encode (row, column) as 100·r + c.
        let (rows, dim) = (2, 4);
        let qkv: Vec<f64> = (0..rows * 3 * dim)
            .map(|i| (100 * (i / 12) + i % 12) as f64)
            .collect();
        let post: Vec<f64> = (0..rows * dim).map(|i| -(i as f64)).collect();
        let h = vec![0.5; rows * dim];
        let acts = activation_matrices(&h, &qkv, &post, rows, dim, 2);
        let names: Vec<&str> = acts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, activation_names(2));
        let k_h1 = &acts[4 + 1]; // act_K_h1: K block starts at column 4, head 1 at +2
        assert_eq!(k_h1.name, "act_K_h1");
        assert_eq!(k_h1.data, [6.0, 7.0, 106.0, 107.0]);
        let post_h1 = &acts[7];
        assert_eq!(post_h1.data, [-2.0, -3.0, -6.0, -7.0]);
        let attn = attn_head_activations(&post, rows, dim, 2);
        assert_eq!(attn[1].data, post_h1.data);
    }

    #[test]
    fn metric_shapes_are_the_shapes_of_the_measured_matrices() {
        let cfg = ModelConfig {
            vocab: 32,
            dim: 12,
            heads: 3,
            seq_len: 8,
            classes: 10,
        };
        let rows = 5;
        let zeros = |n: usize| vec![0.0f64; n];
        let mut tensors = weight_matrices(&init_params::<f64>(&cfg, 1), cfg.heads);
        tensors.extend(activation_matrices(
            &zeros(rows * 12),
            &zeros(rows * 36),
            &zeros(rows * 12),
            rows,
            12,
            3,
        ));
        tensors.extend(attn_head_activations(&zeros(rows * 12), rows, 12, 3));
        let actual: Vec<(String, usize, usize)> = tensors
            .into_iter()
            .map(|t| (t.name, t.shape[0], t.shape[1]))
            .collect();
        assert_eq!(metric_shapes(&cfg, rows), actual);
    }
}

//! PyTorch's default initialisation of the prototype's model, drawn from [`Rng`].

use super::{param_shapes, HostParams, HostTensor, ModelConfig, PARAM_NAMES};
use crate::backend::Scalar;
use crate::rng::Rng;

/// The stream of [`Rng::stream`] that initialisation draws from ("init" in ASCII), so that it
/// is independent of the data, which `make_data` draws from `Rng::new(seed)`.
pub const INIT_STREAM: u64 = 0x696e_6974;

/// Initial parameters with PyTorch's default distributions (`nn.Embedding`, the prototype's
/// `randn · 0.02` positions, `nn.MultiheadAttention._reset_parameters`, `nn.LayerNorm`,
/// `nn.Linear`), in `PARAM_NAMES` order.
///
/// Draw order, all from one `Rng::stream(seed, INIT_STREAM)`, each tensor row-major, each value
/// drawn in f64 and then cast to `T`:
/// 1. `emb.weight` (vocab, dim): `normal()` (N(0, 1));
/// 2. `pos` (1, seq_len, dim): `normal() · 0.02`;
/// 3. `mha.in_proj_weight` (3·dim, dim): `uniform_in(−a, a)`, a = √(6 / (dim + 3·dim))
///    (Xavier uniform: fan_in dim, fan_out 3·dim);
/// 4. `mha.out_proj.weight` (dim, dim): `uniform_in(−b, b)`, b = 1/√dim (Kaiming uniform with
///    a = √5, as `nn.Linear`);
/// 5. `head.weight` (classes, dim), then 6. `head.bias` (classes): `uniform_in(−b, b)`, b = 1/√dim.
///
/// No draws: `mha.in_proj_bias`, `mha.out_proj.bias`, `norm.bias` are 0; `norm.weight` is 1.
pub fn init_params<T: Scalar>(cfg: &ModelConfig, seed: u64) -> HostParams<T> {
    let mut rng = Rng::stream(seed, INIT_STREAM);
    let d = cfg.dim as f64;
    let xavier = (6.0 / (d + 3.0 * d)).sqrt();
    let linear = 1.0 / d.sqrt();
    let shapes = param_shapes(cfg);
    // Filled in PyTorch's order of construction, which is also PARAM_NAMES order.
    let mut draw = |i: usize, f: &mut dyn FnMut(&mut Rng) -> f64| -> Vec<T> {
        let n: usize = shapes[i].iter().product();
        (0..n).map(|_| Scalar::from_f64(f(&mut rng))).collect()
    };
    let data: [Vec<T>; 10] = [
        draw(0, &mut |r| r.normal()),
        draw(1, &mut |r| r.normal() * 0.02),
        draw(2, &mut |r| r.uniform_in(-xavier, xavier)),
        draw(3, &mut |_| 0.0),
        draw(4, &mut |r| r.uniform_in(-linear, linear)),
        draw(5, &mut |_| 0.0),
        draw(6, &mut |_| 1.0),
        draw(7, &mut |_| 0.0),
        draw(8, &mut |r| r.uniform_in(-linear, linear)),
        draw(9, &mut |r| r.uniform_in(-linear, linear)),
    ];
    let tensors = data
        .into_iter()
        .zip(PARAM_NAMES)
        .zip(shapes.iter())
        .map(|((data, name), shape)| HostTensor {
            name: name.to_string(),
            shape: shape.clone(),
            data,
        })
        .collect();
    HostParams { tensors }
}

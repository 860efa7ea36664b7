//! Adam, PyTorch's `_single_tensor_adam` (the path `torch.optim.Adam` takes for CPU tensors),
//! element by element:
//! m.lerp_(g, 1−β1)                 → m = m + (1−β1)·(g − m)   (lerp's form for weight < 0.5)
//! v.mul_(β2).addcmul_(g, g, 1−β2)  → v = v·β2 + (1−β2)·g·g
//! denom = v.sqrt() / √(1−β2ᵗ) + eps
//! p.addcdiv_(m, denom, −lr/(1−β1ᵗ)) → p = p + (−step_size)·(m / denom)
//! The scalars are Python floats (f64) cast to the tensor's type, as PyTorch does.

use super::check_len;
use crate::backend::{AdamStep, Scalar};
use crate::error::{Error, Result};

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
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        *m = *m + w1 * (g - *m);
        *v = *v * b2 + w2 * g * g;
        let denom = v.sqrt() / bc2_sqrt + eps;
        *p = *p + neg_step_size * (*m / denom);
    }
    Ok(())
}

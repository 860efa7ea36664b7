// Adam, PyTorch's single-tensor formula in f32 (torch/optim/adam.py, _single_tensor_adam), with
// the host-computed scalars (Python floats there) rounded to f32 once:
//   m.lerp_(g, w1)            w1 = 1 − β1; lerp as ATen: w < 0.5 ? m + w·(g − m) : g − (g − m)·(1 − w)
//   v = v·β2 + (1 − β2)·g·g   (mul_ then addcmul_)
//   denom = √v / bc2_sqrt + eps
//   p += (−step_size)·(m / denom) (addcdiv_)
#include "common.cuh"

extern "C" __global__ void adam_f32(float* __restrict__ p, const float* __restrict__ g,
                                    float* __restrict__ m, float* __restrict__ v, unsigned n,
                                    float w1, float beta2, float one_minus_beta2, float eps,
                                    float neg_step_size, float bc2_sqrt) {
    const size_t i = global_index();
    if (i >= n) return;
    const float gi = g[i];
    const float mi = m[i];
    const float m_new = w1 < 0.5f ? mi + w1 * (gi - mi) : gi - (gi - mi) * (1.0f - w1);
    const float v_new = v[i] * beta2 + one_minus_beta2 * gi * gi;
    const float denom = sqrtf(v_new) / bc2_sqrt + eps;
    m[i] = m_new;
    v[i] = v_new;
    p[i] = p[i] + neg_step_size * (m_new / denom);
}

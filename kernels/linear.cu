// The three products of a linear layer y = x·wᵀ + b (x: m × k, w: n × k) and its gradients,
// all through gemm_tile; grid (⌈N/64⌉, ⌈M/64⌉) of the product's own M × N.
#include "gemm.cuh"

// y (m × n) = x (m × k) · wᵀ + bias:  M = m, N = n, K = k, B transposed.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    linear_fwd_f32(const float* __restrict__ x, const float* __restrict__ w,
                   const float* __restrict__ bias, float* __restrict__ y, unsigned m, unsigned k,
                   unsigned n) {
    gemm_tile<false, true, Store::Bias>(x, w, bias, y, m, n, k);
}

// dx (m × k) += dy (m × n) · w (n × k):  M = m, N = k, K = n.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    linear_bwd_dx_f32(const float* __restrict__ dy, const float* __restrict__ w,
                      float* __restrict__ dx, unsigned m, unsigned k, unsigned n) {
    gemm_tile<false, false, Store::Accumulate>(dy, w, nullptr, dx, m, k, n);
}

// dw (n × k) += dyᵀ (n × m) · x (m × k):  M = n, N = k, K = m, A transposed.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    linear_bwd_dw_f32(const float* __restrict__ dy, const float* __restrict__ x,
                      float* __restrict__ dw, unsigned m, unsigned k, unsigned n) {
    gemm_tile<true, false, Store::Accumulate>(dy, x, nullptr, dw, n, k, m);
}

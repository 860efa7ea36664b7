// Kernels that exist only to check the shared reduction helper (reduce.cuh) from `selftest`:
// one block per row of x (rows × cols).
#include "reduce.cuh"

extern "C" __global__ void reduce_sum_rows_f32(const float* __restrict__ x, unsigned cols,
                                               float* __restrict__ out) {
    __shared__ float scratch[32];
    const float* xr = x + (size_t)blockIdx.x * cols;
    float s = 0.0f;
    for (unsigned c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

extern "C" __global__ void reduce_max_rows_f32(const float* __restrict__ x, unsigned cols,
                                               float* __restrict__ out) {
    __shared__ float scratch[32];
    const float* xr = x + (size_t)blockIdx.x * cols;
    float m = -INFINITY;
    for (unsigned c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, xr[c]);
    m = block_max(m, scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = m;
}

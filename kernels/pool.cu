// Mean over the sequence axis: y (batch, dim) = mean_s x (batch, seq, dim), and its gradient.
#include "common.cuh"

// One thread per element of y.
extern "C" __global__ void mean_pool_fwd_f32(const float* __restrict__ x, float* __restrict__ y,
                                             unsigned batch, unsigned seq, unsigned dim) {
    const size_t i = global_index();
    if (i >= (size_t)batch * dim) return;
    const size_t b = i / dim, c = i - b * dim;
    float acc = 0.0f;
    for (unsigned s = 0; s < seq; ++s) acc += x[(b * seq + s) * dim + c];
    y[i] = acc / (float)seq;
}

// One thread per element of dx: dx[b,s,c] += dy[b,c] / seq.
extern "C" __global__ void mean_pool_bwd_f32(const float* __restrict__ dy, float* __restrict__ dx,
                                             unsigned batch, unsigned seq, unsigned dim) {
    const size_t i = global_index();
    if (i >= (size_t)batch * seq * dim) return;
    const size_t c = i % dim, b = i / ((size_t)seq * dim);
    dx[i] += dy[b * dim + c] / (float)seq;
}

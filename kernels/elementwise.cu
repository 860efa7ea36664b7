// One thread per element: a + b, dst += src, and the column sums (bias / beta / position grads).
#include "reduce.cuh"

extern "C" __global__ void add_f32(const float* __restrict__ a, const float* __restrict__ b,
                                   float* __restrict__ out, unsigned n) {
    const size_t i = global_index();
    if (i < n) out[i] = a[i] + b[i];
}

extern "C" __global__ void accumulate_f32(float* __restrict__ dst, const float* __restrict__ src,
                                          unsigned n) {
    const size_t i = global_index();
    if (i < n) dst[i] += src[i];
}

struct Element {
    const float* x;
    unsigned cols;
    __device__ float operator()(int r, int c) const { return x[(size_t)r * cols + c]; }
};

// out[c] += Σ_r x[r, c] for x (rows × cols). Block (COL_TILE, COL_ROWS), grid ⌈cols/COL_TILE⌉.
extern "C" __global__ void col_sum_acc_f32(const float* __restrict__ x, unsigned rows,
                                           unsigned cols, float* __restrict__ out) {
    const float s = col_sum<float>((int)rows, (int)cols, Element{x, cols});
    const unsigned c = blockIdx.x * COL_TILE + threadIdx.x;
    if (threadIdx.y == 0 && c < cols) out[c] += s;
}

// LayerNorm over the last axis of x (rows, d): one block per row for the row statistics and dx;
// column sums for dgamma / dbeta. var is biased (÷ d) and computed two-pass, as PyTorch.
#include "reduce.cuh"

// y = (x − mean)·rstd·gamma + beta; saves mean and rstd = 1/√(var + eps) per row.
extern "C" __global__ void layernorm_fwd_f32(const float* __restrict__ x,
                                             const float* __restrict__ gamma,
                                             const float* __restrict__ beta,
                                             float* __restrict__ y, float* __restrict__ mean_out,
                                             float* __restrict__ rstd_out, unsigned d, float eps) {
    __shared__ float scratch[32];
    const size_t row = blockIdx.x;
    const float* xr = x + row * d;
    float s = 0.0f;
    for (unsigned c = threadIdx.x; c < d; c += blockDim.x) s += xr[c];
    const float mean = block_sum(s, scratch) / (float)d;
    float q = 0.0f;
    for (unsigned c = threadIdx.x; c < d; c += blockDim.x) {
        const float t = xr[c] - mean;
        q += t * t;
    }
    const float var = block_sum(q, scratch) / (float)d;
    const float rstd = 1.0f / sqrtf(var + eps);
    for (unsigned c = threadIdx.x; c < d; c += blockDim.x)
        y[row * d + c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
    if (threadIdx.x == 0) {
        mean_out[row] = mean;
        rstd_out[row] = rstd;
    }
}

// dx += rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma, x̂ = (x − mean)·rstd. One block per row.
extern "C" __global__ void layernorm_bwd_dx_f32(const float* __restrict__ x,
                                                const float* __restrict__ gamma,
                                                const float* __restrict__ mean,
                                                const float* __restrict__ rstd,
                                                const float* __restrict__ dy,
                                                float* __restrict__ dx, unsigned d) {
    __shared__ float scratch[32];
    const size_t row = blockIdx.x;
    const float mu = mean[row], rs = rstd[row];
    const float* xr = x + row * d;
    const float* dyr = dy + row * d;
    float sg = 0.0f, sgx = 0.0f;
    for (unsigned c = threadIdx.x; c < d; c += blockDim.x) {
        const float g = dyr[c] * gamma[c];
        sg += g;
        sgx += g * (xr[c] - mu) * rs;
    }
    const float mean_g = block_sum(sg, scratch) / (float)d;
    const float mean_gx = block_sum(sgx, scratch) / (float)d;
    for (unsigned c = threadIdx.x; c < d; c += blockDim.x) {
        const float g = dyr[c] * gamma[c];
        const float xhat = (xr[c] - mu) * rs;
        dx[row * d + c] += rs * (g - mean_g - xhat * mean_gx);
    }
}

struct DyXhat {
    const float *x, *mean, *rstd, *dy;
    unsigned d;
    __device__ float operator()(int r, int c) const {
        const size_t i = (size_t)r * d + c;
        return dy[i] * (x[i] - mean[r]) * rstd[r];
    }
};

struct Dy {
    const float* dy;
    unsigned d;
    __device__ float operator()(int r, int c) const { return dy[(size_t)r * d + c]; }
};

// dgamma[c] += Σ_r dy·x̂, dbeta[c] += Σ_r dy. Block (COL_TILE, COL_ROWS), grid ⌈d/COL_TILE⌉.
extern "C" __global__ void layernorm_bwd_params_f32(const float* __restrict__ x,
                                                    const float* __restrict__ mean,
                                                    const float* __restrict__ rstd,
                                                    const float* __restrict__ dy,
                                                    float* __restrict__ dgamma,
                                                    float* __restrict__ dbeta, unsigned rows,
                                                    unsigned d) {
    const float sg = col_sum<float>((int)rows, (int)d, DyXhat{x, mean, rstd, dy, d});
    const float sb = col_sum<float>((int)rows, (int)d, Dy{dy, d});
    const unsigned c = blockIdx.x * COL_TILE + threadIdx.x;
    if (threadIdx.y == 0 && c < d) {
        dgamma[c] += sg;
        dbeta[c] += sb;
    }
}

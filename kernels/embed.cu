// Embedding: h[b,s,:] = emb[ids[b,s],:] + pos[s,:], and its gradient into emb.
// (The gradient into pos is a column sum: col_sum_acc_f32 over dh viewed as (batch, seq·dim).)
#include "common.cuh"

// One thread per element of h (batch·seq·dim).
extern "C" __global__ void embed_fwd_f32(const unsigned* __restrict__ ids,
                                         const float* __restrict__ emb,
                                         const float* __restrict__ pos, float* __restrict__ h,
                                         unsigned positions, unsigned seq, unsigned dim) {
    const size_t i = global_index();
    if (i >= (size_t)positions * dim) return;
    const size_t p = i / dim, c = i - p * dim;
    const size_t s = p % seq;
    h[i] = emb[(size_t)ids[p] * dim + c] + pos[s * dim + c];
}

// demb[v, c] += Σ_{p : ids[p] = v} dh[p, c], summed in position order: deterministic, no
// atomics. Grid (vocab, ⌈dim/blockDim⌉); the block walks all positions, staging ids in shared
// memory (blockDim ids at a time).
extern "C" __global__ void embed_bwd_f32(const unsigned* __restrict__ ids,
                                         const float* __restrict__ dh, float* __restrict__ demb,
                                         unsigned positions, unsigned dim) {
    extern __shared__ unsigned staged_ids[];
    const unsigned v = blockIdx.x;
    const unsigned c = blockIdx.y * blockDim.x + threadIdx.x;
    float acc = 0.0f;
    for (unsigned base = 0; base < positions; base += blockDim.x) {
        const unsigned p = base + threadIdx.x;
        if (p < positions) staged_ids[threadIdx.x] = ids[p];
        __syncthreads();
        const unsigned n = min(blockDim.x, positions - base);
        if (c < dim)
            for (unsigned q = 0; q < n; ++q)
                if (staged_ids[q] == v) acc += dh[(size_t)(base + q) * dim + c];
        __syncthreads();
    }
    if (c < dim) demb[(size_t)v * dim + c] += acc;
}

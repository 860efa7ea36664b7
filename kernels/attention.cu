// Scaled dot-product attention for short sequences: one block per (batch, head), the head's
// q, k, v (seq × hd each) staged in shared memory. qkv is (batch, seq, 3·dim) with q, k, v in
// column blocks [0, dim), [dim, 2·dim), [2·dim, 3·dim); head h uses columns h·hd..(h+1)·hd.
// As PyTorch's multi_head_attention_forward: scores = (q·scale)·kᵀ, scale = 1/√hd.
// Dynamic shared memory: see `launch::attention` (src/backend/cuda/launch.rs).
#include "common.cuh"

struct AttnShape {
    unsigned seq, heads, hd;
    __device__ unsigned dim() const { return heads * hd; }
    // Offset of element (s, d) of part (0 = q, 1 = k, 2 = v) of head h in batch b.
    __device__ size_t at(unsigned b, unsigned h, unsigned part, unsigned s, unsigned d) const {
        return ((size_t)b * seq + s) * 3 * dim() + part * dim() + h * hd + d;
    }
};

__device__ void stage_qkv(const float* __restrict__ qkv, AttnShape sh, unsigned b, unsigned h,
                          float* q, float* k, float* v) {
    const unsigned n = sh.seq * sh.hd;
    for (unsigned i = threadIdx.x; i < n; i += blockDim.x) {
        const unsigned s = i / sh.hd, d = i - s * sh.hd;
        q[i] = qkv[sh.at(b, h, 0, s, d)];
        k[i] = qkv[sh.at(b, h, 1, s, d)];
        v[i] = qkv[sh.at(b, h, 2, s, d)];
    }
}

// out (batch, seq, dim): head h's columns = probs_h · v_h; probs (batch, heads, seq, seq).
extern "C" __global__ void attention_fwd_f32(const float* __restrict__ qkv,
                                             float* __restrict__ out, float* __restrict__ probs,
                                             unsigned seq, unsigned heads, unsigned hd,
                                             float scale) {
    extern __shared__ float smem[];
    const AttnShape sh{seq, heads, hd};
    const unsigned b = blockIdx.x / heads, h = blockIdx.x % heads;
    float* q = smem;
    float* k = q + seq * hd;
    float* v = k + seq * hd;
    float* p = v + seq * hd;  // seq × seq
    stage_qkv(qkv, sh, b, h, q, k, v);
    __syncthreads();

    for (unsigned e = threadIdx.x; e < seq * seq; e += blockDim.x) {
        const unsigned i = e / seq, j = e - i * seq;
        float s = 0.0f;
        for (unsigned d = 0; d < hd; ++d) s += (q[i * hd + d] * scale) * k[j * hd + d];
        p[e] = s;
    }
    __syncthreads();
    // Softmax by rows, one thread per row.
    for (unsigned i = threadIdx.x; i < seq; i += blockDim.x) {
        float mx = -INFINITY;
        for (unsigned j = 0; j < seq; ++j) mx = fmaxf(mx, p[i * seq + j]);
        float sum = 0.0f;
        for (unsigned j = 0; j < seq; ++j) {
            const float ex = expf(p[i * seq + j] - mx);
            p[i * seq + j] = ex;
            sum += ex;
        }
        for (unsigned j = 0; j < seq; ++j) p[i * seq + j] /= sum;
    }
    __syncthreads();
    float* probs_bh = probs + (size_t)blockIdx.x * seq * seq;
    for (unsigned e = threadIdx.x; e < seq * seq; e += blockDim.x) probs_bh[e] = p[e];
    for (unsigned e = threadIdx.x; e < seq * hd; e += blockDim.x) {
        const unsigned i = e / hd, d = e - i * hd;
        float o = 0.0f;
        for (unsigned j = 0; j < seq; ++j) o += p[i * seq + j] * v[j * hd + d];
        out[((size_t)b * seq + i) * sh.dim() + h * hd + d] = o;
    }
}

// dqkv += gradient through attention given dout (batch, seq, dim):
//   dv = Pᵀ·dO;  dP = dO·vᵀ;  dS = P ⊙ (dP − rowsum(P ⊙ dP));  dq = scale·dS·k;  dk = scale·dSᵀ·q.
extern "C" __global__ void attention_bwd_f32(const float* __restrict__ qkv,
                                             const float* __restrict__ probs,
                                             const float* __restrict__ dout,
                                             float* __restrict__ dqkv, unsigned seq,
                                             unsigned heads, unsigned hd, float scale) {
    extern __shared__ float smem[];
    const AttnShape sh{seq, heads, hd};
    const unsigned b = blockIdx.x / heads, h = blockIdx.x % heads;
    float* q = smem;
    float* k = q + seq * hd;
    float* v = k + seq * hd;
    float* dO = v + seq * hd;
    float* p = dO + seq * hd;  // seq × seq
    float* ds = p + seq * seq;  // seq × seq
    stage_qkv(qkv, sh, b, h, q, k, v);
    const float* probs_bh = probs + (size_t)blockIdx.x * seq * seq;
    for (unsigned e = threadIdx.x; e < seq * seq; e += blockDim.x) p[e] = probs_bh[e];
    for (unsigned e = threadIdx.x; e < seq * hd; e += blockDim.x) {
        const unsigned i = e / hd, d = e - i * hd;
        dO[e] = dout[((size_t)b * seq + i) * sh.dim() + h * hd + d];
    }
    __syncthreads();

    // dP (kept in ds for now).
    for (unsigned e = threadIdx.x; e < seq * seq; e += blockDim.x) {
        const unsigned i = e / seq, j = e - i * seq;
        float s = 0.0f;
        for (unsigned d = 0; d < hd; ++d) s += dO[i * hd + d] * v[j * hd + d];
        ds[e] = s;
    }
    __syncthreads();
    // dS by rows, one thread per row.
    for (unsigned i = threadIdx.x; i < seq; i += blockDim.x) {
        float dot = 0.0f;
        for (unsigned j = 0; j < seq; ++j) dot += p[i * seq + j] * ds[i * seq + j];
        for (unsigned j = 0; j < seq; ++j) ds[i * seq + j] = p[i * seq + j] * (ds[i * seq + j] - dot);
    }
    __syncthreads();
    for (unsigned e = threadIdx.x; e < seq * hd; e += blockDim.x) {
        const unsigned r = e / hd, d = e - r * hd;
        float dq = 0.0f, dk = 0.0f, dv = 0.0f;
        for (unsigned j = 0; j < seq; ++j) {
            dq += ds[r * seq + j] * k[j * hd + d];
            dk += ds[j * seq + r] * q[j * hd + d];
            dv += p[j * seq + r] * dO[j * hd + d];
        }
        dqkv[sh.at(b, h, 0, r, d)] += scale * dq;
        dqkv[sh.at(b, h, 1, r, d)] += scale * dk;
        dqkv[sh.at(b, h, 2, r, d)] += dv;
    }
}

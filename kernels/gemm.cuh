// Tiled shared-memory SGEMM: C (M × N) = op(A) (M × K) · op(B) (K × N), where op(A)(i, l) is
// a[i·K + l] (A stored M × K) or, transposed, a[l·M + i] (A stored K × M); likewise op(B)(l, j)
// is b[l·N + j] (B stored K × N) or, transposed, b[j·K + l] (B stored N × K).
// Block GEMM_THREADS threads computes a GEMM_BM × GEMM_BN tile of C, each thread a 4 × 4
// sub-grid with stride 16 (rows ty + 16·i, cols tx + 16·j); K is walked GEMM_BK at a time.
// Must match `launch::gemm` (src/backend/cuda/launch.rs).
#pragma once
#include "common.cuh"

#define GEMM_BM 64
#define GEMM_BN 64
#define GEMM_BK 16
#define GEMM_THREADS 256

// How the tile is stored back: C = AB + bias[col] (forward) or C += AB (gradients).
enum class Store { Bias, Accumulate };

template <bool TA, bool TB, Store S>
__device__ __forceinline__ void gemm_tile(const float* __restrict__ a, const float* __restrict__ b,
                                          const float* __restrict__ bias, float* __restrict__ c,
                                          unsigned M, unsigned N, unsigned K) {
    // +1 column of padding: the staging stores walk l with stride 65 → distinct banks.
    __shared__ float As[GEMM_BK][GEMM_BM + 1];
    __shared__ float Bs[GEMM_BK][GEMM_BN + 1];
    const unsigned t = threadIdx.x, tx = t % 16, ty = t / 16;
    const unsigned row0 = blockIdx.y * GEMM_BM, col0 = blockIdx.x * GEMM_BN;
    float acc[4][4] = {};

    for (unsigned k0 = 0; k0 < K; k0 += GEMM_BK) {
        // Stage op(A)[row0.., k0..] and op(B)[k0.., col0..]; 4 elements per thread each, the
        // fastest-varying thread index running along the stored matrix's contiguous axis.
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const unsigned e = t + GEMM_THREADS * r;
            unsigned i, l;
            if (TA) { i = e % GEMM_BM; l = e / GEMM_BM; } else { l = e % GEMM_BK; i = e / GEMM_BK; }
            const unsigned gi = row0 + i, gl = k0 + l;
            float va = 0.0f;
            if (gi < M && gl < K) va = TA ? a[(size_t)gl * M + gi] : a[(size_t)gi * K + gl];
            As[l][i] = va;

            unsigned j, lb;
            if (TB) { lb = e % GEMM_BK; j = e / GEMM_BK; } else { j = e % GEMM_BN; lb = e / GEMM_BN; }
            const unsigned gj = col0 + j, glb = k0 + lb;
            float vb = 0.0f;
            if (gj < N && glb < K) vb = TB ? b[(size_t)gj * K + glb] : b[(size_t)glb * N + gj];
            Bs[lb][j] = vb;
        }
        __syncthreads();
#pragma unroll
        for (int l = 0; l < GEMM_BK; ++l) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) av[i] = As[l][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) bv[j] = Bs[l][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const unsigned gi = row0 + ty + 16 * i;
        if (gi >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const unsigned gj = col0 + tx + 16 * j;
            if (gj >= N) continue;
            const size_t o = (size_t)gi * N + gj;
            if (S == Store::Bias) c[o] = acc[i][j] + bias[gj];
            else c[o] += acc[i][j];
        }
    }
}

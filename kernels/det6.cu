// Batched 6×6 determinants: one thread per matrix. A block first stages its DET_BLOCK matrices
// through shared memory with coalesced (vector) loads, then each thread pulls its own 36 values
// (row stride 37: conflict-free) into registers.
#include "det6.cuh"

// Must match `launch::DET_BLOCK` (src/backend/cuda/launch.rs).
#define DET_BLOCK 128
#define DET_STRIDE 37

// Vector type used for the staging loads: 16 bytes per load.
template <typename T> struct Vec16;
template <> struct Vec16<float> { typedef float4 type; static constexpr int n = 4; };
template <> struct Vec16<double> { typedef double2 type; static constexpr int n = 2; };

template <typename T>
__device__ __forceinline__ void store_staged(T* tile, unsigned i, T v) {
    const unsigned m = i / 36u, e = i - m * 36u;
    tile[m * DET_STRIDE + e] = v;
}

template <typename T>
__device__ __forceinline__ void det6_batch(const T* __restrict__ mats, T* __restrict__ out,
                                           unsigned batch) {
    __shared__ T tile[DET_BLOCK * DET_STRIDE];
    const size_t first = (size_t)blockIdx.x * DET_BLOCK;
    const unsigned count = (unsigned)min((size_t)DET_BLOCK, (size_t)batch - first);
    const T* src = mats + first * 36;
    const unsigned elems = count * 36u;

    if (count == DET_BLOCK) {
        // A full block: first·36·sizeof(T) is a multiple of 16 bytes, so vector loads are
        // aligned whenever `mats` is (cudarc allocations are 256-byte aligned).
        typedef typename Vec16<T>::type V;
        constexpr int N = Vec16<T>::n;
        const V* vsrc = reinterpret_cast<const V*>(src);
        for (unsigned w = threadIdx.x; w < elems / N; w += DET_BLOCK) {
            const V v = vsrc[w];
            const T* parts = reinterpret_cast<const T*>(&v);
#pragma unroll
            for (int c = 0; c < N; ++c) store_staged(tile, w * N + c, parts[c]);
        }
    } else {
        for (unsigned i = threadIdx.x; i < elems; i += DET_BLOCK) store_staged(tile, i, src[i]);
    }
    __syncthreads();

    if (threadIdx.x < count) {
        T a[36];
#pragma unroll
        for (int e = 0; e < 36; ++e) a[e] = tile[threadIdx.x * DET_STRIDE + e];
        out[first + threadIdx.x] = det6<T>(a);
    }
}

extern "C" __global__ void __launch_bounds__(DET_BLOCK)
    det6_f32(const float* __restrict__ mats, float* __restrict__ out, unsigned batch) {
    det6_batch<float>(mats, out, batch);
}

extern "C" __global__ void __launch_bounds__(DET_BLOCK)
    det6_f64(const double* __restrict__ mats, double* __restrict__ out, unsigned batch) {
    det6_batch<double>(mats, out, batch);
}

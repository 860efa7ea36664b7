// Fused Cayley–Menger volumes: one thread per 5-tuple of row indices, points read straight from
// the matrix on the device (row stride ld ≥ cols, so a column block of a wider matrix works
// without a copy). vol2[b] = vol² of rows idx[b][0..5].
#include "cm.cuh"

template <typename Tin, typename T>
__device__ __forceinline__ void cm_vol2_batch(const Tin* __restrict__ matrix, unsigned ld, unsigned cols,
                                              const unsigned* __restrict__ idx, unsigned batch,
                                              T* __restrict__ vol2) {
    const size_t b = global_index();
    if (b >= batch) return;
    const unsigned my[5] = {idx[b * 5], idx[b * 5 + 1], idx[b * 5 + 2], idx[b * 5 + 3],
                            idx[b * 5 + 4]};
    vol2[b] = cm_vol2<Tin, T>(matrix, ld, (int)cols, my);
}

extern "C" __global__ void __launch_bounds__(ELEMENTWISE_BLOCK)
    cm_vol2_f32(const float* __restrict__ matrix, unsigned ld, unsigned cols, const unsigned* __restrict__ idx,
                unsigned batch, float* __restrict__ vol2) {
    cm_vol2_batch<float, float>(matrix, ld, cols, idx, batch, vol2);
}

// f32 matrix (the device-resident weights and activations), f64 arithmetic.
extern "C" __global__ void __launch_bounds__(ELEMENTWISE_BLOCK)
    cm_vol2_f32_f64(const float* __restrict__ matrix, unsigned ld, unsigned cols,
                    const unsigned* __restrict__ idx, unsigned batch, double* __restrict__ vol2) {
    cm_vol2_batch<float, double>(matrix, ld, cols, idx, batch, vol2);
}

extern "C" __global__ void __launch_bounds__(ELEMENTWISE_BLOCK)
    cm_vol2_f64(const double* __restrict__ matrix, unsigned ld, unsigned cols, const unsigned* __restrict__ idx,
                unsigned batch, double* __restrict__ vol2) {
    cm_vol2_batch<double, double>(matrix, ld, cols, idx, batch, vol2);
}

// The one reduction helper every kernel uses (sums and maxima over a block, and column sums over
// the rows of a matrix). Checked by `selftest` through the reduce_* kernels in selftest.cu.
//
// Order of summation is fixed by the thread layout, so results are deterministic run to run.
#pragma once
#include "common.cuh"

#define FULL_MASK 0xffffffffu

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(FULL_MASK, v, off);
    return v;
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(FULL_MASK, v, off));
    return v;
}

// Sum of `v` over the whole block; every thread gets the result. blockDim.x must be a multiple
// of 32 and at most 1024; `scratch` holds 32 values. Contains __syncthreads(): call from all
// threads of the block.
template <typename T>
__device__ T block_sum(T v, T* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : T(0);
    return warp_sum(v);
}

// Maximum of `v` over the block, same contract as block_sum; -inf for lanes without data.
template <typename T>
__device__ T block_max(T v, T* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : T(-INFINITY);
    return warp_max(v);
}

// Column reduction layout: a block of COL_TILE × COL_ROWS threads covers COL_TILE adjacent
// columns; thread (tx, ty) sums rows ty, ty + COL_ROWS, ... of column blockIdx.x·COL_TILE + tx
// (coalesced across tx), then the COL_ROWS partial sums are added in a fixed order.
// Must match `launch::col_reduce` on the Rust side.
#define COL_TILE 32
#define COL_ROWS 8

// Returns, in thread (tx, 0), Σ_rows f(row, col) for col = blockIdx.x·COL_TILE + tx; other
// threads get an unspecified value. `f` is called only for col < cols.
template <typename T, typename F>
__device__ T col_sum(int rows, int cols, F f) {
    __shared__ T part[COL_ROWS][COL_TILE];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int col = blockIdx.x * COL_TILE + tx;
    T acc = T(0);
    if (col < cols)
        for (int r = ty; r < rows; r += COL_ROWS) acc += f(r, col);
    part[ty][tx] = acc;
    __syncthreads();
    T total = T(0);
    if (ty == 0)
#pragma unroll
        for (int i = 0; i < COL_ROWS; ++i) total += part[i][tx];
    __syncthreads();
    return total;
}

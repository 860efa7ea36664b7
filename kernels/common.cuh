// Shared by every kernel file: the qualifier macro that lets per-thread math compile both with
// nvcc (device and host) and with a plain host compiler (the host check in kernels/host_check.cpp).
#pragma once

#ifdef __CUDACC__
#define HD __host__ __device__ __forceinline__
#else
#define HD inline
#endif

// Threads per block for the one-thread-per-element kernels. Must match
// `launch::ELEMENTWISE_BLOCK` on the Rust side (src/backend/cuda/launch.rs).
#define ELEMENTWISE_BLOCK 256

// Global index of this thread in a 1-D launch, as size_t so that n·stride never wraps.
#ifdef __CUDACC__
__device__ __forceinline__ size_t global_index() {
    return (size_t)blockIdx.x * blockDim.x + threadIdx.x;
}
#endif

// Per-thread math of the fused Cayley–Menger volume: 5 rows of a matrix (gathered by index) →
// squared distances by direct differences (no |a|²+|b|²−2a·b cancellation) → the 6×6 CM matrix
// → det6 → vol² = −det / 9216 (9216 = 2⁴·(4!)², k = 4).
#pragma once
#include "det6.cuh"

// Squared distances of the 5 points, pairs in order (0,1),(0,2),(0,3),(0,4),(1,2),...,(3,4).
// Point v is matrix[idx[v]·ld + c], c < cols (ld ≥ cols: a column block of a wider matrix);
// idx[v] < rows is checked by the caller.
template <typename Tin, typename T>
HD void cm_sq_dists(const Tin* matrix, size_t ld, int cols, const unsigned idx[5], T d2[10]) {
#pragma unroll
    for (int e = 0; e < 10; ++e) d2[e] = T(0);
    const Tin* r0 = matrix + idx[0] * ld;
    const Tin* r1 = matrix + idx[1] * ld;
    const Tin* r2 = matrix + idx[2] * ld;
    const Tin* r3 = matrix + idx[3] * ld;
    const Tin* r4 = matrix + idx[4] * ld;
    for (int c = 0; c < cols; ++c) {
        const T x[5] = {T(r0[c]), T(r1[c]), T(r2[c]), T(r3[c]), T(r4[c])};
        int e = 0;
#pragma unroll
        for (int i = 0; i < 5; ++i)
#pragma unroll
            for (int j = i + 1; j < 5; ++j) {
                const T d = x[i] - x[j];
                d2[e] += d * d;
                ++e;
            }
    }
}

// The bordered CM matrix: 0 at (0,0), ones on the rest of row/column 0, d²ᵢⱼ inside.
template <typename T>
HD void cm_matrix(const T d2[10], T a[36]) {
    a[0] = T(0);
#pragma unroll
    for (int i = 1; i < 6; ++i) {
        a[i] = T(1);
        a[i * 6] = T(1);
        a[i * 6 + i] = T(0);
    }
    int e = 0;
#pragma unroll
    for (int i = 0; i < 5; ++i)
#pragma unroll
        for (int j = i + 1; j < 5; ++j) {
            a[(i + 1) * 6 + (j + 1)] = d2[e];
            a[(j + 1) * 6 + (i + 1)] = d2[e];
            ++e;
        }
}

template <typename Tin, typename T>
HD T cm_vol2(const Tin* matrix, size_t ld, int cols, const unsigned idx[5]) {
    T d2[10];
    cm_sq_dists<Tin, T>(matrix, ld, cols, idx, d2);
    T a[36];
    cm_matrix<T>(d2, a);
    return -det6<T>(a) / T(9216);
}

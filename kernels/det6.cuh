// Per-thread math of the batched 6×6 determinant: LU with partial pivoting, fully unrolled.
//
// Every index into `a` is a compile-time constant after unrolling, so the matrix lives in
// registers. The pivot row p is known only at run time: instead of indexing a[p][j] (which would
// force the array into local memory), each row is rebuilt with predicated selects over all
// candidate rows. ptxas -v must report "0 bytes stack frame" for every det6/cm kernel (checked by
// ci/cuda-build.sh).
#pragma once
#include "common.cuh"

template <typename T>
HD T abs_of(T x) {
    return x < T(0) ? -x : x;
}

// det of the row-major 6×6 matrix `a` (destroyed). A zero pivot column gives det 0, as LAPACK's
// getrf followed by the product of the diagonal does.
template <typename T>
HD T det6(T a[36]) {
    T det = T(1);
#pragma unroll
    for (int k = 0; k < 6; ++k) {
        // p = argmax_{i ≥ k} |a[i][k]|, first maximum on ties (as LAPACK's i?amax).
        int p = k;
        T best = abs_of(a[k * 6 + k]);
#pragma unroll
        for (int i = k + 1; i < 6; ++i) {
            const T cand = abs_of(a[i * 6 + k]);
            const bool better = cand > best;
            best = better ? cand : best;
            p = better ? i : p;
        }
        // Pivot row = old row p; row p (if p > k) receives old row k. Selects only.
        T piv_row[6];
#pragma unroll
        for (int j = k; j < 6; ++j) {
            T r = a[k * 6 + j];
#pragma unroll
            for (int i = k + 1; i < 6; ++i) r = (p == i) ? a[i * 6 + j] : r;
            piv_row[j] = r;
        }
#pragma unroll
        for (int i = k + 1; i < 6; ++i)
#pragma unroll
            for (int j = k; j < 6; ++j) a[i * 6 + j] = (p == i) ? a[k * 6 + j] : a[i * 6 + j];
        det = (p != k) ? -det : det;

        const T piv = piv_row[k];
        det *= piv;
        // Multiply by the reciprocal as LAPACK's getf2 does; a zero pivot leaves det = 0.
        const T inv = piv != T(0) ? T(1) / piv : T(0);
#pragma unroll
        for (int i = k + 1; i < 6; ++i) {
            const T f = a[i * 6 + k] * inv;
#pragma unroll
            for (int j = k + 1; j < 6; ++j) a[i * 6 + j] -= f * piv_row[j];
        }
    }
    return det;
}

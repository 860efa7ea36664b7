// Host check of the per-thread math in det6.cuh and cm.cuh, compiled by a plain C++ compiler
// (no GPU): results against exact integer arithmetic (fraction-free Bareiss elimination in
// __int128) and closed forms. Run by ci/cuda-build.sh; prints the worst error per case in units
// of the error law (numerics.md) and exits 1 if one exceeds its bound.
//   g++ -O2 -std=c++17 -ffp-contract=fast -I kernels kernels/host/host_check.cpp -o host_check
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>

#include "cm.cuh"

typedef __int128 i128;

// Exact determinant of an integer 6×6 matrix (Bareiss, with row swaps on a zero pivot).
static i128 det_exact(const int64_t m[36]) {
    i128 a[6][6];
    for (int i = 0; i < 36; ++i) a[i / 6][i % 6] = m[i];
    i128 prev = 1;
    int sign = 1;
    for (int k = 0; k < 5; ++k) {
        if (a[k][k] == 0) {
            int p = k + 1;
            while (p < 6 && a[p][k] == 0) ++p;
            if (p == 6) return 0;
            for (int j = 0; j < 6; ++j) { i128 t = a[k][j]; a[k][j] = a[p][j]; a[p][j] = t; }
            sign = -sign;
        }
        for (int i = k + 1; i < 6; ++i)
            for (int j = k + 1; j < 6; ++j) a[i][j] = (a[i][j] * a[k][k] - a[i][k] * a[k][j]) / prev;
        prev = a[k][k];
    }
    return sign * a[5][5];
}

static int failures = 0;

static void report(const char* what, double worst, double bound) {
    const bool ok = worst <= bound;
    if (!ok) ++failures;
    std::printf("%-44s worst %10.3g  bound %10.3g  %s\n", what, worst, bound, ok ? "ok" : "FAIL");
}

// det6 on random integer matrices: |det − exact| / (u · ∏‖row‖₂).
template <typename T>
static double det_integer_case(std::mt19937_64& rng, int count, int range) {
    std::uniform_int_distribution<int> d(-range, range);
    const double u = std::ldexp(1.0, std::is_same<T, float>::value ? -24 : -53);
    double worst = 0;
    for (int n = 0; n < count; ++n) {
        int64_t m[36];
        T a[36];
        double h = 1;
        for (int i = 0; i < 6; ++i) {
            double row = 0;
            for (int j = 0; j < 6; ++j) {
                m[i * 6 + j] = d(rng);
                a[i * 6 + j] = (T)m[i * 6 + j];
                row += (double)m[i * 6 + j] * m[i * 6 + j];
            }
            h *= std::sqrt(row);
        }
        if (h == 0) continue;
        const double exact = (double)det_exact(m);
        const double got = (double)det6<T>(a);
        worst = std::fmax(worst, std::fabs(got - exact) / (u * h));
    }
    return worst;
}

// vol² of integer-coordinate points (D columns): |vol² − exact| / (u · H), H = ∏|pₖ − p₀|² / 576.
template <typename T>
static double cm_integer_case(std::mt19937_64& rng, int count, int dim, int range) {
    std::uniform_int_distribution<int> d(-range, range);
    const double u = std::ldexp(1.0, std::is_same<T, float>::value ? -24 : -53);
    double worst = 0;
    for (int n = 0; n < count; ++n) {
        T pts[5 * 64];
        int64_t ip[5 * 64];
        for (int i = 0; i < 5 * dim; ++i) { ip[i] = d(rng); pts[i] = (T)ip[i]; }
        int64_t cm[36];
        cm[0] = 0;
        for (int i = 1; i < 6; ++i) { cm[i] = 1; cm[i * 6] = 1; }
        double h = 1.0 / 576;
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 5; ++j) {
                int64_t s = 0;
                for (int c = 0; c < dim; ++c) { int64_t t = ip[i * dim + c] - ip[j * dim + c]; s += t * t; }
                cm[(i + 1) * 6 + j + 1] = s;
                if (i == 0 && j > 0) h *= (double)s;
            }
        if (h == 0) continue;
        const double exact = -(double)det_exact(cm) / 9216.0;
        const unsigned idx[5] = {0, 1, 2, 3, 4};
        const double got = (double)cm_vol2<T, T>(pts, dim, dim, idx);
        worst = std::fmax(worst, std::fabs(got - exact) / (u * h));
    }
    return worst;
}

template <typename T>
static double closed_forms() {
    // Regular 4-simplex, unit edge: vol² = 5/9216. Vertices: e₁..e₅ / √2 in 5-D.
    T pts[25] = {};
    for (int i = 0; i < 5; ++i) pts[i * 5 + i] = (T)std::sqrt(0.5);
    const unsigned idx[5] = {0, 1, 2, 3, 4};
    double err = std::fabs((double)cm_vol2<T, T>(pts, 5, 5, idx) - 5.0 / 9216.0) / (5.0 / 9216.0);
    // Origin plus sᵢ·eᵢ: vol = s₁s₂s₃s₄ / 24.
    T q[20] = {};
    const double s[4] = {0.5, 2.0, 3.0, 1.25};
    for (int i = 0; i < 4; ++i) q[(i + 1) * 4 + i] = (T)s[i];
    const double v = s[0] * s[1] * s[2] * s[3] / 24;
    err = std::fmax(err, std::fabs((double)cm_vol2<T, T>(q, 4, 4, idx) - v * v) / (v * v));
    return err;
}

int main() {
    std::mt19937_64 rng(42);
    // Bounds: LU with partial pivoting is backward stable, so |Δdet| ≲ c·n·ρ·u·∏‖row‖ (ρ the
    // growth factor, small for these inputs); 64 leaves room over the worst seen (≈ 3 in f64).
    report("det6<f64>, integers in [-8,8], 10^5 matrices", det_integer_case<double>(rng, 100000, 8), 64);
    report("det6<f32>, integers in [-8,8], 10^5 matrices", det_integer_case<float>(rng, 100000, 8), 64);
    // The bordered CM matrix: error ≈ c·u·H (numerics.md); c ≈ 6 at worst seen, bound 64.
    for (int dim : {1, 3, 4, 7, 33}) {
        char name[64];
        std::snprintf(name, sizeof name, "cm_vol2<f64>, integer points, D = %d", dim);
        report(name, cm_integer_case<double>(rng, 20000, dim, 4), 64);
        std::snprintf(name, sizeof name, "cm_vol2<f32>, integer points, D = %d", dim);
        report(name, cm_integer_case<float>(rng, 20000, dim, 4), 64);
    }
    report("closed forms (regular, axis simplex) f64, rel", closed_forms<double>(), 1e-14);
    report("closed forms (regular, axis simplex) f32, rel", closed_forms<float>(), 1e-5);
    return failures ? 1 : 0;
}

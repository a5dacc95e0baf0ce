// A teaching matrix product C = A @ B: cache tiles, a vectorisable inner
// loop and OpenMP over tiles of C. It is here to be compared with BLAS in
// benchmarks/bench_cpu.py; minitorch's own products always use BLAS, which
// adds register blocking and hand-tuned assembly on top of these ideas.
#include "kernels.h"

namespace minitorch {

namespace {

// Tile sizes: a kTile x kTile block of B and a row strip of C stay in L1/L2 while they are reused.
constexpr int64_t kTile = 64;

template <typename T>
void gemm_kernel(const Strided<T>& a, const Strided<T>& b, T* c) {
    const int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1];
    const int64_t tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
    std::fill(c, c + M * N, T(0));
    // Each thread owns whole tiles of C, so no two threads write the same element.
#pragma omp parallel for num_threads(kernel_threads()) collapse(2) schedule(static) \
    if (M * N * K > kParallelWork)
    for (int64_t tm = 0; tm < tiles_m; ++tm) {
        for (int64_t tn = 0; tn < tiles_n; ++tn) {
            const int64_t m1 = std::min(M, (tm + 1) * kTile), n0 = tn * kTile, n1 = std::min(N, n0 + kTile);
            for (int64_t k0 = 0; k0 < K; k0 += kTile) {
                const int64_t k1 = std::min(K, k0 + kTile);
                for (int64_t i = tm * kTile; i < m1; ++i) {
                    T* crow = c + i * N;
                    for (int64_t k = k0; k < k1; ++k) {
                        const T aik = a.data[i * a.strides[0] + k * a.strides[1]];
                        const T* brow = b.data + k * b.strides[0];
                        // i-k-j order: the innermost loop runs along a row of B and of C, which the
                        // compiler turns into SIMD when B's rows are contiguous.
                        if (b.strides[1] == 1) {
#pragma omp simd
                            for (int64_t j = n0; j < n1; ++j) crow[j] += aik * brow[j];
                        } else {
                            for (int64_t j = n0; j < n1; ++j) crow[j] += aik * brow[j * b.strides[1]];
                        }
                    }
                }
            }
        }
    }
}

}  // namespace

py::array gemm(const py::array& a, const py::array& b) {
    check_rank(a, 2, "gemm", "a (M, K)");
    check_rank(b, 2, "gemm", "b (K, N)");
    check_dim(b, 0, a.shape(1), "gemm", "b");
    return dispatch_float(a, "gemm", [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto sa = strided<T>(a, "gemm", "a");
        auto sb = strided<T>(b, "gemm", "b");
        py::array_t<T> c({sa.shape[0], sb.shape[1]});
        T* out = c.mutable_data();
        {
            py::gil_scoped_release unlocked;
            gemm_kernel(sa, sb, out);
        }
        return c;
    });
}

}  // namespace minitorch

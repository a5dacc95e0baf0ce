// Convolution's data movement: im2col (input windows to columns) and its
// adjoint col2im. The matrix products around them stay with NumPy's BLAS,
// which no hand-written loop here would beat.
//
// The columns are laid out (C * kh * kw, N * oh * ow): the batch sits beside
// the output positions, so each of convolution's three products is one large
// GEMM over the whole batch instead of N small ones (the NumPy path's layout,
// (N, C * kh * kw, oh * ow), needs a batched product and, for the weight
// gradient, a sum over the batch afterwards).
#include "kernels.h"

namespace minitorch {

namespace {

// cols[(c, i, j), (n, y, x)] = x[n, c, row(y, i), col(x, j)], zero in the padding.
template <typename T>
void im2col_kernel(const Strided<T>& in, const Window2d& g, T* cols) {
    const int64_t N = in.shape[0], C = in.shape[1], H = in.shape[2], W = in.shape[3];
    const int64_t P = g.positions(), planes = N * C;
#pragma omp parallel for schedule(static) if (planes * g.taps() * P > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        const T* plane = in.data + n * in.strides[0] + c * in.strides[1];
        for (int64_t i = 0; i < g.kh; ++i) {
            for (int64_t j = 0; j < g.kw; ++j) {
                T* out = cols + ((c * g.kh + i) * g.kw + j) * N * P + n * P;
                int64_t x0, x1;  // the output columns whose tap j lies inside the input row
                inside_range(g.ow, g.sw, j * g.dw - g.pw, W, &x0, &x1);
                for (int64_t y = 0; y < g.oh; ++y) {
                    T* dst = out + y * g.ow;
                    const int64_t r = g.row(y, i);
                    if (r < 0 || r >= H) {
                        std::fill(dst, dst + g.ow, T(0));
                        continue;
                    }
                    const T* src = plane + r * in.strides[2] + (j * g.dw - g.pw) * in.strides[3];
                    std::fill(dst, dst + x0, T(0));
                    const int64_t step = g.sw * in.strides[3];
                    for (int64_t x = x0; x < x1; ++x) dst[x] = src[x * step];
                    std::fill(dst + x1, dst + g.ow, T(0));
                }
            }
        }
    }
}

// The adjoint: x[n, c, row(y, i), col(x, j)] += cols[(c, i, j), (n, y, x)]; one thread per (n, c) plane.
template <typename T>
void col2im_kernel(const Strided<T>& cols, int64_t N, int64_t H, int64_t W, const Window2d& g, T* out) {
    const int64_t C = cols.shape[0] / g.taps(), P = g.positions(), planes = N * C;
    const int64_t s0 = cols.strides[0], s1 = cols.strides[1];
#pragma omp parallel for schedule(static) if (planes * g.taps() * P > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        T* plane = out + nc * H * W;
        std::fill(plane, plane + H * W, T(0));
        for (int64_t i = 0; i < g.kh; ++i) {
            for (int64_t j = 0; j < g.kw; ++j) {
                const T* row_of_tap = cols.data + ((c * g.kh + i) * g.kw + j) * s0 + n * P * s1;
                int64_t x0, x1;
                inside_range(g.ow, g.sw, j * g.dw - g.pw, W, &x0, &x1);
                for (int64_t y = 0; y < g.oh; ++y) {
                    const int64_t r = g.row(y, i);
                    if (r < 0 || r >= H) continue;
                    T* dst = plane + r * W + (j * g.dw - g.pw);
                    const T* src = row_of_tap + y * g.ow * s1;
                    for (int64_t x = x0; x < x1; ++x) dst[x * g.sw] += src[x * s1];
                }
            }
        }
    }
}

}  // namespace

py::array im2col(const py::array& x, const Window2d& g) {
    check_rank(x, 4, "im2col", "input (N, C, H, W)");
    return dispatch_float(x, "im2col", [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, "im2col", "input");
        py::array_t<T> cols({in.shape[1] * g.taps(), in.shape[0] * g.positions()});
        T* out = cols.mutable_data();
        {
            py::gil_scoped_release unlocked;
            im2col_kernel(in, g, out);
        }
        return cols;
    });
}

py::array col2im(const py::array& cols, int64_t N, int64_t H, int64_t W, const Window2d& g) {
    check_rank(cols, 2, "col2im", "columns (C * kh * kw, N * oh * ow)");
    if (N < 0 || H < 0 || W < 0) throw py::value_error("col2im: the output size must be non-negative");
    check_dim(cols, 1, N * g.positions(), "col2im", "columns");
    if (cols.shape(0) % g.taps())
        throw py::value_error("col2im: columns dimension 0 (" + std::to_string(cols.shape(0)) +
                              ") is not a multiple of the kernel's taps (" + std::to_string(g.taps()) + ")");
    return dispatch_float(cols, "col2im", [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(cols, "col2im", "columns");
        py::array_t<T> x({N, in.shape[0] / g.taps(), H, W});
        T* out = x.mutable_data();
        {
            py::gil_scoped_release unlocked;
            col2im_kernel(in, N, H, W, g, out);
        }
        return x;
    });
}

}  // namespace minitorch

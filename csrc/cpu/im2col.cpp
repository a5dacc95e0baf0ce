// Convolution's data movement: im2col (input windows to columns) and its
// adjoint col2im. The matrix products around them stay with NumPy's BLAS,
// which no hand-written loop here would beat.
//
// The columns are laid out (C * kh * kw, N * oh * ow): the batch sits beside
// the output positions, so each of convolution's three products is one large
// GEMM over the whole batch instead of N small ones (the NumPy path's layout,
// (N, C * kh * kw, oh * ow), needs a batched product and, for the weight
// gradient, a sum over the batch afterwards).
#include <vector>

#include "kernels.h"

namespace minitorch {

namespace {

// Each (n, c) plane goes through a zero-bordered copy of itself, `padded`, big enough for every window, so
// the loops over taps read and write whole rows with no bounds checks: most of the rows are short (4 to 56
// values), and per-element checks and fills would cost more than the copies.
struct PaddedPlane {
    int64_t rows, cols;  // the padded extent: the input plus its leading padding and whatever windows reach past it

    PaddedPlane(int64_t H, int64_t W, const Window2d& g)
        : rows(std::max(H + g.ph, (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1)),
          cols(std::max(W + g.pw, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1)) {}
    // Where tap (i, j) of the window at output (y, 0) sits in the padded plane.
    int64_t at(const Window2d& g, int64_t y, int64_t i, int64_t j) const {
        return (y * g.sh + i * g.dh) * cols + j * g.dw;
    }
};

// One plane's share of the columns: cols[(c, i, j), (n, y, x)] = padded[row(y, i), col(x, j)].
template <int64_t Step, typename T>
SIMD_CLONES void im2col_plane(const T* padded, const PaddedPlane& pad, const Window2d& g, int64_t stride_cols,
                              T* cols) {
    for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
            T* out = cols + (i * g.kw + j) * stride_cols;
            for (int64_t y = 0; y < g.oh; ++y) copy_row<Step>(padded + pad.at(g, y, i, j), g.sw, g.ow, out + y * g.ow);
        }
}

// cols[(c, i, j), (n, y, x)] = x[n, c, row(y, i), col(x, j)], zero in the padding.
template <int64_t Step, typename T>
void im2col_kernel(const Strided<T>& in, const Window2d& g, T* cols) {
    const int64_t N = in.shape[0], C = in.shape[1], H = in.shape[2], W = in.shape[3];
    const int64_t P = g.positions(), planes = N * C;
    const PaddedPlane pad(H, W, g);
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.taps() * P > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        const T* plane = in.data + n * in.strides[0] + c * in.strides[1];
        std::vector<T> padded(pad.rows * pad.cols, T(0));
        for (int64_t r = 0; r < H; ++r)
            copy_any_row(plane + r * in.strides[2], in.strides[3], W, padded.data() + (r + g.ph) * pad.cols + g.pw);
        im2col_plane<Step>(padded.data(), pad, g, N * P, cols + c * g.taps() * N * P + n * P);
    }
}

// One plane's share of the adjoint: padded[row(y, i), col(x, j)] += cols[(c, i, j), (n, y, x)], the columns'
// rows `s0` apart and their values `s1` apart (Step 1 or 2 needs s1 == 1).
template <int64_t Step, typename T>
SIMD_CLONES void col2im_plane(const T* cols, int64_t s0, int64_t s1, const PaddedPlane& pad, const Window2d& g,
                              T* padded) {
    for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
            const T* row_of_tap = cols + (i * g.kw + j) * s0;
            for (int64_t y = 0; y < g.oh; ++y) {
                T* dst = padded + pad.at(g, y, i, j);
                const T* src = row_of_tap + y * g.ow * s1;
                if (Step)
                    for (int64_t x = 0; x < g.ow; ++x) dst[x * Step] += src[x];
                else
                    for (int64_t x = 0; x < g.ow; ++x) dst[x * g.sw] += src[x * s1];
            }
        }
}

// The adjoint: x[n, c, row(y, i), col(x, j)] += cols[(c, i, j), (n, y, x)], summed in a padded plane whose
// inside is then copied out; one thread per (n, c) plane.
// `Step` as in im2col_kernel, for the padded plane; with Step 1 or 2 the columns' rows are contiguous.
template <int64_t Step, typename T>
void col2im_kernel(const Strided<T>& cols, int64_t N, int64_t H, int64_t W, const Window2d& g, T* out) {
    const int64_t C = cols.shape[0] / g.taps(), P = g.positions(), planes = N * C;
    const int64_t s0 = cols.strides[0], s1 = cols.strides[1];
    const PaddedPlane pad(H, W, g);
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.taps() * P > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        std::vector<T> padded(pad.rows * pad.cols, T(0));
        col2im_plane<Step>(cols.data + c * g.taps() * s0 + n * P * s1, s0, s1, pad, g, padded.data());
        T* plane = out + nc * H * W;
        for (int64_t r = 0; r < H; ++r)
            std::copy_n(padded.data() + (r + g.ph) * pad.cols + g.pw, W, plane + r * W);
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
            // Stride 1 or 2 (nearly every network's) lets the compiler vectorise the row copies.
            auto kernel = g.sw == 1 ? im2col_kernel<1, T> : g.sw == 2 ? im2col_kernel<2, T> : im2col_kernel<0, T>;
            kernel(in, g, out);
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
            const bool rows = in.strides[1] == 1;
            auto kernel = rows && g.sw == 1 ? col2im_kernel<1, T> : rows && g.sw == 2 ? col2im_kernel<2, T>
                                                                                      : col2im_kernel<0, T>;
            kernel(in, N, H, W, g, out);
        }
        return x;
    });
}

}  // namespace minitorch

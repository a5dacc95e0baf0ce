// Max and average pooling over 2-d windows, forward and backward, one
// (n, c) plane per thread. Window taps are numbered row-major, 0 .. kh*kw-1,
// as in minitorch/backends/pool.py, whose rules these follow exactly.
#include <cmath>
#include <limits>

#include "kernels.h"

namespace minitorch {

namespace {

template <typename T>
void max_pool_kernel(const Strided<T>& in, const Window2d& g, T* best, int64_t* taps) {
    const int64_t C = in.shape[1], H = in.shape[2], W = in.shape[3], planes = in.shape[0] * C;
#pragma omp parallel for schedule(static) if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = in.data + (nc / C) * in.strides[0] + (nc % C) * in.strides[1];
        for (int64_t y = 0; y < g.oh; ++y) {
            for (int64_t x = 0; x < g.ow; ++x) {
                // A window wholly in the padding reports -inf at its first tap right of the left padding.
                int64_t fi = 0, fj = 0;
                while (fi < g.kh && g.row(y, fi) < 0) ++fi;
                while (fj < g.kw && g.col(x, fj) < 0) ++fj;
                T value = -std::numeric_limits<T>::infinity();
                int64_t tap = (fi < g.kh ? fi : 0) * g.kw + (fj < g.kw ? fj : 0);
                bool found = false;
                for (int64_t i = 0; i < g.kh && !std::isnan(value); ++i) {
                    const int64_t r = g.row(y, i);
                    if (r < 0 || r >= H) continue;
                    for (int64_t j = 0; j < g.kw; ++j) {
                        const int64_t q = g.col(x, j);
                        if (q < 0 || q >= W) continue;
                        const T v = plane[r * in.strides[2] + q * in.strides[3]];
                        // The first maximum wins, and the first NaN beats everything (PyTorch's rule).
                        if (!found || v > value || std::isnan(v)) {
                            value = v;
                            tap = i * g.kw + j;
                            found = true;
                            if (std::isnan(v)) break;
                        }
                    }
                }
                const int64_t o = nc * g.positions() + y * g.ow + x;
                best[o] = value;
                taps[o] = tap;
            }
        }
    }
}

template <typename T>
void max_pool_backward_kernel(const Strided<T>& grad, const Strided<int64_t>& taps, int64_t H, int64_t W,
                              const Window2d& g, T* out) {
    const int64_t C = grad.shape[1], planes = grad.shape[0] * C;
#pragma omp parallel for schedule(static) if (planes * (H * W + g.positions()) > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        T* plane = out + nc * H * W;
        std::fill(plane, plane + H * W, T(0));
        for (int64_t y = 0; y < g.oh; ++y) {
            for (int64_t x = 0; x < g.ow; ++x) {
                const int64_t tap = taps.data[n * taps.strides[0] + c * taps.strides[1] + y * taps.strides[2] +
                                              x * taps.strides[3]];
                const int64_t r = g.row(y, tap / g.kw), q = g.col(x, tap % g.kw);
                if (r >= 0 && r < H && q >= 0 && q < W)  // a tap in the padding takes its gradient nowhere
                    plane[r * W + q] +=
                        grad.data[n * grad.strides[0] + c * grad.strides[1] + y * grad.strides[2] + x * grad.strides[3]];
            }
        }
    }
}

template <typename T>
void avg_pool_kernel(const Strided<T>& in, const T* divisor, const Window2d& g, T* out) {
    const int64_t C = in.shape[1], H = in.shape[2], W = in.shape[3], planes = in.shape[0] * C;
#pragma omp parallel for schedule(static) if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = in.data + (nc / C) * in.strides[0] + (nc % C) * in.strides[1];
        for (int64_t y = 0; y < g.oh; ++y) {
            for (int64_t x = 0; x < g.ow; ++x) {
                T sum = 0;  // padded taps add zero
                for (int64_t i = 0; i < g.kh; ++i) {
                    const int64_t r = g.row(y, i);
                    if (r < 0 || r >= H) continue;
                    for (int64_t j = 0; j < g.kw; ++j) {
                        const int64_t q = g.col(x, j);
                        if (q >= 0 && q < W) sum += plane[r * in.strides[2] + q * in.strides[3]];
                    }
                }
                out[nc * g.positions() + y * g.ow + x] = sum / divisor[y * g.ow + x];
            }
        }
    }
}

template <typename T>
void avg_pool_backward_kernel(const Strided<T>& grad, const T* divisor, int64_t H, int64_t W, const Window2d& g,
                              T* out) {
    const int64_t C = grad.shape[1], planes = grad.shape[0] * C;
#pragma omp parallel for schedule(static) if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = grad.data + (nc / C) * grad.strides[0] + (nc % C) * grad.strides[1];
        T* dst = out + nc * H * W;
        std::fill(dst, dst + H * W, T(0));
        for (int64_t y = 0; y < g.oh; ++y) {
            for (int64_t x = 0; x < g.ow; ++x) {
                const T share = plane[y * grad.strides[2] + x * grad.strides[3]] / divisor[y * g.ow + x];
                for (int64_t i = 0; i < g.kh; ++i) {
                    const int64_t r = g.row(y, i);
                    if (r < 0 || r >= H) continue;
                    for (int64_t j = 0; j < g.kw; ++j) {
                        const int64_t q = g.col(x, j);
                        if (q >= 0 && q < W) dst[r * W + q] += share;
                    }
                }
            }
        }
    }
}

// The (N, C, oh, ow) shape every pooled array must have.
void check_pooled(const py::array& a, int64_t N, int64_t C, const Window2d& g, const char* kernel, const char* name) {
    check_rank(a, 4, kernel, name);
    check_dim(a, 0, N, kernel, name);
    check_dim(a, 1, C, kernel, name);
    check_dim(a, 2, g.oh, kernel, name);
    check_dim(a, 3, g.ow, kernel, name);
}

template <typename T>
const T* divisors(const py::array& divisor, const Window2d& g, const char* kernel) {
    check_dtype<T>(divisor, kernel, "divisor");
    check_rank(divisor, 2, kernel, "divisor (oh, ow)");
    check_dim(divisor, 0, g.oh, kernel, "divisor");
    check_dim(divisor, 1, g.ow, kernel, "divisor");
    if (!(divisor.flags() & py::array::c_style)) throw py::value_error(std::string(kernel) + ": divisor must be contiguous");
    return static_cast<const T*>(divisor.data());
}

void check_plane_size(int64_t H, int64_t W, const char* kernel) {
    if (H < 0 || W < 0) throw py::value_error(std::string(kernel) + ": the input size must be non-negative");
}

}  // namespace

py::tuple max_pool2d(const py::array& x, const Window2d& g) {
    check_rank(x, 4, "max_pool2d", "input (N, C, H, W)");
    return dispatch_float(x, "max_pool2d", [&](auto zero) -> py::tuple {
        using T = decltype(zero);
        auto in = strided<T>(x, "max_pool2d", "input");
        py::array_t<T> best({in.shape[0], in.shape[1], g.oh, g.ow});
        py::array_t<int64_t> taps({in.shape[0], in.shape[1], g.oh, g.ow});
        T* b = best.mutable_data();
        int64_t* t = taps.mutable_data();
        {
            py::gil_scoped_release unlocked;
            max_pool_kernel(in, g, b, t);
        }
        return py::make_tuple(best, taps);
    });
}

py::array max_pool2d_backward(const py::array& grad, const py::array& taps, int64_t H, int64_t W, const Window2d& g) {
    const char* kernel = "max_pool2d_backward";
    check_rank(grad, 4, kernel, "grad (N, C, oh, ow)");
    check_pooled(grad, grad.shape(0), grad.shape(1), g, kernel, "grad");
    check_pooled(taps, grad.shape(0), grad.shape(1), g, kernel, "taps");
    check_plane_size(H, W, kernel);
    auto t = strided<int64_t>(taps, kernel, "taps");
    return dispatch_float(grad, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(grad, kernel, "grad");
        py::array_t<T> x({in.shape[0], in.shape[1], H, W});
        T* out = x.mutable_data();
        {
            py::gil_scoped_release unlocked;
            max_pool_backward_kernel(in, t, H, W, g, out);
        }
        return x;
    });
}

py::array avg_pool2d(const py::array& x, const py::array& divisor, const Window2d& g) {
    check_rank(x, 4, "avg_pool2d", "input (N, C, H, W)");
    return dispatch_float(x, "avg_pool2d", [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, "avg_pool2d", "input");
        const T* div = divisors<T>(divisor, g, "avg_pool2d");
        py::array_t<T> y({in.shape[0], in.shape[1], g.oh, g.ow});
        T* out = y.mutable_data();
        {
            py::gil_scoped_release unlocked;
            avg_pool_kernel(in, div, g, out);
        }
        return y;
    });
}

py::array avg_pool2d_backward(const py::array& grad, const py::array& divisor, int64_t H, int64_t W,
                              const Window2d& g) {
    const char* kernel = "avg_pool2d_backward";
    check_rank(grad, 4, kernel, "grad (N, C, oh, ow)");
    check_pooled(grad, grad.shape(0), grad.shape(1), g, kernel, "grad");
    check_plane_size(H, W, kernel);
    return dispatch_float(grad, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(grad, kernel, "grad");
        const T* div = divisors<T>(divisor, g, kernel);
        py::array_t<T> x({in.shape[0], in.shape[1], H, W});
        T* out = x.mutable_data();
        {
            py::gil_scoped_release unlocked;
            avg_pool_backward_kernel(in, div, H, W, g, out);
        }
        return x;
    });
}

}  // namespace minitorch

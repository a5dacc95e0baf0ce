// Max and average pooling over 2-d windows, forward and backward, one
// (n, c) plane per thread. Window taps are numbered row-major, 0 .. kh*kw-1,
// as in minitorch/backends/pool.py, whose rules these follow exactly.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels.h"

namespace minitorch {

namespace {

// The taps [*first, *last) of a window starting at input coordinate `start` that land inside [0, n).
inline void taps_inside(int64_t start, int64_t k, int64_t d, int64_t n, int64_t* first, int64_t* last) {
    int64_t t0 = 0, t1 = k;
    while (t0 < k && start + t0 * d < 0) ++t0;
    while (t1 > t0 && start + (t1 - 1) * d >= n) --t1;
    *first = t0;
    *last = t1;
}

// For each output column x, the kernel columns [first[x], last[x]) that lie inside an input of width W, and
// the run [lo, hi) of output columns whose every kernel column does: there a kernel visits each tap for all
// those windows at once, a loop over x the compiler vectorises; the other columns go one window at a time.
struct InsideColumns {
    std::vector<int64_t> first, last;
    int64_t lo = 0, hi = 0;

    InsideColumns(const Window2d& g, int64_t W) : first(g.ow), last(g.ow), hi(g.ow) {
        for (int64_t x = 0; x < g.ow; ++x) taps_inside(g.col(x, 0), g.kw, g.dw, W, &first[x], &last[x]);
        auto whole = [&](int64_t x) { return first[x] == 0 && last[x] == g.kw; };
        while (lo < g.ow && !whole(lo)) ++lo;
        while (hi > lo && !whole(hi - 1)) --hi;
    }
};

// One step of the running maximum: v replaces value when larger, or when it is the first NaN (PyTorch's
// rule: the first maximum wins, and a NaN beats everything). Selects, not branches: which tap wins is
// unpredictable.
template <typename T, typename Index>
inline void take_larger(T v, Index k, T& value, Index& tap) {
    const bool take = (v > value) | ((v != v) & (value == value));  // bitwise: no branch to mispredict
    value = take ? v : value;
    tap = take ? k : tap;
}

// Windows x in [lo, hi) of one output row, all of whose kernel columns lie inside the input (rows i0 .. i1-1):
// each tap in turn for every window, a loop over x the compiler vectorises. `corner` is tap (0, 0) of window 0;
// windows lie `Step` elements apart (0: `x_step`, known only at run time, which the vectoriser cannot use).
// The taps are counted in `Index`, an integer as wide as T, so that values and taps fill the same SIMD lanes.
template <int64_t Step, typename T, typename Index>
void max_pool_interior(const T* corner, int64_t i0, int64_t i1, int64_t kw, int64_t row_step, int64_t col_step,
                       int64_t x_step, int64_t count, T* value, Index* tap) {
    const int64_t step = Step ? Step : x_step;
    for (int64_t x = 0; x < count; ++x) {
        value[x] = corner[i0 * row_step + x * step];
        tap[x] = Index(i0 * kw);
    }
    for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = (i == i0); j < kw; ++j) {
            const T* src = corner + i * row_step + j * col_step;
            const Index k = Index(i * kw + j);
#pragma omp simd
            for (int64_t x = 0; x < count; ++x) take_larger(src[x * step], k, value[x], tap[x]);
        }
    }
}

template <typename T>
void max_pool_kernel(const Strided<T>& in, const Window2d& g, T* best, int64_t* taps) {
    const int64_t C = in.shape[1], H = in.shape[2], W = in.shape[3], planes = in.shape[0] * C;
    const int64_t sr = in.strides[2], sc = in.strides[3], row_step = g.dh * sr, col_step = g.dw * sc, kw = g.kw;
    const InsideColumns inside(g, W);
    const int64_t x_step = g.sw * sc;
    using Index = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
    // Pooling strides of 1 and 2 over contiguous rows (nearly every network's) get a vectorised loop.
    auto interior = x_step == 1   ? max_pool_interior<1, T, Index>
                    : x_step == 2 ? max_pool_interior<2, T, Index>
                                  : max_pool_interior<0, T, Index>;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = in.data + (nc / C) * in.strides[0] + (nc % C) * in.strides[1];
        std::vector<Index> row_taps(g.ow);
        for (int64_t y = 0; y < g.oh; ++y) {
            int64_t i0, i1;
            taps_inside(g.row(y, 0), g.kh, g.dh, H, &i0, &i1);
            T* value = best + nc * g.positions() + y * g.ow;
            int64_t* tap = taps + nc * g.positions() + y * g.ow;
            const T* corner = plane + g.row(y, 0) * sr + g.col(0, 0) * sc;  // tap (0, 0) of window x = 0
            // Windows one at a time: columns [0, lo) and [hi, ow); all of them when no kernel row is inside.
            const int64_t lo = i0 < i1 ? inside.lo : g.ow, hi = i0 < i1 ? inside.hi : g.ow;
            auto one_window = [&](int64_t x) {
                const int64_t j0 = inside.first[x], j1 = inside.last[x];
                // A window wholly in the padding reports -inf at its first tap right of the left padding.
                value[x] = -std::numeric_limits<T>::infinity();
                tap[x] = (i0 < g.kh ? i0 : 0) * kw + (j0 < kw ? j0 : 0);
                if (i0 >= i1 || j0 >= j1) return;
                const T* origin = corner + x * x_step;
                value[x] = origin[i0 * row_step + j0 * col_step];
                tap[x] = i0 * kw + j0;
                for (int64_t i = i0; i < i1; ++i)
                    for (int64_t j = j0; j < j1; ++j)
                        take_larger<T, int64_t>(origin[i * row_step + j * col_step], i * kw + j, value[x], tap[x]);
            };
            for (int64_t x = 0; x < lo; ++x) one_window(x);
            for (int64_t x = hi; x < g.ow; ++x) one_window(x);
            if (lo == hi) continue;
            interior(corner + lo * x_step, i0, i1, kw, row_step, col_step, x_step, hi - lo, value + lo,
                     row_taps.data());
            std::copy(row_taps.begin(), row_taps.begin() + (hi - lo), tap + lo);
        }
    }
}

template <typename T>
void max_pool_backward_kernel(const Strided<T>& grad, const Strided<int64_t>& taps, int64_t H, int64_t W,
                              const Window2d& g, T* out) {
    const int64_t C = grad.shape[1], planes = grad.shape[0] * C;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * (H * W + g.positions()) > kParallelWork)
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

// The sums of windows x in [0, count) of one output row, all of whose kernel columns lie inside the input
// (rows i0 .. i1-1), taps in row-major order as in one_window below; `Step` as in max_pool_interior.
template <int64_t Step, typename T>
void avg_pool_interior(const T* corner, int64_t i0, int64_t i1, int64_t kw, int64_t row_step, int64_t col_step,
                       int64_t x_step, int64_t count, T* sum) {
    const int64_t step = Step ? Step : x_step;
    std::fill(sum, sum + count, T(0));
    for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = 0; j < kw; ++j) {
            const T* src = corner + i * row_step + j * col_step;
#pragma omp simd
            for (int64_t x = 0; x < count; ++x) sum[x] += src[x * step];
        }
    }
}

template <typename T>
void avg_pool_kernel(const Strided<T>& in, const T* divisor, const Window2d& g, T* out) {
    const int64_t C = in.shape[1], H = in.shape[2], W = in.shape[3], planes = in.shape[0] * C;
    const int64_t sr = in.strides[2], sc = in.strides[3], row_step = g.dh * sr, col_step = g.dw * sc;
    const int64_t x_step = g.sw * sc;
    const InsideColumns inside(g, W);
    auto interior = x_step == 1   ? avg_pool_interior<1, T>
                    : x_step == 2 ? avg_pool_interior<2, T>
                                  : avg_pool_interior<0, T>;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = in.data + (nc / C) * in.strides[0] + (nc % C) * in.strides[1];
        for (int64_t y = 0; y < g.oh; ++y) {
            int64_t i0, i1;  // padded taps add zero, so only the taps inside are summed
            taps_inside(g.row(y, 0), g.kh, g.dh, H, &i0, &i1);
            T* sum = out + nc * g.positions() + y * g.ow;
            const T* corner = plane + g.row(y, 0) * sr + g.col(0, 0) * sc;  // tap (0, 0) of window x = 0
            auto one_window = [&](int64_t x) {
                sum[x] = 0;
                for (int64_t i = i0; i < i1; ++i)
                    for (int64_t j = inside.first[x]; j < inside.last[x]; ++j)
                        sum[x] += corner[x * x_step + i * row_step + j * col_step];
            };
            for (int64_t x = 0; x < inside.lo; ++x) one_window(x);
            for (int64_t x = inside.hi; x < g.ow; ++x) one_window(x);
            interior(corner + inside.lo * x_step, i0, i1, g.kw, row_step, col_step, x_step, inside.hi - inside.lo,
                     sum + inside.lo);
            const T* div = divisor + y * g.ow;
#pragma omp simd
            for (int64_t x = 0; x < g.ow; ++x) sum[x] /= div[x];
        }
    }
}

// The adjoint of avg_pool_interior: each window's share added at every tap, for windows x in [0, count) of one
// output row; `corner` is where tap (0, 0) of window 0 lands in the (contiguous) input-gradient plane.
template <int64_t Step, typename T>
void avg_pool_backward_interior(const T* share, int64_t i0, int64_t i1, int64_t kw, int64_t row_step,
                                int64_t col_step, int64_t x_step, int64_t count, T* corner) {
    const int64_t step = Step ? Step : x_step;
    for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = 0; j < kw; ++j) {
            T* dst = corner + i * row_step + j * col_step;
            for (int64_t x = 0; x < count; ++x) dst[x * step] += share[x];
        }
    }
}

template <typename T>
void avg_pool_backward_kernel(const Strided<T>& grad, const T* divisor, int64_t H, int64_t W, const Window2d& g,
                              T* out) {
    const int64_t C = grad.shape[1], planes = grad.shape[0] * C;
    const int64_t row_step = g.dh * W, col_step = g.dw;
    const InsideColumns inside(g, W);
    auto interior = g.sw == 1   ? avg_pool_backward_interior<1, T>
                    : g.sw == 2 ? avg_pool_backward_interior<2, T>
                                : avg_pool_backward_interior<0, T>;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = grad.data + (nc / C) * grad.strides[0] + (nc % C) * grad.strides[1];
        T* dst = out + nc * H * W;
        std::fill(dst, dst + H * W, T(0));
        std::vector<T> share(g.ow);
        for (int64_t y = 0; y < g.oh; ++y) {
            for (int64_t x = 0; x < g.ow; ++x)
                share[x] = plane[y * grad.strides[2] + x * grad.strides[3]] / divisor[y * g.ow + x];
            int64_t i0, i1;  // taps in the padding take their share nowhere
            taps_inside(g.row(y, 0), g.kh, g.dh, H, &i0, &i1);
            T* corner = dst + g.row(y, 0) * W + g.col(0, 0);  // tap (0, 0) of window x = 0
            auto one_window = [&](int64_t x) {
                for (int64_t i = i0; i < i1; ++i)
                    for (int64_t j = inside.first[x]; j < inside.last[x]; ++j)
                        corner[x * g.sw + i * row_step + j * col_step] += share[x];
            };
            for (int64_t x = 0; x < inside.lo; ++x) one_window(x);
            for (int64_t x = inside.hi; x < g.ow; ++x) one_window(x);
            interior(share.data() + inside.lo, i0, i1, g.kw, row_step, col_step, g.sw, inside.hi - inside.lo,
                     corner + inside.lo * g.sw);
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

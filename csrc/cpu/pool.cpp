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

// Along one axis (rows or columns) of `count` windows, `stride` apart, starting `pad` before an input of size n,
// with k taps `d` apart: for each window x the taps [first[x], last[x]) that lie inside, and the run [lo, hi) of
// windows all of whose taps do. There a kernel visits each tap for all those windows at once, a loop the compiler
// vectorises; the other windows go one at a time.
struct InsideTaps {
    std::vector<int64_t> first, last;
    int64_t lo = 0, hi = 0;

    InsideTaps(int64_t count, int64_t stride, int64_t pad, int64_t k, int64_t d, int64_t n)
        : first(count), last(count), hi(count) {
        for (int64_t x = 0; x < count; ++x) taps_inside(x * stride - pad, k, d, n, &first[x], &last[x]);
        auto whole = [&](int64_t x) { return first[x] == 0 && last[x] == k; };
        while (lo < count && !whole(lo)) ++lo;
        while (hi > lo && !whole(hi - 1)) --hi;
    }
};

// The kernel columns of each output column x that lie inside an input of width W.
inline InsideTaps inside_columns(const Window2d& g, int64_t W) { return InsideTaps(g.ow, g.sw, g.pw, g.kw, g.dw, W); }

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
    const InsideTaps inside = inside_columns(g, W);
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

// Visits the windows of one plane a row at a time, rows in ascending order: first the row's windows with a kernel
// column outside the input one by one, border(y, x), then all the others (columns [cols.lo, cols.hi)) together,
// inner(y, n) for n rows from y, whose kernel rows inside are those of row y. A run of rows whose windows all lie
// wholly inside (no padding around them) goes to `inner` in one call: rows of LeNet-5's pooling hold 5 to 14
// windows, too few to pay each for a call and the setup of vector loops.
template <typename Border, typename Inner>
void visit_windows(const InsideTaps& rows, const InsideTaps& cols, Border border, Inner inner) {
    const int64_t height = int64_t(rows.first.size()), width = int64_t(cols.first.size());
    const bool no_border = cols.lo == 0 && cols.hi == width;
    for (int64_t y = 0; y < height;) {
        for (int64_t x = 0; x < cols.lo; ++x) border(y, x);
        for (int64_t x = cols.hi; x < width; ++x) border(y, x);
        const int64_t n = no_border && y >= rows.lo && y < rows.hi ? rows.hi - y : 1;
        inner(y, n);
        y += n;
    }
}

// The strides of a pooling over an input with rows `sr` and columns `sc` elements apart: from one tap to the next
// down and across a window (tap_row, tap_col), and from one window to the next (window_row, window_col).
struct PoolSteps {
    int64_t tap_row, tap_col, window_row, window_col;
    PoolSteps(const Window2d& g, int64_t sr, int64_t sc)
        : tap_row(g.dh * sr), tap_col(g.dw * sc), window_row(g.sh * sr), window_col(g.sw * sc) {}
};

// The sums of `windows` windows, window p's tap (0, 0) `window[p]` elements after `corner` and its taps `tap[t]`
// after that, t in [0, taps), summed in that order (row-major, as in one_window). One loop over all the windows
// of a block, however many rows it spans: each window's sum stays in a register, and the vector lanes run over
// windows (gathered loads), so rows of 5 windows cost no vector-loop setup of their own.
template <typename T>
SIMD_CLONES void avg_pool_interior(const T* corner, const int64_t* window, int64_t windows, const int64_t* tap,
                                   int64_t taps, T* sum) {
#pragma omp simd
    for (int64_t p = 0; p < windows; ++p) {
        T total = 0;
        for (int64_t t = 0; t < taps; ++t) total += corner[window[p] + tap[t]];
        sum[p] = total;
    }
}

template <typename T>
void avg_pool_kernel(const Strided<T>& in, const T* divisor, const Window2d& g, T* out) {
    const int64_t C = in.shape[1], H = in.shape[2], W = in.shape[3], planes = in.shape[0] * C;
    const int64_t sr = in.strides[2], sc = in.strides[3];
    const PoolSteps s(g, sr, sc);
    const InsideTaps rows(g.oh, g.sh, g.ph, g.kh, g.dh, H), cols = inside_columns(g, W);
    // Offsets from tap (0, 0) of a block's first window: of every window of the largest block visit_windows can
    // pass (rows of `count` windows), and of every tap, row-major. Computed once, shared by all planes.
    const int64_t count = cols.hi - cols.lo, block_rows = std::max<int64_t>(rows.hi - rows.lo, 1);
    std::vector<int64_t> window(block_rows * count), tap(g.taps());
    for (int64_t y = 0; y < block_rows; ++y)
        for (int64_t x = 0; x < count; ++x) window[y * count + x] = y * s.window_row + x * s.window_col;
    for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) tap[i * g.kw + j] = i * s.tap_row + j * s.tap_col;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (planes * g.positions() * g.taps() > kParallelWork)
    for (int64_t nc = 0; nc < planes; ++nc) {
        const T* plane = in.data + (nc / C) * in.strides[0] + (nc % C) * in.strides[1];
        T* sum = out + nc * g.positions();
        auto one_window = [&](int64_t y, int64_t x) {  // padded taps add zero, so only the taps inside are summed
            const T* origin = plane + g.row(y, 0) * sr + g.col(x, 0) * sc;
            T total = 0;
            for (int64_t i = rows.first[y]; i < rows.last[y]; ++i)
                for (int64_t j = cols.first[x]; j < cols.last[x]; ++j) total += origin[i * s.tap_row + j * s.tap_col];
            sum[y * g.ow + x] = total;
        };
        visit_windows(rows, cols, one_window, [&](int64_t y, int64_t n) {
            avg_pool_interior(plane + g.row(y, 0) * sr + g.col(cols.lo, 0) * sc, window.data(), n * count,
                              tap.data() + rows.first[y] * g.kw, (rows.last[y] - rows.first[y]) * g.kw,
                              sum + y * g.ow + cols.lo);
        });
        for (int64_t p = 0; p < g.positions(); ++p) sum[p] /= divisor[p];
    }
}

// The adjoint of avg_pool_interior: each window's share added at every tap, for an n-by-count block of windows
// (kernel rows i0 .. i1-1) whose shares lie in rows `ow` apart; `corner` is where tap (0, 0) of the block's first
// window lands in the input-gradient plane (contiguous, so `s` has unit column stride). Row by row, tap by tap:
// windows that overlap must add at a common input in the same order as before, and so round the same. Without
// SIMD_CLONES: LeNet-5's rows of 14 windows never fill AVX-512's 16 lanes, and the AVX-512 clone measured slower.
template <int64_t Step, typename T>
void avg_pool_backward_interior(const T* share, const Window2d& g, const PoolSteps& s, int64_t i0, int64_t i1,
                                int64_t n, int64_t count, T* corner) {
    const int64_t step = Step ? Step : s.window_col;
    for (int64_t y = 0; y < n; ++y, share += g.ow, corner += s.window_row) {
        for (int64_t i = i0; i < i1; ++i) {
            for (int64_t j = 0; j < g.kw; ++j) {
                T* dst = corner + i * s.tap_row + j * s.tap_col;
                for (int64_t x = 0; x < count; ++x) dst[x * step] += share[x];
            }
        }
    }
}

template <typename T>
void avg_pool_backward_kernel(const Strided<T>& grad, const T* divisor, int64_t H, int64_t W, const Window2d& g,
                              T* out) {
    const int64_t C = grad.shape[1], planes = grad.shape[0] * C;
    const PoolSteps s(g, W, 1);
    const InsideTaps rows(g.oh, g.sh, g.ph, g.kh, g.dh, H), cols = inside_columns(g, W);
    auto interior = g.sw == 1   ? avg_pool_backward_interior<1, T>
                    : g.sw == 2 ? avg_pool_backward_interior<2, T>
                                : avg_pool_backward_interior<0, T>;
    // Windows that overlap add their shares at a common input in visit_windows' order (rows ascending, each row's
    // border windows first), which fixes the rounding of the sum.
#pragma omp parallel num_threads(kernel_threads()) if (planes * g.positions() * g.taps() > kParallelWork)
    {
        std::vector<T> share(g.positions());  // grad / divisor of one plane; one buffer per thread, not per plane
#pragma omp for schedule(static)
        for (int64_t nc = 0; nc < planes; ++nc) {
            const T* plane = grad.data + (nc / C) * grad.strides[0] + (nc % C) * grad.strides[1];
            for (int64_t y = 0; y < g.oh; ++y)
                for (int64_t x = 0; x < g.ow; ++x)
                    share[y * g.ow + x] = plane[y * grad.strides[2] + x * grad.strides[3]] / divisor[y * g.ow + x];
            T* dst = out + nc * H * W;
            std::fill(dst, dst + H * W, T(0));
            auto one_window = [&](int64_t y, int64_t x) {  // taps in the padding take their share nowhere
                T* origin = dst + g.row(y, 0) * W + g.col(x, 0);
                for (int64_t i = rows.first[y]; i < rows.last[y]; ++i)
                    for (int64_t j = cols.first[x]; j < cols.last[x]; ++j)
                        origin[i * s.tap_row + j * s.tap_col] += share[y * g.ow + x];
            };
            visit_windows(rows, cols, one_window, [&](int64_t y, int64_t n) {
                interior(share.data() + y * g.ow + cols.lo, g, s, rows.first[y], rows.last[y], n, cols.hi - cols.lo,
                         dst + g.row(y, 0) * W + g.col(cols.lo, 0));
            });
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

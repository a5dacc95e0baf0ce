// Softmax and log-softmax along one axis of an N-d array, and their backwards, fused: each slice
// along the axis is read two or three times (max, sum, result) and the result written once, where
// the NumPy path makes a full-size temporary for every operator.
// Each op is a sum over the slice and an elementwise result from it (see the Op structs below);
// two drivers walk the slices. When the axis is the last one, each slice is a row, and the loops
// run along it. Otherwise the loops run across the last dim, over a block of neighbouring slices
// ("lanes") at once, which keeps memory access sequential and lets the compiler vectorise.
// Sums add up in double, so float32 results do not drift on long slices.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"
#include "vmath.h"

namespace minitorch {

namespace {

// The four ops. Each slice s along the axis sums sum_term over its elements (after its max, when
// Shift is set); coef turns the max and the sum into one number, and value gives each result.
// `a` is x (forward) or y (backward), `b` is g (backward only); `stored` is what sum_term wrote
// to the output when Store is set.
struct Softmax {
    static constexpr bool Shift = true, Store = true;
    template <typename T>
    static T sum_term(T a, T, T m) { return exp_(a - m); }
    template <typename T>
    static T coef(T, double s) { return T(1 / s); }
    template <typename T>
    static T value(T, T, T, T c, T stored) { return stored * c; }
};

struct LogSoftmax {
    static constexpr bool Shift = true, Store = false;
    template <typename T>
    static T sum_term(T a, T, T m) { return exp_(a - m); }
    template <typename T>
    static T coef(T, double s) { return T(std::log(s)); }
    template <typename T>
    static T value(T a, T, T m, T c, T) { return (a - m) - c; }
};

struct SoftmaxBackward {  // dx = (g - Σ g y) * y
    static constexpr bool Shift = false, Store = false;
    template <typename T>
    static T sum_term(T y, T g, T) { return g * y; }
    template <typename T>
    static T coef(T, double s) { return T(s); }
    template <typename T>
    static T value(T y, T g, T, T c, T) { return (g - c) * y; }
};

struct LogSoftmaxBackward {  // dx = g - exp(y) * Σ g
    static constexpr bool Shift = false, Store = false;
    template <typename T>
    static T sum_term(T, T g, T) { return g; }
    template <typename T>
    static T coef(T, double s) { return T(s); }
    template <typename T>
    static T value(T y, T g, T, T c, T) { return g - exp_(y) * c; }
};

// The arrays of one call, every one of the same shape: inputs a and b (b = a for the forwards),
// and the contiguous output.
template <typename T>
struct Operands {
    Strided<T> a, b;
    T* out;
    std::vector<int64_t> out_strides;
};

// The L values at stride `step` from p, copied into `buffer`; returns buffer. Stride 0 (one value
// broadcast, as in the gradient of a sum) is a fill, which vectorises.
template <typename T>
const T* gather(const T* p, int64_t step, int64_t L, T* buffer) {
    if (step == 0)
        std::fill(buffer, buffer + L, *p);
    else
        for (int64_t l = 0; l < L; ++l) buffer[l] = p[l * step];
    return buffer;
}

// One row: the axis is the last dim, and a, b and out are contiguous along it.
// The loops stop at a multiple of kBlock; the last values go through zero-padded copies of kBlock
// values, in loops of that fixed length, which vectorise whole. (A plain loop's scalar remainder, up
// to 15 calls of exp_, costs as much as its vector body on rows of a few dozen values.)
constexpr int64_t kBlock = 16;

template <typename T, typename Op>
SIMD_CLONES void row(const T* a, const T* b, T* out, int64_t L) {
    const int64_t body = L - L % kBlock, rest = L - body;
    T m = 0;
    if (Op::Shift) {
        m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
        for (int64_t l = 0; l < body; ++l) m = a[l] > m ? a[l] : m;
    }
    T ta[kBlock], tb[kBlock], tt[kBlock];
    if (rest) {
        for (int64_t k = 0; k < kBlock; ++k) {
            ta[k] = k < rest ? a[body + k] : T(0);
            tb[k] = k < rest ? b[body + k] : T(0);
        }
        if (Op::Shift) {
#pragma omp simd reduction(max : m)
            for (int64_t k = 0; k < kBlock; ++k) m = k < rest && ta[k] > m ? ta[k] : m;
        }
    }
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t l = 0; l < body; ++l) {
        const T t = Op::sum_term(a[l], b[l], m);
        if (Op::Store) out[l] = t;
        s += t;
    }
    if (rest) {
        T part = 0;  // at most 15 values: float32 holds their sum as well as double would
#pragma omp simd reduction(+ : part)
        for (int64_t k = 0; k < kBlock; ++k) {
            tt[k] = Op::sum_term(ta[k], tb[k], m);
            part += k < rest ? tt[k] : T(0);
        }
        s += part;
        if (Op::Store) std::copy(tt, tt + rest, out + body);
    }
    const T c = Op::template coef<T>(m, s);
#pragma omp simd
    for (int64_t l = 0; l < body; ++l) out[l] = Op::value(a[l], b[l], m, c, Op::Store ? out[l] : T(0));
    if (rest) {
#pragma omp simd
        for (int64_t k = 0; k < kBlock; ++k) tt[k] = Op::value(ta[k], tb[k], m, c, Op::Store ? tt[k] : T(0));
        std::copy(tt, tt + rest, out + body);
    }
}

// The axis is not the last dim: n slices side by side along the last dim ("lanes") at once, each with
// its own max and sum; the loops run across the lanes. `Unit`: a and b have stride 1 across them.
constexpr int64_t kLanes = 128;

template <typename T, typename Op, bool Unit>
SIMD_CLONES void lanes(const T* a, const T* b, T* out, int64_t n, int64_t L, int64_t sa, int64_t sb, int64_t so,
                       int64_t ja, int64_t jb) {
    if (Unit) ja = jb = 1;
    T m[kLanes], c[kLanes];
    double s[kLanes];
    for (int64_t j = 0; j < n; ++j) m[j] = Op::Shift ? -std::numeric_limits<T>::infinity() : T(0), s[j] = 0;
    for (int64_t l = 0; Op::Shift && l < L; ++l) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) m[j] = a[l * sa + j * ja] > m[j] ? a[l * sa + j * ja] : m[j];
    }
    for (int64_t l = 0; l < L; ++l) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
            const T t = Op::sum_term(a[l * sa + j * ja], b[l * sb + j * jb], m[j]);
            if (Op::Store) out[l * so + j] = t;
            s[j] += t;
        }
    }
    for (int64_t j = 0; j < n; ++j) c[j] = Op::template coef<T>(m[j], s[j]);
    for (int64_t l = 0; l < L; ++l) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j)
            out[l * so + j] =
                Op::value(a[l * sa + j * ja], b[l * sb + j * jb], m[j], c[j], Op::Store ? out[l * so + j] : T(0));
    }
}

// Every slice, by rows or by blocks of lanes, spread over the threads. (The vector loops are in row and
// lanes, which SIMD_CLONES reaches; see common.h.)
template <typename T, typename Op>
void slices_kernel(const Operands<T>& ops, int axis, int64_t slices) {
    const int last = int(ops.a.shape.size()) - 1;
    // The dims that number the slices, in a, b and out: all but the axis, and for lanes but the last dim too.
    const MergedDims<3> outer(ops.a.shape.data(), {ops.a.strides.data(), ops.b.strides.data(), ops.out_strides.data()},
                              last, axis);
    const int64_t L = ops.a.shape[axis], sa = ops.a.strides[axis], sb = ops.b.strides[axis];
    if (axis == last) {
        // Rows at another stride (a transposed input, a gradient broadcast from a sum) are first copied
        // into a buffer of each thread: the copy costs less than exp_ outside the vector loops.
        const bool copy_a = sa != 1, copy_b = sb != 1, b_is_a = ops.b.data == ops.a.data && sb == sa;
#pragma omp parallel num_threads(kernel_threads()) if (slices * L > kParallelWork)
        {
            std::vector<T> row_a(copy_a ? L : 0), row_b(copy_b && !b_is_a ? L : 0);
#pragma omp for schedule(static)
            for (int64_t r = 0; r < slices; ++r) {
                const auto [oa, ob, oo] = outer.offsets(r);
                const T *a = ops.a.data + oa, *b = ops.b.data + ob;
                if (copy_a) a = gather(a, sa, L, row_a.data());
                if (copy_b) b = b_is_a ? a : gather(b, sb, L, row_b.data());
                row<T, Op>(a, b, ops.out + oo, L);
            }
        }
        return;
    }
    const int64_t J = ops.a.shape[last], blocks = (J + kLanes - 1) / kLanes, so = ops.out_strides[axis];
    const int64_t ja = ops.a.strides[last], jb = ops.b.strides[last];
    const bool unit = ja == 1 && jb == 1;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (slices * L > kParallelWork)
    for (int64_t item = 0; item < slices / J * blocks; ++item) {
        const int64_t j0 = item % blocks * kLanes, n = std::min(kLanes, J - j0);
        const auto [oa, ob, oo] = outer.offsets(item / blocks);
        const T *a = ops.a.data + oa + j0 * ja, *b = ops.b.data + ob + j0 * jb;
        if (unit)
            lanes<T, Op, true>(a, b, ops.out + oo + j0, n, L, sa, sb, so, ja, jb);
        else
            lanes<T, Op, false>(a, b, ops.out + oo + j0, n, L, sa, sb, so, ja, jb);
    }
}

int checked_axis(const py::array& a, int64_t axis, const char* kernel) {
    const int64_t ndim = a.ndim();
    if (ndim == 0)
        throw py::value_error(std::string(kernel) + ": expected an array with at least 1 dimension, but got a 0-d one");
    if (axis < -ndim || axis >= ndim)
        throw py::value_error(std::string(kernel) + ": axis " + std::to_string(axis) + " is out of range for " +
                              std::to_string(ndim) + " dimensions");
    return int(axis < 0 ? axis + ndim : axis);
}

// Checks the arguments, then runs Op over every slice of `a` (and `b`) along `axis`.
template <typename Op>
py::array run(const py::array& a, const py::array& b, int64_t axis_arg, const char* kernel, const char* a_name,
              const char* b_name) {
    const int axis = checked_axis(a, axis_arg, kernel);
    if (b.ndim() != a.ndim())
        throw py::value_error(std::string(kernel) + ": expected " + b_name + " of the shape of " + a_name + " " +
                              shape_str(a) + ", but got shape " + shape_str(b));
    for (py::ssize_t d = 0; d < a.ndim(); ++d) check_dim(b, d, a.shape(d), kernel, b_name);
    return dispatch_float(a, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        Operands<T> ops{strided<T>(a, kernel, a_name), strided<T>(b, kernel, b_name), nullptr, {}};
        const int last = int(a.ndim()) - 1;
        ops.out_strides.assign(a.ndim(), 1);
        for (int d = last; d > 0; --d) ops.out_strides[d - 1] = ops.out_strides[d] * ops.a.shape[d];
        py::array_t<T> out(ops.a.shape);
        ops.out = out.mutable_data();
        const int64_t L = ops.a.shape[axis], size = out.size();
        if (size == 0) return std::move(out);
        {
            py::gil_scoped_release unlocked;
            slices_kernel<T, Op>(ops, axis, size / L);
        }
        return std::move(out);
    });
}

}  // namespace

py::array softmax(const py::array& x, int64_t axis) { return run<Softmax>(x, x, axis, "softmax", "input", "input"); }

py::array log_softmax(const py::array& x, int64_t axis) {
    return run<LogSoftmax>(x, x, axis, "log_softmax", "input", "input");
}

py::array softmax_backward(const py::array& y, const py::array& grad, int64_t axis) {
    return run<SoftmaxBackward>(y, grad, axis, "softmax_backward", "output", "grad");
}

py::array log_softmax_backward(const py::array& y, const py::array& grad, int64_t axis) {
    return run<LogSoftmaxBackward>(y, grad, axis, "log_softmax_backward", "output", "grad");
}

}  // namespace minitorch

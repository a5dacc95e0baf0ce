// Elementwise activation kernels, each one pass over the data: GELU, x * Phi(x), and its input-gradient
// g * (Phi(x) + x * Phi'(x)); erf itself; and the input-gradients of tanh and sigmoid from their outputs y, which
// NumPy evaluates in three passes with a temporary array each. Phi is the normal CDF, (1 + erf(x / sqrt 2)) / 2,
// or PyTorch's tanh formula for it; erf and tanh are vectorised (vmath.h), where the NumPy path evaluates erf in
// some twenty passes, most of them gathers and scatters through masks. Inputs may have any strides; each result
// is a new contiguous array.
#include <array>

#include "kernels.h"
#include "vmath.h"

namespace minitorch {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kBeta = 0.79788456080286535588, kKappa = 0.044715;  // tanh formula: sqrt(2 / pi), cubic term

// The ops, elementwise, with the formulas of Backend.gelu and Backend.gelu_backward (minitorch/backends/base.py).
struct Erf {
    template <typename T>
    static T apply(T x) { return erf_(x); }
};

template <bool Tanh>
struct Gelu {
    template <typename T>
    static T apply(T x) {
        if constexpr (Tanh) return T(0.5) * x * (T(1) + tanh_(T(kBeta) * (x + T(kKappa) * x * x * x)));
        return T(0.5) * x * (T(1) + erf_(x * T(kSqrt1_2)));
    }
};

template <bool Tanh>
struct GeluBackward {
    template <typename T>
    static T apply(T g, T x) {
        if constexpr (Tanh) {
            const T t = tanh_(T(kBeta) * (x + T(kKappa) * x * x * x));
            return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kBeta) * (T(1) + T(3 * kKappa) * x * x));
        }
        return g * (T(0.5) * (T(1) + erf_(x * T(kSqrt1_2))) + x * exp_neg_(T(0.5) * x * x) * T(kInvSqrt2Pi));
    }
};

// PyTorch's tanh_backward and sigmoid_backward: the derivative from the forward's output y, g * (1 - y²) and
// g * y * (1 - y), the formulas of Backend.tanh_backward and Backend.sigmoid_backward.
struct TanhBackward {
    template <typename T>
    static T apply(T g, T y) { return g * (T(1) - y * y); }
};

struct SigmoidBackward {
    template <typename T>
    static T apply(T g, T y) { return g * y * (T(1) - y); }
};

// One run of n values at stride as (and bs), 1 when `Unit`, which the compiler vectorises with plain loads. The
// result never overlaps the inputs (__restrict), so the loop needs no overlap checks. A call left in a loop stops
// its vectorisation, and GCC declines to inline float64's erf_ (a large function) in some builds: `flatten`
// inlines every call.
#define INLINE_ALL __attribute__((flatten))

template <typename Op, typename T, bool Unit>
SIMD_CLONES INLINE_ALL void unary_run(const T* __restrict a, int64_t as, int64_t n, T* __restrict out) {
    if (Unit) as = 1;
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i * as]);
}

template <typename Op, typename T, bool Unit>
SIMD_CLONES INLINE_ALL void binary_run(const T* __restrict a, int64_t as, const T* __restrict b, int64_t bs, int64_t n,
                                       T* __restrict out) {
    if (Unit) as = bs = 1;
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i * as], b[i * bs]);
}

// A new contiguous array of the inputs' shape, filled by run(pointers, steps, n, out) for every stretch of at
// most kChunk values along a row, spread over the threads; pointers[k] is where the stretch starts in input k,
// and steps[k] its stride.
constexpr int64_t kChunk = 4096;

template <typename T, size_t K, typename Run>
py::array elementwise(const std::array<const Strided<T>*, K>& inputs, Run&& run) {
    py::array_t<T> result(inputs[0]->shape);
    if (result.size() == 0) return std::move(result);
    const std::vector<int64_t>& shape = inputs[0]->shape;
    std::vector<int64_t> out_strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) out_strides[d - 1] = out_strides[d] * shape[d];
    // The inputs and the output (operand K) walked as rows along the last merged dim: contiguous operands make a
    // single row, and a slice or a broadcast keeps rows as long as memory allows.
    std::array<const int64_t*, K + 1> strides;
    for (size_t k = 0; k < K; ++k) strides[k] = inputs[k]->strides.data();
    strides[K] = out_strides.data();
    const MergedDims<K + 1> dims(shape.data(), strides, int(shape.size()));
    const int64_t L = dims.shape.back(), rows = dims.count() / L, chunks = (L + kChunk - 1) / kChunk;
    const std::array<int64_t, K + 1>& steps = dims.strides.back();
    T* out = result.mutable_data();
    py::gil_scoped_release unlocked;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (rows * L > kParallelWork)
    for (int64_t item = 0; item < rows * chunks; ++item) {
        const int64_t start = item % chunks * kChunk;
        const std::array<int64_t, K + 1> at = dims.offsets(item / chunks * L + start);
        std::array<const T*, K> from;
        for (size_t k = 0; k < K; ++k) from[k] = inputs[k]->data + at[k];
        run(from, steps, std::min(kChunk, L - start), out + at[K]);
    }
    return std::move(result);  // a move: no Python call without the GIL
}

template <typename Op, typename T>
py::array unary(const py::array& x, const char* kernel) {
    const Strided<T> a = strided<T>(x, kernel, "input");
    return elementwise<T, 1>({&a}, [](const auto& p, const auto& s, int64_t n, T* out) {
        s[0] == 1 ? unary_run<Op, T, true>(p[0], 1, n, out) : unary_run<Op, T, false>(p[0], s[0], n, out);
    });
}

template <typename Op, typename T>
py::array binary(const py::array& x, const py::array& y, const char* kernel, const char* x_name, const char* y_name) {
    const Strided<T> a = strided<T>(x, kernel, x_name), b = strided<T>(y, kernel, y_name);
    return elementwise<T, 2>({&a, &b}, [](const auto& p, const auto& s, int64_t n, T* out) {
        s[0] == 1 && s[1] == 1 ? binary_run<Op, T, true>(p[0], 1, p[1], 1, n, out)
                               : binary_run<Op, T, false>(p[0], s[0], p[1], s[1], n, out);
    });
}

// grad must have the shape of `other`, or ValueError.
void check_same_shape(const py::array& grad, const py::array& other, const char* kernel, const char* name) {
    if (grad.ndim() != other.ndim())
        throw py::value_error(std::string(kernel) + ": expected grad of the " + name + "'s shape " + shape_str(other) +
                              ", but got shape " + shape_str(grad));
    for (py::ssize_t d = 0; d < other.ndim(); ++d) check_dim(grad, d, other.shape(d), kernel, "grad");
}

// The input-gradient of an activation from its output y, by Op.
template <typename Op>
py::array from_output(const py::array& grad, const py::array& y, const char* kernel) {
    check_same_shape(grad, y, kernel, "output");
    return dispatch_float(y, kernel, [&](auto zero) {
        return binary<Op, decltype(zero)>(grad, y, kernel, "grad", "output");
    });
}

}  // namespace

py::array erf(const py::array& x) {
    return dispatch_float(x, "erf", [&](auto zero) { return unary<Erf, decltype(zero)>(x, "erf"); });
}

py::array gelu(const py::array& x, bool tanh) {
    return dispatch_float(x, "gelu", [&](auto zero) {
        using T = decltype(zero);
        return tanh ? unary<Gelu<true>, T>(x, "gelu") : unary<Gelu<false>, T>(x, "gelu");
    });
}

py::array gelu_backward(const py::array& grad, const py::array& x, bool tanh) {
    const char* kernel = "gelu_backward";
    check_same_shape(grad, x, kernel, "input");
    return dispatch_float(x, kernel, [&](auto zero) {
        using T = decltype(zero);
        return tanh ? binary<GeluBackward<true>, T>(grad, x, kernel, "grad", "input")
                    : binary<GeluBackward<false>, T>(grad, x, kernel, "grad", "input");
    });
}

py::array tanh_backward(const py::array& grad, const py::array& y) {
    return from_output<TanhBackward>(grad, y, "tanh_backward");
}

py::array sigmoid_backward(const py::array& grad, const py::array& y) {
    return from_output<SigmoidBackward>(grad, y, "sigmoid_backward");
}

}  // namespace minitorch

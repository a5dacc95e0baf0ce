// What every kernel of minitorch._C shares: argument checks that raise Python
// exceptions, a strided view of a NumPy array and a walker over such views, dtype
// dispatch, and OpenMP.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;

// SIMD_CLONES compiles a function once per instruction set (AVX-512, AVX2, baseline x86-64) and picks the best
// one the CPU has when the module loads, so the build stays portable (no -march=native) and vector loops still
// use the widest registers. Put it on the function holding the loops: OpenMP moves a parallel region's body
// into a function of its own, which the attribute does not reach.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

namespace minitorch {

// A loop runs on several threads only when it has at least this many element
// operations: below that, waking the threads costs more than it saves.
constexpr int64_t kParallelWork = 1 << 15;

// How many threads the kernels use, set by set_num_threads (module.cpp). Every
// parallel loop names it (num_threads) instead of relying on OpenMP's global
// setting, because a process may hold another copy of the OpenMP runtime
// (PyTorch ships its own) whose omp_set_num_threads would otherwise change ours.
inline int& kernel_threads() {
    static int threads = 1;
    return threads;
}

// A read-only view of an N-d array as a pointer and element strides: kernels
// index it themselves, so views (transposed, sliced, expanded) need no copy.
template <typename T>
struct Strided {
    const T* data;
    std::vector<int64_t> shape, strides;  // strides in elements, may be 0 or negative
};

// The dims of a loop over K operands of one shape, each with its own strides, reduced to as few as walk the
// same elements: size-1 dims are dropped, and dim d is merged into dim d-1 when every operand steps over the two
// as over one (stride[d-1] == stride[d] * shape[d]), so contiguous operands make one long dim and finding a
// position's offsets takes few divisions. At least one dim remains (size 1, strides 0, for a 0-d array); the
// last is the innermost, along which kernels run their vector loops.
template <size_t K>
struct MergedDims {
    std::vector<int64_t> shape;                   // the merged sizes, outermost first
    std::vector<std::array<int64_t, K>> strides;  // strides[d][k]: operand k's stride along merged dim d

    // From dims [0, nd) of `sizes`, operand k stepping by strides_of[k][d] along dim d; dim `skip` (if any) is
    // left out, as a kernel does with the axis it reduces along.
    MergedDims(const int64_t* sizes, const std::array<const int64_t*, K>& strides_of, int nd, int skip = -1) {
        for (int d = 0; d < nd; ++d) {
            if (d == skip || sizes[d] == 1) continue;
            std::array<int64_t, K> s;
            bool merge = !shape.empty();
            for (size_t k = 0; k < K; ++k) {
                s[k] = strides_of[k][d];
                merge = merge && strides.back()[k] == s[k] * sizes[d];
            }
            if (merge) {
                shape.back() *= sizes[d];
                strides.back() = s;
            } else {
                shape.push_back(sizes[d]);
                strides.push_back(s);
            }
        }
        if (shape.empty()) shape.push_back(1), strides.push_back({});
    }

    // How many positions the dims hold.
    int64_t count() const {
        int64_t n = 1;
        for (int64_t s : shape) n *= s;
        return n;
    }

    // The K operands' offsets of position i, counted row-major over the dims (i < count()).
    std::array<int64_t, K> offsets(int64_t i) const {
        std::array<int64_t, K> o{};
        for (size_t d = shape.size(); d-- > 1;) {
            const int64_t j = i % shape[d];
            i /= shape[d];
            for (size_t k = 0; k < K; ++k) o[k] += j * strides[d][k];
        }
        for (size_t k = 0; k < K; ++k) o[k] += i * strides[0][k];  // the outermost dim needs no division
        return o;
    }
};

inline std::string shape_str(const py::array& a) {
    std::string s = "[";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + "]";
}

// Raises ValueError unless `a` has `ndim` dimensions.
inline void check_rank(const py::array& a, py::ssize_t ndim, const char* kernel, const char* name) {
    if (a.ndim() != ndim)
        throw py::value_error(std::string(kernel) + ": expected " + name + " to have " + std::to_string(ndim) +
                              " dimensions, but got shape " + shape_str(a));
}

// Raises ValueError unless dim `d` of `a` has size `n`.
inline void check_dim(const py::array& a, py::ssize_t d, int64_t n, const char* kernel, const char* name) {
    if (a.shape(d) != n)
        throw py::value_error(std::string(kernel) + ": expected " + name + " of size " + std::to_string(n) +
                              " at dimension " + std::to_string(d) + ", but got shape " + shape_str(a));
}

// Raises TypeError unless `a` holds T.
template <typename T>
void check_dtype(const py::array& a, const char* kernel, const char* name) {
    if (!a.dtype().equal(py::dtype::of<T>()))
        throw py::type_error(std::string(kernel) + ": expected " + name + " of dtype " +
                             std::string(py::str(py::dtype::of<T>())) + ", but got " +
                             std::string(py::str(a.dtype())) + "; convert it first");
}

template <typename T>
Strided<T> strided(const py::array& a, const char* kernel, const char* name) {
    check_dtype<T>(a, kernel, name);
    Strided<T> v{static_cast<const T*>(a.data()), {}, {}};
    bool aligned = reinterpret_cast<std::uintptr_t>(v.data) % alignof(T) == 0;
    for (py::ssize_t d = 0; d < a.ndim(); ++d) aligned = aligned && a.strides(d) % py::ssize_t(sizeof(T)) == 0;
    if (!aligned)
        throw py::value_error(std::string(kernel) + ": " + name + " is not aligned to its element size; pass a copy");
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        v.shape.push_back(a.shape(d));
        v.strides.push_back(a.strides(d) / static_cast<py::ssize_t>(sizeof(T)));
    }
    return v;
}

// A (n,) contiguous array of dtype T.
template <typename T>
const T* vector_of(const py::array& a, int64_t n, const char* kernel, const char* name) {
    check_dtype<T>(a, kernel, name);
    check_rank(a, 1, kernel, name);
    check_dim(a, 0, n, kernel, name);
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(kernel) + ": " + name + " must be contiguous");
    return static_cast<const T*>(a.data());
}

// Calls body<float>() or body<double>() by the dtype of `a`; other dtypes raise TypeError.
template <typename Body>
auto dispatch_float(const py::array& a, const char* kernel, Body&& body) {
    if (a.dtype().is(py::dtype::of<float>())) return body(float{});
    if (a.dtype().is(py::dtype::of<double>())) return body(double{});
    throw py::type_error(std::string(kernel) + ": expected a float32 or float64 array, but got " +
                         std::string(py::str(a.dtype())) + "; convert it first");
}

// dst[x] = src[x * Step] for x < n (Step 0: `step`, known only at run time); Step 1 is a plain vectorised copy.
template <int64_t Step, typename T>
inline void copy_row(const T* src, int64_t step, int64_t n, T* dst) {
    const int64_t s = Step ? Step : step;
    for (int64_t x = 0; x < n; ++x) dst[x] = src[x * s];
}

// dst[q] = src[q * step] for q < n, vectorised in the common case of contiguous rows.
template <typename T>
inline void copy_any_row(const T* src, int64_t step, int64_t n, T* dst) {
    step == 1 ? copy_row<1>(src, 1, n, dst) : copy_row<0>(src, step, n, dst);
}

// The window geometry of a 2-d convolution or pool, checked once.
struct Window2d {
    int64_t kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;

    Window2d(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ph, int64_t pw,
             int64_t oh, int64_t ow, const char* kernel)
        : kh(kh), kw(kw), sh(sh), sw(sw), dh(dh), dw(dw), ph(ph), pw(pw), oh(oh), ow(ow) {
        if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || oh < 0 || ow < 0)
            throw py::value_error(std::string(kernel) +
                                  ": kernel, stride and dilation must be positive, padding and output size "
                                  "non-negative");
    }
    int64_t taps() const { return kh * kw; }
    int64_t positions() const { return oh * ow; }
    // Input row of tap row i at output row y (may fall in the padding: < 0 or >= H).
    int64_t row(int64_t y, int64_t i) const { return y * sh - ph + i * dh; }
    int64_t col(int64_t x, int64_t j) const { return x * sw - pw + j * dw; }
};

}  // namespace minitorch

// One time step of an LSTM cell's pointwise part, fused, forward and backward. The matrix products
// around it (h @ W_hh^T forward, dz @ W_hh backward) stay in BLAS; what is left per step is a dozen
// elementwise operations on (N, 4H) and (N, H) arrays, which the NumPy path runs as a dozen passes
// and temporaries and which here are one pass over each row, with tanh and sigmoid vectorised (vmath.h).
//
// With pre-activations z = gx + hw split into four blocks of H columns, i | f | g | o:
//   i, f, o = sigmoid(z_i, z_f, z_o), g = tanh(z_g), c = f * c_prev + i * g, h = o * tanh(c).
// Every array is 2-d with its rows at any stride and unit stride along a row; outputs are written in
// place (slices of the layer's buffers for all steps), and must not overlap the inputs.
#include "kernels.h"
#include "vmath.h"

namespace minitorch {

namespace {

// A 2-d array of T checked to be (rows, cols) with unit stride along a row: its rows may be apart by any
// stride (a time step's slice of a (T, N, 4H) buffer, or of a batch-first one). Writable when `Out`.
template <typename T, bool Out = false>
struct Rows {
    using Ptr = std::conditional_t<Out, T*, const T*>;
    Ptr data;
    int64_t stride;
    Ptr operator[](int64_t n) const { return data + n * stride; }
};

template <typename T, bool Out = false>
Rows<T, Out> rows_of(const py::array& a, int64_t rows, int64_t cols, const char* kernel, const char* name) {
    check_rank(a, 2, kernel, name);
    check_dim(a, 0, rows, kernel, name);
    check_dim(a, 1, cols, kernel, name);
    auto v = strided<T>(a, kernel, name);  // checks dtype and alignment
    if (cols > 1 && v.strides[1] != 1)
        throw py::value_error(std::string(kernel) + ": " + name +
                              " must have contiguous rows (unit stride along dim 1)");
    if constexpr (Out) {
        if (!a.writeable()) throw py::value_error(std::string(kernel) + ": " + name + " is read-only");
        return {const_cast<T*>(v.data), v.strides[0]};
    } else {
        return {v.data, v.strides[0]};
    }
}

// One row. The arrays do not overlap (__restrict says so), which lets the compiler vectorise the loop without
// checking every pair of them for overlap at run time, more pairs than it is willing to check.
template <typename T>
SIMD_CLONES void cell_row(const T* __restrict gx, const T* __restrict hw, const T* __restrict c_prev, int64_t H,
                          T* __restrict gates, T* __restrict c, T* __restrict tanh_c, T* __restrict h) {
    for (int64_t j = 0; j < H; ++j) {
        const T i = sigmoid_(gx[j] + hw[j]), f = sigmoid_(gx[H + j] + hw[H + j]);
        const T g = tanh_(gx[2 * H + j] + hw[2 * H + j]), o = sigmoid_(gx[3 * H + j] + hw[3 * H + j]);
        gates[j] = i, gates[H + j] = f, gates[2 * H + j] = g, gates[3 * H + j] = o;
        c[j] = f * c_prev[j] + i * g;
        tanh_c[j] = tanh_(c[j]);
        h[j] = o * tanh_c[j];
    }
}

// The gradient reaching c is d_c (from step t + 1) plus d_h * o * (1 - tanh(c)²) (through h); each gate's
// is that times what it multiplies, times its activation's derivative: y (1 - y) for a sigmoid, 1 - y² for tanh.
template <typename T>
SIMD_CLONES void cell_backward_row(const T* __restrict gates, const T* __restrict c_prev, const T* __restrict tanh_c,
                                   const T* __restrict d_h, int64_t H, T* __restrict d_c, T* __restrict d_gates) {
    for (int64_t j = 0; j < H; ++j) {
        const T i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j], tc = tanh_c[j];
        const T dc = d_c[j] + d_h[j] * o * (1 - tc * tc);
        d_gates[j] = dc * g * i * (1 - i);
        d_gates[H + j] = dc * c_prev[j] * f * (1 - f);
        d_gates[2 * H + j] = dc * i * (1 - g * g);
        d_gates[3 * H + j] = d_h[j] * tc * o * (1 - o);
        d_c[j] = dc * f;  // what reaches c_prev
    }
}

}  // namespace

void lstm_cell(const py::array& gx, const py::array& hw, const py::array& c_prev, const py::array& gates,
               const py::array& c, const py::array& tanh_c, const py::array& h) {
    const char* kernel = "lstm_cell";
    check_rank(c_prev, 2, kernel, "c_prev (N, H)");
    const int64_t N = c_prev.shape(0), H = c_prev.shape(1);
    dispatch_float(c_prev, kernel, [&](auto zero) {
        using T = decltype(zero);
        const auto x = rows_of<T>(gx, N, 4 * H, kernel, "gx (N, 4H)"), w = rows_of<T>(hw, N, 4 * H, kernel, "hw");
        const auto cp = rows_of<T>(c_prev, N, H, kernel, "c_prev");
        const auto z = rows_of<T, true>(gates, N, 4 * H, kernel, "gates (N, 4H)");
        const auto cn = rows_of<T, true>(c, N, H, kernel, "c (N, H)");
        const auto tc = rows_of<T, true>(tanh_c, N, H, kernel, "tanh_c");
        const auto hn = rows_of<T, true>(h, N, H, kernel, "h (N, H)");
        py::gil_scoped_release unlocked;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (N * H > kParallelWork)
        for (int64_t n = 0; n < N; ++n) cell_row<T>(x[n], w[n], cp[n], H, z[n], cn[n], tc[n], hn[n]);
    });
}

void lstm_cell_backward(const py::array& gates, const py::array& c_prev, const py::array& tanh_c,
                        const py::array& d_h, const py::array& d_c, const py::array& d_gates) {
    const char* kernel = "lstm_cell_backward";
    check_rank(c_prev, 2, kernel, "c_prev (N, H)");
    const int64_t N = c_prev.shape(0), H = c_prev.shape(1);
    dispatch_float(c_prev, kernel, [&](auto zero) {
        using T = decltype(zero);
        const auto z = rows_of<T>(gates, N, 4 * H, kernel, "gates (N, 4H)");
        const auto cp = rows_of<T>(c_prev, N, H, kernel, "c_prev");
        const auto tc = rows_of<T>(tanh_c, N, H, kernel, "tanh_c (N, H)");
        const auto dh = rows_of<T>(d_h, N, H, kernel, "d_h (N, H)");
        const auto dc = rows_of<T, true>(d_c, N, H, kernel, "d_c (N, H)");
        const auto dz = rows_of<T, true>(d_gates, N, 4 * H, kernel, "d_gates (N, 4H)");
        py::gil_scoped_release unlocked;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (N * H > kParallelWork)
        for (int64_t n = 0; n < N; ++n) cell_backward_row<T>(z[n], cp[n], tc[n], dh[n], H, dc[n], dz[n]);
    });
}

}  // namespace minitorch

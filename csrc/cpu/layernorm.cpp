// Layer normalization, fused: each row of x (M, D) is normalized by its own mean and variance,
// then scaled and shifted per feature, y = (x - mean) * rstd * weight + bias.
// The forward reads a row three times (mean, variance, result) and the backward reads g and x
// twice (sums, result); a row of a Transformer (D in the hundreds) stays in L1 between passes, so
// each array crosses memory once, where the NumPy path makes a temporary for every operator.
// Sums add up in double, so float32 statistics do not drift on long rows.
#include <cmath>

#include "kernels.h"

namespace minitorch {

namespace {

int thread_index() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// One row of D values at stride `step` (1 when `Unit`, the common case, which the compiler
// vectorises with plain loads): y = (x - mean) * rstd * weight + bias, and the row's mean and var.
template <typename T, bool Unit>
SIMD_CLONES void layer_norm_row(const T* p, int64_t step, int64_t D, const T* weight, const T* bias, double eps,
                                T* out, T& mean, T& var) {
    if (Unit) step = 1;
    // Two passes, mean then the mean of squared deviations: stable where E[x²] - E[x]² is not.
    double m = 0, v = 0;
#pragma omp simd reduction(+ : m)
    for (int64_t d = 0; d < D; ++d) m += p[d * step];
    const T mt = T(m / double(D));  // D = 0 gives nan statistics, as in PyTorch
#pragma omp simd reduction(+ : v)
    for (int64_t d = 0; d < D; ++d) v += (p[d * step] - mt) * (p[d * step] - mt);
    v /= double(D);
    mean = mt;
    var = T(v);
    const T rstd = T(1 / std::sqrt(v + eps));
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) out[d] = (p[d * step] - mt) * rstd * weight[d] + bias[d];
}

template <typename T, bool Unit>
void layer_norm_kernel(const Strided<T>& x, const T* weight, const T* bias, double eps, T* y, T* mean, T* var) {
    const int64_t M = x.shape[0], D = x.shape[1];
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (M * D > kParallelWork)
    for (int64_t i = 0; i < M; ++i)
        layer_norm_row<T, Unit>(x.data + i * x.strides[0], x.strides[1], D, weight, bias, eps, y + i * D, mean[i],
                                var[i]);
}

// With x̂ = (x - mean) * rstd and ĝ = g * weight over a row of D values:
//   grad_x = rstd * (ĝ - mean(ĝ) - x̂ * mean(ĝ x̂)),
// and the row's terms of grad_weight = Σ g x̂ and grad_bias = Σ g added into gw and gb.
template <typename T, bool Unit>
SIMD_CLONES void layer_norm_backward_row(const T* gp, int64_t gs, const T* xp, int64_t xs, int64_t D,
                                         const T* weight, T mt, T rstd, T* dst, double* gw, double* gb) {
    if (Unit) gs = xs = 1;
    double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t d = 0; d < D; ++d) {
        const T xhat = (xp[d * xs] - mt) * rstd, gh = gp[d * gs] * weight[d];
        sg += gh;
        sgx += gh * xhat;
        gw[d] += gp[d * gs] * xhat;
        gb[d] += gp[d * gs];
    }
    const T a = T(sg / double(D)), b = T(sgx / double(D));
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) {
        const T xhat = (xp[d * xs] - mt) * rstd;
        dst[d] = rstd * (gp[d * gs] * weight[d] - a - xhat * b);
    }
}

// Each thread adds its rows into its own (D,) sums in `acc` (weight's, then bias's), added up afterwards.
template <typename T, bool Unit>
void layer_norm_backward_kernel(const Strided<T>& g, const Strided<T>& x, const T* weight, const T* mean,
                                const T* var, double eps, T* gx, std::vector<double>& acc) {
    const int64_t M = x.shape[0], D = x.shape[1];
    const int threads = M * D > kParallelWork ? kernel_threads() : 1;
    acc.assign(size_t(threads) * 2 * D, 0.0);
#pragma omp parallel num_threads(threads)
    {
        double* gw = acc.data() + size_t(thread_index()) * 2 * D;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < M; ++i) {
            const T rstd = T(1 / std::sqrt(double(var[i]) + eps));
            layer_norm_backward_row<T, Unit>(g.data + i * g.strides[0], g.strides[1], x.data + i * x.strides[0],
                                             x.strides[1], D, weight, mean[i], rstd, gx + i * D, gw, gw + D);
        }
    }
}

// weight or bias: a (D,) array, or None, which acts as `fill` (ones for weight, zeros for bias) kept in `store`.
template <typename T>
const T* affine(const py::object& p, int64_t D, T fill, std::vector<T>& store, const char* kernel, const char* name) {
    if (p.is_none()) {
        store.assign(size_t(D), fill);
        return store.data();
    }
    if (!py::isinstance<py::array>(p))
        throw py::type_error(std::string(kernel) + ": expected " + name + " to be a NumPy array or None");
    return vector_of<T>(p.cast<py::array>(), D, kernel, name);
}

}  // namespace

py::tuple layer_norm(const py::array& x, const py::object& weight, const py::object& bias, double eps) {
    const char* kernel = "layer_norm";
    check_rank(x, 2, kernel, "input (M, D)");
    return dispatch_float(x, kernel, [&](auto zero) -> py::tuple {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        const int64_t M = in.shape[0], D = in.shape[1];
        std::vector<T> ones, zeros;
        const T* w = affine<T>(weight, D, T(1), ones, kernel, "weight");
        const T* b = affine<T>(bias, D, T(0), zeros, kernel, "bias");
        py::array_t<T> y({M, D}), mean(M), var(M);
        T *py_ = y.mutable_data(), *pm = mean.mutable_data(), *pv = var.mutable_data();
        {
            py::gil_scoped_release unlocked;
            if (in.strides[1] == 1)
                layer_norm_kernel<T, true>(in, w, b, eps, py_, pm, pv);
            else
                layer_norm_kernel<T, false>(in, w, b, eps, py_, pm, pv);
        }
        return py::make_tuple(y, mean, var);
    });
}

py::tuple layer_norm_backward(const py::array& grad, const py::array& x, const py::object& weight,
                              const py::array& mean, const py::array& var, double eps) {
    const char* kernel = "layer_norm_backward";
    check_rank(x, 2, kernel, "input (M, D)");
    check_rank(grad, 2, kernel, "grad (M, D)");
    for (py::ssize_t d = 0; d < 2; ++d) check_dim(grad, d, x.shape(d), kernel, "grad");
    return dispatch_float(x, kernel, [&](auto zero) -> py::tuple {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        auto g = strided<T>(grad, kernel, "grad");
        const int64_t M = in.shape[0], D = in.shape[1];
        std::vector<T> ones;
        const T* w = affine<T>(weight, D, T(1), ones, kernel, "weight");
        const T* m = vector_of<T>(mean, M, kernel, "mean");
        const T* v = vector_of<T>(var, M, kernel, "var");
        py::array_t<T> gx({M, D}), gw(D), gb(D);
        T *pgx = gx.mutable_data(), *pgw = gw.mutable_data(), *pgb = gb.mutable_data();
        {
            py::gil_scoped_release unlocked;
            std::vector<double> acc;
            if (g.strides[1] == 1 && in.strides[1] == 1)
                layer_norm_backward_kernel<T, true>(g, in, w, m, v, eps, pgx, acc);
            else
                layer_norm_backward_kernel<T, false>(g, in, w, m, v, eps, pgx, acc);
            for (int64_t d = 0; d < D; ++d) {
                double sw = 0, sb = 0;
                for (size_t t = 0; t < acc.size(); t += 2 * size_t(D)) sw += acc[t + d], sb += acc[t + D + d];
                pgw[d] = T(sw), pgb[d] = T(sb);
            }
        }
        return py::make_tuple(gx, gw, gb);
    });
}

}  // namespace minitorch

// Batch normalization in training mode, fused: per-channel statistics over the
// batch and positions of x (N, C, L), then y = x * scale + shift with the
// per-channel scale from the variance and weight.
// The forward reads x three times (mean, variance, result), the backward reads
// g and x twice (sums, result); each writes once, where the NumPy path makes a
// temporary array for every operator.
// Sums run in T over short blocks (fast SIMD) and add up in double, so float32
// statistics do not drift over millions of values.
#include <cmath>

#include "kernels.h"

namespace minitorch {

namespace {

// Σ term(l) for l in [0, L): partial sums in T over blocks short enough to stay exact to a few ulps,
// their total in double.
template <typename T, typename Term>
double sum_of(int64_t L, Term term) {
    constexpr int64_t kBlock = 256;
    double total = 0;
    for (int64_t l0 = 0; l0 < L; l0 += kBlock) {
        const int64_t l1 = std::min(L, l0 + kBlock);
        T part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t l = l0; l < l1; ++l) part += term(l);
        total += part;
    }
    return total;
}

// `Unit`: every row of x (and g) is contiguous, the common case, which the compiler vectorises with
// plain loads; otherwise each element is fetched on its own, at any stride.
template <typename T, bool Unit>
void batch_norm_kernel(const Strided<T>& x, const T* weight, const T* bias, double eps, T* y, T* mean, T* var) {
    const int64_t N = x.shape[0], C = x.shape[1], L = x.shape[2], step = Unit ? 1 : x.strides[2];
    const double count = double(N * L);  // 0 gives nan statistics, as in PyTorch
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (N * C * L > kParallelWork)
    for (int64_t c = 0; c < C; ++c) {
        // Two passes, mean then the mean of squared deviations: stable where E[x²] - E[x]² is not.
        double m = 0, v = 0;
        for (int64_t n = 0; n < N; ++n) {
            const T* p = x.data + n * x.strides[0] + c * x.strides[1];
            m += sum_of<T>(L, [=](int64_t l) { return p[l * step]; });
        }
        m /= count;
        const T mt = T(m);
        for (int64_t n = 0; n < N; ++n) {
            const T* p = x.data + n * x.strides[0] + c * x.strides[1];
            v += sum_of<T>(L, [=](int64_t l) { return (p[l * step] - mt) * (p[l * step] - mt); });
        }
        v /= count;
        mean[c] = T(m);
        var[c] = T(v);
        // y = (x - mean) * scale + bias; subtracting the mean first keeps the precision that
        // x * scale + (bias - mean * scale) would lose when the variance is tiny beside the mean.
        const T a = T(double(weight[c]) / std::sqrt(v + eps)), b = bias[c];
        for (int64_t n = 0; n < N; ++n) {
            const T* src = x.data + n * x.strides[0] + c * x.strides[1];
            T* dst = y + (n * C + c) * L;
#pragma omp simd
            for (int64_t l = 0; l < L; ++l) dst[l] = (src[l * step] - mt) * a + b;
        }
    }
}

// With x̂ = (x - mean) * rstd and sums Sg = Σ g, Sgx = Σ g (x - mean) over a channel's M values:
//   grad_bias = Sg, grad_weight = rstd * Sgx (0 for an empty channel),
//   grad_x = weight * rstd * (g - Sg / M - x̂ * rstd * Sgx / M), an affine map of g and x - mean.
template <typename T, bool Unit>
void batch_norm_backward_kernel(const Strided<T>& g, const Strided<T>& x, const T* weight, const T* mean,
                                const T* var, double eps, T* gx, T* gw, T* gb) {
    const int64_t N = x.shape[0], C = x.shape[1], L = x.shape[2];
    const int64_t gs = Unit ? 1 : g.strides[2], xs = Unit ? 1 : x.strides[2];
    const double count = double(N * L);
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) \
    if (N * C * L > kParallelWork)
    for (int64_t c = 0; c < C; ++c) {
        const double m = mean[c], rstd = 1 / std::sqrt(double(var[c]) + eps);
        const T mt = T(m);
        double sg = 0, sgx = 0;
        for (int64_t n = 0; n < N; ++n) {
            const T* gp = g.data + n * g.strides[0] + c * g.strides[1];
            const T* xp = x.data + n * x.strides[0] + c * x.strides[1];
            sg += sum_of<T>(L, [=](int64_t l) { return gp[l * gs]; });
            sgx += sum_of<T>(L, [=](int64_t l) { return gp[l * gs] * (xp[l * xs] - mt); });
        }
        gb[c] = T(sg);
        gw[c] = count > 0 ? T(rstd * sgx) : T(0);  // a sum over no values is 0 (rstd is nan), as in PyTorch
        const double a = double(weight[c]) * rstd;
        const T ta = T(a), tb = T(-a * rstd * rstd * sgx / count), tc = T(-a * sg / count);
        for (int64_t n = 0; n < N; ++n) {
            const T* gp = g.data + n * g.strides[0] + c * g.strides[1];
            const T* xp = x.data + n * x.strides[0] + c * x.strides[1];
            T* dst = gx + (n * C + c) * L;
#pragma omp simd
            for (int64_t l = 0; l < L; ++l) dst[l] = ta * gp[l * gs] + tb * (xp[l * xs] - mt) + tc;
        }
    }
}

}  // namespace

py::tuple batch_norm(const py::array& x, const py::array& weight, const py::array& bias, double eps) {
    const char* kernel = "batch_norm";
    check_rank(x, 3, kernel, "input (N, C, L)");
    return dispatch_float(x, kernel, [&](auto zero) -> py::tuple {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        const int64_t C = in.shape[1];
        const T* w = vector_of<T>(weight, C, kernel, "weight");
        const T* b = vector_of<T>(bias, C, kernel, "bias");
        py::array_t<T> y({in.shape[0], C, in.shape[2]}), mean(C), var(C);
        T *py_ = y.mutable_data(), *pm = mean.mutable_data(), *pv = var.mutable_data();
        {
            py::gil_scoped_release unlocked;
            if (in.strides[2] == 1)
                batch_norm_kernel<T, true>(in, w, b, eps, py_, pm, pv);
            else
                batch_norm_kernel<T, false>(in, w, b, eps, py_, pm, pv);
        }
        return py::make_tuple(y, mean, var);
    });
}

py::tuple batch_norm_backward(const py::array& grad, const py::array& x, const py::array& weight,
                              const py::array& mean, const py::array& var, double eps) {
    const char* kernel = "batch_norm_backward";
    check_rank(x, 3, kernel, "input (N, C, L)");
    check_rank(grad, 3, kernel, "grad (N, C, L)");
    for (py::ssize_t d = 0; d < 3; ++d) check_dim(grad, d, x.shape(d), kernel, "grad");
    return dispatch_float(x, kernel, [&](auto zero) -> py::tuple {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        auto g = strided<T>(grad, kernel, "grad");
        const int64_t C = in.shape[1];
        const T* w = vector_of<T>(weight, C, kernel, "weight");
        const T* m = vector_of<T>(mean, C, kernel, "mean");
        const T* v = vector_of<T>(var, C, kernel, "var");
        py::array_t<T> gx({in.shape[0], C, in.shape[2]}), gw(C), gb(C);
        T *pgx = gx.mutable_data(), *pgw = gw.mutable_data(), *pgb = gb.mutable_data();
        {
            py::gil_scoped_release unlocked;
            if (g.strides[2] == 1 && in.strides[2] == 1)
                batch_norm_backward_kernel<T, true>(g, in, w, m, v, eps, pgx, pgw, pgb);
            else
                batch_norm_backward_kernel<T, false>(g, in, w, m, v, eps, pgx, pgw, pgb);
        }
        return py::make_tuple(gx, gw, gb);
    });
}

}  // namespace minitorch

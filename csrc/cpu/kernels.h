// The functions minitorch._C exports; module.cpp binds them to Python.
#pragma once

#include "common.h"

namespace minitorch {

// im2col.cpp: x (N, C, H, W) -> columns (C * kh * kw, N * oh * ow), and back (summing overlaps).
py::array im2col(const py::array& x, const Window2d& g);
py::array col2im(const py::array& cols, int64_t N, int64_t H, int64_t W, const Window2d& g);

// conv_direct.cpp: stride-1 convolution of x (N, C, H, W) with w (O, C, kh, kw) and its weight gradient,
// without im2col columns; for small layers, where the GEMM of im2col would be thin.
py::array conv2d_direct(const py::array& x, const py::array& w, const Window2d& g);
py::array conv2d_direct_weight_grad(const py::array& x, const py::array& grad, const Window2d& g);

// pool.cpp: max pooling returns (values, int64 winning tap); average pooling divides by divisor[oh, ow].
py::tuple max_pool2d(const py::array& x, const Window2d& g);
py::array max_pool2d_backward(const py::array& grad, const py::array& taps, int64_t H, int64_t W, const Window2d& g);
py::array avg_pool2d(const py::array& x, const py::array& divisor, const Window2d& g);
py::array avg_pool2d_backward(const py::array& grad, const py::array& divisor, int64_t H, int64_t W,
                              const Window2d& g);

// batchnorm.cpp: training-mode batch norm of x (N, C, L) with per-channel (C,) weight and bias.
// The forward returns (y, mean, biased var); the backward (grad_x, grad_weight, grad_bias).
py::tuple batch_norm(const py::array& x, const py::array& weight, const py::array& bias, double eps);
py::tuple batch_norm_backward(const py::array& grad, const py::array& x, const py::array& weight,
                              const py::array& mean, const py::array& var, double eps);

// gemm.cpp: the teaching matrix product, for the benchmarks to compare with BLAS.
py::array gemm(const py::array& a, const py::array& b);

}  // namespace minitorch

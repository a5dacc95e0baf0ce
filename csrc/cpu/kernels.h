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

// winograd.cpp: a stride-1 3x3 convolution as Winograd's F(2x2, 3x3), y = output(V[k] @ U[k]) over its 16 k:
// U (16, C, O) from w (O, C, 3, 3); V (16, N * tiles, C) from x (N, C, H, W), zero-padded by ph on top and
// pw on the left, tiles = ceil(oh / 2) * ceil(ow / 2); y (N, O, oh, ow) from M (16, N * tiles, O).
py::array winograd_weight(const py::array& w);
py::array winograd_input(const py::array& x, int64_t ph, int64_t pw, int64_t oh, int64_t ow);
py::array winograd_output(const py::array& m, int64_t N, int64_t oh, int64_t ow);
// Their transposes, for the weight gradient in the same domain: dMᵀ (16, O, N * tiles) from the output gradient
// g (N, O, oh, ow), A dY Aᵀ per 2x2 tile dY (zero past oh, ow); and gw (O, C, 3, 3) from dU (16, C, O), Gᵀ dU G.
py::array winograd_output_grad(const py::array& g);
py::array winograd_weight_grad(const py::array& du);

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

// scatter.cpp: along `axis`, with int64 indices checked to lie inside (IndexError otherwise) and repeated
// indices adding up in index order. index_add adds src's slice m into out's slice index[m] (index 1-d);
// scatter_add adds src[p] into out at p with p[axis] replaced by index[p]; gather reads x that way.
// out is written in place and must not share memory with src.
void index_add(const py::array& out, int64_t axis, const py::array& index, const py::array& src);
void scatter_add(const py::array& out, int64_t axis, const py::array& index, const py::array& src);
py::array gather(const py::array& x, int64_t axis, const py::array& index);

// softmax.cpp: softmax and log_softmax along `axis` of an N-d array, and their input-gradients
// from the output y and its gradient; every result is a new contiguous array of the input's shape.
py::array softmax(const py::array& x, int64_t axis);
py::array log_softmax(const py::array& x, int64_t axis);
py::array softmax_backward(const py::array& y, const py::array& grad, int64_t axis);
py::array log_softmax_backward(const py::array& y, const py::array& grad, int64_t axis);

// layernorm.cpp: layer norm over each row of x (M, D), with (D,) weight and bias that may be None.
// The forward returns (y, mean, biased var), per row; the backward (grad_x, grad_weight, grad_bias).
py::tuple layer_norm(const py::array& x, const py::object& weight, const py::object& bias, double eps);
py::tuple layer_norm_backward(const py::array& grad, const py::array& x, const py::object& weight,
                              const py::array& mean, const py::array& var, double eps);

// lstm.cpp: one LSTM step's pointwise part, written into the given arrays, for pre-activations gx + hw (N, 4H)
// in blocks i | f | g | o: gates (activated), c = f * c_prev + i * g, tanh_c = tanh(c) and h = o * tanh_c. The
// backward reads d_c, the gradient of c, and overwrites it with that of c_prev; it writes that of gx into d_gates.
void lstm_cell(const py::array& gx, const py::array& hw, const py::array& c_prev, const py::array& gates,
               const py::array& c, const py::array& tanh_c, const py::array& h);
void lstm_cell_backward(const py::array& gates, const py::array& c_prev, const py::array& tanh_c,
                        const py::array& d_h, const py::array& d_c, const py::array& d_gates);

// activation.cpp: erf; GELU, x * Phi(x) with Phi the normal CDF (1 + erf(x / sqrt 2)) / 2, or PyTorch's tanh
// formula for it when `tanh`; GELU's input-gradient g * (Phi(x) + x * Phi'(x)); and the input-gradients of tanh
// and sigmoid from their outputs y, g * (1 - y²) and g * y * (1 - y). New contiguous arrays of the input's shape.
py::array erf(const py::array& x);
py::array gelu(const py::array& x, bool tanh);
py::array gelu_backward(const py::array& grad, const py::array& x, bool tanh);
py::array tanh_backward(const py::array& grad, const py::array& y);
py::array sigmoid_backward(const py::array& grad, const py::array& y);

// gemm.cpp: the teaching matrix product, for the benchmarks to compare with BLAS.
py::array gemm(const py::array& a, const py::array& b);

}  // namespace minitorch

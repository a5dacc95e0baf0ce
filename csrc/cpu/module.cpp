// minitorch._C: C++ CPU kernels for the places where NumPy is slow.
// Each function takes NumPy arrays with any strides and returns new arrays;
// minitorch/backends/cpu.py (CpuBackend) is the only caller.
#include "kernels.h"

namespace {

using minitorch::Window2d;

// The window geometry arrives as ten integers: kernel, stride, dilation, leading padding, output size.
#define WINDOW_ARGS int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ph, int64_t pw, \
                    int64_t oh, int64_t ow
#define WINDOW(name) Window2d(kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, name)
#define WINDOW_NAMES                                                                                        \
    py::arg("kh"), py::arg("kw"), py::arg("sh"), py::arg("sw"), py::arg("dh"), py::arg("dw"), py::arg("ph"), \
        py::arg("pw"), py::arg("oh"), py::arg("ow")

void set_num_threads(int n) {
    if (n < 1) throw py::value_error("set_num_threads expects a positive integer, but got " + std::to_string(n));
#ifdef _OPENMP
    minitorch::kernel_threads() = n;
#endif
}

int get_num_threads() { return minitorch::kernel_threads(); }  // 1 without OpenMP: set_num_threads leaves it

}  // namespace

PYBIND11_MODULE(_C, m) {
    namespace mt = minitorch;
    m.doc() = "minitorch's C++ CPU kernels, one file each in csrc/cpu (see csrc/README.md); backends/cpu.py calls them";
#ifdef _OPENMP
    m.attr("has_openmp") = true;
#else
    m.attr("has_openmp") = false;
#endif
    m.def("set_num_threads", &set_num_threads, "How many OpenMP threads the kernels use.", py::arg("n"));
    m.def("get_num_threads", &get_num_threads, "How many OpenMP threads the kernels use.");
    m.def(
        "im2col", [](const py::array& x, WINDOW_ARGS) { return mt::im2col(x, WINDOW("im2col")); },
        "x (N, C, H, W) -> columns (C * kh * kw, N * oh * ow); zero where a window overhangs the input.", py::arg("x"),
        WINDOW_NAMES);
    m.def(
        "col2im",
        [](const py::array& cols, int64_t N, int64_t H, int64_t W, WINDOW_ARGS) {
            return mt::col2im(cols, N, H, W, WINDOW("col2im"));
        },
        "The adjoint of im2col: columns (C * kh * kw, N * oh * ow) summed back into (N, C, H, W).", py::arg("cols"),
        py::arg("N"), py::arg("H"), py::arg("W"), WINDOW_NAMES);
    m.def(
        "conv2d_direct",
        [](const py::array& x, const py::array& w, WINDOW_ARGS) {
            return mt::conv2d_direct(x, w, WINDOW("conv2d_direct"));
        },
        "Stride-1 convolution of x (N, C, H, W) with w (O, C, kh, kw), computed directly (no columns).",
        py::arg("x"), py::arg("w"), WINDOW_NAMES);
    m.def(
        "conv2d_direct_weight_grad",
        [](const py::array& x, const py::array& grad, WINDOW_ARGS) {
            return mt::conv2d_direct_weight_grad(x, grad, WINDOW("conv2d_direct_weight_grad"));
        },
        "The weight gradient (O, C, kh, kw) of conv2d_direct from x and the output gradient (N, O, oh, ow).",
        py::arg("x"), py::arg("grad"), WINDOW_NAMES);
    m.def("winograd_weight", &mt::winograd_weight,
          "Winograd F(2x2, 3x3)'s weight transform: w (O, C, 3, 3) -> U (16, C, O), G g Gᵀ per 3x3 kernel g.",
          py::arg("w"));
    m.def("winograd_input", &mt::winograd_input,
          "Winograd F(2x2, 3x3)'s input transform: x (N, C, H, W), zero-padded by ph on top and pw on the left, "
          "-> V (16, N * tiles, C), Bᵀ d B per 4x4 patch d of each 2x2 output tile.",
          py::arg("x"), py::arg("ph"), py::arg("pw"), py::arg("oh"), py::arg("ow"));
    m.def("winograd_output", &mt::winograd_output,
          "Winograd F(2x2, 3x3)'s output transform: M = V @ U (16, N * tiles, O) -> y (N, O, oh, ow), Aᵀ M A "
          "per tile.",
          py::arg("m"), py::arg("n"), py::arg("oh"), py::arg("ow"));
    m.def("winograd_output_grad", &mt::winograd_output_grad,
          "The transpose of winograd_output, for the weight gradient: the output gradient g (N, O, oh, ow) -> "
          "dMᵀ (16, O, N * tiles), A dY Aᵀ per 2x2 tile dY of g (zero past oh and ow), transposed.",
          py::arg("g"));
    m.def("winograd_weight_grad", &mt::winograd_weight_grad,
          "The transpose of winograd_weight: dU (16, C, O), the weight gradient in the Winograd domain "
          "(V[k]ᵀ dM[k] per k) -> gw (O, C, 3, 3), Gᵀ dU G per channel pair.",
          py::arg("du"));
    m.def(
        "max_pool2d", [](const py::array& x, WINDOW_ARGS) { return mt::max_pool2d(x, WINDOW("max_pool2d")); },
        "Each window's largest value and the int64 tap (row-major in the kernel) that held it.", py::arg("x"),
        WINDOW_NAMES);
    m.def(
        "max_pool2d_backward",
        [](const py::array& grad, const py::array& taps, int64_t H, int64_t W, WINDOW_ARGS) {
            return mt::max_pool2d_backward(grad, taps, H, W, WINDOW("max_pool2d_backward"));
        },
        "Each gradient value added at its window's winning tap, in an (N, C, H, W) array.", py::arg("grad"),
        py::arg("taps"), py::arg("H"), py::arg("W"), WINDOW_NAMES);
    m.def(
        "avg_pool2d",
        [](const py::array& x, const py::array& divisor, WINDOW_ARGS) {
            return mt::avg_pool2d(x, divisor, WINDOW("avg_pool2d"));
        },
        "Each window's sum of in-bounds values divided by divisor[oh, ow].", py::arg("x"), py::arg("divisor"),
        WINDOW_NAMES);
    m.def(
        "avg_pool2d_backward",
        [](const py::array& grad, const py::array& divisor, int64_t H, int64_t W, WINDOW_ARGS) {
            return mt::avg_pool2d_backward(grad, divisor, H, W, WINDOW("avg_pool2d_backward"));
        },
        "grad / divisor spread over every in-bounds tap of its window, in an (N, C, H, W) array.", py::arg("grad"),
        py::arg("divisor"), py::arg("H"), py::arg("W"), WINDOW_NAMES);
    m.def("batch_norm", &mt::batch_norm,
          "Training-mode batch norm of x (N, C, L) over N and L: (y, mean, biased var), all per channel C.",
          py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
    m.def("batch_norm_backward", &mt::batch_norm_backward,
          "The gradients of batch_norm: (grad_x (N, C, L), grad_weight (C,), grad_bias (C,)).", py::arg("grad"),
          py::arg("x"), py::arg("weight"), py::arg("mean"), py::arg("var"), py::arg("eps"));
    m.def("index_add", &mt::index_add, "out[..., index[m], ...] += src[..., m, ...] along axis, in place.",
          py::arg("out"), py::arg("axis"), py::arg("index"), py::arg("src"));
    m.def("scatter_add", &mt::scatter_add, "out[p with p[axis] = index[p]] += src[p] for every p of index, in place.",
          py::arg("out"), py::arg("axis"), py::arg("index"), py::arg("src"));
    m.def("gather", &mt::gather, "x[p with p[axis] = index[p]] for every p of index, in index's shape.",
          py::arg("x"), py::arg("axis"), py::arg("index"));
    m.def("softmax", &mt::softmax, "exp(x - max) / sum(exp(x - max)) along axis.", py::arg("x"), py::arg("axis"));
    m.def("log_softmax", &mt::log_softmax, "x - max - log(sum(exp(x - max))) along axis.", py::arg("x"),
          py::arg("axis"));
    m.def("softmax_backward", &mt::softmax_backward, "The input-gradient of y = softmax(x): (g - sum(g * y)) * y.",
          py::arg("y"), py::arg("grad"), py::arg("axis"));
    m.def("log_softmax_backward", &mt::log_softmax_backward,
          "The input-gradient of y = log_softmax(x): g - exp(y) * sum(g).", py::arg("y"), py::arg("grad"),
          py::arg("axis"));
    m.def("layer_norm", &mt::layer_norm,
          "Layer norm of each row of x (M, D), weight and bias (D,) or None: (y, mean, biased var), both (M,).",
          py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
    m.def("layer_norm_backward", &mt::layer_norm_backward,
          "The gradients of layer_norm: (grad_x (M, D), grad_weight (D,), grad_bias (D,)).", py::arg("grad"),
          py::arg("x"), py::arg("weight"), py::arg("mean"), py::arg("var"), py::arg("eps"));
    m.def("lstm_cell", &mt::lstm_cell,
          "One LSTM step from pre-activations gx + hw (N, 4H): writes gates, c, tanh(c) and h in place.",
          py::arg("gx"), py::arg("hw"), py::arg("c_prev"), py::arg("gates"), py::arg("c"), py::arg("tanh_c"),
          py::arg("h"));
    m.def("lstm_cell_backward", &mt::lstm_cell_backward,
          "The backward of lstm_cell: writes d_gates, and turns d_c (of c) into the gradient of c_prev, in place.",
          py::arg("gates"), py::arg("c_prev"), py::arg("tanh_c"), py::arg("d_h"), py::arg("d_c"), py::arg("d_gates"));
    m.def("erf", &mt::erf, "The error function, elementwise.", py::arg("x"));
    m.def("gelu", &mt::gelu, "GELU: x * Phi(x), Phi the normal CDF, or its tanh formula when tanh is set.",
          py::arg("x"), py::arg("tanh"));
    m.def("gelu_backward", &mt::gelu_backward, "The input-gradient of gelu: grad * (Phi(x) + x * Phi'(x)).",
          py::arg("grad"), py::arg("x"), py::arg("tanh"));
    m.def("tanh_backward", &mt::tanh_backward, "The input-gradient of tanh from its output y: grad * (1 - y * y).",
          py::arg("grad"), py::arg("y"));
    m.def("sigmoid_backward", &mt::sigmoid_backward,
          "The input-gradient of sigmoid from its output y: grad * y * (1 - y).", py::arg("grad"), py::arg("y"));
    m.def("gemm", &mt::gemm, "The teaching tiled matrix product a @ b (benchmarks only; BLAS is faster).",
          py::arg("a"), py::arg("b"));
}

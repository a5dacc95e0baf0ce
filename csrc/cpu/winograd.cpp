// Winograd's F(2x2, 3x3): a stride-1 3x3 convolution with 2.25x fewer multiplies than im2col + GEMM.
//
// The output is cut into 2x2 tiles; tile t reads a 4x4 patch d of the input (patches overlap by 2). In the
// transformed domain the convolution of d with a 3x3 kernel g is an elementwise product (Lavin and Gray, 2015):
//
//   y_tile = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// with 16 products per tile instead of 36. Summed over the input channels, each position k of the 4x4
// transformed tile is a matrix product over the whole batch, which NumPy's BLAS runs:
//
//   M[k] (N * tiles, O) = V[k] (N * tiles, C) @ U[k] (C, O),  V = Bᵀ d B,  U = G g Gᵀ
//
// This file holds the three transforms around that product: the weight's (winograd_weight), the input's
// (winograd_input) and the way back to the output (winograd_output). The matrices hold only 0, ±1 and ±1/2,
// so each transform is a few additions per value. Channels run along the rows of V, U and M: the transforms
// are vector loops over channels whatever the image size, and OpenBLAS splits the products' long side,
// N * tiles, between its threads (with tiles along the rows it ran them on one thread, 1.7x slower).
//
// The weight gradient stays in the same domain, with the transposes of the output's and the weight's transforms:
// dM = A dY Aᵀ per tile of the output gradient (winograd_output_grad, which returns dMᵀ (16, O, N * tiles)),
// dU[k]ᵀ = dM[k]ᵀ V[k] in BLAS from the forward's V, and the weight's gradient Gᵀ dU G (winograd_weight_grad).
// dMᵀ keeps g's channels-first order, so its transform needs no transposition (0.21 instead of 0.26 ms at
// 8x64x16x16 with channels last), and the product reads both operands untransposed (10-13% faster in OpenBLAS).
#include "kernels.h"

namespace minitorch {

namespace {

constexpr int64_t kTaps = 16;  // the positions of a transformed 4x4 tile

// Tiles of 2 outputs needed to cover `n` outputs.
inline int64_t tiles_for(int64_t n) { return (n + 1) / 2; }

// A new (16, rows, cols) array (U, V or dMᵀ) whose 16 matrices lie one cache line further apart than their size.
// A transform writes all 16 at once, and at ResNet's sizes rows * cols is a power of two: 16 streams exactly that
// far apart fall in the same L1 cache set, more than its ways hold, and the writes run ~20-30% slower (0.30
// against 0.24 ms for winograd_input at 8x64x16x16, 0.11 against 0.08 for winograd_weight at 128 x 128).
// NumPy's products take the gap like any batch stride.
template <typename T>
struct Streams {
    int64_t stride;  // elements from one matrix to the next
    py::array_t<T> buffer;
    Streams(int64_t rows, int64_t cols) : stride(rows * cols + 64 / int64_t(sizeof(T))), buffer(kTaps * stride) {}
    T* data() { return buffer.mutable_data(); }
    py::array view(int64_t rows, int64_t cols) {
        const int64_t item = sizeof(T);
        return py::array_t<T>({kTaps, rows, cols}, {stride * item, cols * item, item}, buffer.data(), buffer);
    }
};

// U[k, c, o] for every o, from w[o, c, 3, 3] at one input channel c: U = G g Gᵀ with
//   G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
// The loop runs along U's rows (o), gathering from w, whose rows for consecutive c share cache lines.
template <typename T>
SIMD_CLONES void weight_channel(const Strided<T>& w, int64_t c, int64_t stride_k, T* u) {
    const int64_t O = w.shape[0], so = w.strides[0], si = w.strides[2], sj = w.strides[3];
    const T* wc = w.data + c * w.strides[1];
#pragma omp simd
    for (int64_t o = 0; o < O; ++o) {
        const T* g = wc + o * so;
        T t[4][3];  // G g: the kernel's rows combined
        for (int j = 0; j < 3; ++j) {
            const T g0 = g[j * sj], g1 = g[si + j * sj], g2 = g[2 * si + j * sj];
            t[0][j] = g0;
            t[1][j] = T(0.5) * (g0 + g1 + g2);
            t[2][j] = T(0.5) * (g0 - g1 + g2);
            t[3][j] = g2;
        }
        for (int a = 0; a < 4; ++a) {  // (G g) Gᵀ: then its columns
            u[(4 * a + 0) * stride_k + o] = t[a][0];
            u[(4 * a + 1) * stride_k + o] = T(0.5) * (t[a][0] + t[a][1] + t[a][2]);
            u[(4 * a + 2) * stride_k + o] = T(0.5) * (t[a][0] - t[a][1] + t[a][2]);
            u[(4 * a + 3) * stride_k + o] = t[a][2];
        }
    }
}

// One sample, channels last: `padded` (rows, cols, C) holds it with its zero border, and each tile's patch d
// gives V[k, tile, :] (stream k at v + k * stride_k), all channels at once. With
//   Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
// Bᵀ d combines the patch's four rows, and (Bᵀ d) B the four columns.
template <typename T>
SIMD_CLONES void input_sample(const T* padded, int64_t cols, int64_t C, int64_t th, int64_t tw, int64_t stride_k,
                              T* v) {
    for (int64_t ty = 0; ty < th; ++ty)
        for (int64_t tx = 0; tx < tw; ++tx) {
            const T* d = padded + (2 * ty * cols + 2 * tx) * C;  // the patch's corner; rows cols * C apart
            T* out = v + (ty * tw + tx) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
                T r[4][4];  // Bᵀ d
                for (int j = 0; j < 4; ++j) {
                    const T d0 = d[j * C + c], d1 = d[(cols + j) * C + c];
                    const T d2 = d[(2 * cols + j) * C + c], d3 = d[(3 * cols + j) * C + c];
                    r[0][j] = d0 - d2;
                    r[1][j] = d1 + d2;
                    r[2][j] = d2 - d1;
                    r[3][j] = d1 - d3;
                }
                for (int a = 0; a < 4; ++a) {
                    out[(4 * a + 0) * stride_k + c] = r[a][0] - r[a][2];
                    out[(4 * a + 1) * stride_k + c] = r[a][1] + r[a][2];
                    out[(4 * a + 2) * stride_k + c] = r[a][2] - r[a][1];
                    out[(4 * a + 3) * stride_k + c] = r[a][1] - r[a][3];
                }
            }
        }
}

// V (16, N * tiles, C) from x (N, C, H, W). Each sample is first copied channels last into a zero-bordered
// buffer covering every tile's patch (the border stays zero from one sample to the next, as each fills the
// same inside); the rows and columns of x past the last patch belong to no tile and are left out.
template <typename T>
void input_kernel(const Strided<T>& x, int64_t ph, int64_t pw, int64_t th, int64_t tw, int64_t stride_k, T* v) {
    const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    const int64_t rows = 2 * th + 2, cols = 2 * tw + 2, tiles = th * tw;
    const int64_t in_rows = std::max<int64_t>(0, std::min(H, rows - ph));
    const int64_t in_cols = std::max<int64_t>(0, std::min(W, cols - pw));
#pragma omp parallel num_threads(kernel_threads()) if (N * tiles * C * kTaps > kParallelWork)
    {
        std::vector<T> padded(rows * cols * C, T(0));
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; ++n) {
            for (int64_t r = 0; r < in_rows; ++r)  // a row at a time, so the row being transposed stays in L1
                for (int64_t c = 0; c < C; ++c) {
                    const T* src = x.data + n * x.strides[0] + c * x.strides[1] + r * x.strides[2];
                    T* dst = padded.data() + ((r + ph) * cols + pw) * C + c;
                    for (int64_t q = 0; q < in_cols; ++q) dst[q * C] = src[q * x.strides[3]];
                }
            input_sample(padded.data(), cols, C, th, tw, stride_k, v + n * tiles * C);
        }
    }
}

// Tiles [first, first + tiles) of M, one row of them, back to two rows of outputs, channels last: with
//   Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]],
// Y = Aᵀ M A. `out` gets both rows, (2, 2 * tiles, O). Step 1: M's channels are contiguous; 0: any stride.
template <int64_t Step, typename T>
SIMD_CLONES void output_tile_row(const Strided<T>& m, int64_t first, int64_t tiles, T* out) {
    const int64_t O = m.shape[2], sk = m.strides[0], so = Step ? Step : m.strides[2];
    for (int64_t t = 0; t < tiles; ++t) {
        const T* mt = m.data + (first + t) * m.strides[1];
        T* y0 = out + 2 * t * O;
        T* y1 = y0 + 2 * tiles * O;
#pragma omp simd
        for (int64_t o = 0; o < O; ++o) {
            T q[2][4];  // Aᵀ M
            for (int j = 0; j < 4; ++j) {
                const T m0 = mt[j * sk + o * so], m1 = mt[(4 + j) * sk + o * so];
                const T m2 = mt[(8 + j) * sk + o * so], m3 = mt[(12 + j) * sk + o * so];
                q[0][j] = m0 + m1 + m2;
                q[1][j] = m1 - m2 - m3;
            }
            y0[o] = q[0][0] + q[0][1] + q[0][2];
            y0[O + o] = q[0][1] - q[0][2] - q[0][3];
            y1[o] = q[1][0] + q[1][1] + q[1][2];
            y1[O + o] = q[1][1] - q[1][2] - q[1][3];
        }
    }
}

// y (N, O, oh, ow) from M (16, N * tiles, O), a row of tiles of one sample at a time: each goes through a
// channels-last buffer of two output rows, turned back to channels first on the copy out, which drops the
// tiles' rows and columns past oh and ow.
template <int64_t Step, typename T>
void output_kernel(const Strided<T>& m, int64_t N, int64_t oh, int64_t ow, T* y) {
    const int64_t O = m.shape[2], th = tiles_for(oh), tw = tiles_for(ow), tiles = th * tw;
#pragma omp parallel num_threads(kernel_threads()) if (N * tiles * O * kTaps > kParallelWork)
    {
        std::vector<T> rows(2 * 2 * tw * O);
#pragma omp for schedule(static)
        for (int64_t nt = 0; nt < N * th; ++nt) {
            const int64_t n = nt / th, ty = nt % th;
            output_tile_row<Step>(m, n * tiles + ty * tw, tw, rows.data());
            for (int64_t o = 0; o < O; ++o)
                for (int64_t r = 0; r < std::min<int64_t>(2, oh - 2 * ty); ++r)
                    copy_row<0>(rows.data() + r * 2 * tw * O + o, O, ow, y + ((n * O + o) * oh + 2 * ty + r) * ow);
        }
    }
}

// The tiles of one channel of one sample of the output gradient to dM = A dY Aᵀ each (the transpose of
// output_tile_row), stream k at dmt + k * stride_k, one value per tile. `even` and `odd` hold the channel's even
// and odd rows, each padded with zeros to 2 * tw values and laid end to end, so tile t's 2x2 block dY starts
// at even[2 t] and odd[2 t] and the loop runs over every tile of the sample at once. With
//   A = [[1, 0], [1, 1], [1, -1], [0, -1]],
// A dY combines the tile's two rows into four, and (A dY) Aᵀ its two columns into four.
template <typename T>
SIMD_CLONES void output_grad_channel(const T* even, const T* odd, int64_t tiles, int64_t stride_k, T* dmt) {
#pragma omp simd
    for (int64_t t = 0; t < tiles; ++t) {
        T r[4][2];  // A dY
        for (int b = 0; b < 2; ++b) {
            const T d0 = even[2 * t + b], d1 = odd[2 * t + b];
            r[0][b] = d0;
            r[1][b] = d0 + d1;
            r[2][b] = d0 - d1;
            r[3][b] = -d1;
        }
        for (int a = 0; a < 4; ++a) {
            dmt[(4 * a + 0) * stride_k + t] = r[a][0];
            dmt[(4 * a + 1) * stride_k + t] = r[a][0] + r[a][1];
            dmt[(4 * a + 2) * stride_k + t] = r[a][0] - r[a][1];
            dmt[(4 * a + 3) * stride_k + t] = -r[a][1];
        }
    }
}

// dMᵀ (16, O, N * tiles) from g (N, O, oh, ow), channels first as g is, so no transposition: a channel of a
// sample at a time, its rows copied into two small buffers (even and odd rows) whose zero padding stands for
// the tiles' outputs past oh and ow (no row or column is ever written there, so it stays zero).
template <typename T>
void output_grad_kernel(const Strided<T>& g, int64_t th, int64_t tw, int64_t stride_k, T* dmt) {
    const int64_t N = g.shape[0], O = g.shape[1], oh = g.shape[2], ow = g.shape[3];
    const int64_t tiles = th * tw, P = N * tiles;
#pragma omp parallel num_threads(kernel_threads()) if (P * O * kTaps > kParallelWork)
    {
        std::vector<T> rows(2 * tiles * 2, T(0));  // even rows, then odd rows, 2 * tw values each
        T* even = rows.data();
        T* odd = even + 2 * tiles;
#pragma omp for schedule(static)
        for (int64_t on = 0; on < O * N; ++on) {
            const int64_t o = on / N, n = on % N;
            const T* src = g.data + n * g.strides[0] + o * g.strides[1];
            for (int64_t y = 0; y < oh; ++y)
                copy_any_row(src + y * g.strides[2], g.strides[3], ow, (y % 2 ? odd : even) + (y / 2) * 2 * tw);
            output_grad_channel(even, odd, tiles, stride_k, dmt + o * P + n * tiles);
        }
    }
}

// dg[o, c] = Gᵀ dU[:, c, o] G for every c at one o (the transpose of weight_channel), into gw (O, C, 3, 3). With
//   Gᵀ = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]],
// Gᵀ dU combines the 4x4's rows into three, and (Gᵀ dU) G its columns. Step 1: dU's c is contiguous; 0: any.
template <int64_t Step, typename T>
SIMD_CLONES void weight_grad_row(const Strided<T>& du, int64_t o, T* gw) {
    const int64_t C = du.shape[1], sk = du.strides[0], sc = Step ? Step : du.strides[1];
    const T* d = du.data + o * du.strides[2];
    T* out = gw + o * C * 9;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
        T t[3][4];  // Gᵀ dU
        for (int b = 0; b < 4; ++b) {
            const T u0 = d[b * sk + c * sc], u1 = d[(4 + b) * sk + c * sc];
            const T u2 = d[(8 + b) * sk + c * sc], u3 = d[(12 + b) * sk + c * sc];
            t[0][b] = u0 + T(0.5) * (u1 + u2);
            t[1][b] = T(0.5) * (u1 - u2);
            t[2][b] = T(0.5) * (u1 + u2) + u3;
        }
        for (int i = 0; i < 3; ++i) {
            out[c * 9 + 3 * i + 0] = t[i][0] + T(0.5) * (t[i][1] + t[i][2]);
            out[c * 9 + 3 * i + 1] = T(0.5) * (t[i][1] - t[i][2]);
            out[c * 9 + 3 * i + 2] = T(0.5) * (t[i][1] + t[i][2]) + t[i][3];
        }
    }
}

void check_sizes(int64_t ph, int64_t pw, int64_t oh, int64_t ow, const char* kernel) {
    if (ph < 0 || pw < 0 || oh < 0 || ow < 0)
        throw py::value_error(std::string(kernel) + ": padding and output size must be non-negative");
}

}  // namespace

py::array winograd_weight(const py::array& w) {
    const char* kernel = "winograd_weight";
    check_rank(w, 4, kernel, "weight (O, C, 3, 3)");
    check_dim(w, 2, 3, kernel, "weight");
    check_dim(w, 3, 3, kernel, "weight");
    return dispatch_float(w, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto g = strided<T>(w, kernel, "weight");
        const int64_t O = g.shape[0], C = g.shape[1];
        Streams<T> u(C, O);
        T* out = u.data();
        {
            py::gil_scoped_release unlocked;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (O * C * kTaps > kParallelWork)
            for (int64_t c = 0; c < C; ++c) weight_channel(g, c, u.stride, out + c * O);
        }
        return u.view(C, O);
    });
}

py::array winograd_input(const py::array& x, int64_t ph, int64_t pw, int64_t oh, int64_t ow) {
    const char* kernel = "winograd_input";
    check_rank(x, 4, kernel, "input (N, C, H, W)");
    check_sizes(ph, pw, oh, ow, kernel);
    return dispatch_float(x, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        const int64_t th = tiles_for(oh), tw = tiles_for(ow);
        const int64_t P = in.shape[0] * th * tw, C = in.shape[1];
        Streams<T> v(P, C);
        T* out = v.data();
        {
            py::gil_scoped_release unlocked;
            input_kernel(in, ph, pw, th, tw, v.stride, out);
        }
        return v.view(P, C);
    });
}

py::array winograd_output(const py::array& m, int64_t N, int64_t oh, int64_t ow) {
    const char* kernel = "winograd_output";
    check_rank(m, 3, kernel, "transformed output (16, N * tiles, O)");
    check_sizes(0, 0, oh, ow, kernel);
    if (N < 0) throw py::value_error(std::string(kernel) + ": the batch size must be non-negative");
    check_dim(m, 0, kTaps, kernel, "transformed output");
    check_dim(m, 1, N * tiles_for(oh) * tiles_for(ow), kernel, "transformed output");
    return dispatch_float(m, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(m, kernel, "transformed output");
        py::array_t<T> y({N, in.shape[2], oh, ow});
        T* out = y.mutable_data();
        {
            py::gil_scoped_release unlocked;
            (in.strides[2] == 1 ? output_kernel<1, T> : output_kernel<0, T>)(in, N, oh, ow, out);
        }
        return y;
    });
}

py::array winograd_output_grad(const py::array& g) {
    const char* kernel = "winograd_output_grad";
    check_rank(g, 4, kernel, "output gradient (N, O, oh, ow)");
    return dispatch_float(g, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(g, kernel, "output gradient");
        const int64_t th = tiles_for(in.shape[2]), tw = tiles_for(in.shape[3]);
        const int64_t O = in.shape[1], P = in.shape[0] * th * tw;
        Streams<T> dmt(O, P);
        T* out = dmt.data();
        {
            py::gil_scoped_release unlocked;
            output_grad_kernel(in, th, tw, dmt.stride, out);
        }
        return dmt.view(O, P);
    });
}

py::array winograd_weight_grad(const py::array& du) {
    const char* kernel = "winograd_weight_grad";
    check_rank(du, 3, kernel, "transformed weight gradient (16, C, O)");
    check_dim(du, 0, kTaps, kernel, "transformed weight gradient");
    return dispatch_float(du, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(du, kernel, "transformed weight gradient");
        const int64_t C = in.shape[1], O = in.shape[2];
        py::array_t<T> gw({O, C, int64_t(3), int64_t(3)});
        T* out = gw.mutable_data();
        {
            py::gil_scoped_release unlocked;
            const auto row = in.strides[1] == 1 ? weight_grad_row<1, T> : weight_grad_row<0, T>;
#pragma omp parallel for num_threads(kernel_threads()) schedule(static) if (O * C * kTaps > kParallelWork)
            for (int64_t o = 0; o < O; ++o) row(in, o, out);
        }
        return gw;
    });
}

}  // namespace minitorch

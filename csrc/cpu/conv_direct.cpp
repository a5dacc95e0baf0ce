// A direct convolution for small layers (few channels, stride 1), forward and
// weight gradient, with no im2col columns.
//
// im2col + GEMM is the right plan when the product is big. For a layer like
// LeNet-5's first (1 channel in, 6 out, 5x5 taps) the GEMM has 6 rows and 25
// columns: BLAS runs it far below its peak, and writing and reading the
// columns costs more than the arithmetic. Here the outputs are summed in
// vector registers instead:
//
//   y[n, o, r, x] = Σ over c, i, j of w[o, c, i, j] * x[n, c, r + i*dh, x + j*dw]
//
// The vectors are GCC/Clang vector types of 64 bytes: 16 floats or 8 doubles,
// which the compiler maps to one AVX-512 register, two AVX2 registers or four
// SSE registers, whichever SIMD_CLONES (common.h) picked for this CPU. The
// forward lays its lanes out one of two ways, whichever wastes less work
// (conv_direct picks):
//
// - Row lanes: one vector holds neighbouring outputs x..x+16 of a row. One
//   loaded slice of an input row serves OB output channels at once (the
//   register block), each multiplied by a broadcast weight. A row of 10
//   outputs (LeNet-5's second layer) leaves 6 of 16 lanes idle.
// - Channel lanes: one vector holds one output position for 16 output
//   channels. Each output column of a block keeps its own vector, and one
//   loaded vector of the 16 channels' weights for a tap serves every column,
//   each multiplied by a broadcast input value; the block is transposed into
//   y on the way out. Every lane is busy when O is a multiple of 16.
//
// Both read every channel's weights for a tap side by side (`packed`).
// The weight gradient has the same two layouts, picked by the same kind of rule (direct_weight_grad): row
// lanes sum products of gradient and input rows lane-wise and add the lanes up at the end; channel lanes keep
// one vector of 16 output channels per tap, fed by a transposed copy of the gradient (one position's channels
// side by side) times a broadcast input value.
#include <cstring>
#include <numeric>
#include <utility>

#include "kernels.h"

namespace minitorch {

namespace {

constexpr int kVecBytes = 64;

template <typename T>
struct Simd {
    typedef T vec __attribute__((vector_size(kVecBytes)));
    static constexpr int lanes = kVecBytes / sizeof(T);
    // Loads and stores go through memory (unaligned; by reference, as a vector return value's ABI
    // differs between the instruction sets).
    static void load(vec& v, const T* p) { std::memcpy(&v, p, sizeof v); }
    static void store(T* p, const vec& v, int64_t n) { std::memcpy(p, &v, n * sizeof(T)); }  // the first n lanes
};

// Samples of the input copied into zero-bordered planes (samples, C, rows, cols), wide enough for `width` outputs
// a row (ow rounded up to whole blocks) so that every read for a block stays inside; the outputs past the row's
// right edge see real values or zeros and are thrown away (forward) or masked (weight gradient).
template <typename T>
struct PaddedInput {
    int64_t channels, rows, cols;
    std::vector<T> data;

    PaddedInput(int64_t samples, int64_t C, const Window2d& g, int64_t width)
        : channels(C),
          rows(g.oh + (g.kh - 1) * g.dh),
          cols(width + (g.kw - 1) * g.dw),
          data(samples * C * rows * cols, T(0)) {}

    // Sample n of x into slot `slot`; the borders stay zero from the start.
    void fill(const Strided<T>& x, int64_t n, int64_t slot, const Window2d& g) {
        const int64_t H = x.shape[2], W = x.shape[3];
        for (int64_t c = 0; c < channels; ++c) {
            const T* plane = x.data + n * x.strides[0] + c * x.strides[1];
            for (int64_t r = 0; r < std::min(H, rows - g.ph); ++r)
                copy_any_row(plane + r * x.strides[2], x.strides[3], std::min(W, cols - g.pw),
                             data.data() + ((slot * channels + c) * rows + r + g.ph) * cols + g.pw);
        }
    }
    const T* row(int64_t slot, int64_t c, int64_t r) const {
        return data.data() + ((slot * channels + c) * rows + r) * cols;
    }
};

// The weight (O, C, kh, kw) as (O/OB blocks, C * kh * kw taps, OB), zero for the channels past O.
template <typename T, int OB>
std::vector<T> pack_weight(const Strided<T>& w) {
    const int64_t O = w.shape[0], C = w.shape[1], kh = w.shape[2], kw = w.shape[3], K = C * kh * kw;
    std::vector<T> packed(((O + OB - 1) / OB) * K * OB, T(0));
    for (int64_t o = 0; o < O; ++o)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < kh; ++i)
                for (int64_t j = 0; j < kw; ++j)
                    packed[((o / OB) * K + (c * kh + i) * kw + j) * OB + o % OB] =
                        w.data[o * w.strides[0] + c * w.strides[1] + i * w.strides[2] + j * w.strides[3]];
    return packed;
}

// How one sample's outputs are computed from its padded input and the packed weight (`conv_rows_sample` or
// `conv_channels_sample`); the batch loop (`conv_over_batch`) is the same for both.
template <typename T>
using SampleKernel = void (*)(const PaddedInput<T>& pad, const T* packed, int64_t C, int64_t O, const Window2d& g,
                              T* y);

// Row lanes: one sample's outputs, OB output channels by NV vectors of a row at a time (the register block).
template <typename T, int OB, int NV>
SIMD_CLONES void conv_rows_sample(const PaddedInput<T>& pad, const T* packed, int64_t C, int64_t O,
                                  const Window2d& g, T* y) {
    using S = Simd<T>;
    using vec = typename S::vec;
    constexpr int64_t XW = S::lanes * NV;  // outputs per block of a row
    const int64_t K = C * g.taps(), blocks = (g.ow + XW - 1) / XW;
    for (int64_t ob = 0; ob * OB < O; ++ob)
        for (int64_t r = 0; r < g.oh; ++r)
            for (int64_t xb = 0; xb < blocks; ++xb) {
                vec acc[OB][NV] = {};
                const T* wp = packed + ob * K * OB;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t i = 0; i < g.kh; ++i) {
                        const T* in_row = pad.row(0, c, r + i * g.dh) + xb * XW;
                        for (int64_t j = 0; j < g.kw; ++j, wp += OB) {
                            vec in[NV];
                            for (int v = 0; v < NV; ++v) S::load(in[v], in_row + j * g.dw + v * S::lanes);
                            for (int b = 0; b < OB; ++b)
                                for (int v = 0; v < NV; ++v) acc[b][v] += wp[b] * in[v];
                        }
                    }
                const int64_t width = std::min(XW, g.ow - xb * XW);
                for (int64_t b = 0; b < std::min<int64_t>(OB, O - ob * OB); ++b) {
                    T* out = y + ((ob * OB + b) * g.oh + r) * g.ow + xb * XW;
                    for (int v = 0; v < NV && v * S::lanes < width; ++v)
                        S::store(out + v * S::lanes, acc[b][v], std::min<int64_t>(S::lanes, width - v * S::lanes));
                }
            }
}

// Channel lanes: one sample's outputs, a vector of output channels by XB columns of a row at a time. The
// columns' sums are separate vectors, so the columns past the row's end (the last block's) are summed from
// whatever the padded row holds there and dropped, without touching the real ones.
template <typename T, int XB>
SIMD_CLONES void conv_channels_sample(const PaddedInput<T>& pad, const T* packed, int64_t C, int64_t O,
                                      const Window2d& g, T* y) {
    using S = Simd<T>;
    using vec = typename S::vec;
    constexpr int L = S::lanes;
    const int64_t K = C * g.taps(), blocks = (g.ow + XB - 1) / XB;
    for (int64_t ob = 0; ob * L < O; ++ob)
        for (int64_t r = 0; r < g.oh; ++r)
            for (int64_t xb = 0; xb < blocks; ++xb) {
                vec acc[XB] = {};
                const T* wp = packed + ob * K * L;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t i = 0; i < g.kh; ++i) {
                        const T* in_row = pad.row(0, c, r + i * g.dh) + xb * XB;
                        for (int64_t j = 0; j < g.kw; ++j, wp += L) {
                            vec wv;
                            S::load(wv, wp);
                            for (int x = 0; x < XB; ++x) acc[x] += wv * in_row[x + j * g.dw];
                        }
                    }
                // (column, channel) to y's (channel, column), through the stack
                T block[XB][L];
                for (int x = 0; x < XB; ++x) S::store(block[x], acc[x], L);
                const int64_t width = std::min<int64_t>(XB, g.ow - xb * XB);
                for (int64_t b = 0; b < std::min<int64_t>(L, O - ob * L); ++b) {
                    T* out = y + ((ob * L + b) * g.oh + r) * g.ow + xb * XB;
                    for (int64_t x = 0; x < width; ++x) out[x] = block[x][b];
                }
            }
}

// The most columns a channel-lanes block holds: 14 sums and a weight vector leave AVX-512's 32 registers room.
constexpr int kMaxColumns = 14;

// conv_channels_sample for a block of xb columns (1 to kMaxColumns), from a table of its instances.
template <typename T, int... XB>
SampleKernel<T> channels_kernel(int64_t xb, std::integer_sequence<int, XB...>) {
    static constexpr SampleKernel<T> kernels[] = {&conv_channels_sample<T, XB + 1>...};
    return kernels[xb - 1];
}

// The forward over the batch, one sample per thread at a time: each thread pads its sample for `width` outputs a
// row and runs `sample` with the weight packed OB channels at a time (the vector work is in `sample`, out of the
// OpenMP region, for SIMD_CLONES).
template <typename T, int OB>
void conv_over_batch(const Strided<T>& x, const Strided<T>& w, const Window2d& g, int64_t width,
                     SampleKernel<T> sample, T* y) {
    const int64_t N = x.shape[0], C = x.shape[1], O = w.shape[0];
    const std::vector<T> packed = pack_weight<T, OB>(w);
#pragma omp parallel num_threads(kernel_threads()) if (N * O * C * g.taps() * g.positions() > kParallelWork)
    {
        PaddedInput<T> pad(1, C, g, width);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; ++n) {
            pad.fill(x, n, 0, g);
            sample(pad, packed.data(), C, O, g, y + n * O * g.positions());
        }
    }
}

// Row lanes' register blocks: how many output channels share each loaded input slice, in the forward and (by
// kernel width) in the weight gradient, so that the sums fit in AVX-512's 32 registers. Rows wider than one vector
// take two vectors per block, and half as many channels.
constexpr int rows_forward_ob(bool wide) { return wide ? 4 : 8; }
constexpr int rows_grad_ob(int kw, bool wide) { return (kw == 1 ? 8 : kw == 7 ? 2 : 4) / (wide ? 2 : 1); }

// The share of the work that is useful when `used` values are computed in blocks of `block`.
double use(int64_t used, int64_t block) {
    return double(used) / double(std::max<int64_t>(1, (used + block - 1) / block * block));
}

// Picks the layout that wastes less work, with its register block. Row lanes take blocks of one vector, or two
// (fewer channels then fit in the registers) for rows wider than one; they waste the lanes past the row's end
// and the channels past O in the last register block. Channel lanes take the row in equal blocks of up to
// kMaxColumns columns; they waste the lanes past O and the columns past the row's end. On a tie channel lanes
// win: measured on AVX-512, they ran as fast or up to 1.2x faster (one loaded vector serves more sums).
template <typename T>
void conv_direct(const Strided<T>& x, const Strided<T>& w, const Window2d& g, T* y) {
    constexpr int L = Simd<T>::lanes;
    const bool wide = g.ow > L;
    const int64_t O = w.shape[0], row_block = wide ? 2 * L : L, ob = rows_forward_ob(wide);
    const int64_t blocks = std::max<int64_t>(1, (g.ow + kMaxColumns - 1) / kMaxColumns);
    const int64_t xb = std::max<int64_t>(1, (g.ow + blocks - 1) / blocks);
    if (use(O, L) * use(g.ow, xb) >= use(g.ow, row_block) * use(O, ob)) {
        conv_over_batch<T, L>(x, w, g, blocks * xb,
                              channels_kernel<T>(xb, std::make_integer_sequence<int, kMaxColumns>()), y);
    } else {
        const int64_t width = (g.ow + row_block - 1) / row_block * row_block;
        constexpr int wide_ob = rows_forward_ob(true), narrow_ob = rows_forward_ob(false);
        if (wide)
            conv_over_batch<T, wide_ob>(x, w, g, width, &conv_rows_sample<T, wide_ob, 2>, y);
        else
            conv_over_batch<T, narrow_ob>(x, w, g, width, &conv_rows_sample<T, narrow_ob, 1>, y);
    }
}

// One group of the weight gradient over samples [n0, n1): OB output channels and one kernel row (c, i), all KW
// taps of it. The lane-wise sums start from `acc` (KW * OB * NV vectors) and stay in registers over the
// samples' rows: each loaded gradient vector serves KW taps and each loaded input slice OB channels. Input
// lanes past a row's end are zeroed (the gradient has zero tails too), so an inf or nan there cannot leak.
template <typename T, int OB, int NV, int KW>
SIMD_CLONES void weight_grad_group(const PaddedInput<T>& pad, const T* gpad, int64_t n0, int64_t n1, int64_t O,
                                   int64_t ob, int64_t c, int64_t i, const Window2d& g, T* acc) {
    using S = Simd<T>;
    using vec = typename S::vec;
    using bits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
    typedef bits ivec __attribute__((vector_size(kVecBytes)));
    constexpr int64_t XW = S::lanes * NV;
    const int64_t blocks = (g.ow + XW - 1) / XW, row_len = blocks * XW, oblocks = (O + OB - 1) / OB;
    ivec keep[NV];  // the last block of a row: all ones where an output exists, zero past the end
    for (int v = 0; v < NV; ++v)
        for (int l = 0; l < S::lanes; ++l) keep[v][l] = (blocks - 1) * XW + v * S::lanes + l < g.ow ? bits(-1) : 0;
    vec sum[KW][OB][NV];
    for (int j = 0; j < KW; ++j)
        for (int b = 0; b < OB; ++b)
            for (int v = 0; v < NV; ++v) S::load(sum[j][b][v], acc + ((j * OB + b) * NV + v) * S::lanes);
    for (int64_t n = n0; n < n1; ++n)
        for (int64_t r = 0; r < g.oh; ++r)
            for (int64_t xb = 0; xb < blocks; ++xb) {
                vec gv[OB][NV];
                const T* g_rows = gpad + ((n * oblocks + ob) * OB * g.oh + r) * row_len + xb * XW;
                for (int b = 0; b < OB; ++b)
                    for (int v = 0; v < NV; ++v) S::load(gv[b][v], g_rows + b * g.oh * row_len + v * S::lanes);
                const T* in_row = pad.row(n, c, r + i * g.dh) + xb * XW;
                for (int j = 0; j < KW; ++j) {
                    vec in[NV];
                    for (int v = 0; v < NV; ++v) {
                        S::load(in[v], in_row + j * g.dw + v * S::lanes);
                        if (xb == blocks - 1) {
                            ivec m;
                            std::memcpy(&m, &in[v], sizeof m);
                            m &= keep[v];
                            std::memcpy(&in[v], &m, sizeof m);
                        }
                    }
                    for (int b = 0; b < OB; ++b)
                        for (int v = 0; v < NV; ++v) sum[j][b][v] += gv[b][v] * in[v];
                }
            }
    for (int j = 0; j < KW; ++j)
        for (int b = 0; b < OB; ++b)
            for (int v = 0; v < NV; ++v) S::store(acc + ((j * OB + b) * NV + v) * S::lanes, sum[j][b][v], S::lanes);
}

// gw[o, c, i, j] = Σ over n, r, x of grad[n, o, r, x] * x[n, c, r + i*dh, x + j*dw]. The whole batch is
// padded once (inputs, and gradient rows with zero tails, O rounded up to OB). Each group (OB channels, one
// kernel row) keeps lane-wise sums of its own, so threads share none; the samples go by in chunks whose
// gradient rows fit in the L1 cache, reused there by every kernel row of the chunk. Last, each sum's lanes
// are added up.
template <typename T, int OB, int NV, int KW>
void weight_grad(const Strided<T>& x, const Strided<T>& grad, const Window2d& g, T* gw) {
    constexpr int64_t XW = Simd<T>::lanes * NV;
    const int64_t N = x.shape[0], C = x.shape[1], O = grad.shape[1];
    const int64_t blocks = (g.ow + XW - 1) / XW, oblocks = (O + OB - 1) / OB, row_len = blocks * XW;
    PaddedInput<T> pad(N, C, g, row_len);
    std::vector<T> gpad(N * oblocks * OB * g.oh * row_len, T(0));
    for (int64_t n = 0; n < N; ++n) {
        pad.fill(x, n, n, g);
        for (int64_t o = 0; o < O; ++o)
            for (int64_t r = 0; r < g.oh; ++r)
                copy_any_row(grad.data + n * grad.strides[0] + o * grad.strides[1] + r * grad.strides[2],
                             grad.strides[3], g.ow, gpad.data() + ((n * oblocks * OB + o) * g.oh + r) * row_len);
    }
    const int64_t groups = oblocks * C * g.kh, group_size = KW * OB * XW;
    const int64_t chunk = std::max<int64_t>(1, 16384 / int64_t(sizeof(T) * OB * g.oh * row_len));  // ~16 KB
    std::vector<T> acc(groups * group_size, T(0));
    // One parallel region for all chunks: a static schedule gives each thread the same groups in every chunk, so
    // no thread waits for another between chunks (nowait), and the threads are woken once per call.
#pragma omp parallel num_threads(kernel_threads()) if (N * O * C * g.taps() * g.positions() > kParallelWork)
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
#pragma omp for schedule(static) nowait
        for (int64_t k = 0; k < groups; ++k)
            weight_grad_group<T, OB, NV, KW>(pad, gpad.data(), n0, std::min(N, n0 + chunk), O, k / (C * g.kh),
                                             k / g.kh % C, k % g.kh, g, acc.data() + k * group_size);
    }
    for (int64_t k = 0; k < groups; ++k) {
        const int64_t ob = k / (C * g.kh), c = k / g.kh % C, i = k % g.kh;
        for (int64_t b = 0; b < std::min<int64_t>(OB, O - ob * OB); ++b)
            for (int j = 0; j < KW; ++j) {
                const T* lanes = acc.data() + k * group_size + (j * OB + b) * XW;
                gw[(((ob * OB + b) * C + c) * g.kh + i) * KW + j] = std::accumulate(lanes, lanes + XW, T(0));
            }
    }
}

// Channel lanes: one group of the weight gradient over samples [n0, n1): one vector of output channels and R
// kernel rows (c, i), numbered c * kh + i from k0 on, all KW taps of each. Every sum is one tap's vector of
// channels, so no lanes are added up at the end. `gT` is the group's block of the transposed gradient (samples,
// rows, columns, lanes): each loaded vector serves R * KW taps, each multiplied by a broadcast input value. The
// loop stops at the row's last output, so the input past it (inf or nan, say) is never read. The sums start
// from zero and are added to `acc` at the end: a sum of the chunks' sums rounds less than one long chain.
template <typename T, int KW, int R>
SIMD_CLONES void weight_grad_channels_group(const PaddedInput<T>& pad, const T* gT, int64_t n0, int64_t n1,
                                            int64_t k0, const Window2d& g, T* acc) {
    using S = Simd<T>;
    using vec = typename S::vec;
    constexpr int L = S::lanes;
    vec sum[R][KW] = {};
    for (int64_t n = n0; n < n1; ++n)
        for (int64_t r = 0; r < g.oh; ++r) {
            const T* in[R];
            for (int t = 0; t < R; ++t) in[t] = pad.row(n, (k0 + t) / g.kh, r + (k0 + t) % g.kh * g.dh);
            const T* g_row = gT + (n * g.oh + r) * g.ow * L;
            for (int64_t x = 0; x < g.ow; ++x) {
                vec gv;
                S::load(gv, g_row + x * L);
                for (int t = 0; t < R; ++t)
                    for (int j = 0; j < KW; ++j) sum[t][j] += gv * in[t][x + j * g.dw];
            }
        }
    for (int t = 0; t < R; ++t)
        for (int j = 0; j < KW; ++j) {
            vec total;
            S::load(total, acc + (t * KW + j) * L);
            S::store(acc + (t * KW + j) * L, total + sum[t][j], L);
        }
}

// The most sums a channel-lanes group holds: 28 and the gradient vector fit in AVX-512's 32 registers (the input
// values are broadcast straight from memory into the multiply-adds). At most 12 kernel rows, to bound the
// instances and the row pointers.
constexpr int kMaxGradSums = 28;
template <int KW>
constexpr int kMaxGradRows = std::min(12, kMaxGradSums / KW);

template <typename T>
using GradGroupKernel = void (*)(const PaddedInput<T>& pad, const T* gT, int64_t n0, int64_t n1, int64_t k0,
                                 const Window2d& g, T* acc);

// weight_grad_channels_group for a group of `rows` kernel rows (1 to kMaxGradRows<KW>), from a table.
template <typename T, int KW, int... R>
GradGroupKernel<T> grad_channels_kernel(int64_t rows, std::integer_sequence<int, R...>) {
    static constexpr GradGroupKernel<T> kernels[] = {&weight_grad_channels_group<T, KW, R + 1>...};
    return kernels[rows - 1];
}

// The weight gradient on channel lanes. The whole batch is padded once, and the gradient copied once into
// (O / L blocks, samples, rows, columns, L channels), zero for the channels past O. The C * kh kernel rows go
// in equal groups of up to kMaxGradRows<KW>; a group and a block of channels make one group of sums, owned by
// one thread. As in weight_grad, the samples go by in chunks whose gradient fits in the L1 cache.
template <typename T, int KW>
void weight_grad_channels(const Strided<T>& x, const Strided<T>& grad, const Window2d& g, T* gw) {
    constexpr int L = Simd<T>::lanes, RM = kMaxGradRows<KW>;
    const int64_t N = x.shape[0], C = x.shape[1], O = grad.shape[1], P = g.positions(), rows = C * g.kh;
    if (O == 0 || rows == 0) return;  // no weight
    const int64_t oblocks = (O + L - 1) / L, rblocks = (rows + RM - 1) / RM, R = (rows + rblocks - 1) / rblocks;
    PaddedInput<T> pad(N, C, g, g.ow);
    std::vector<T> gT(oblocks * N * P * L, T(0));
    for (int64_t n = 0; n < N; ++n) {
        pad.fill(x, n, n, g);
        for (int64_t r = 0; r < g.oh; ++r)
            for (int64_t col = 0; col < g.ow; ++col)  // a position's channels, read from O rows in cache
                for (int64_t o = 0; o < O; ++o)
                    gT[(((o / L) * N + n) * P + r * g.ow + col) * L + o % L] =
                        grad.data[n * grad.strides[0] + o * grad.strides[1] + r * grad.strides[2] +
                                  col * grad.strides[3]];
    }
    const auto instances = std::make_integer_sequence<int, RM>();
    const GradGroupKernel<T> full = grad_channels_kernel<T, KW>(R, instances),
                             last = grad_channels_kernel<T, KW>(rows - (rblocks - 1) * R, instances);
    const int64_t groups = oblocks * rblocks, group_size = R * KW * L;
    const int64_t chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, sizeof(T) * P * L));  // ~16 KB
    std::vector<T> acc(groups * group_size, T(0));
#pragma omp parallel num_threads(kernel_threads()) if (N * O * C * g.taps() * g.positions() > kParallelWork)
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
#pragma omp for schedule(static) nowait
        for (int64_t k = 0; k < groups; ++k) {
            const int64_t ob = k / rblocks, rb = k % rblocks;
            (rb == rblocks - 1 ? last : full)(pad, gT.data() + ob * N * P * L, n0, std::min(N, n0 + chunk), rb * R,
                                              g, acc.data() + k * group_size);
        }
    }
    for (int64_t k = 0; k < groups; ++k) {
        const int64_t ob = k / rblocks, k0 = k % rblocks * R;
        for (int64_t t = 0; t < std::min(R, rows - k0); ++t)
            for (int j = 0; j < KW; ++j)
                for (int64_t b = 0; b < std::min<int64_t>(L, O - ob * L); ++b)
                    gw[((ob * L + b) * rows + k0 + t) * KW + j] = acc[k * group_size + (t * KW + j) * L + b];
    }
}

// The weight gradient of a kernel KW wide on the layout picked: channel lanes, or row lanes with the register block
// for the row's width.
template <typename T, int KW>
void weight_grad_layout(const Strided<T>& x, const Strided<T>& grad, const Window2d& g, bool channels, T* gw) {
    if (channels) return weight_grad_channels<T, KW>(x, grad, g, gw);
    if (g.ow > Simd<T>::lanes) return weight_grad<T, rows_grad_ob(KW, true), 2, KW>(x, grad, g, gw);
    weight_grad<T, rows_grad_ob(KW, false), 1, KW>(x, grad, g, gw);
}

// Picks the layout that wastes less work, as conv_direct does. Row lanes take a register block fitting the kernel
// width (KW * OB * NV sums, OB * NV gradient vectors and NV input slices in AVX-512's 32 registers), rows wider
// than one vector two vectors per block; they waste the lanes past the row's end and the channels past O in the
// last block of OB. Channel lanes waste the lanes past O, but win up to 1.2x more waste: measured on AVX-512,
// they got 1.2-1.4x more useful work out of a lane (one loaded vector and broadcast operands feed R * KW
// multiply-adds, and no lanes are added up at the end), so LeNet-5's first layer (6 channels) takes them in
// float64 (8 lanes) but not in float32 (16).
template <typename T>
void direct_weight_grad(const Strided<T>& x, const Strided<T>& grad, const Window2d& g, T* gw) {
    constexpr int L = Simd<T>::lanes;
    const bool wide = g.ow > L;
    const int64_t O = grad.shape[1];
    const bool channels = 1.2 * use(O, L) >= use(g.ow, wide ? 2 * L : L) * use(O, rows_grad_ob(int(g.kw), wide));
    switch (g.kw) {
        case 1: return weight_grad_layout<T, 1>(x, grad, g, channels, gw);
        case 3: return weight_grad_layout<T, 3>(x, grad, g, channels, gw);
        case 5: return weight_grad_layout<T, 5>(x, grad, g, channels, gw);
        default: return weight_grad_layout<T, 7>(x, grad, g, channels, gw);
    }
}

// Stride 1 and a 4-d input, or ValueError.
void check_direct(const py::array& x, const Window2d& g, const char* kernel) {
    check_rank(x, 4, kernel, "input (N, C, H, W)");
    if (g.sh != 1 || g.sw != 1) throw py::value_error(std::string(kernel) + ": only stride 1 is supported");
}

}  // namespace

py::array conv2d_direct(const py::array& x, const py::array& w, const Window2d& g) {
    const char* kernel = "conv2d_direct";
    check_direct(x, g, kernel);
    check_rank(w, 4, kernel, "weight (O, C, kh, kw)");
    check_dim(w, 1, x.shape(1), kernel, "weight");
    check_dim(w, 2, g.kh, kernel, "weight");
    check_dim(w, 3, g.kw, kernel, "weight");
    return dispatch_float(x, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        auto weight = strided<T>(w, kernel, "weight");
        py::array_t<T> y({in.shape[0], weight.shape[0], g.oh, g.ow});
        T* out = y.mutable_data();
        {
            py::gil_scoped_release unlocked;
            conv_direct(in, weight, g, out);
        }
        return y;
    });
}

py::array conv2d_direct_weight_grad(const py::array& x, const py::array& grad, const Window2d& g) {
    const char* kernel = "conv2d_direct_weight_grad";
    check_direct(x, g, kernel);
    check_rank(grad, 4, kernel, "grad (N, O, oh, ow)");
    check_dim(grad, 0, x.shape(0), kernel, "grad");
    check_dim(grad, 2, g.oh, kernel, "grad");
    check_dim(grad, 3, g.ow, kernel, "grad");
    if (g.kw != 1 && g.kw != 3 && g.kw != 5 && g.kw != 7)
        throw py::value_error(std::string(kernel) + ": the kernel width must be 1, 3, 5 or 7, not " +
                              std::to_string(g.kw));
    return dispatch_float(x, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        auto gr = strided<T>(grad, kernel, "grad");
        py::array_t<T> gw({gr.shape[1], in.shape[1], g.kh, g.kw});
        T* out = gw.mutable_data();
        {
            py::gil_scoped_release unlocked;
            direct_weight_grad(in, gr, g, out);
        }
        return gw;
    });
}

}  // namespace minitorch

// 2-D convolution (NCHW, stride, zero padding, dilation, groups) as three implicit GEMMs.
//
// Forward is a GEMM over the virtual im2col matrix: row m = (n, p, q) is one output pixel, column k = (c, r, s) one
// input channel under one filter tap, so y[n, k, p, q] = sum_k im2col[m, k] * w[k, c, r, s] with M = N*P*Q,
// N = K/groups and K = C/groups*R*S per group. The im2col matrix is never stored: the GEMM's tile loader computes each
// element's input address (or the zero of the padding) on the fly as it fills shared memory. The two gradients are
// the same idea with other index maps:
//   backward-data   gx (M = N*H*W pixels, N = C/groups, K = K/groups*R*S): input pixel (h, w) collects g[n, k, p, q]
//                   through tap (r, s) when h = p*sh - ph + r*dh, i.e. when (h + ph - r*dh) divides by sh
//   backward-weight gw (M = K/groups, N = C/groups*R*S, K = N*P*Q): a GEMM whose reduction runs over every output pixel
// The group is the GEMM's batch index (grid z). All tensors are contiguous; the host wrapper passes the output size, so
// asymmetric padding only moves ph, pw. For forward and backward-data the host hands the weight over transposed, as a
// row-major (groups, K, N) matrix, so that operand is a plain coalesced read.
//
// The main loop (conv_gemm) is matmul_warptile's, with loaders that know the convolution: a thread splits a pixel
// index into (n, p, q) once per step for all its elements, and every split uses FastDiv (a multiply and a shift, where
// an integer division is a ~20-instruction subroutine). A GEMM with too few output tiles to fill the GPU (the weight
// gradient's: a few tiles, a reduction over every output pixel) is split into slices along its reduction: grid z runs
// over (group, slice), each slice writes its own partial result, and the host sums the slices.
#pragma once

#include "matmul.cu"

namespace mt {

// n / d and n % d for 0 <= n < 2^31 by a multiply-high and a shift (Granlund and Montgomery; CUTLASS's FastDivmod):
// with shift = ceil(log2 d) and mul = floor(2^32 (2^shift - d) / d) + 1, n / d = (mulhi(n, mul) + n) >> shift.
// Built once per block. A zero divisor (a size nothing is divided by, as P*Q of an empty output) acts as 1.
struct FastDiv {
    unsigned d, mul, shift;

    __device__ explicit FastDiv(int divisor) : d(divisor > 1 ? static_cast<unsigned>(divisor) : 1u), mul(0), shift(0) {
        while ((1u << shift) < d) ++shift;
        mul = static_cast<unsigned>(((1ull << 32) * ((1ull << shift) - d)) / d + 1);
    }
    __device__ int div(int n) const {
        const unsigned hi = static_cast<unsigned>((static_cast<unsigned long long>(n) * mul) >> 32);
        return static_cast<int>((hi + static_cast<unsigned>(n)) >> shift);
    }
    __device__ void divmod(int n, int& q, int& r) const {
        q = div(n);
        r = n - q * static_cast<int>(d);
    }
};

struct ConvShape {
    int N, C, H, W, K, R, S, P, Q, groups, sh, sw, ph, pw, dh, dw;

    __device__ int Cg() const { return C / groups; }
    __device__ int Kg() const { return K / groups; }
};

// An offset that no padding check passes: out-of-range rows and columns of a tile become padding, read as zero.
constexpr int kOutside = 1 << 29;

// Walks a tap-major reduction index t = (r*S + s) * channels + c in steps of `step`: c advances by an addition and
// the tap (r, s) only moves on when c wraps, so the walk needs no division after its start.
struct TapWalk {
    int t, c, r, s;

    __device__ TapWalk(int t_, const FastDiv& channels, const FastDiv& taps_per_row) : t(t_) {
        int tap;
        channels.divmod(t, tap, c);
        taps_per_row.divmod(tap, r, s);
    }
    // Moves on by `step`; returns whether the tap changed.
    __device__ bool advance(int step, int channels, int S) {
        t += step;
        c += step;
        if (c < channels) return false;
        do {
            c -= channels;
            if (++s == S) {
                s = 0;
                ++r;
            }
        } while (c >= channels);
        return true;
    }
};

// The index maps of the three GEMMs, with the FastDivs they need built once per block. The reductions over taps run
// tap-major, t = (r*S + s) * channels + c, so that consecutive t are consecutive channels under one tap: a run of
// them shares one padding check and one window position, and the weight is handed over in that order.
struct ConvIndex {
    ConvShape s;
    FastDiv pq, q, hw, w, taps_per_row, cg, kg, sh, sw;  // cg.d and kg.d are C/groups and K/groups, undivided again

    __device__ explicit ConvIndex(const ConvShape& s_)
        : s(s_),
          pq(s_.P * s_.Q),
          q(s_.Q),
          hw(s_.H * s_.W),
          w(s_.W),
          taps_per_row(s_.S),
          cg(s_.Cg()),
          kg(s_.Kg()),
          sh(s_.sh),
          sw(s_.sw) {}

    // Output pixel i = (n, p, q) as an im2col row needs it: where its window starts in image n.
    struct Pixel {
        long long image;  // offset of image n in x
        int h0, w0;       // top-left corner of the window, in input coordinates (may lie in the padding)
    };
    __device__ Pixel pixel(int i, int count) const {
        int n, pqi, p, qi;
        pq.divmod(i, n, pqi);
        q.divmod(pqi, p, qi);
        return {static_cast<long long>(n) * s.C * s.H * s.W, i < count ? p * s.sh - s.ph : -kOutside,
                qi * s.sw - s.pw};
    }

    // im2col elements t, t + STEP, ... (t tap-major over group z's channels, below `count`) under pixel px.
    template <int PER, int STEP, typename T>
    __device__ void im2col_run(const T* x, const Pixel& px, int z, int t, int count, T (&out)[PER]) const {
        const int Cg = static_cast<int>(cg.d);
        TapWalk walk(t, cg, taps_per_row);
        long long base = 0;
        bool inside = false;
        const auto at_tap = [&] {
            const int h = px.h0 + walk.r * s.dh, w_ = px.w0 + walk.s * s.dw;
            inside = static_cast<unsigned>(h) < static_cast<unsigned>(s.H) &&
                     static_cast<unsigned>(w_) < static_cast<unsigned>(s.W);
            base = px.image + static_cast<long long>(z * Cg) * s.H * s.W + h * s.W + w_;
        };
        at_tap();
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            out[e] = (inside && walk.t < count) ? x[base + walk.c * s.H * s.W] : T(0);
            if (e + 1 < PER && walk.advance(STEP, Cg, s.S)) at_tap();
        }
    }
};

// The im2col matrix of group z, pixels by tap-major (tap, channel) columns: forward's A, read along the pixels
// (x-fastest), and, transposed, backward-weight's B, read along the pixels too (k-fastest). fetch() loads a thread's
// PER elements of one step: a row x and the k's k, k + STEP, ... (x-fastest) or the rows x, x + STEP, ... and one k.
template <typename T, bool kPixelRows>
struct Im2colOperand {
    static constexpr bool x_fastest = kPixelRows;
    const ConvIndex& ix;
    const T* x;
    int z, pixels, taps;

    template <int PER, int STEP>
    __device__ void fetch(int row, int k, T (&out)[PER]) const {
        const int pixel = kPixelRows ? row : k, tap = kPixelRows ? k : row;
        ix.im2col_run<PER, STEP>(x, ix.pixel(pixel, pixels), z, tap, taps, out);
    }
};

// A row-major (batch, K, X) matrix read along x: the weight of forward and backward-data, in tap-major order.
template <typename T>
struct DenseOperand {
    static constexpr bool x_fastest = true;
    const T* base;  // the batch's matrix
    int X, K;

    template <int PER, int STEP>
    __device__ void fetch(int x, int k, T (&out)[PER]) const {
#pragma unroll
        for (int e = 0; e < PER; ++e)
            out[e] = (x < X && k + e * STEP < K) ? base[static_cast<long long>(k + e * STEP) * X + x] : T(0);
    }
};

// Backward-data's A: row i = (n, h, w) is an input pixel, column t = (tap, ko) tap-major over the group's output
// channels, and the element is g[n, ko, p, q] for the output pixel that reads (h, w) through the tap, or zero where
// none does: (h + ph - r*dh) must divide by sh, and likewise along w.
template <typename T>
struct GradByInputOperand {
    static constexpr bool x_fastest = true;
    const ConvIndex& ix;
    const T* g;
    int z, pixels, taps;

    template <int PER, int STEP>
    __device__ void fetch(int i, int t, T (&out)[PER]) const {
        const ConvShape& s = ix.s;
        int n, hwi, h, w;
        ix.hw.divmod(i, n, hwi);
        ix.w.divmod(hwi, h, w);
        const int hh = i < pixels ? h + s.ph : -kOutside, ww = w + s.pw;
        const int Kg = static_cast<int>(ix.kg.d);
        const long long image = (static_cast<long long>(n) * s.K + z * Kg) * s.P * s.Q;
        TapWalk walk(t, ix.kg, ix.taps_per_row);
        long long base = 0;
        bool hit = false;
        const auto at_tap = [&] {
            const int hp = hh - walk.r * s.dh, wq = ww - walk.s * s.dw;
            const int p = ix.sh.div(hp > 0 ? hp : 0), q = ix.sw.div(wq > 0 ? wq : 0);
            hit = hp >= 0 && wq >= 0 && p * s.sh == hp && q * s.sw == wq && p < s.P && q < s.Q;
            base = image + p * s.Q + q;
        };
        at_tap();
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            out[e] = (hit && walk.t < taps) ? g[base + walk.c * s.P * s.Q] : T(0);
            if (e + 1 < PER && walk.advance(STEP, Kg, s.S)) at_tap();
        }
    }
};

// Backward-weight's A: row i is output channel z*Kg + i, column k = (n, p, q) an output pixel: g[n, z*Kg + i, p, q].
template <typename T>
struct GradRowsOperand {
    static constexpr bool x_fastest = false;
    const ConvIndex& ix;
    const T* g;
    int z, rows, pixels;

    template <int PER, int STEP>
    __device__ void fetch(int i, int k, T (&out)[PER]) const {
        int n, pqi;
        ix.pq.divmod(k, n, pqi);
        const int PQ = ix.s.P * ix.s.Q;
        const long long base = (static_cast<long long>(n) * ix.s.K + z * static_cast<int>(ix.kg.d) + i) * PQ + pqi;
#pragma unroll
        for (int e = 0; e < PER; ++e) out[e] = (i + e * STEP < rows && k < pixels) ? g[base + e * STEP * PQ] : T(0);
    }
};

// The three problems of conv_gemm: sizes of one group's GEMM, the operands of group z, and where output (m, n) of
// group z goes. Reduction slice `slice` writes the slice-th of `splits` whole outputs, one after the other.
template <typename T>
struct ConvForward {
    ConvIndex ix;
    const T* x;
    const T* wt;  // (groups, R*S*C/groups, K/groups)
    T* y;         // (splits, N, K, P, Q)
    int batch, splits, slice_k, M, N, K;

    __device__ ConvForward(const T* x_, const T* wt_, T* y_, const ConvShape& s, int splits_, int slice_k_)
        : ix(s), x(x_), wt(wt_), y(y_), batch(s.groups), splits(splits_), slice_k(slice_k_), M(s.N * s.P * s.Q),
          N(s.Kg()), K(s.Cg() * s.R * s.S) {}
    __device__ Im2colOperand<T, true> a(int z) const { return {ix, x, z, M, K}; }
    __device__ DenseOperand<T> b(int z) const { return {wt + static_cast<long long>(z) * K * N, N, K}; }
    __device__ void store(int z, int slice, int m, int j, T v) const {
        if (m >= M || j >= N) return;
        int n, pqi;
        ix.pq.divmod(m, n, pqi);
        y[(static_cast<long long>(slice * ix.s.N + n) * ix.s.K + z * N + j) * ix.s.P * ix.s.Q + pqi] = v;
    }
};

template <typename T>
struct ConvBackwardInput {
    ConvIndex ix;
    const T* g;
    const T* wt;  // (groups, R*S*K/groups, C/groups)
    T* gx;        // (splits, N, C, H, W)
    int batch, splits, slice_k, M, N, K;

    __device__ ConvBackwardInput(const T* g_, const T* wt_, T* gx_, const ConvShape& s, int splits_, int slice_k_)
        : ix(s), g(g_), wt(wt_), gx(gx_), batch(s.groups), splits(splits_), slice_k(slice_k_), M(s.N * s.H * s.W),
          N(s.Cg()), K(s.Kg() * s.R * s.S) {}
    __device__ GradByInputOperand<T> a(int z) const { return {ix, g, z, M, K}; }
    __device__ DenseOperand<T> b(int z) const { return {wt + static_cast<long long>(z) * K * N, N, K}; }
    __device__ void store(int z, int slice, int m, int c, T v) const {
        if (m >= M || c >= N) return;
        int n, hwi;
        ix.hw.divmod(m, n, hwi);
        gx[(static_cast<long long>(slice * ix.s.N + n) * ix.s.C + z * N + c) * ix.s.H * ix.s.W + hwi] = v;
    }
};

template <typename T>
struct ConvBackwardWeight {
    ConvIndex ix;
    const T* x;
    const T* g;
    T* gw;  // (splits, K, R*S*C/groups): the weight gradient with its taps tap-major, as the host transposes it back
    int batch, splits, slice_k, M, N, K;

    __device__ ConvBackwardWeight(const T* x_, const T* g_, T* gw_, const ConvShape& s, int splits_, int slice_k_)
        : ix(s), x(x_), g(g_), gw(gw_), batch(s.groups), splits(splits_), slice_k(slice_k_), M(s.Kg()),
          N(s.Cg() * s.R * s.S), K(s.N * s.P * s.Q) {}
    __device__ GradRowsOperand<T> a(int z) const { return {ix, g, z, M, K}; }
    __device__ Im2colOperand<T, false> b(int z) const { return {ix, x, z, K, N}; }
    __device__ void store(int z, int slice, int ko, int j, T v) const {
        if (ko < M && j < N) gw[((static_cast<long long>(slice) * batch + z) * M + ko) * N + j] = v;
    }
};

// A BX x BK operand tile in flight, as TileFetch in matmul.cu: fetch() reads it into registers, store() writes it to
// shared memory as S[k][x]. The warp's lanes walk whichever index is contiguous in memory, so its loads coalesce:
// along an x-fastest operand a thread keeps the row x = thread % BX and takes every STEP-th k of the step, along a
// k-fastest one it keeps one k and takes every STEP-th row. Either way its PER elements are one run for the operand's
// fetch(), which splits the indices it shares once.
template <typename T, int BX, int BK, int NT, typename Op>
struct OperandTile {
    static constexpr int PER = BX * BK / NT;
    static constexpr int STEP = Op::x_fastest ? NT / BX : NT / BK;
    static_assert(PER * NT == BX * BK && STEP * (Op::x_fastest ? BX : BK) == NT, "the tile must split evenly");
    T r[PER];

    __device__ void fetch(const Op& op, int x0, int k0) {
        const int t = threadIdx.x;
        if constexpr (Op::x_fastest)
            op.template fetch<PER, STEP>(x0 + t % BX, k0 + t / BX, r);
        else
            op.template fetch<PER, STEP>(x0 + t / BK, k0 + t % BK, r);
    }
    template <int LD>
    __device__ void store(T (&S)[BK][LD]) const {
        const int t = threadIdx.x;
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            if constexpr (Op::x_fastest)
                S[t / BX + e * STEP][t % BX] = r[e];
            else
                S[t % BK][t / BK + e * STEP] = r[e];
        }
    }
};

// N consecutive values from shared memory, in 16-byte vector loads where N allows (the caller keeps src 16-byte
// aligned): a quarter of the load instructions of the scalar loop, which the compiler does not vectorize itself.
template <int N, typename T>
__device__ __forceinline__ void load_run(const T* src, T* dst) {
    constexpr int W = static_cast<int>(16 / sizeof(T));
    if constexpr (N % W == 0) {
#pragma unroll
        for (int v = 0; v < N / W; ++v) {
            const auto q = load_vector<typename Vec16<T>::type>(src + v * W);
#pragma unroll
            for (int j = 0; j < W; ++j) dst[v * W + j] = reinterpret_cast<const T*>(&q)[j];
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) dst[i] = src[i];
    }
}

// matmul_warptile's main loop over a convolution problem: the block's BM x BN tile of group z, reduction slice
// `slice`, is split into WM x WN warp tiles of WMITER x WNITER sub-tiles of TM x TN outputs per thread; two shared
// buffers alternate so the next tile's global loads overlap the math on the current one. Shared rows are padded by
// 16 bytes (which keeps them 16-byte aligned for the vector reads of load_run): a k-fastest loader's warp stores down
// a column of S[k][x], which unpadded would put every k in the same bank.
template <typename T, int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN, typename Problem>
__device__ void conv_gemm(const Problem& p) {
    constexpr int NT = (BM / WM) * (BN / WN) * kWarpSize;
    constexpr int WMITER = (WM * WN) / (kWarpSize * TM * TN * WNITER);
    constexpr int WSUBM = WM / WMITER, WSUBN = WN / WNITER;
    constexpr int PAD = 16 / sizeof(T);
    static_assert((WSUBM / TM) * (WSUBN / TN) == kWarpSize, "a warp sub-tile must hold exactly 32 threads");
    __shared__ __align__(16) T As[2][BK][BM + PAD];
    __shared__ __align__(16) T Bs[2][BK][BN + PAD];
    const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
    const int wm = (warp / (BN / WN)) * WM, wn = (warp % (BN / WN)) * WN;
    const int tm = (lane / (WSUBN / TN)) * TM, tn = (lane % (WSUBN / TN)) * TN;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    for (int zs = blockIdx.z; zs < p.batch * p.splits; zs += gridDim.z) {
        const int z = zs / p.splits, slice = zs % p.splits;
        const int k_begin = slice * p.slice_k, k_end = min(p.K, k_begin + p.slice_k);
        const int tiles = ceil_div(k_end - k_begin, BK);
        const auto opa = p.a(z);
        const auto opb = p.b(z);
        OperandTile<T, BM, BK, NT, decltype(opa)> fa;
        OperandTile<T, BN, BK, NT, decltype(opb)> fb;
        T acc[WMITER * TM][WNITER * TN] = {};
        fa.fetch(opa, m0, k_begin);
        fb.fetch(opb, n0, k_begin);
        fa.store(As[0]);
        fb.store(Bs[0]);
        __syncthreads();
        for (int t = 0; t < tiles; ++t) {
            const int cur = t & 1;
            const bool more = t + 1 < tiles;
            if (more) {
                fa.fetch(opa, m0, k_begin + (t + 1) * BK);
                fb.fetch(opb, n0, k_begin + (t + 1) * BK);
            }
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                T ra[WMITER * TM], rb[WNITER * TN];
#pragma unroll
                for (int wi = 0; wi < WMITER; ++wi) load_run<TM>(&As[cur][kk][wm + wi * WSUBM + tm], &ra[wi * TM]);
#pragma unroll
                for (int wj = 0; wj < WNITER; ++wj) load_run<TN>(&Bs[cur][kk][wn + wj * WSUBN + tn], &rb[wj * TN]);
#pragma unroll
                for (int i = 0; i < WMITER * TM; ++i)
#pragma unroll
                    for (int j = 0; j < WNITER * TN; ++j) acc[i][j] += ra[i] * rb[j];
            }
            if (more) {
                fa.store(As[cur ^ 1]);
                fb.store(Bs[cur ^ 1]);
            }
            __syncthreads();
        }
#pragma unroll
        for (int wi = 0; wi < WMITER; ++wi)
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int wj = 0; wj < WNITER; ++wj)
#pragma unroll
                    for (int j = 0; j < TN; ++j)
                        p.store(z, slice, m0 + wm + wi * WSUBM + tm + i, n0 + wn + wj * WSUBN + tn + j,
                                acc[wi * TM + i][wj * TN + j]);
    }
}

}  // namespace mt

// The three kernels take the same sizes: x (N, C, H, W), w (K, C/groups, R, S), y (N, K, P, Q); forward and
// backward-data take the weight transposed (see the top of the file). Slice i of the `splits` sums the reduction
// range [i * slice_k, (i + 1) * slice_k) into the i-th of `splits` outputs (one output when splits = 1). The launch
// is a 1-D block of (BM/WM) * (BN/WN) warps on a grid of (M tiles, N tiles, groups * splits) of the GEMM computed;
// two blocks fit on an SM (the launch bounds cap a 256-thread tile at 128 registers).
#define MT_CONV_ARGS                                                                                               \
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int groups, int sh, int sw, int ph, int pw, int dh, \
        int dw, int splits, int slice_k
#define MT_CONV_SHAPE mt::ConvShape{N, C, H, W, K, R, S, P, Q, groups, sh, sw, ph, pw, dh, dw}
#define MT_CONV_THREADS ((BM / WM) * (BN / WN) * mt::kWarpSize)

template <typename T, int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN>
__global__ void __launch_bounds__(MT_CONV_THREADS, 2)
    conv2d_forward(const T* x, const T* wt, T* y, MT_CONV_ARGS) {
    mt::conv_gemm<T, BM, BN, BK, WM, WN, WNITER, TM, TN>(mt::ConvForward<T>(x, wt, y, MT_CONV_SHAPE, splits, slice_k));
}

template <typename T, int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN>
__global__ void __launch_bounds__(MT_CONV_THREADS, 2)
    conv2d_backward_input(const T* g, const T* wt, T* gx, MT_CONV_ARGS) {
    mt::conv_gemm<T, BM, BN, BK, WM, WN, WNITER, TM, TN>(
        mt::ConvBackwardInput<T>(g, wt, gx, MT_CONV_SHAPE, splits, slice_k));
}

template <typename T, int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN>
__global__ void __launch_bounds__(MT_CONV_THREADS, 2)
    conv2d_backward_weight(const T* x, const T* g, T* gw, MT_CONV_ARGS) {
    mt::conv_gemm<T, BM, BN, BK, WM, WN, WNITER, TM, TN>(
        mt::ConvBackwardWeight<T>(x, g, gw, MT_CONV_SHAPE, splits, slice_k));
}

#undef MT_CONV_ARGS
#undef MT_CONV_SHAPE
#undef MT_CONV_THREADS

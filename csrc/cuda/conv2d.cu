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
// Each problem is handed to matmul.cu's register-blocked main loop; the group is the GEMM's batch index (grid z).
// All tensors are contiguous; the host wrapper passes the output size, so asymmetric padding only moves ph, pw.
#pragma once

#include "matmul.cu"

namespace mt {

// Splits a flat index i over the sizes (*, b, c) into (i / (b*c), i / c % b, i % c).
__device__ __forceinline__ void split3(int i, int b, int c, int& x, int& y, int& z) {
    z = i % c;
    y = (i / c) % b;
    x = i / (b * c);
}

struct ConvShape {
    int N, C, H, W, K, R, S, P, Q, groups, sh, sw, ph, pw, dh, dw;

    __device__ int Cg() const { return C / groups; }
    __device__ int Kg() const { return K / groups; }
    // Element offsets of contiguous x/gx (N, C, H, W) and y/g (N, K, P, Q).
    __device__ long long input(int n, int c, int h, int w) const {
        return ((static_cast<long long>(n) * C + c) * H + h) * W + w;
    }
    __device__ long long output(int n, int k, int p, int q) const {
        return ((static_cast<long long>(n) * K + k) * P + p) * Q + q;
    }
    // Input element under output pixel (p, q) and tap (r, s), or 0 where that falls in the padding.
    template <typename T>
    __device__ T tap(const T* x, int n, int c, int p, int q, int r, int s) const {
        const int h = p * sh - ph + r * dh, w = q * sw - pw + s * dw;
        return (h >= 0 && h < H && w >= 0 && w < W) ? x[input(n, c, h, w)] : T(0);
    }
};

template <typename T>
struct ConvForward {
    const T* x;
    const T* w;
    T* y;
    ConvShape s;
    int batch, M, N, K;

    __device__ ConvForward(const T* x_, const T* w_, T* y_, const ConvShape& s_)
        : x(x_), w(w_), y(y_), s(s_), batch(s_.groups), M(s_.N * s_.P * s_.Q), N(s_.Kg()), K(s_.Cg() * s_.R * s_.S) {}

    __device__ T a(int z, int m, int k) const {  // im2col[m, k]
        if (m >= M || k >= K) return T(0);
        int n, p, q, c, r, t;
        split3(m, s.P, s.Q, n, p, q);
        split3(k, s.R, s.S, c, r, t);
        return s.tap(x, n, z * s.Cg() + c, p, q, r, t);
    }
    __device__ T b(int z, int k, int j) const {  // w[z*Kg + j] flattened over (c, r, s)
        return (k < K && j < N) ? w[static_cast<long long>(z * N + j) * K + k] : T(0);
    }
    __device__ void store(int z, int m, int j, T v) const {
        if (m >= M || j >= N) return;
        int n, p, q;
        split3(m, s.P, s.Q, n, p, q);
        y[s.output(n, z * N + j, p, q)] = v;
    }
    __device__ bool a_m_fastest() const { return true; }  // neighbouring pixels are neighbouring input columns
    __device__ bool b_n_fastest() const { return false; }  // a filter's (c, r, s) values are contiguous
};

template <typename T>
struct ConvBackwardInput {
    const T* g;
    const T* w;
    T* gx;
    ConvShape s;
    int batch, M, N, K;

    __device__ ConvBackwardInput(const T* g_, const T* w_, T* gx_, const ConvShape& s_)
        : g(g_), w(w_), gx(gx_), s(s_), batch(s_.groups), M(s_.N * s_.H * s_.W), N(s_.Cg()), K(s_.Kg() * s_.R * s_.S) {}

    __device__ T a(int z, int m, int k) const {  // g[n, ko, p, q] for the output pixel that reads (h, w) via (r, s)
        if (m >= M || k >= K) return T(0);
        int n, h, w, ko, r, t;
        split3(m, s.H, s.W, n, h, w);
        split3(k, s.R, s.S, ko, r, t);
        const int hp = h + s.ph - r * s.dh, wq = w + s.pw - t * s.dw;
        if (hp < 0 || wq < 0 || hp % s.sh != 0 || wq % s.sw != 0) return T(0);
        const int p = hp / s.sh, q = wq / s.sw;
        return (p < s.P && q < s.Q) ? g[s.output(n, z * s.Kg() + ko, p, q)] : T(0);
    }
    __device__ T b(int z, int k, int c) const {  // w[z*Kg + ko, c, r, s]
        if (k >= K || c >= N) return T(0);
        const int rs = s.R * s.S;
        return w[(static_cast<long long>(z * s.Kg() + k / rs) * N + c) * rs + k % rs];
    }
    __device__ void store(int z, int m, int c, T v) const {
        if (m >= M || c >= N) return;
        int n, h, w;
        split3(m, s.H, s.W, n, h, w);
        gx[s.input(n, z * N + c, h, w)] = v;
    }
    __device__ bool a_m_fastest() const { return true; }
    __device__ bool b_n_fastest() const { return false; }
};

template <typename T>
struct ConvBackwardWeight {
    const T* x;
    const T* g;
    T* gw;
    ConvShape s;
    int batch, M, N, K;

    __device__ ConvBackwardWeight(const T* x_, const T* g_, T* gw_, const ConvShape& s_)
        : x(x_), g(g_), gw(gw_), s(s_), batch(s_.groups), M(s_.Kg()), N(s_.Cg() * s_.R * s_.S), K(s_.N * s_.P * s_.Q) {}

    __device__ T a(int z, int ko, int k) const {  // g[n, z*Kg + ko, p, q] with k = (n, p, q)
        if (ko >= M || k >= K) return T(0);
        int n, p, q;
        split3(k, s.P, s.Q, n, p, q);
        return g[s.output(n, z * M + ko, p, q)];
    }
    __device__ T b(int z, int k, int j) const {  // im2col[(n, p, q), (c, r, s)]
        if (k >= K || j >= N) return T(0);
        int n, p, q, c, r, t;
        split3(k, s.P, s.Q, n, p, q);
        split3(j, s.R, s.S, c, r, t);
        return s.tap(x, n, z * s.Cg() + c, p, q, r, t);
    }
    __device__ void store(int z, int ko, int j, T v) const {
        if (ko < M && j < N) gw[static_cast<long long>(z * M + ko) * N + j] = v;
    }
    __device__ bool a_m_fastest() const { return false; }  // both operands are contiguous along the pixels (k)
    __device__ bool b_n_fastest() const { return false; }
};

}  // namespace mt

// The three kernels take the same sizes: x (N, C, H, W), w (K, C/groups, R, S), y (N, K, P, Q). The launch is a 1-D
// block of (BM/TM) * (BN/TN) threads on a grid of (M tiles, N tiles, groups) of the GEMM being computed.
#define MT_CONV_ARGS                                                                                               \
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int groups, int sh, int sw, int ph, int pw, int dh, \
        int dw
#define MT_CONV_SHAPE mt::ConvShape{N, C, H, W, K, R, S, P, Q, groups, sh, sw, ph, pw, dh, dw}

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void conv2d_forward(const T* x, const T* w, T* y, MT_CONV_ARGS) {
    mt::gemm_regblock<T, BM, BN, BK, TM, TN>(mt::ConvForward<T>(x, w, y, MT_CONV_SHAPE));
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void conv2d_backward_input(const T* g, const T* w, T* gx, MT_CONV_ARGS) {
    mt::gemm_regblock<T, BM, BN, BK, TM, TN>(mt::ConvBackwardInput<T>(g, w, gx, MT_CONV_SHAPE));
}

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void conv2d_backward_weight(const T* x, const T* g, T* gw, MT_CONV_ARGS) {
    mt::gemm_regblock<T, BM, BN, BK, TM, TN>(mt::ConvBackwardWeight<T>(x, g, gw, MT_CONV_SHAPE));
}

#undef MT_CONV_ARGS
#undef MT_CONV_SHAPE

// Softmax and log-softmax, forward and backward, along one dimension of a strided array.
//
// The array is seen as (outer, n, inner): softmax runs over the n elements of each of the rows = outer * inner rows.
// Row r = o * inner + i starts at o * s_outer + i * s_inner and steps by s_dim, so any dim and any collapsible strides
// work without a copy (minitorch/backends/cuda_kernels/softmax.py builds these from the array). Outputs are
// contiguous: row r of the output starts at o * n * inner + i and steps by inner.
//
// Three ways to map a row to threads, chosen by row length (the planner in softmax.py):
//   warp   n <= 32 * E: one warp per row, E values per lane in registers, reductions by warp shuffles only.
//   block  the row fits in shared memory: one block per row reads it once, reduces, writes from shared memory.
//   online longer rows: one block per row, nothing cached. The forward computes max and sum in one pass with the
//          online rescaling s * exp(m_old - m_new), then a second pass writes: two reads of x instead of three.
// float16/bfloat16 values are computed in float (mt::Acc). A row holding NaN or +inf, or only -inf, gives NaN,
// exactly as PyTorch.
#include "common.cuh"

namespace softmax_detail {

// Where row r of an (outer, n, inner) view begins.
__device__ __forceinline__ long long row_start(int r, int inner, long long s_outer, long long s_inner) {
    return static_cast<long long>(r / inner) * s_outer + static_cast<long long>(r % inner) * s_inner;
}

// The contiguous output row: shape (outer, n, inner).
__device__ __forceinline__ long long out_start(int r, int n, int inner) {
    return static_cast<long long>(r / inner) * n * inner + r % inner;
}

// The output of one element, given the row's max m and sum s of exp(x - m).
template <typename A>
__device__ __forceinline__ A forward_value(A x, A m, A s, bool log) {
    return log ? x - m - mt::log_(s) : mt::exp_(x - m) / s;
}

// The input gradient of one element, given the row's sum (of y * dy for softmax, of dy for log-softmax).
template <typename A>
__device__ __forceinline__ A backward_value(A y, A dy, A sum, bool log) {
    return log ? dy - mt::exp_(y) * sum : (dy - sum) * y;
}

// The running (max, sum of exp(x - max)) of two parts of a row, merged. Parts holding only -inf stay (-inf, 0)
// rather than producing exp(-inf - -inf) = NaN; a NaN or +inf max makes the sum NaN, as it should.
template <typename A>
__device__ __forceinline__ void merge(A& m, A& s, A m2, A s2) {
    const A m_new = mt::nan_max(m, m2);
    s = m_new == mt::neg_inf<A>() ? A(0) : s * mt::exp_(m - m_new) + s2 * mt::exp_(m2 - m_new);
    m = m_new;
}

// merge() across the lanes of a warp, then across the warps of the block; every thread gets the row's (m, s).
template <typename A>
__device__ __forceinline__ void block_merge(A& m, A& s) {
    __shared__ A partial_m[mt::kWarpSize + 1], partial_s[mt::kWarpSize + 1];
    for (int offset = mt::kWarpSize / 2; offset > 0; offset /= 2) {
        const A m2 = __shfl_xor_sync(mt::kFullMask, m, offset), s2 = __shfl_xor_sync(mt::kFullMask, s, offset);
        merge(m, s, m2, s2);
    }
    const int lane = threadIdx.x % mt::kWarpSize, warp = threadIdx.x / mt::kWarpSize;
    if (lane == 0) {
        partial_m[warp] = m;
        partial_s[warp] = s;
    }
    __syncthreads();
    if (warp == 0) {
        const bool real = lane < static_cast<int>(blockDim.x / mt::kWarpSize);
        m = real ? partial_m[lane] : mt::neg_inf<A>();
        s = real ? partial_s[lane] : A(0);
        for (int offset = mt::kWarpSize / 2; offset > 0; offset /= 2) {
            const A m2 = __shfl_xor_sync(mt::kFullMask, m, offset), s2 = __shfl_xor_sync(mt::kFullMask, s, offset);
            merge(m, s, m2, s2);
        }
        if (lane == 0) {
            partial_m[mt::kWarpSize] = m;
            partial_s[mt::kWarpSize] = s;
        }
    }
    __syncthreads();
    m = partial_m[mt::kWarpSize];
    s = partial_s[mt::kWarpSize];
}

}  // namespace softmax_detail

// ---- warp per row: blockDim = (32, rows per block); lane k holds elements k, k + 32, ... k + 32 * (E - 1). -------
template <typename T, int E>
__global__ void softmax_forward_warp(const T* __restrict__ x, T* __restrict__ y, int rows, int n, int inner,
                                     long long s_outer, long long s_dim, long long s_inner, int log) {
    using A = typename mt::Acc<T>::type;
    const int row = blockIdx.x * blockDim.y + threadIdx.y, lane = threadIdx.x;
    if (row >= rows) return;  // the whole warp leaves together, so no shuffle misses a lane
    const T* in = x + softmax_detail::row_start(row, inner, s_outer, s_inner);
    A v[E];
    A m = mt::neg_inf<A>();
#pragma unroll
    for (int k = 0; k < E; ++k) {
        const int j = lane + k * mt::kWarpSize;
        v[k] = j < n ? mt::to_acc(in[j * s_dim]) : mt::neg_inf<A>();
        m = mt::nan_max(m, v[k]);
    }
    m = mt::warp_reduce_max(m);
    A s = 0;
#pragma unroll
    for (int k = 0; k < E; ++k)
        if (lane + k * mt::kWarpSize < n) s += mt::exp_(v[k] - m);
    s = mt::warp_reduce_sum(s);
    T* out = y + softmax_detail::out_start(row, n, inner);
#pragma unroll
    for (int k = 0; k < E; ++k) {
        const int j = lane + k * mt::kWarpSize;
        if (j < n)
            out[static_cast<long long>(j) * inner] = mt::from_acc<T>(softmax_detail::forward_value(v[k], m, s, log));
    }
}

template <typename T, int E>
__global__ void softmax_backward_warp(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int rows,
                                      int n, int inner, long long y_outer, long long y_dim, long long y_inner,
                                      long long d_outer, long long d_dim, long long d_inner, int log) {
    using A = typename mt::Acc<T>::type;
    const int row = blockIdx.x * blockDim.y + threadIdx.y, lane = threadIdx.x;
    if (row >= rows) return;
    const T* yr = y + softmax_detail::row_start(row, inner, y_outer, y_inner);
    const T* dr = dy + softmax_detail::row_start(row, inner, d_outer, d_inner);
    A yv[E], dv[E];
    A sum = 0;
#pragma unroll
    for (int k = 0; k < E; ++k) {
        const int j = lane + k * mt::kWarpSize;
        yv[k] = j < n ? mt::to_acc(yr[j * y_dim]) : A(0);
        dv[k] = j < n ? mt::to_acc(dr[j * d_dim]) : A(0);
        sum += log ? dv[k] : yv[k] * dv[k];
    }
    sum = mt::warp_reduce_sum(sum);
    T* out = dx + softmax_detail::out_start(row, n, inner);
#pragma unroll
    for (int k = 0; k < E; ++k) {
        const int j = lane + k * mt::kWarpSize;
        if (j < n)
            out[static_cast<long long>(j) * inner] =
                mt::from_acc<T>(softmax_detail::backward_value(yv[k], dv[k], sum, log));
    }
}

// ---- block per row, the row cached in dynamic shared memory (n values of A; the backward caches y and dy). ------
template <typename T>
__global__ void softmax_forward_block(const T* __restrict__ x, T* __restrict__ y, int rows, int n, int inner,
                                      long long s_outer, long long s_dim, long long s_inner, int log) {
    using A = typename mt::Acc<T>::type;
    MT_DYNAMIC_SHARED(A, cache);
    const int row = blockIdx.x;
    const T* in = x + softmax_detail::row_start(row, inner, s_outer, s_inner);
    A m = mt::neg_inf<A>();
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        cache[j] = mt::to_acc(in[static_cast<long long>(j) * s_dim]);
        m = mt::nan_max(m, cache[j]);
    }
    m = mt::block_reduce(m, mt::Max(), mt::neg_inf<A>());
    A s = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) s += mt::exp_(cache[j] - m);  // each thread reads its own
    s = mt::block_reduce(s, mt::Sum(), A(0));
    T* out = y + softmax_detail::out_start(row, n, inner);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        out[static_cast<long long>(j) * inner] = mt::from_acc<T>(softmax_detail::forward_value(cache[j], m, s, log));
}

template <typename T>
__global__ void softmax_backward_block(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int rows,
                                       int n, int inner, long long y_outer, long long y_dim, long long y_inner,
                                       long long d_outer, long long d_dim, long long d_inner, int log) {
    using A = typename mt::Acc<T>::type;
    MT_DYNAMIC_SHARED(A, cache);
    A* y_cache = cache;
    A* d_cache = cache + n;
    const int row = blockIdx.x;
    const T* yr = y + softmax_detail::row_start(row, inner, y_outer, y_inner);
    const T* dr = dy + softmax_detail::row_start(row, inner, d_outer, d_inner);
    A sum = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        y_cache[j] = mt::to_acc(yr[static_cast<long long>(j) * y_dim]);
        d_cache[j] = mt::to_acc(dr[static_cast<long long>(j) * d_dim]);
        sum += log ? d_cache[j] : y_cache[j] * d_cache[j];
    }
    sum = mt::block_reduce(sum, mt::Sum(), A(0));
    T* out = dx + softmax_detail::out_start(row, n, inner);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        out[static_cast<long long>(j) * inner] =
            mt::from_acc<T>(softmax_detail::backward_value(y_cache[j], d_cache[j], sum, log));
}

// ---- block per row, uncached: the forward's online max-and-sum pass, then the pass that writes. -------------------
template <typename T>
__global__ void softmax_forward_online(const T* __restrict__ x, T* __restrict__ y, int rows, int n, int inner,
                                       long long s_outer, long long s_dim, long long s_inner, int log) {
    using A = typename mt::Acc<T>::type;
    const int row = blockIdx.x;
    const T* in = x + softmax_detail::row_start(row, inner, s_outer, s_inner);
    A m = mt::neg_inf<A>(), s = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        softmax_detail::merge(m, s, mt::to_acc(in[static_cast<long long>(j) * s_dim]), A(1));
    softmax_detail::block_merge(m, s);
    T* out = y + softmax_detail::out_start(row, n, inner);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        out[static_cast<long long>(j) * inner] = mt::from_acc<T>(
            softmax_detail::forward_value(mt::to_acc(in[static_cast<long long>(j) * s_dim]), m, s, log));
}

template <typename T>
__global__ void softmax_backward_online(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                        int rows, int n, int inner, long long y_outer, long long y_dim,
                                        long long y_inner, long long d_outer, long long d_dim, long long d_inner,
                                        int log) {
    using A = typename mt::Acc<T>::type;
    const int row = blockIdx.x;
    const T* yr = y + softmax_detail::row_start(row, inner, y_outer, y_inner);
    const T* dr = dy + softmax_detail::row_start(row, inner, d_outer, d_inner);
    A sum = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const A d = mt::to_acc(dr[static_cast<long long>(j) * d_dim]);
        sum += log ? d : mt::to_acc(yr[static_cast<long long>(j) * y_dim]) * d;
    }
    sum = mt::block_reduce(sum, mt::Sum(), A(0));
    T* out = dx + softmax_detail::out_start(row, n, inner);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        out[static_cast<long long>(j) * inner] = mt::from_acc<T>(softmax_detail::backward_value(
            mt::to_acc(yr[static_cast<long long>(j) * y_dim]), mt::to_acc(dr[static_cast<long long>(j) * d_dim]),
            sum, log));
}

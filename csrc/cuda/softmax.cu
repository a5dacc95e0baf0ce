// Softmax and log-softmax, forward and backward, along one dimension of a strided array.
//
// The array is seen as (outer, n, inner): softmax runs over the n elements of each of the rows = outer * inner rows.
// Row r = o * inner + i starts at o * s_outer + i * s_inner and steps by s_dim, so any dim and any collapsible strides
// work without a copy (minitorch/backends/cuda_kernels/softmax.py builds these from the array). Outputs are
// contiguous: row r of the output starts at o * n * inner + i and steps by inner.
//
// Three ways to map a row to threads, chosen by row length (the planner in softmax.py):
//   registers  rows up to 512 threads * 8 vectors: 1 to 16 warps per row hold it in registers and the forward reads
//              x once and writes y once, the least traffic a softmax can have. Contiguous, aligned rows move as
//              16-byte vectors (float4, double2, 8 halves), which is what reaches the memory bandwidth.
//   block      the row fits in shared memory: one block per row reads it once, reduces, writes from shared memory.
//   online     longer rows: one block per row, nothing cached. The forward computes max and sum in one pass with the
//              online rescaling s * exp(m_old - m_new), then a second pass writes: two reads of x instead of three.
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

// The output row of a kernel moving V values at once. V > 1 only comes with contiguous rows (inner = 1), and
// spelling that out matters: through out_start's division nvcc no longer trusts the 16-byte stores and splits them.
template <int V, typename T>
__device__ __forceinline__ T* out_row(T* out, int r, int n, int inner) {
    return out + (V > 1 ? static_cast<long long>(r) * n : out_start(r, n, inner));
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

// The register kernels' most threads per block: __launch_bounds__ then caps a thread at 65536 / 512 = 128 registers,
// which the backward's 32 values of y and 32 of dy (softmax.py's ROW_VALUES) fit without spilling. The 1 (one block
// per SM at least) matters: with the thread count alone, nvcc aims at fewer registers and spills. softmax.py's
// MAX_ROW_WARPS is this over 32.
constexpr int kMaxRowThreads = 512;

// V consecutive values, aligned to their size so that one access moves them all (16 bytes: float4, double2, 8 halves).
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
    T v[V];
};

// Vector i of a row (element i when V = 1, at stride `step`) converted to A, or `fill` past the row's `count` vectors.
template <typename T, int V, typename A>
__device__ __forceinline__ void load_vector(const T* row, long long step, int i, int count, A (&out)[V], A fill) {
    if (i >= count) {
#pragma unroll
        for (int t = 0; t < V; ++t) out[t] = fill;
    } else if constexpr (V == 1) {
        out[0] = mt::to_acc(row[i * step]);
    } else {
        const Pack<T, V> p = mt::load_vector<Pack<T, V>>(row + static_cast<long long>(i) * V);
#pragma unroll
        for (int t = 0; t < V; ++t) out[t] = mt::to_acc(p.v[t]);
    }
}

// The store matching load_vector: vector i of an output row whose values are `step` apart (1 when V > 1).
template <typename T, int V, typename A>
__device__ __forceinline__ void store_vector(T* row, int step, int i, int count, const A (&values)[V]) {
    if (i >= count) return;
    if constexpr (V == 1) {
        row[static_cast<long long>(i) * step] = mt::from_acc<T>(values[0]);
    } else {
        Pack<T, V> p;
#pragma unroll
        for (int t = 0; t < V; ++t) p.v[t] = mt::from_acc<T>(values[t]);
        T* at = row + static_cast<long long>(i) * V;
#ifdef MT_EMULATION
        ::mt_emu::check_aligned(at, sizeof(p));
#endif
        *reinterpret_cast<Pack<T, V>*>(at) = p;
    }
}

// A reduction over the W = blockDim.x / 32 warps of one row (row threadIdx.y of the block); every thread of the row
// gets the result. With W > 1 the warp leaders meet in `partial` (one slot per warp of the block, so each call needs
// its own array); W is the same for the whole block, so either every thread reaches the barrier or none does.
template <typename A, typename Op>
__device__ __forceinline__ A row_reduce(A v, Op op, A* partial) {
    v = mt::warp_reduce(v, op);
    const int warps = blockDim.x / mt::kWarpSize;
    if (warps == 1) return v;
    const int first = threadIdx.y * warps;
    if (threadIdx.x % mt::kWarpSize == 0) partial[first + threadIdx.x / mt::kWarpSize] = v;
    __syncthreads();
    v = partial[first];
    for (int w = 1; w < warps; ++w) v = op(v, partial[first + w]);
    return v;
}

}  // namespace softmax_detail

// ---- the row in registers: blockDim = (32 * W, R), W warps per row (W = 1: shuffles only), R rows per block. -------
// Thread t of a row holds the vectors t, t + 32 W, ... t + 32 W (E - 1) of V consecutive values each, so a warp's
// loads are coalesced and every thread has E independent loads in flight. V > 1 needs a contiguous row (s_dim and
// inner 1), n a multiple of V and every row aligned to a vector: the planner checks and passes V = 1 otherwise.
template <typename T, int V, int E>
__global__ void __launch_bounds__(softmax_detail::kMaxRowThreads, 1)
    softmax_forward_registers(const T* __restrict__ x, T* __restrict__ y, int rows, int n, int inner,
                              long long s_outer, long long s_dim, long long s_inner, int log) {
    using A = typename mt::Acc<T>::type;
    __shared__ A partial_max[mt::kWarpSize], partial_sum[mt::kWarpSize];
    const int row = blockIdx.x * blockDim.y + threadIdx.y;
    const int vectors = row < rows ? n / V : 0;  // a row past the end loads nothing but still meets the barriers
    const int live_row = row < rows ? row : rows - 1;
    const T* in = x + softmax_detail::row_start(live_row, inner, s_outer, s_inner);
    A v[E][V];
#pragma unroll
    for (int k = 0; k < E; ++k)
        softmax_detail::load_vector(in, s_dim, threadIdx.x + k * blockDim.x, vectors, v[k], mt::neg_inf<A>());
    A m = mt::neg_inf<A>();
#pragma unroll
    for (int k = 0; k < E; ++k)
#pragma unroll
        for (int t = 0; t < V; ++t) m = mt::nan_max(m, v[k][t]);
    m = softmax_detail::row_reduce(m, mt::Max(), partial_max);
    // Softmax keeps exp(x - m) to scale by 1 / s; log-softmax keeps x, which its output x - m - log(s) needs.
    A s = 0;
#pragma unroll
    for (int k = 0; k < E; ++k)
        if (static_cast<int>(threadIdx.x + k * blockDim.x) < vectors)
#pragma unroll
            for (int t = 0; t < V; ++t) {
                const A e = mt::exp_(v[k][t] - m);
                s += e;
                if (!log) v[k][t] = e;
            }
    s = softmax_detail::row_reduce(s, mt::Sum(), partial_sum);
    const A scale = log ? mt::log_(s) : A(1) / s;
#pragma unroll
    for (int k = 0; k < E; ++k)
#pragma unroll
        for (int t = 0; t < V; ++t) v[k][t] = log ? v[k][t] - m - scale : v[k][t] * scale;
    T* out = softmax_detail::out_row<V>(y, live_row, n, inner);
#pragma unroll
    for (int k = 0; k < E; ++k) softmax_detail::store_vector(out, inner, threadIdx.x + k * blockDim.x, vectors, v[k]);
}

template <typename T, int V, int E>
__global__ void __launch_bounds__(softmax_detail::kMaxRowThreads, 1)
    softmax_backward_registers(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int rows, int n,
                               int inner, long long y_outer, long long y_dim, long long y_inner, long long d_outer,
                               long long d_dim, long long d_inner, int log) {
    using A = typename mt::Acc<T>::type;
    __shared__ A partial_sum[mt::kWarpSize];
    const int row = blockIdx.x * blockDim.y + threadIdx.y;
    const int vectors = row < rows ? n / V : 0;
    const int live_row = row < rows ? row : rows - 1;
    const T* yr = y + softmax_detail::row_start(live_row, inner, y_outer, y_inner);
    const T* dr = dy + softmax_detail::row_start(live_row, inner, d_outer, d_inner);
    A yv[E][V], dv[E][V];
#pragma unroll
    for (int k = 0; k < E; ++k) {
        softmax_detail::load_vector(yr, y_dim, threadIdx.x + k * blockDim.x, vectors, yv[k], A(0));
        softmax_detail::load_vector(dr, d_dim, threadIdx.x + k * blockDim.x, vectors, dv[k], A(0));
    }
    A sum = 0;  // the padding loaded zeros, which add nothing
#pragma unroll
    for (int k = 0; k < E; ++k)
#pragma unroll
        for (int t = 0; t < V; ++t) sum += log ? dv[k][t] : yv[k][t] * dv[k][t];
    sum = softmax_detail::row_reduce(sum, mt::Sum(), partial_sum);
#pragma unroll
    for (int k = 0; k < E; ++k)
#pragma unroll
        for (int t = 0; t < V; ++t) dv[k][t] = softmax_detail::backward_value(yv[k][t], dv[k][t], sum, log);
    T* out = softmax_detail::out_row<V>(dx, live_row, n, inner);
#pragma unroll
    for (int k = 0; k < E; ++k) softmax_detail::store_vector(out, inner, threadIdx.x + k * blockDim.x, vectors, dv[k]);
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

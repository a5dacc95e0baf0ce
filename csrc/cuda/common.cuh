// Device helpers shared by every kernel in csrc/cuda.
//
// The same text compiles three ways: NVRTC at run time (CuPy RawModule), nvcc -ptx in CI, and g++ with
// -DMT_EMULATION, where csrc/emu/cuda_emulation.h supplies threadIdx, __syncthreads, warp shuffles ... on the CPU.
// NVRTC has no C++ standard library and no C headers, so nothing here (or in a .cu file) may include a host header
// (only the fp16/bf16 headers NVRTC ships) or use their macros: INFINITY, NAN, FLT_MAX ... are undefined under NVRTC
// (use mt::infinity<T>()), while the math functions (expf, fmaxf, rsqrtf ...) are built in.
#pragma once

#ifdef MT_EMULATION
#include "../emu/cuda_emulation.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

// Dynamic shared memory (the launch's `shared_mem` bytes) seen as an array of `type`. CUDA has a single extern
// buffer per kernel; declaring it with one byte type avoids the clash between template instantiations that
// `extern __shared__ T name[]` with different T would cause. The buffer is 16-byte aligned, enough for float4.
#ifdef MT_EMULATION
#define MT_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::mt_emu::dynamic_shared())
#else
#define MT_DYNAMIC_SHARED(type, name)                  \
    extern __shared__ __align__(16) unsigned char mt_dynamic_shared_[]; \
    type* name = reinterpret_cast<type*>(mt_dynamic_shared_)
#endif

namespace mt {

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;

// Number of tiles of size b needed to cover a.
__host__ __device__ __forceinline__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Whether p is a multiple of `bytes` (a power of two): vector loads (float4 ...) need their own size's alignment.
__device__ __forceinline__ bool is_aligned(const void* p, unsigned bytes) {
    return (reinterpret_cast<unsigned long long>(p) & (bytes - 1)) == 0;
}

// A vector load (V = float4, float2, double2 ...) from p, which must be aligned to sizeof(V). The emulator checks
// the alignment, which a misaligned load on the GPU would fault on.
template <typename V, typename T>
__device__ __forceinline__ V load_vector(const T* p) {
#ifdef MT_EMULATION
    ::mt_emu::check_aligned(p, sizeof(V));
#endif
    return *reinterpret_cast<const V*>(p);
}

// max that lets a NaN win, as torch.max does (fmaxf would drop it and hide a NaN row).
template <typename T>
__device__ __forceinline__ T nan_max(T a, T b) {
    return (a > b || a != a) ? a : b;
}

// Reduction operators for warp_reduce/block_reduce.
struct Sum {
    template <typename T>
    __device__ __forceinline__ T operator()(T a, T b) const {
        return a + b;
    }
};
struct Max {
    template <typename T>
    __device__ __forceinline__ T operator()(T a, T b) const {
        return nan_max(a, b);
    }
};

// Butterfly reduction over the 32 lanes of a warp: after log2(32) = 5 exchanges every lane holds the result.
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(kFullMask, v, offset));
    return v;
}
template <typename T>
__device__ __forceinline__ T warp_reduce_sum(T v) {
    return warp_reduce(v, Sum());
}
template <typename T>
__device__ __forceinline__ T warp_reduce_max(T v) {
    return warp_reduce(v, Max());
}

// Reduction over a one-dimensional block whose size is a multiple of 32; every thread gets the result. Each warp
// reduces its values, warp leaders meet in shared memory, and warp 0 reduces their partials (identity pads the
// missing warps). The result has its own slot, so a second call may start while threads still read the first.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity) {
    __shared__ T partial[kWarpSize + 1];
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    v = warp_reduce(v, op);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_reduce(lane < static_cast<int>(blockDim.x / kWarpSize) ? partial[lane] : identity, op);
        if (lane == 0) partial[kWarpSize] = v;
    }
    __syncthreads();
    return partial[kWarpSize];
}

// Storage types and the type arithmetic is done in: float16/bfloat16 are loaded, accumulated in float, stored back.
template <typename T>
struct Acc {
    using type = T;
};
template <>
struct Acc<__half> {
    using type = float;
};
template <>
struct Acc<__nv_bfloat16> {
    using type = float;
};

__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }
__device__ __forceinline__ float to_acc(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_acc(typename Acc<T>::type v) {
    return v;
}
template <>
__device__ __forceinline__ __half from_acc<__half>(float v) {
    return __float2half(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_acc<__nv_bfloat16>(float v) {
    return __float2bfloat16(v);
}

// exp/log in the precision of the argument (expf for float: as accurate as PyTorch's CUDA softmax).
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

// Infinity of float/double. NVRTC has no <math.h>, so the INFINITY macro is undefined there: build it from its bits.
__device__ __forceinline__ float infinity_of(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double infinity_of(double) { return __longlong_as_double(0x7ff0000000000000LL); }
template <typename T>
__device__ __forceinline__ T infinity() {
    return infinity_of(T());
}
template <typename T>
__device__ __forceinline__ T neg_inf() {
    return -infinity_of(T());
}

}  // namespace mt

// Batched, strided matrix multiply C[z] = A[z] @ B[z], written as the classic teaching ladder of GEMM kernels
// (after Simon Boehm's "How to optimize a CUDA matmul kernel"). Each rung fixes the main bottleneck of the one before:
//
//   matmul_naive      one thread per output; neighbouring threads walk different rows, so loads are uncoalesced
//   matmul_coalesced  neighbouring threads take neighbouring columns: one warp load serves 32 outputs
//   matmul_smem       the block stages TILE x TILE tiles of A and B in shared memory and reuses each TILE times
//   matmul_regblock   each thread computes TM x TN outputs from registers: TM + TN shared loads feed TM * TN FMAs
//   matmul_warptile   warps own sub-tiles (fewer shared-memory bank conflicts, better register reuse), 16-byte
//                     vector loads where the layout allows, and two shared buffers so the next tile's global loads
//                     overlap the current tile's math
//   matmul_vectorized the warp tiling sized for a big GPU: 256 threads of at most 128 registers (two blocks per SM),
//                     each reading its operands from shared memory as 16-byte vectors
//   matmul_pipelined  the same tiles fed by cp.async: global memory goes straight to shared memory, several tiles
//                     ahead of the math
//   matmul_mma        tensor cores (TF32, FP16, BF16 with float accumulation) through mma.sync: GPU only
//   matmul_mma_pipelined  (matmul_tc.cu) the tensor-core kernel fed by cp.async and ldmatrix, several tiles ahead
//
// Every kernel takes the same arguments. A is (batch, M, K) with element strides (sAb, sAm, sAk) and B is (batch, K, N)
// with (sBb, sBk, sBn), so a transposed or broadcast operand needs no copy; C is contiguous (batch, M, N).
// The grid is (M tiles, N tiles, batch); blocks whose z exceeds the grid's 65535 limit loop over the rest.
// conv2d.cu builds its implicit GEMMs from this file's 16-byte vector helpers (Vec16, load_vector) and warp tiling idea.
#pragma once

#include "common.cuh"

namespace mt {

// The GEMM "problem" interface used by the generic kernels: a(z, m, k) and b(z, k, n) read an operand element (zero
// outside the matrix, so partial tiles need no special case), store(z, m, n, v) writes one output.
// a_m_fastest / b_n_fastest say which index walks memory contiguously, so tile loads can follow it.
template <typename T>
struct StridedMatmul {
    const T* A;
    const T* B;
    T* C;
    int batch, M, N, K;
    long long sAb, sAm, sAk, sBb, sBk, sBn;

    __device__ T a(int z, int m, int k) const {
        return (m < M && k < K) ? A[z * sAb + m * sAm + k * sAk] : T(0);
    }
    __device__ T b(int z, int k, int n) const {
        return (k < K && n < N) ? B[z * sBb + k * sBk + n * sBn] : T(0);
    }
    __device__ void store(int z, int m, int n, T v) const {
        if (m < M && n < N) C[(static_cast<long long>(z) * M + m) * N + n] = v;
    }
    __device__ bool a_m_fastest() const { return sAm == 1 && sAk != 1; }  // A is stored transposed
    __device__ bool b_n_fastest() const { return !(sBk == 1 && sBn != 1); }  // unless B is stored transposed
};

// Copies the BX x BK tile at (x0, k0) of an operand, read through get(x, k), into shared memory as S[k][x], the
// layout the register-blocked inner loop reads along x. The NT threads of a (1-D) block take consecutive elements
// along whichever index is contiguous in global memory, so each warp's loads coalesce.
template <int BX, int BK, int NT, typename T, typename Get>
__device__ __forceinline__ void load_tile(T (&S)[BK][BX], Get get, int x0, int k0, bool x_fastest) {
    static_assert((BX * BK) % NT == 0, "the tile must split evenly over the threads");
#pragma unroll
    for (int e = 0; e < BX * BK / NT; ++e) {
        const int i = threadIdx.x + e * NT;
        const int x = x_fastest ? i % BX : i / BK;
        const int k = x_fastest ? i / BX : i % BK;
        S[k][x] = get(x0 + x, k0 + k);
    }
}

// One BM x BN output tile of a GEMM problem, register-blocked: thread (tr, tc) of the (BM/TM) x (BN/TN) threads
// accumulates the TM x TN outputs at rows tr*TM.., columns tc*TN.. . Per k it loads TM + TN values from shared
// memory and does TM * TN multiply-adds, where matmul_smem did 2 loads per multiply-add.
template <typename T, int BM, int BN, int BK, int TM, int TN, typename Problem>
__device__ void gemm_regblock(const Problem& p) {
    constexpr int NT = (BM / TM) * (BN / TN);
    __shared__ T As[BK][BM];
    __shared__ T Bs[BK][BN];
    const int tr = threadIdx.x / (BN / TN), tc = threadIdx.x % (BN / TN);
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    for (int z = blockIdx.z; z < p.batch; z += gridDim.z) {
        T acc[TM][TN] = {};
        for (int k0 = 0; k0 < p.K; k0 += BK) {
            load_tile<BM, BK, NT>(As, [&](int m, int k) { return p.a(z, m, k); }, m0, k0, p.a_m_fastest());
            load_tile<BN, BK, NT>(Bs, [&](int n, int k) { return p.b(z, k, n); }, n0, k0, p.b_n_fastest());
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                T ra[TM], rb[TN];
#pragma unroll
                for (int i = 0; i < TM; ++i) ra[i] = As[kk][tr * TM + i];
#pragma unroll
                for (int j = 0; j < TN; ++j) rb[j] = Bs[kk][tc * TN + j];
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
            }
            __syncthreads();  // everyone is done reading the tiles before the next ones overwrite them
        }
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) p.store(z, m0 + tr * TM + i, n0 + tc * TN + j, acc[i][j]);
    }
}

// The 16-byte vector of T: one load instruction moves 4 floats or 2 doubles.
template <typename T>
struct Vec16;
template <>
struct Vec16<float> {
    using type = float4;
};
template <>
struct Vec16<double> {
    using type = double2;
};

// Packs 16 bytes of values (4 floats or 2 doubles) into their vector type, and the reverse.
__device__ __forceinline__ float4 pack16(const float (&r)[4]) { return make_float4(r[0], r[1], r[2], r[3]); }
__device__ __forceinline__ double2 pack16(const double (&r)[2]) { return make_double2(r[0], r[1]); }
template <typename T, typename V>
__device__ __forceinline__ void unpack16(const V& v, T* r) {
#pragma unroll
    for (int j = 0; j < static_cast<int>(sizeof(V) / sizeof(T)); ++j) r[j] = reinterpret_cast<const T*>(&v)[j];
}

// A 16-byte vector store to p, which must be aligned to 16 bytes (checked by the emulator, as load_vector does).
template <typename T, int W>
__device__ __forceinline__ void store_vector16(T* p, const T (&r)[W]) {
    using V = typename Vec16<T>::type;
    static_assert(sizeof(V) == W * sizeof(T), "a 16-byte vector of T");
#ifdef MT_EMULATION
    ::mt_emu::check_aligned(p, sizeof(V));
#endif
    *reinterpret_cast<V*>(p) = pack16(r);
}

// A BX x BK operand tile in flight: fetch() loads it from global memory into registers, store() writes it to shared
// memory as S[k][x] (rows of P >= BX values: padding moves the transposing store's rows to other banks). Splitting
// the two lets the double-buffered kernel issue the next tile's global loads before the math on the current tile.
// With VEC each thread moves whole 16-byte vectors along the contiguous index; the host planner only selects VEC when
// that index is unit-stride, its extent and the other strides are multiples of the vector width, and the pointer is
// 16-byte aligned (so a vector is either wholly inside the matrix or wholly outside).
template <typename T, int BX, int BK, int NT, bool VEC>
struct TileFetch {
    static constexpr int W = VEC ? static_cast<int>(16 / sizeof(T)) : 1;
    static constexpr int PER = BX * BK / (NT * W);
    static_assert(PER * NT * W == BX * BK, "the tile must split evenly over the threads");
    T r[PER][W];
    bool x_fastest;

    __device__ void position(int e, int& x, int& k) const {
        const int i = threadIdx.x + e * NT;
        x = x_fastest ? (i % (BX / W)) * W : i / (BK / W);
        k = x_fastest ? i / (BX / W) : (i % (BK / W)) * W;
    }

    __device__ void fetch(const T* src, int x0, int k0, int X, int K, long long sx, long long sk) {
        x_fastest = sx == 1 && sk != 1;
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            int x, k;
            position(e, x, k);
            x += x0;
            k += k0;
            const bool inside = x < X && k < K;
            if constexpr (VEC) {
                using V = typename Vec16<T>::type;
                unpack16(inside ? load_vector<V>(src + x * sx + k * sk) : V{}, r[e]);
            } else {
                r[e][0] = inside ? src[x * sx + k * sk] : T(0);
            }
        }
    }

    template <int P>
    __device__ void store(T (&S)[BK][P]) const {
        static_assert(P >= BX && P % W == 0, "rows hold the tile and keep vectors aligned");
#pragma unroll
        for (int e = 0; e < PER; ++e) {
            int x, k;
            position(e, x, k);
            if constexpr (VEC) {
                if (x_fastest) {  // the vector lies along a shared row: one 16-byte store
                    store_vector16(&S[k][x], r[e]);
                    continue;
                }
            }
#pragma unroll
            for (int j = 0; j < W; ++j) {
                if (x_fastest)
                    S[k][x + j] = r[e][j];
                else
                    S[k + j][x] = r[e][j];
            }
        }
    }
};

// The thread tile of rungs 6 and 7. The block's BM x BN tile is split into WM x WN warp tiles, and a warp's 32 lanes
// form an LM x LN grid over its tile. A thread owns RM x RN outputs made of W-wide groups (W values = 16 bytes): RM/W
// groups of W rows, LM*W rows apart, times RN/W groups of W columns, LN*W apart. A k step then reads RM/W + RN/W
// 16-byte vectors from shared memory for RM * RN multiply-adds (8 x 8 floats: 4 loads for 64), and the lanes that read
// different vectors of one group read neighbouring ones, which share no bank (lanes reading the same one get it
// broadcast). Shared rows may be padded (P > BM, BN) as long as vectors stay 16-byte aligned.
template <typename T, int BM, int BN, int WM, int WN, int LM>
struct VectorTile {
    using V = typename Vec16<T>::type;
    static constexpr int W = static_cast<int>(sizeof(V) / sizeof(T));
    static constexpr int NT = (BM / WM) * (BN / WN) * kWarpSize;
    static constexpr int LN = kWarpSize / LM, RM = WM / LM, RN = WN / LN;
    static_assert(LM * LN == kWarpSize && RM % W == 0 && RN % W == 0, "whole vectors per thread");
    T acc[RM][RN];
    int tm, tn;  // the thread's first row and column in the block tile

    __device__ VectorTile() {
        const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
        tm = (warp / (BN / WN)) * WM + (lane / LN) * W;
        tn = (warp % (BN / WN)) * WN + (lane % LN) * W;
    }

    __device__ void clear() {
#pragma unroll
        for (int i = 0; i < RM; ++i)
#pragma unroll
            for (int j = 0; j < RN; ++j) acc[i][j] = T(0);
    }

    // acc += the product of the shared tiles As[k][m] and Bs[k][n].
    template <int BK, int PA, int PB>
    __device__ __forceinline__ void multiply(const T (&As)[BK][PA], const T (&Bs)[BK][PB]) {
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            T ra[RM], rb[RN];
#pragma unroll
            for (int g = 0; g < RM / W; ++g) unpack16(load_vector<V>(&As[kk][tm + g * LM * W]), ra + g * W);
#pragma unroll
            for (int g = 0; g < RN / W; ++g) unpack16(load_vector<V>(&Bs[kk][tn + g * LN * W]), rb + g * W);
#pragma unroll
            for (int i = 0; i < RM; ++i)
#pragma unroll
                for (int j = 0; j < RN; ++j) acc[i][j] += ra[i] * rb[j];
        }
    }

    template <typename Problem>
    __device__ void store(const Problem& p, int z, int m0, int n0) const {
#pragma unroll
        for (int i = 0; i < RM; ++i)
#pragma unroll
            for (int j = 0; j < RN; ++j)
                p.store(z, m0 + tm + (i / W) * LM * W + i % W, n0 + tn + (j / W) * LN * W + j % W, acc[i][j]);
    }
};

// cp.async (sm_80 and newer) copies 4, 8 or 16 bytes from global to shared memory without holding a register: the
// copy runs while the thread goes on, cp_async_commit closes a group of copies, and cp_async_wait<N> waits until at
// most N groups of this thread are still in flight (other threads see the data after a barrier that follows).
// Elsewhere (older GPUs, and the emulator, which cannot run PTX) the copy is a plain load and store that has landed
// when it returns, and the commit and wait do nothing.
#if !defined(MT_EMULATION) && (!defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800)
#define MT_CP_ASYNC 1
#else
#define MT_CP_ASYNC 0
#endif

#if MT_CP_ASYNC
// The 32-bit shared-memory address that PTX's shared-state instructions (cp.async, ldmatrix) take, from a generic
// pointer into shared memory. Written in PTX rather than with __cvta_generic_to_shared, so it needs no header.
__device__ __forceinline__ unsigned shared_address(const void* p) {
    unsigned address;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
    return address;
}
#endif

template <typename U>
__device__ __forceinline__ void copy_async(U* dst, const U* src) {
    static_assert(sizeof(U) == 4 || sizeof(U) == 8 || sizeof(U) == 16, "cp.async moves 4, 8 or 16 bytes");
#if MT_CP_ASYNC
    const unsigned shared = shared_address(dst);
    if constexpr (sizeof(U) == 16)  // .cg: keep 16-byte copies out of L1 (each is used once per block)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared), "l"(src) : "memory");
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], %2;" ::"r"(shared), "l"(src), "n"(sizeof(U)) : "memory");
#else
    *dst = load_vector<U>(src);
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if MT_CP_ASYNC
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if MT_CP_ASYNC
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
#endif
}

// The unit of one copy: a single T, or the 16-byte vector of N values.
template <typename T, int N>
struct CopyUnit {
    using type = typename Vec16<T>::type;
};
template <typename T>
struct CopyUnit<T, 1> {
    using type = T;
};

// One operand's tiles for rung 7, copied asynchronously into shared memory as S[k][x] (x along M or N), one BX x BK
// tile after another along k, with zeros outside the matrix. With VEC (the host planner's guarantee, see TileFetch)
// and x contiguous, each copy is a 16-byte vector along a shared row; otherwise a single element, consecutive threads
// taking consecutive elements along the contiguous index, so each warp reads whole 32-byte sectors of global memory
// (and with rows padded by 4 words, the transposing store into S[k][x] falls on different banks). Either way a
// thread's copies lie D = NT / L lines apart (L threads per line), so the set-up is done once per product and a
// tile's copies cost a pointer increment and a bounds check each.
template <typename T, int BX, int BK, int NT, bool VEC>
struct TileCopy {
    using V = typename Vec16<T>::type;
    static constexpr int W = VEC ? static_cast<int>(sizeof(V) / sizeof(T)) : 1;
    const T* from;       // the thread's first element of the next tile
    long long sx, sk;    // the operand's strides
    int x, k;            // that element's place in the tile
    int x_room, k_room;  // positions left in the matrix from there, along x and (in the next tile) along k
    bool vectors, x_fastest;

    __device__ TileCopy(const T* src, int x0, int X, int K, long long sx_, long long sk_) : sx(sx_), sk(sk_) {
        x_fastest = sx == 1 && sk != 1;
        vectors = VEC && x_fastest;
        const int L = vectors ? BX / W : x_fastest ? BX : BK;
        x = x_fastest ? (threadIdx.x % L) * (vectors ? W : 1) : threadIdx.x / L;
        k = x_fastest ? threadIdx.x / L : threadIdx.x % L;
        from = src + (x0 + x) * sx + k * sk;
        x_room = X - x0 - x;
        k_room = K - k;
    }

    // Starts the copies of the next tile into S.
    template <int P>
    __device__ __forceinline__ void issue(T (&S)[BK][P]) {
        if (vectors)
            copies<W, true>(S);
        else if (x_fastest)
            copies<1, true>(S);
        else
            copies<1, false>(S);
        from += BK * sk;
        k_room -= BK;
    }

  private:
    template <int N, bool X_FASTEST, int P>
    __device__ __forceinline__ void copies(T (&S)[BK][P]) const {
        using U = typename CopyUnit<T, N>::type;
        constexpr int L = X_FASTEST ? BX / N : BK, D = NT / L, E = BX * BK / (NT * N);
        static_assert(NT % L == 0 && E * NT * N == BX * BK && P % N == 0, "whole, aligned copies per thread");
        const long long step = D * (X_FASTEST ? sk : sx);
#pragma unroll
        for (int e = 0; e < E; ++e) {
            U* dst = reinterpret_cast<U*>(X_FASTEST ? &S[k + e * D][x] : &S[k][x + e * D]);
            if (X_FASTEST ? (x_room > 0 && e * D < k_room) : (e * D < x_room && k_room > 0))
                copy_async(dst, reinterpret_cast<const U*>(from + e * step));
            else
                *dst = U{};
        }
    }
};

}  // namespace mt

// Rung 1: one thread per output C[m][n], with threadIdx.x walking m. The 32 threads of a warp read 32 different rows
// of A (addresses K apart) and write C with stride N, so every load and store is its own memory transaction.
template <typename T>
__global__ void matmul_naive(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb,
                             long long sAm, long long sAk, long long sBb, long long sBk, long long sBn) {
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    const int m = blockIdx.x * blockDim.x + threadIdx.x;
    const int n = blockIdx.y * blockDim.y + threadIdx.y;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        T acc = 0;
        for (int k = 0; k < K; ++k) acc += p.a(z, m, k) * p.b(z, k, n);
        p.store(z, m, n, acc);
    }
}

// Rung 2: the same work with threadIdx.x walking n. A warp now reads one A element (a broadcast) and 32 neighbouring
// B elements, and writes 32 neighbouring C elements: each access is one coalesced transaction.
template <typename T>
__global__ void matmul_coalesced(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb,
                                 long long sAm, long long sAk, long long sBb, long long sBk, long long sBn) {
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    const int m = blockIdx.x * blockDim.y + threadIdx.y;
    const int n = blockIdx.y * blockDim.x + threadIdx.x;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        T acc = 0;
        for (int k = 0; k < K; ++k) acc += p.a(z, m, k) * p.b(z, k, n);
        p.store(z, m, n, acc);
    }
}

// Rung 3: a TILE x TILE block loads a TILE x TILE tile of A and of B into shared memory (one element per thread), then
// every thread reads TILE values of each from there: each global element is loaded once per block instead of TILE
// times. Block (TILE, TILE): threadIdx.x walks n (and k when loading A), so loads stay coalesced.
template <typename T, int TILE>
__global__ void matmul_smem(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb, long long sAm,
                            long long sAk, long long sBb, long long sBk, long long sBn) {
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    __shared__ T As[TILE][TILE];
    __shared__ T Bs[TILE][TILE];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int m = blockIdx.x * TILE + ty, n = blockIdx.y * TILE + tx;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        T acc = 0;
        for (int k0 = 0; k0 < K; k0 += TILE) {
            As[ty][tx] = p.a(z, m, k0 + tx);
            Bs[ty][tx] = p.b(z, k0 + ty, n);
            __syncthreads();  // the whole tile is in place before anyone reads it
#pragma unroll
            for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
            __syncthreads();  // and nobody is still reading it when the next one is written
        }
        p.store(z, m, n, acc);
    }
}

// Rung 4: 2-D register blocking (see mt::gemm_regblock). A 1-D block of (BM/TM) * (BN/TN) threads per BM x BN tile.
template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void matmul_regblock(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb,
                                long long sAm, long long sAk, long long sBb, long long sBk, long long sBn) {
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    mt::gemm_regblock<T, BM, BN, BK, TM, TN>(p);
}

// Rung 5: warp tiling, vector loads and double buffering. The block's BM x BN tile is split into WM x WN warp tiles;
// each warp sweeps its tile in WMITER x WNITER sub-tiles, each of its 32 threads computing TM x TN outputs of every
// sub-tile. The threads of a warp then read a few contiguous shared-memory rows (broadcasts, few bank conflicts), and
// each thread's WMITER*TM + WNITER*TN register values feed WMITER*TM * WNITER*TN multiply-adds. Two shared buffers
// alternate: while the warps compute on one, the next tile's global loads are already in flight into registers, and a
// single barrier per step suffices (the buffer written in step t was last read in step t-1, which the previous barrier
// closed).
template <typename T, int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN, bool VEC>
__global__ void matmul_warptile(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb,
                                long long sAm, long long sAk, long long sBb, long long sBk, long long sBn) {
    constexpr int NT = (BM / WM) * (BN / WN) * mt::kWarpSize;
    constexpr int WMITER = (WM * WN) / (mt::kWarpSize * TM * TN * WNITER);
    constexpr int WSUBM = WM / WMITER, WSUBN = WN / WNITER;
    static_assert((WSUBM / TM) * (WSUBN / TN) == mt::kWarpSize, "a warp sub-tile must hold exactly 32 threads");
    __shared__ __align__(16) T As[2][BK][BM];
    __shared__ __align__(16) T Bs[2][BK][BN];
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    const int warp = threadIdx.x / mt::kWarpSize, lane = threadIdx.x % mt::kWarpSize;
    const int wm = (warp / (BN / WN)) * WM, wn = (warp % (BN / WN)) * WN;
    const int tm = (lane / (WSUBN / TN)) * TM, tn = (lane % (WSUBN / TN)) * TN;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int tiles = mt::ceil_div(K, BK);
    mt::TileFetch<T, BM, BK, NT, VEC> fa;
    mt::TileFetch<T, BN, BK, NT, VEC> fb;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        const T* Az = A + z * sAb;
        const T* Bz = B + z * sBb;
        T acc[WMITER * TM][WNITER * TN] = {};
        fa.fetch(Az, m0, 0, M, K, sAm, sAk);
        fb.fetch(Bz, n0, 0, N, K, sBn, sBk);
        fa.store(As[0]);
        fb.store(Bs[0]);
        __syncthreads();
        for (int t = 0; t < tiles; ++t) {
            const int cur = t & 1;
            const bool more = t + 1 < tiles;
            if (more) {
                fa.fetch(Az, m0, (t + 1) * BK, M, K, sAm, sAk);
                fb.fetch(Bz, n0, (t + 1) * BK, N, K, sBn, sBk);
            }
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                T ra[WMITER * TM], rb[WNITER * TN];
#pragma unroll
                for (int wi = 0; wi < WMITER; ++wi)
#pragma unroll
                    for (int i = 0; i < TM; ++i) ra[wi * TM + i] = As[cur][kk][wm + wi * WSUBM + tm + i];
#pragma unroll
                for (int wj = 0; wj < WNITER; ++wj)
#pragma unroll
                    for (int j = 0; j < TN; ++j) rb[wj * TN + j] = Bs[cur][kk][wn + wj * WSUBN + tn + j];
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
                        p.store(z, m0 + wm + wi * WSUBM + tm + i, n0 + wn + wj * WSUBN + tn + j,
                                acc[wi * TM + i][wj * TN + j]);
    }
}

// Rung 6: the warp tiling reshaped for a big GPU (mt::VectorTile). 256 threads per block and at most 128 registers
// each (the __launch_bounds__), so two blocks share an H100 SM's 64K registers: 16 warps to hide latency where rung
// 5's 254 registers per thread allowed 8. Global loads are still staged through registers into two alternating
// shared buffers, as in rung 5.
template <typename T, int BM, int BN, int BK, int WM, int WN, int LM, bool VEC>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * mt::kWarpSize, WM * WN / mt::kWarpSize <= 64 ? 2 : 1)
    matmul_vectorized(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb, long long sAm,
                      long long sAk, long long sBb, long long sBk, long long sBn) {
    using Tile = mt::VectorTile<T, BM, BN, WM, WN, LM>;
    __shared__ __align__(16) T As[2][BK][BM + Tile::W];
    __shared__ __align__(16) T Bs[2][BK][BN + Tile::W];
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int tiles = mt::ceil_div(K, BK);
    mt::TileFetch<T, BM, BK, Tile::NT, VEC> fa;
    mt::TileFetch<T, BN, BK, Tile::NT, VEC> fb;
    Tile tile;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        const T* Az = A + z * sAb;
        const T* Bz = B + z * sBb;
        tile.clear();
        fa.fetch(Az, m0, 0, M, K, sAm, sAk);
        fb.fetch(Bz, n0, 0, N, K, sBn, sBk);
        fa.store(As[0]);
        fb.store(Bs[0]);
        __syncthreads();
        for (int t = 0; t < tiles; ++t) {
            const int cur = t & 1;
            const bool more = t + 1 < tiles;
            if (more) {
                fa.fetch(Az, m0, (t + 1) * BK, M, K, sAm, sAk);
                fb.fetch(Bz, n0, (t + 1) * BK, N, K, sBn, sBk);
            }
            tile.multiply(As[cur], Bs[cur]);
            if (more) {
                fa.store(As[cur ^ 1]);
                fb.store(Bs[cur ^ 1]);
            }
            __syncthreads();
        }
        tile.store(p, z, m0, n0);
    }
}

// Rung 7: rung 6's block and thread tiles fed by a STAGES-deep pipeline of asynchronous copies (mt::TileCopy, cp.async
// on sm_80 and newer). Global memory goes straight to shared memory without passing through registers, and
// the copies of tiles t+1 .. t+STAGES-1 are in flight while the block computes on tile t, so a tile's loads have
// STAGES-1 tiles' worth of math to arrive in. One barrier per tile both publishes tile t and tells every thread that
// the stage read in step t-1 is free for tile t+STAGES-1.
template <typename T, int BM, int BN, int BK, int WM, int WN, int LM, int STAGES, bool VEC>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * mt::kWarpSize, WM * WN / mt::kWarpSize <= 64 ? 2 : 1)
    matmul_pipelined(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb, long long sAm,
                     long long sAk, long long sBb, long long sBk, long long sBn) {
    static_assert(STAGES >= 2, "a pipeline of at least two stages");
    using Tile = mt::VectorTile<T, BM, BN, WM, WN, LM>;
    __shared__ __align__(16) T As[STAGES][BK][BM + Tile::W];
    __shared__ __align__(16) T Bs[STAGES][BK][BN + Tile::W];
    const mt::StridedMatmul<T> p{A, B, C, batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn};
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int tiles = mt::ceil_div(K, BK);
    Tile tile;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        mt::TileCopy<T, BM, BK, Tile::NT, VEC> ca(A + z * sAb, m0, M, K, sAm, sAk);
        mt::TileCopy<T, BN, BK, Tile::NT, VEC> cb(B + z * sBb, n0, N, K, sBn, sBk);
        // Starts the copies of tile t (the next one in order) into stage t % STAGES as one commit group (an empty
        // one past the last tile, so that group i always holds tile i).
        const auto issue = [&](int t) {
            if (t < tiles) {
                ca.issue(As[t % STAGES]);
                cb.issue(Bs[t % STAGES]);
            }
            mt::cp_async_commit();
        };
        tile.clear();
        for (int t = 0; t < STAGES - 1; ++t) issue(t);
        for (int t = 0; t < tiles; ++t) {
            mt::cp_async_wait<STAGES - 2>();  // this thread's copies of tile t have landed ...
            __syncthreads();                  // ... everyone's have, and everyone is done with tile t-1's stage
            issue(t + STAGES - 1);
            tile.multiply(As[t % STAGES], Bs[t % STAGES]);
        }
        tile.store(p, z, m0, n0);
        __syncthreads();  // the next batch entry's first copies go to stages still being read
    }
}

#ifndef MT_EMULATION
// mma.sync on these types exists from sm_80 (Ampere) on. NVRTC compiles every registered kernel of this file for the
// GPU at hand, so on an older one the tensor-core kernel is a trap instead of an error that breaks the whole file (the
// backend sends it work only on sm_80 and newer).
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define MT_TENSOR_CORES 1
#else
#define MT_TENSOR_CORES 0
#endif

// Rung 8 (GPU only: the emulator cannot run tensor-core instructions). One warp-wide mma.sync multiplies a 16 x k
// tile of A by a k x 8 tile of B into a 16 x 8 float tile spread over the warp's registers. Shared memory holds both
// operands k-contiguous as 32-bit words (one TF32 value, or two FP16/BF16 values), so the fragment layouts of the
// PTX ISA ("mma.m16n8k8 .tf32" and "mma.m16n8k16 .f16/.bf16") read the same words for all three types: with
// g = lane / 4 and t = lane % 4, A's registers hold words (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4) of the
// 16 x 8-word tile, B's hold words (n = g; t) and (n = g; t + 4), and the result holds rows g and g + 8, columns 2t
// and 2t + 1. One mma step therefore always consumes 8 words of k.
#if MT_TENSOR_CORES
namespace mt {

template <typename T>
struct Mma;

// TF32: float32 operands rounded to a 10-bit mantissa (as torch.backends.cuda.matmul.allow_tf32), k = 8 per mma.
template <>
struct Mma<float> {
    using Bits = unsigned;
    static __device__ __forceinline__ Bits bits(float v) {
        unsigned r;
        asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
        return r;
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
        asm volatile(
            "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
};

template <>
struct Mma<__half> {
    using Bits = unsigned short;
    static __device__ __forceinline__ Bits bits(__half v) { return __half_as_ushort(v); }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
};

template <>
struct Mma<__nv_bfloat16> {
    using Bits = unsigned short;
    static __device__ __forceinline__ Bits bits(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }
    static __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
};

}  // namespace mt
#endif  // MT_TENSOR_CORES

// 128 x 128 output tile per block of 8 warps (2 x 4); each warp owns 64 x 32 outputs as 4 x 4 mma tiles of 16 x 8.
// A k-step of the block covers 16 words (16 TF32 or 32 FP16/BF16 values); rows are padded by 4 words so the 8 rows
// a fragment load touches fall in different shared-memory banks.
template <typename T>
__global__ void matmul_mma(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb, long long sAm,
                           long long sAk, long long sBb, long long sBk, long long sBn) {
#if MT_TENSOR_CORES
    using Bits = typename mt::Mma<T>::Bits;
    constexpr int BM = 128, BN = 128, KW = 16, PAD = 4, NT = 256;
    constexpr int PER_WORD = static_cast<int>(sizeof(unsigned) / sizeof(Bits));
    constexpr int BK = KW * PER_WORD;  // values of k per block step
    __shared__ unsigned As[BM][KW + PAD];
    __shared__ unsigned Bs[BN][KW + PAD];  // B stored n-major (k contiguous), the "col" operand layout of mma
    const int warp = threadIdx.x / mt::kWarpSize, lane = threadIdx.x % mt::kWarpSize;
    const int g = lane / 4, t = lane % 4;
    const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const bool a_m_fastest = sAm == 1 && sAk != 1, b_n_fastest = sBn == 1 && sBk != 1;
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        float acc[4][4][4] = {};
        for (int k0 = 0; k0 < K; k0 += BK) {
            // Global -> shared, one value at a time along the contiguous index, converted to the tensor-core format.
            Bits* as = reinterpret_cast<Bits*>(&As[0][0]);
            Bits* bs = reinterpret_cast<Bits*>(&Bs[0][0]);
            constexpr int ROW = (KW + PAD) * PER_WORD;  // a padded shared row, in values
#pragma unroll 4
            for (int i = threadIdx.x; i < BM * BK; i += NT) {
                const int x = a_m_fastest ? i % BM : i / BK, k = a_m_fastest ? i / BM : i % BK;
                const int m = m0 + x, kk = k0 + k;
                as[x * ROW + k] = (m < M && kk < K) ? mt::Mma<T>::bits(A[z * sAb + m * sAm + kk * sAk]) : Bits(0);
            }
#pragma unroll 4
            for (int i = threadIdx.x; i < BN * BK; i += NT) {
                const int x = b_n_fastest ? i % BN : i / BK, k = b_n_fastest ? i / BN : i % BK;
                const int n = n0 + x, kk = k0 + k;
                bs[x * ROW + k] = (n < N && kk < K) ? mt::Mma<T>::bits(B[z * sBb + kk * sBk + n * sBn]) : Bits(0);
            }
            __syncthreads();
#pragma unroll
            for (int kw = 0; kw < KW; kw += 8) {
                unsigned af[4][4], bf[4][2];
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int r = wm + i * 16 + g;
                    af[i][0] = As[r][kw + t];
                    af[i][1] = As[r + 8][kw + t];
                    af[i][2] = As[r][kw + t + 4];
                    af[i][3] = As[r + 8][kw + t + 4];
                }
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const int c = wn + j * 8 + g;
                    bf[j][0] = Bs[c][kw + t];
                    bf[j][1] = Bs[c][kw + t + 4];
                }
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) mt::Mma<T>::mma(acc[i][j], af[i], bf[j]);
            }
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j)
#pragma unroll
                for (int h = 0; h < 4; ++h) {
                    const int m = m0 + wm + i * 16 + g + (h / 2) * 8, n = n0 + wn + j * 8 + 2 * t + h % 2;
                    if (m < M && n < N) C[(static_cast<long long>(z) * M + m) * N + n] = mt::from_acc<T>(acc[i][j][h]);
                }
    }
#else
    __trap();
#endif
}
#endif  // MT_EMULATION

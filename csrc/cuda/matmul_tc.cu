// Rung 9 of the GEMM ladder in matmul.cu (GPU only): a software-pipelined tensor-core GEMM, the structure of CUTLASS's
// Ampere kernels. matmul_mma (rung 8) runs at a few percent of cuBLAS because every thread converts and stores single
// values into shared memory, the whole block then waits at a barrier, and only then do the tensor cores start: memory
// latency and math never overlap. Here
//
//   * cp.async copies 16-byte chunks global -> shared without passing through registers, STAGES tiles ahead of the
//     math: while the warps multiply tile t, tiles t+1 .. t+STAGES-1 are in flight, and one barrier per tile suffices;
//   * ldmatrix loads a warp's whole mma operand fragment (four 8 x 8 matrices of 16-bit values) in one instruction;
//   * each shared row is padded by 16 bytes (A) or 8 values (B), so the 8 rows one ldmatrix phase reads, and the
//     32 words the TF32 B fragment reads, fall into distinct banks;
//   * each warp computes WM x WN outputs as (WM/16) x (WN/8) mma tiles, with the operand fragments of the next k step
//     loaded from shared memory while the tensor cores work on the current one;
//   * blocks are renumbered so that those resident at the same time share rows and columns of tiles in L2.
//
// The fast path takes A with unit k stride and B with unit n stride (row-major, or any batch/row stride), sizes and
// strides in whole 16-byte chunks (K, N and the strides multiples of 16 / sizeof(T), pointers 16-byte aligned); the
// planner in matmul.py sends everything else to matmul_mma. M, N and K need not be tile multiples: chunks outside the
// matrix are zero-filled by cp.async and the stores are guarded. The k extent of one mma is 32 bytes (8 TF32 or 16
// FP16/BF16 values); the fragment layouts are those of the PTX ISA for mma.m16n8k8 (.tf32) and mma.m16n8k16 (.f16,
// .bf16): with g = lane / 4, t = lane % 4, A holds (g, k), (g + 8, k), (g, k + K/2), (g + 8, k + K/2) for
// k = t (TF32) or k = 2t, 2t + 1 (halves), B holds (k, n = g) for the same k and k + K/2, and the result rows g and
// g + 8, columns 2t and 2t + 1.
#pragma once

#include "matmul.cu"

#ifndef MT_EMULATION
#if MT_TENSOR_CORES
namespace mt {

// 16-byte asynchronous copy global -> shared that skips L1 (.cg), as matmul.cu's copy_async, except that only
// src_bytes are read and the rest of the 16 is zero-filled: 0 writes a zero chunk without touching global memory (the
// address must still be a valid one). Committed and awaited with matmul.cu's cp_async_commit and cp_async_wait.
// Here and in ldmatrix `shared` is a shared-state address (mt::shared_address), which the kernel computes once.
__device__ __forceinline__ void copy_async_or_zero(unsigned shared, const void* global, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(shared), "l"(global), "r"(src_bytes)
                 : "memory");
}

// Four 8 x 8 matrices of 16-bit values: lane i gives the address of row i % 8 of matrix i / 8 (16 contiguous bytes),
// and register j receives matrix j's elements (row lane / 4, columns 2 (lane % 4) and + 1) - or, with .trans, those of
// its transpose: (rows 2 (lane % 4) and + 1, column lane / 4), the two values in one 32-bit register, lower first.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], unsigned shared) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared)
                 : "memory");
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned (&r)[4], unsigned shared) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared)
                 : "memory");
}

// A fragment register as the mma takes it: float32 bits are rounded to the nearest TF32 value, unless TF32_RZ leaves
// them as they are for the tensor cores to truncate (they ignore the 13 low mantissa bits): that saves the four
// instructions cvt.rna.tf32 costs per value, a third of what the TF32 kernel issues, and doubles the rounding error
// (one TF32 unit, 2**-10 relative, instead of half of one). 16-bit pairs always pass unchanged.
template <typename T, bool TF32_RZ>
__device__ __forceinline__ unsigned mma_operand(unsigned bits) {
    if constexpr (sizeof(T) == 4 && !TF32_RZ)
        return Mma<float>::bits(__uint_as_float(bits));
    else
        return bits;
}

// Two adjacent outputs (columns 2t, 2t + 1 of a result fragment) written with one 8- or 4-byte store.
template <typename T>
struct alignas(2 * sizeof(T)) OutPair {
    T lo, hi;
};

// The shared-memory geometry of one pipeline stage, shared by the kernel and (as a formula) matmul.py's planner.
template <typename T, int BM, int BN, int BK>
struct PipelinedLayout {
    static constexpr int CHUNK = 16 / static_cast<int>(sizeof(T));  // values per 16-byte cp.async
    static constexpr int LDA = BK + CHUNK;                           // As[m][k] row, padded by 16 bytes
    static constexpr int LDB = BN + 8;                               // Bs[k][n] row, padded by 8 values
    static constexpr int STAGE = BM * LDA + BK * LDB;                // values per stage
};

}  // namespace mt
#endif  // MT_TENSOR_CORES

// Grid (M tiles, N tiles, batch), (BM / WM) * (BN / WN) warps; dynamic shared memory of
// STAGES * PipelinedLayout::STAGE values (the kernel traps if the launch gave less). A 64 x 64 warp tile holds 128
// accumulators and two sets of fragments: up to 255 registers a thread, so 4 warps a block make two blocks per SM.
template <typename T, int BM, int BN, int BK, int WM, int WN, int STAGES, bool TF32_RZ>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * mt::kWarpSize, 1)
    matmul_mma_pipelined(const T* A, const T* B, T* C, int batch, int M, int N, int K, long long sAb, long long sAm,
                         long long /*sAk = 1*/, long long sBb, long long sBk, long long /*sBn = 1*/) {
#if MT_TENSOR_CORES
    using L = mt::PipelinedLayout<T, BM, BN, BK>;
    constexpr int NT = (BM / WM) * (BN / WN) * mt::kWarpSize;
    constexpr int CHUNK = L::CHUNK, LDA = L::LDA, LDB = L::LDB;
    constexpr int KSTEP = 32 / static_cast<int>(sizeof(T));  // k of one mma: 8 (TF32) or 16 (FP16/BF16)
    constexpr int MI = WM / 16, NI = WN / 8;                  // mma tiles per warp
    constexpr int NK = BK / KSTEP;                            // mma k steps per tile
    constexpr int A_CHUNKS = BM * BK / CHUNK / NT, B_CHUNKS = BK * BN / CHUNK / NT;  // cp.async per thread and tile
    static_assert(A_CHUNKS * NT * CHUNK == BM * BK && B_CHUNKS * NT * CHUNK == BK * BN, "tiles must split evenly");
    static_assert(NK * KSTEP == BK && NK % 2 == 0, "an even number of k steps: each tile starts on fragment buffer 0");
    static_assert(WM % 16 == 0 && NI % 2 == 0, "whole mma tiles, B fragments loaded in pairs");
    MT_DYNAMIC_SHARED(T, smem);
    unsigned smem_bytes;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(smem_bytes));
    if (smem_bytes < STAGES * L::STAGE * sizeof(T)) __trap();
    // Stage s holds As at value offset s * STAGE and Bs BM * LDA values after it. cp.async and ldmatrix take 32-bit
    // shared-state addresses: converted once here, then plain integer arithmetic.
    const unsigned smem_address = mt::shared_address(smem);
    auto address = [&](int offset) { return smem_address + offset * static_cast<unsigned>(sizeof(T)); };

    const int warp = threadIdx.x / mt::kWarpSize, lane = threadIdx.x % mt::kWarpSize;
    const int g = lane / 4, t = lane % 4;
    const int wm = (warp / (BN / WN)) * WM, wn = (warp % (BN / WN)) * WN;
    // Blocks start in the order of the linear id blockIdx.x + blockIdx.y * gridDim.x. Renumbered so that this order
    // walks GROUP row tiles at a time (down a column of tiles, then the next column), the blocks resident together
    // share about sqrt(resident) row and column tiles of A and B each, which L2 then serves.
    constexpr int GROUP = 16;
    const int id = blockIdx.x + blockIdx.y * gridDim.x, per_group = GROUP * gridDim.y;
    const int first = id / per_group * GROUP, rows = min(static_cast<int>(gridDim.x) - first, GROUP);
    const int m0 = (first + id % per_group % rows) * BM, n0 = id % per_group / rows * BN;
    const int tiles = mt::ceil_div(K, BK);

    for (int z = blockIdx.z; z < batch; z += gridDim.z) {
        const T* Az = A + z * sAb;
        const T* Bz = B + z * sBb;
        // Tile kt -> stage s: thread i copies chunks i, i + NT, ... of A (row c / (BK / CHUNK)) and of B (k row
        // c / (BN / CHUNK)); consecutive threads take consecutive chunks of a row, so each warp reads whole sectors.
        auto load_tile = [&](int kt, int s) {
            const int as = s * L::STAGE, bs = as + BM * LDA;
            const int k0 = kt * BK;
#pragma unroll
            for (int e = 0; e < A_CHUNKS; ++e) {
                const int c = threadIdx.x + e * NT;
                const int r = c / (BK / CHUNK), k = (c % (BK / CHUNK)) * CHUNK;
                const bool inside = m0 + r < M && k0 + k < K;
                const T* src = inside ? Az + (m0 + r) * sAm + (k0 + k) : Az;
                mt::copy_async_or_zero(address(as + r * LDA + k), src, inside ? 16 : 0);
            }
#pragma unroll
            for (int e = 0; e < B_CHUNKS; ++e) {
                const int c = threadIdx.x + e * NT;
                const int r = c / (BN / CHUNK), n = (c % (BN / CHUNK)) * CHUNK;
                const bool inside = k0 + r < K && n0 + n < N;
                const T* src = inside ? Bz + (k0 + r) * sBk + (n0 + n) : Bz;
                mt::copy_async_or_zero(address(bs + r * LDB + n), src, inside ? 16 : 0);
            }
        };

        // The warp's mma operands for k step `kk` of stage s, in registers.
        auto load_fragments = [&](int s, int kk, unsigned (&af)[MI][4], unsigned (&bf)[NI][2]) {
            const int as = s * L::STAGE, bs = as + BM * LDA;
            // A (16 x KSTEP per mma tile, row-major): lane i addresses row i % 16 and the 16-byte half i / 16 of
            // the k step, so matrix q = i / 8 is rows 8 (q % 2).., k half q / 2: exactly registers a0..a3.
#pragma unroll
            for (int i = 0; i < MI; ++i) {
                mt::ldmatrix_x4(af[i], address(as + (wm + i * 16 + lane % 16) * LDA + kk + (lane / 16) * CHUNK));
#pragma unroll
                for (int q = 0; q < 4; ++q) af[i][q] = mt::mma_operand<T, TF32_RZ>(af[i][q]);
            }
            if constexpr (sizeof(T) == 2) {
                // B (KSTEP x 8 per mma tile, stored k-major): transposed loads of k rows kk + i % 16 at column
                // block i / 16 give b0, b1 of n tile j and b0, b1 of n tile j + 1.
#pragma unroll
                for (int j = 0; j < NI; j += 2) {
                    unsigned r[4];
                    mt::ldmatrix_x4_trans(r, address(bs + (kk + lane % 16) * LDB + wn + j * 8 + (lane / 16) * 8));
                    bf[j][0] = r[0];
                    bf[j][1] = r[1];
                    bf[j + 1][0] = r[2];
                    bf[j + 1][1] = r[3];
                }
            } else {
                // TF32 B: b0 = (k = t, n = g), b1 = (k = t + 4, n = g). With LDB = 8 (mod 32) words the 32 lanes
                // read banks 8t + g: all distinct.
#pragma unroll
                for (int j = 0; j < NI; ++j) {
                    const T* col = smem + bs + wn + j * 8 + g;
                    bf[j][0] = mt::mma_operand<T, TF32_RZ>(__float_as_uint(col[(kk + t) * LDB]));
                    bf[j][1] = mt::mma_operand<T, TF32_RZ>(__float_as_uint(col[(kk + t + 4) * LDB]));
                }
            }
        };

        float acc[MI][NI][4] = {};
        unsigned af[2][MI][4], bf[2][NI][2];  // fragments of the k step being multiplied and of the next one
        // Prologue: tiles 0 .. STAGES-2 in flight, one commit group each (empty groups keep the count uniform).
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s) {
            if (s < tiles) load_tile(s, s);
            mt::cp_async_commit();
        }
        mt::cp_async_wait<STAGES - 2>();  // tile 0 has landed (for this thread; the barrier: for all)
        __syncthreads();
        load_fragments(0, 0, af[0], bf[0]);
        for (int kt = 0; kt < tiles; ++kt) {
            // Refill the stage of tile kt - 1: every warp read its last fragments before the barrier that ended it.
            if (kt + STAGES - 1 < tiles) load_tile(kt + STAGES - 1, (kt + STAGES - 1) % STAGES);
            mt::cp_async_commit();
#pragma unroll
            for (int step = 0; step < NK; ++step) {
                if (step == NK - 1) {
                    // STAGES - 1 + kt + 1 groups are committed: at most STAGES - 2 pending means tile kt + 1 has
                    // landed. After this barrier no warp reads stage kt any more, so the next iteration may refill it.
                    mt::cp_async_wait<STAGES - 2>();
                    __syncthreads();
                }
                // While the tensor cores work on this step, the next step's fragments (the next tile's first one
                // after the last step) are already on their way from shared memory.
                const int next = (step + 1) % 2;
                if (step + 1 < NK)
                    load_fragments(kt % STAGES, (step + 1) * KSTEP, af[next], bf[next]);
                else if (kt + 1 < tiles)
                    load_fragments((kt + 1) % STAGES, 0, af[next], bf[next]);
#pragma unroll
                for (int i = 0; i < MI; ++i)
#pragma unroll
                    for (int j = 0; j < NI; ++j) mt::Mma<T>::mma(acc[i][j], af[step % 2][i], bf[step % 2][j]);
            }
        }
        mt::cp_async_wait<0>();  // only empty groups remain; nothing may be in flight when the next z reuses smem
        __syncthreads();

        T* Cz = C + static_cast<long long>(z) * M * N;
#pragma unroll
        for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NI; ++j) {
                const int n = n0 + wn + j * 8 + 2 * t;  // N is even, so n < N covers n + 1 too
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int m = m0 + wm + i * 16 + g + 8 * h;
                    if (m < M && n < N) {
                        const float* pair = &acc[i][j][2 * h];
                        *reinterpret_cast<mt::OutPair<T>*>(Cz + static_cast<long long>(m) * N + n) =
                            mt::OutPair<T>{mt::from_acc<T>(pair[0]), mt::from_acc<T>(pair[1])};
                    }
                }
            }
    }
#else
    __trap();
#endif
}
#endif  // MT_EMULATION

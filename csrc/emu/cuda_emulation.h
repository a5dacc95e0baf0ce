// A small CUDA emulator: just enough of the CUDA C++ dialect for csrc/cuda/*.cu to build with g++ and run on the CPU.
//
// How a grid maps to the CPU: blocks run one after another (CUDA promises nothing about their order either). The
// threads of one block run concurrently as fibers (user-space threads with their own stacks) on one OS thread. A
// fiber runs until it reaches a barrier (__syncthreads, or the warp-wide exchange inside a shuffle) and then hands
// over to the next one, so every thread has finished its writes before anyone reads past the barrier. Leave a
// barrier out and the threads that run first read memory the others have not written yet: the answer comes out
// wrong, as on a GPU.
// Fibers rather than OS threads keep this deterministic and fast on a small machine (a barrier over 1024 threads
// costs 1024 user-space switches, not 1024 kernel wake-ups).
//
// What maps to what:
//   threadIdx/blockIdx/blockDim/gridDim   fields of the running fiber and launch (read-only)
//   __shared__ T a[N];                     a static array: one copy, reused by each block in turn
//   MT_DYNAMIC_SHARED(T, p)                the launch's dynamic buffer (common.cuh), reset to 0xff (NaN) per block
//   __syncthreads()                        a barrier over the block's live threads
//   __shfl_*_sync / __syncwarp / votes     a barrier over the warp's live threads around an exchange slot
//   atomicAdd ...                          a plain read-modify-write: only one fiber runs at any moment
// Threads that return early stop counting at barriers, as on the hardware. A barrier nobody can finish is reported as
// a deadlock instead of hanging. Tensor-core instructions (mma, ldmatrix, cp.async) are not emulated.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// ---- The CUDA keywords: on the CPU every function is an ordinary host function. ----------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static   // blocks run one at a time, so one static copy serves them all
#define __constant__ static

// ---- Built-in vector types. ---------------------------------------------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(16) double2 {
    double x, y;
};
struct alignas(8) int2 {
    int x, y;
};
struct alignas(16) int4 {
    int x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

// ---- float16 / bfloat16 storage types: 16 bits each, converted with round-to-nearest-even. -----------------------
struct __half {
    unsigned short bits;
};
struct __nv_bfloat16 {
    unsigned short bits;
};
inline float __half2float(__half h) {
    _Float16 f;
    memcpy(&f, &h.bits, 2);
    return static_cast<float>(f);
}
inline __half __float2half(float v) {
    const _Float16 f = static_cast<_Float16>(v);
    __half h;
    memcpy(&h.bits, &f, 2);
    return h;
}
inline float __bfloat162float(__nv_bfloat16 b) {
    const uint32_t u = static_cast<uint32_t>(b.bits) << 16;  // bfloat16 is the top half of a float
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline __nv_bfloat16 __float2bfloat16(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    if (v != v) return {0x7fc0};             // a quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);           // round to nearest, ties to even
    return {static_cast<unsigned short>(u >> 16)};
}

// ---- Math intrinsics (the standard ones, expf, fmaxf, INFINITY ..., come from <math.h>). --------------------------
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __saturatef(float x) { return fminf(fmaxf(x, 0.0f), 1.0f); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline int __float_as_int(float x) { int i; memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; memcpy(&x, &i, 4); return x; }
inline double __longlong_as_double(long long i) { double x; memcpy(&x, &i, 8); return x; }
inline long long __double_as_longlong(double x) { long long i; memcpy(&i, &x, 8); return i; }
inline unsigned __float_as_uint(float x) { unsigned i; memcpy(&i, &x, 4); return i; }
inline float __uint_as_float(unsigned i) { float x; memcpy(&x, &i, 4); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
// CUDA's overloaded min/max for device code.
template <typename T>
inline T max(T a, T b) { return a < b ? b : a; }
template <typename T>
inline T min(T a, T b) { return b < a ? b : a; }
template <typename T>
inline T __ldg(const T* p) { return *p; }

// ---- Switching between fibers. ----------------------------------------------------------------------------------
// A fiber is a stack plus the registers to resume it with. On x86-64 the switch is six pushes, a stack swap and six
// pops (the callee-saved registers of the System V ABI; the call itself saves the rest); elsewhere <ucontext.h>
// does the same job, paying a system call per switch to save the signal mask.
namespace mt_emu {

#if defined(__x86_64__) && !defined(MT_EMU_UCONTEXT)
extern "C" __attribute__((visibility("hidden"))) void mt_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl mt_emu_switch
    .hidden mt_emu_switch
    .type mt_emu_switch, @function
mt_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size mt_emu_switch, .-mt_emu_switch
)");

struct Context {
    void* sp = nullptr;
};

// Lay out a new stack as if `entry` had been called and then switched away from: six zero registers, then
// `entry` as the return address, so the first switch to it "returns" into entry with the ABI's stack alignment.
inline void start_context(Context& c, void* stack, size_t bytes, void (*entry)()) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;  // where entry's own return address would be; entry never returns
    *--sp = reinterpret_cast<void*>(entry);
    for (int i = 0; i < 6; ++i) *--sp = nullptr;
    c.sp = sp;
}
inline void switch_context(Context& from, Context& to) { mt_emu_switch(&from.sp, to.sp); }

#else
}  // namespace mt_emu
#include <ucontext.h>
namespace mt_emu {

struct Context {
    ucontext_t uc;
};
inline void start_context(Context& c, void* stack, size_t bytes, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;  // entry never returns
    makecontext(&c.uc, entry, 0);
}
inline void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

}  // namespace mt_emu

// ---- The scheduler. -----------------------------------------------------------------------------------------------
namespace mt_emu {

constexpr unsigned kWarpSize = 32;
constexpr size_t kStackBytes = 256 * 1024;  // per fiber; untouched pages cost no memory

// A reusable barrier: the last thread to arrive opens it by bumping the generation the others wait on.
struct Barrier {
    unsigned expected = 0;
    unsigned arrived = 0;
    unsigned long long generation = 0;
};

struct Fiber {
    Context context;
    void* stack = nullptr;
    uint3 thread_idx{0, 0, 0};
    unsigned rank = 0;  // x + y * blockDim.x + z * blockDim.x * blockDim.y: the order warps are cut in
    bool done = false;
    const Barrier* waiting = nullptr;  // the barrier this thread waits at, so the scheduler skips it until it opens
    unsigned long long waiting_for = 0;  // ... that barrier's generation when this thread arrived
};

struct Launch {
    dim3 grid_dim, block_dim;
    uint3 block_idx{0, 0, 0};
    std::vector<Fiber> fibers;
    Fiber* current = nullptr;
    Context scheduler;
    Barrier block_barrier;
    std::vector<Barrier> warp_barriers;
    std::vector<unsigned long long> exchange;  // one 8-byte slot per thread, for shuffles and votes
    unsigned char* dynamic_shared = nullptr;
    std::function<void()> body;  // the kernel call with its arguments bound
    unsigned long long progress = 0;  // bumped whenever any thread gets further; a sweep without it is a deadlock
    std::string error;
};

inline Launch* g_launch = nullptr;

inline const uint3& thread_idx() { return g_launch->current->thread_idx; }
inline const uint3& block_idx() { return g_launch->block_idx; }
inline const dim3& block_dim() { return g_launch->block_dim; }
inline const dim3& grid_dim() { return g_launch->grid_dim; }
inline unsigned char* dynamic_shared() { return g_launch->dynamic_shared; }

// Give the CPU back to the scheduler; this fiber continues where it left off when resumed.
inline void yield() { switch_context(g_launch->current->context, g_launch->scheduler); }

// Stop the whole launch with a message (the fiber is never resumed).
[[noreturn]] inline void fail(const std::string& message) {
    if (g_launch->error.empty()) g_launch->error = message;
    for (;;) yield();
}

inline void open(Barrier& b) {
    b.arrived = 0;
    ++b.generation;
    ++g_launch->progress;
}

inline void wait(Barrier& b) {
    const unsigned long long generation = b.generation;
    ++g_launch->progress;
    if (++b.arrived >= b.expected) return open(b);
    Fiber& me = *g_launch->current;
    me.waiting = &b;
    me.waiting_for = generation;
    yield();  // resumed once the barrier has opened
    me.waiting = nullptr;
}

// A thread that returns no longer takes part in barriers: those waiting only on it may go on.
inline void leave(Barrier& b) {
    --b.expected;
    if (b.arrived > 0 && b.arrived >= b.expected) open(b);
}

inline void check_aligned(const void* p, size_t bytes) {
    if (reinterpret_cast<uintptr_t>(p) % bytes != 0)
        fail("misaligned " + std::to_string(bytes) + "-byte vector access at thread " +
             std::to_string(g_launch->current->rank) + " (the GPU would fault)");
}

inline Barrier& warp_barrier() { return g_launch->warp_barriers[g_launch->current->rank / kWarpSize]; }

// Every live lane of the warp publishes `value`; then each reads the slot of lane pick(lane) (or keeps its own value
// when pick returns a lane outside the warp). The second barrier keeps slots intact until every lane has read.
template <typename T, typename Pick>
inline T exchange(T value, Pick pick) {
    static_assert(sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
    Launch& L = *g_launch;
    const unsigned rank = L.current->rank, lane = rank % kWarpSize, base = rank - lane;
    memcpy(&L.exchange[rank], &value, sizeof(T));
    wait(warp_barrier());
    const int source = pick(static_cast<int>(lane));
    const unsigned threads = static_cast<unsigned>(L.fibers.size());
    T out = value;
    if (source >= 0 && source < static_cast<int>(kWarpSize) && base + source < threads)
        memcpy(&out, &L.exchange[base + source], sizeof(T));
    wait(warp_barrier());
    return out;
}

// Each live lane contributes a predicate bit; every lane gets the 32-bit ballot.
inline unsigned ballot(bool predicate) {
    Launch& L = *g_launch;
    const unsigned rank = L.current->rank, base = rank - rank % kWarpSize;
    L.exchange[rank] = predicate;
    wait(warp_barrier());
    unsigned bits = 0;
    for (unsigned lane = 0; lane < kWarpSize && base + lane < L.fibers.size(); ++lane) {
        const Fiber& f = L.fibers[base + lane];
        if (!f.done && L.exchange[base + lane]) bits |= 1u << lane;
    }
    wait(warp_barrier());
    return bits;
}

inline void fiber_main() {
    g_launch->body();
    Fiber& me = *g_launch->current;
    me.done = true;
    ++g_launch->progress;
    leave(g_launch->block_barrier);
    leave(warp_barrier());
    yield();  // for good: a finished fiber is never resumed
}

// Run one block: start a fiber per thread and sweep over them until all have returned. Alternate sweeps go in
// reverse so that a missing barrier is exposed whichever side of a race a thread is on.
inline void run_block(Launch& L) {
    const unsigned n = static_cast<unsigned>(L.fibers.size());
    L.block_barrier = Barrier{n, 0, 0};
    for (unsigned w = 0; w < L.warp_barriers.size(); ++w)
        L.warp_barriers[w] = Barrier{std::min(kWarpSize, n - w * kWarpSize), 0, 0};
    for (Fiber& f : L.fibers) {
        f.done = false;
        f.waiting = nullptr;
        start_context(f.context, f.stack, kStackBytes, fiber_main);
    }
    unsigned running = n;
    for (unsigned sweep = 0; running > 0; ++sweep) {
        const unsigned long long before = L.progress;
        for (unsigned i = 0; i < n; ++i) {
            Fiber& f = L.fibers[sweep % 2 == 0 ? i : n - 1 - i];
            if (f.done || (f.waiting && f.waiting->generation == f.waiting_for)) continue;
            L.current = &f;
            switch_context(L.scheduler, f.context);
            if (!L.error.empty()) return;
            if (f.done) --running;
        }
        if (running > 0 && L.progress == before) {
            L.error = "deadlock: threads wait at a barrier (__syncthreads or a warp shuffle) that other threads of "
                      "the block never reach";
            return;
        }
    }
}

// Unpack cuLaunchKernel-style arguments (an array of pointers to each argument's value) into the parameter types.
template <typename... P, size_t... I>
inline void call(void (*kernel)(P...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<P>>*>(args[I])...);
}

// Launch `kernel` over a grid; returns nullptr, or a message saying why the launch failed.
template <typename... P>
inline const char* launch(void (*kernel)(P...), const unsigned* grid, const unsigned* block, size_t shared_mem,
                          void** args) {
    thread_local std::string error;
    Launch L;
    L.grid_dim = dim3(grid[0], grid[1], grid[2]);
    L.block_dim = dim3(block[0], block[1], block[2]);
    const unsigned threads = block[0] * block[1] * block[2];
    L.fibers.resize(threads);
    for (unsigned r = 0; r < threads; ++r) {
        L.fibers[r].stack = std::malloc(kStackBytes);
        L.fibers[r].rank = r;
        L.fibers[r].thread_idx = {r % block[0], r / block[0] % block[1], r / (block[0] * block[1])};
    }
    L.warp_barriers.resize((threads + kWarpSize - 1) / kWarpSize);
    L.exchange.assign(threads, 0);
    std::vector<unsigned char> shared(shared_mem + 16);
    L.dynamic_shared = shared.data() + (16 - reinterpret_cast<uintptr_t>(shared.data()) % 16) % 16;
    L.body = [&] { call(kernel, args, std::index_sequence_for<P...>{}); };
    Launch* outer = g_launch;
    g_launch = &L;
    for (unsigned z = 0; z < grid[2] && L.error.empty(); ++z)
        for (unsigned y = 0; y < grid[1] && L.error.empty(); ++y)
            for (unsigned x = 0; x < grid[0] && L.error.empty(); ++x) {
                L.block_idx = {x, y, z};
                memset(L.dynamic_shared, 0xff, shared_mem);  // NaN until written: reading it uninitialised shows
                run_block(L);
                if (!L.error.empty())
                    L.error += " (in block " + std::to_string(x) + "," + std::to_string(y) + "," +
                               std::to_string(z) + ")";
            }
    g_launch = outer;
    for (Fiber& f : L.fibers) std::free(f.stack);
    error = L.error;
    return error.empty() ? nullptr : error.c_str();
}

// The C type of each kernel parameter as a short code the Python side checks its arguments against:
// "f4" float, "f8" double, "f2" __half, "b2" __nv_bfloat16, "i4"/"u4"/"i8"/"u8" integers, "*" prefix a pointer.
template <typename T>
inline std::string type_code() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_pointer_v<U>) return "*" + type_code<std::remove_pointer_t<U>>();
    else if constexpr (std::is_same_v<U, __half>) return "f2";
    else if constexpr (std::is_same_v<U, __nv_bfloat16>) return "b2";
    else if constexpr (std::is_floating_point_v<U>) return "f" + std::to_string(sizeof(U));
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) return "i" + std::to_string(sizeof(U));
    else if constexpr (std::is_integral_v<U>) return "u" + std::to_string(sizeof(U));
    else return "?" + std::to_string(sizeof(U));
}

template <typename... P>
inline const char* signature(void (*)(P...)) {
    static const std::string codes = [] {
        std::string s;
        ((s += type_code<P>() + ","), ...);
        return s;
    }();
    return codes.c_str();
}

}  // namespace mt_emu

// ---- The CUDA names kernels use. ----------------------------------------------------------------------------------
#define threadIdx (::mt_emu::thread_idx())
#define blockIdx (::mt_emu::block_idx())
#define blockDim (::mt_emu::block_dim())
#define gridDim (::mt_emu::grid_dim())
#define warpSize 32

inline void __syncthreads() { ::mt_emu::wait(::mt_emu::g_launch->block_barrier); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::mt_emu::wait(::mt_emu::warp_barrier()); }

template <typename T>
inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
    return ::mt_emu::exchange(v, [&](int lane) { return lane / width * width + src % width; });
}
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
    return ::mt_emu::exchange(v, [&](int lane) {
        const int other = lane ^ mask;
        return other / width == lane / width ? other : lane;  // no reaching into another width-segment
    });
}
template <typename T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
    return ::mt_emu::exchange(v, [&](int lane) {
        const int other = lane + static_cast<int>(delta);
        return other / width == lane / width ? other : lane;
    });
}
template <typename T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
    return ::mt_emu::exchange(v, [&](int lane) {
        const int other = lane - static_cast<int>(delta);
        return other >= 0 && other / width == lane / width ? other : lane;
    });
}
inline unsigned __ballot_sync(unsigned, int predicate) { return ::mt_emu::ballot(predicate != 0); }
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned, int predicate) { return ::mt_emu::ballot(predicate == 0) == 0; }

// Only one fiber runs at a time, so a plain read-modify-write is atomic.
template <typename T>
inline T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}
template <typename T>
inline T atomicMax(T* address, T value) {
    const T old = *address;
    *address = old < value ? value : old;
    return old;
}
template <typename T>
inline T atomicMin(T* address, T value) {
    const T old = *address;
    *address = value < old ? value : old;
    return old;
}
template <typename T>
inline T atomicExch(T* address, T value) {
    const T old = *address;
    *address = value;
    return old;
}
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
    const T old = *address;
    if (old == compare) *address = value;
    return old;
}

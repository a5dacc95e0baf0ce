// Kernels that exercise the emulator itself (tests/test_cuda_emulated_softmax.py runs them): indices, barriers,
// shuffles, atomics, vector loads, early exits and a deadlock.
#include "common.cuh"

// Each thread writes where it is: block and thread coordinates, packed in one int.
__global__ void emu_indices(int* out) {
    const int block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const int thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int threads = blockDim.x * blockDim.y * blockDim.z;
    out[block * threads + thread] = block * 10000 + threadIdx.z * 100 + threadIdx.y * 10 + threadIdx.x;
}

// Reverse a block's values through shared memory; without the barrier threads read slots not yet written.
template <bool Sync>
__global__ void emu_reverse(const float* in, float* out) {
    MT_DYNAMIC_SHARED(float, buffer);
    const int t = threadIdx.x, n = blockDim.x;
    buffer[t] = in[blockIdx.x * n + t];
    if (Sync) __syncthreads();
    out[blockIdx.x * n + t] = buffer[n - 1 - t];
}

// The same through a static __shared__ array, reused by every block.
__global__ void emu_reverse_static(const float* in, float* out) {
    __shared__ float buffer[1024];
    const int t = threadIdx.x, n = blockDim.x;
    buffer[t] = in[blockIdx.x * n + t];
    __syncthreads();
    out[blockIdx.x * n + t] = buffer[n - 1 - t];
    __syncthreads();  // the next block overwrites the buffer only after every thread here has read it
}

// Per warp: the butterfly sum and max, a shuffle down, up and a broadcast of lane 3.
template <typename T>
__global__ void emu_warp(const T* in, T* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const T v = in[i];
    out[5 * i + 0] = mt::warp_reduce_sum(v);
    out[5 * i + 1] = mt::warp_reduce_max(v);
    out[5 * i + 2] = __shfl_down_sync(mt::kFullMask, v, 1);
    out[5 * i + 3] = __shfl_up_sync(mt::kFullMask, v, 2);
    out[5 * i + 4] = __shfl_sync(mt::kFullMask, v, 3);
}

// Every thread adds its value into one total.
template <typename T>
__global__ void emu_atomic_sum(const T* in, T* total, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(total, in[i]);
}

// Copy four floats per thread with one vector load (p must be 16-byte aligned).
__global__ void emu_copy4(const float* in, float* out) {
    const int i = 4 * threadIdx.x;
    const float4 v = mt::load_vector<float4>(in + i);
    out[i] = v.x;
    out[i + 1] = v.y;
    out[i + 2] = v.z;
    out[i + 3] = v.w;
}

// Threads past n return before the barrier; the rest must not wait for them. out = in summed over the block.
__global__ void emu_early_exit(const float* in, float* out, int n) {
    __shared__ float partial[1024];
    const int t = threadIdx.x;
    if (t >= n) return;
    partial[t] = in[t];
    __syncthreads();
    if (t == 0) {
        float s = 0;
        for (int j = 0; j < n; ++j) s += partial[j];
        out[0] = s;
    }
}

// Lane 0 waits at a block barrier while the other lanes wait for it at a shuffle: a deadlock.
__global__ void emu_deadlock(float* out) {
    float v = 1.0f;
    if (threadIdx.x == 0) __syncthreads();
    else v = __shfl_xor_sync(mt::kFullMask, v, 1);
    out[threadIdx.x] = v;
}

// Write one element past the end.
__global__ void emu_out_of_bounds(float* out, int n) { out[n] = 1.0f; }

"""The planning of the pipelined tensor-core kernel (csrc/cuda/matmul_tc.cu), checked without running it.

The kernel copies 16-byte chunks with cp.async, so the planner sends it only operands whose rows are whole, aligned
chunks with unit inner stride; everything else runs on matmul_mma. Its dynamic shared memory must match the kernel's
PipelinedLayout (the kernel traps if it gets less).
"""

import numpy as np
import pytest

from minitorch.backends.cuda_kernels import KERNELS
from minitorch.backends.cuda_kernels import matmul as mm

from cuda_emulation import Recorder


def plan(a, b, variant):
    record = Recorder(execute=False)
    mm.matmul(a, b, variant=variant, launcher=record)
    (launch,) = record.launches
    return launch


@pytest.mark.parametrize(
    "dtype, variant, template, threads, shared",
    [
        (np.float16, "fp16_pipelined", "__half, 128, 128, 32, 64, 64, 4, false", 128, 75776),
        (np.float16, "fp16_pipelined_wide", "__half, 128, 256, 32, 64, 64, 4, false", 256, 108544),
        (np.float32, "tf32_pipelined", "float, 128, 128, 16, 64, 64, 4, false", 128, 75776),
        (np.float32, "tf32_pipelined_wide_rz", "float, 128, 256, 16, 64, 64, 4, true", 256, 108544),
    ],
)
def test_row_major_operands_take_the_pipelined_kernel(dtype, variant, template, threads, shared):
    # 200 rows x 2 batches with B shared become one 400-row GEMM (4 row tiles); K = 136 is 4.25 k tiles (of 32 FP16
    # or 16 TF32 values) and N = 72 a partial column tile: the kernel zero-fills and guards those.
    launch = plan(np.ones((2, 200, 136), dtype), np.ones((136, 72), dtype), variant)
    kernel = f"matmul_mma_pipelined<{template}>"
    assert (launch.source, launch.kernel, launch.grid, launch.block) == (
        "matmul_tc.cu",
        kernel,
        (4, 1, 1),
        (threads, 1, 1),
    )
    assert launch.shared_mem == shared
    assert KERNELS["matmul_tc.cu"][kernel] is False  # GPU only


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones((64, 136), np.float16), np.ones((72, 136), np.float16).T),  # B with unit k stride
        (np.ones((136, 64), np.float16).T, np.ones((136, 72), np.float16)),  # A with unit m stride
        (np.ones((64, 129), np.float16), np.ones((129, 72), np.float16)),  # rows of A not whole 16-byte chunks
        (np.ones((64, 136), np.float16), np.ones((136, 70), np.float16)),  # rows of B not whole 16-byte chunks
        (np.ones(64 * 136 + 1, np.float16)[1:].reshape(64, 136), np.ones((136, 72), np.float16)),  # A misaligned
    ],
)
def test_other_operands_fall_back_to_matmul_mma(a, b):
    launch = plan(a, b, "fp16_pipelined")
    assert (launch.source, launch.kernel, launch.shared_mem) == ("matmul.cu", "matmul_mma<__half>", 0)


def test_default_tensor_core_variants_are_unchanged():
    half = np.ones((64, 64), np.float16)
    assert plan(half, half, None).kernel == "matmul_mma<__half>"
    record = Recorder(execute=False)
    mm.matmul(half.astype(np.float32), half.astype(np.float32), allow_tf32=True, launcher=record)
    assert record.kernels == ["matmul_mma<float>"]

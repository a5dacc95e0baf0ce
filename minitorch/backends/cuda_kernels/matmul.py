"""The matrix product on minitorch's own CUDA kernels (csrc/cuda/matmul.cu).

:func:`matmul` has NumPy's semantics for operands of two or more dimensions: the last two are the matrices, the
leading ones a batch that broadcasts. Each operand reaches the kernel as a data pointer plus element strides for its
batch, rows and columns, so transposed, sliced and broadcast operands are read where they lie; the broadcast batch
dimensions are collapsed into the single batch index the kernels take. Which kernel runs, with which tiles, is decided
here in plain Python (so CI exercises it through the emulator): ``VARIANTS`` names the rungs of the teaching ladder
described at the top of the .cu file, and ``variant=None`` picks the fastest for the shape.
"""

from __future__ import annotations

import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import CTYPES, Launch, array_module, element_strides, register, run

# Rungs 6 and 7 (matmul_vectorized, matmul_pipelined), per variant and C type: (BM, BN, BK, WM, WN, LM), then the
# pipeline's STAGES. (BM/WM) * (BN/WN) warps whose lanes form an LM x (32/LM) grid; a thread computes
# (WM/LM) x (WN*LM/32) outputs. The 128 x 128 x 8 float tile is the classic one for a big GPU: 256 threads with 8 x 8
# outputs each, two blocks per SM. "_wide" gives each thread 8 x 16 floats: fewer shared loads per multiply-add, but
# one block of 8 warps per SM. float64 keeps one tile, 128 threads with 8 x 4 doubles. (A k step of 16 at 128 x 128
# spills past the 128 registers two blocks per SM allow.)
VECTOR_TILES = {
    "vectorized": {"float": (128, 128, 8, 32, 64, 4), "double": (64, 64, 8, 32, 32, 4)},
    "pipelined": {"float": (128, 128, 8, 32, 64, 4, 4), "double": (64, 64, 8, 32, 32, 4, 3)},
    "pipelined_wide": {"float": (128, 256, 8, 64, 64, 4, 3), "double": (64, 64, 8, 32, 32, 4, 3)},
}

VARIANTS: Tuple[str, ...] = (
    "naive",
    "coalesced",
    "smem",
    "regblock",
    "warptile",
    *VECTOR_TILES,
    "tf32",
    "fp16",
    "bf16",
)

# The tensor-core variants (GPU only) and the one dtype each takes (the pipelined ones are added below).
TENSOR_CORE_DTYPES = {"tf32": "float32", "fp16": "float16", "bf16": "bfloat16"}
# What variant=None runs on the tensor cores: float16/bfloat16 always, float32 with allow_tf32.
DEFAULT_TENSOR_CORE_VARIANT = {"float32": "tf32", "float16": "fp16", "bfloat16": "bf16"}

SMS = 132  # streaming multiprocessors of an H100: a grid of fewer blocks leaves some of them idle
MAX_GRID_Y = 65535  # CUDA's grid limit in y and z (x allows 2**31 - 1)
INT32_MAX = 2**31 - 1

SMEM_TILE = 16
# (BM, BN, BK, TM, TN): a block of (BM/TM) * (BN/TN) = 256 threads, each computing TM x TN outputs. The smaller tile
# gives four times as many blocks, which is what keeps every SM busy on small matrices.
REGBLOCK_TILES = {"small": (64, 64, 8, 4, 4), "large": (128, 128, 8, 8, 8)}
# (BM, BN, BK, WM, WN, WNITER, TM, TN) per C type: 4 warps of 64 x 64 (float) or 32 x 32 (double, half the registers'
# worth of values) outputs. The float configuration is siboehm's tuned one for an A6000.
WARPTILE_TILES = {"float": (128, 128, 16, 64, 64, 4, 8, 4), "double": (64, 64, 8, 32, 32, 2, 4, 4)}
# The variant that takes float32/float64 products big enough to fill the GPU (smaller ones go to "regblock").
# "warptile" is the fastest rung measured on a GPU so far (61% of cuBLAS on an H100); "vectorized" and "pipelined"
# pass the emulator but have not run on a GPU yet, so they become the default only once a GPU run has checked and
# timed them (benchmarks/kernels/gpu_check.sh).
LARGE_DEFAULT = "warptile"
MMA_TILE = (128, 128)  # the tensor-core kernel's fixed block tile, 8 warps


def _kernel_names() -> List[str]:
    names = []
    for ctype in ("float", "double"):
        names += [f"matmul_naive<{ctype}>", f"matmul_coalesced<{ctype}>", f"matmul_smem<{ctype}, {SMEM_TILE}>"]
        names += [_regblock_name(ctype, tile) for tile in REGBLOCK_TILES.values()]
        names += [_warptile_name(ctype, vec) for vec in (False, True)]
        kernels = dict.fromkeys((_vector_kernel(v), tiles[ctype]) for v, tiles in VECTOR_TILES.items())
        names += [_tiled_name(kernel, ctype, tile, vec) for kernel, tile in kernels for vec in (False, True)]
    return names


def _regblock_name(ctype: str, tile: Sequence[int]) -> str:
    return f"matmul_regblock<{ctype}, {', '.join(map(str, tile))}>"


def _warptile_name(ctype: str, vec: bool) -> str:
    return _tiled_name("matmul_warptile", ctype, WARPTILE_TILES[ctype], vec)


def _vector_kernel(variant: str) -> str:
    """The kernel of a VECTOR_TILES variant: "pipelined_wide" runs matmul_pipelined."""
    return "matmul_" + variant.split("_")[0]


def _tiled_name(kernel: str, ctype: str, tile: Sequence[int], vec: bool) -> str:
    """The name expression of a warp-tiled kernel: its C type, tile parameters and the 16-byte-vector flag."""
    return f"{kernel}<{ctype}, {', '.join(map(str, tile))}, {str(vec).lower()}>"


register("matmul.cu", *_kernel_names())
register("matmul.cu", *(f"matmul_mma<{CTYPES[d]}>" for d in TENSOR_CORE_DTYPES.values()), emulate=False)

# ---- the pipelined tensor-core kernel (csrc/cuda/matmul_tc.cu) ------------------------------------------------------
# (BM, BN, WM, WN, STAGES) per tile; a stage holds 64 bytes of k. Every warp computes 64 x 64 outputs (16 mma per
# 8 fragment loads): 4 warps a block and two blocks per SM for 128 x 128, 8 warps and one block for 128 x 256.
PIPELINED_TILES = {"pipelined": (128, 128, 64, 64, 4), "pipelined_wide": (128, 256, 64, 64, 4)}
PIPELINED_K_BYTES = 64
# variant ("fp16_pipelined", "tf32_pipelined_wide" ...) -> (dtype, tile, whether TF32 truncates: see mma_operand)
PIPELINED = {f"{v}_{tile}": (dtype, tile, False) for v, dtype in TENSOR_CORE_DTYPES.items() for tile in PIPELINED_TILES}
PIPELINED["tf32_pipelined_wide_rz"] = ("float32", "pipelined_wide", True)
TENSOR_CORE_DTYPES.update({variant: dtype for variant, (dtype, _, _) in PIPELINED.items()})
VARIANTS += tuple(PIPELINED)


def _pipelined_name(dtype: str, tile: str, tf32_rz: bool) -> str:
    bm, bn, wm, wn, stages = PIPELINED_TILES[tile]
    bk = PIPELINED_K_BYTES // (4 if dtype == "float32" else 2)
    return f"matmul_mma_pipelined<{CTYPES[dtype]}, {bm}, {bn}, {bk}, {wm}, {wn}, {stages}, {str(tf32_rz).lower()}>"


def _pipelined_launch(variant: str, a: Any, b: Any, args: Tuple[Any, ...]) -> Optional[Launch]:
    """The launch of the pipelined kernel, or None where the operands do not fit its 16-byte copies: A must have
    unit k stride and B unit n stride, and K, N, the other strides and both addresses be whole 16-byte chunks."""
    batch, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn = (int(v) for v in args[3:])
    chunk = 16 // a.itemsize
    whole = all(v % chunk == 0 for v in (K, N, sAb, sAm, sBb, sBk))
    if not (whole and sAk == 1 and sBn == 1 and data_address(a) % 16 == 0 and data_address(b) % 16 == 0):
        return None
    dtype, tile, tf32_rz = PIPELINED[variant]
    bm, bn, wm, wn, stages = PIPELINED_TILES[tile]
    bk = PIPELINED_K_BYTES // a.itemsize
    # PipelinedLayout in matmul_tc.cu: A rows padded by one chunk, B rows by 8 values.
    shared = stages * (bm * (bk + chunk) + bk * (bn + 8)) * a.itemsize
    grid = (-(-M // bm), -(-N // bn), min(batch, MAX_GRID_Y))
    block = ((bm // wm) * (bn // wn) * 32, 1, 1)
    return Launch("matmul_tc.cu", _pipelined_name(dtype, tile, tf32_rz), grid, block, args, shared)


register("matmul_tc.cu", *(_pipelined_name(*plan) for plan in PIPELINED.values()), emulate=False)


def data_address(x: Any) -> int:
    """The address of ``x``'s first element (device memory for CuPy), for alignment checks."""
    interface = getattr(x, "__cuda_array_interface__", None) or x.__array_interface__
    return int(interface["data"][0])


def _whole_elements(x: Any) -> Tuple[Any, Tuple[int, ...]]:
    """``x`` and its strides in elements, copied to contiguous memory first if a byte stride is not a whole element
    (a field of a structured array)."""
    if any(s % x.itemsize for s in x.strides):
        x = array_module(x).ascontiguousarray(x)
    return x, element_strides(x)


def matmul(a: Any, b: Any, *, variant: Optional[str] = None, allow_tf32: bool = False, launcher: Callable = run) -> Any:
    """``a @ b`` for NumPy or CuPy arrays of two or more dimensions, on the kernel ``variant`` (None: the fastest).

    float32 and float64 run on every variant; ``allow_tf32`` lets variant None take float32 to the TF32 tensor cores.
    float16 and bfloat16 run on the tensor cores ("fp16", "bf16"), which exist on the GPU only. The result is a new
    contiguous array of the inputs' dtype.
    """
    dtype = _check_operands(a, b)
    variant = _choose_variant(variant, dtype, allow_tf32)
    xp = array_module(a)
    a, b, batch_shape, (sAb, sBb) = _collapse_batch(a, b)
    M, K, N = a.shape[-2], a.shape[-1], b.shape[-1]
    out = xp.empty(batch_shape + (M, N), dtype=a.dtype)
    batch = math.prod(batch_shape)
    if out.size == 0:
        return out  # nothing to compute (K = 0 still launches: the kernel writes the zeros of an empty sum)
    (sAm, sAk), (sBk, sBn) = element_strides(a)[-2:], element_strides(b)[-2:]
    if batch > 1 and sBb == 0 and sAb == M * sAm:
        # B is shared and A's matrices follow each other row after row: one tall GEMM instead of `batch` small ones.
        M, batch, sAb = M * batch, 1, 0
    for size, what in ((M, "rows"), (N, "columns"), (K, "inner dimension"), (batch, "batch")):
        if size > INT32_MAX:
            raise ValueError(f"matmul: {size} {what} exceeds the kernels' 32-bit sizes; split the product")
    ctype = CTYPES[dtype]
    sizes = tuple(np.int32(v) for v in (batch, M, N, K))
    strides = tuple(np.int64(v) for v in (sAb, sAm, sAk, sBb, sBk, sBn))
    args = (a, b, out) + sizes + strides
    # A pipelined variant whose operands it cannot take runs on matmul_mma instead (_plan's last case).
    launch = _pipelined_launch(variant, a, b, args) if variant in PIPELINED else None
    if launch is None:
        kernel, grid, block = _plan(
            variant, ctype, M, N, K, batch, _vectorizable(a, b, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn)
        )
        launch = Launch("matmul.cu", kernel, grid, block, args)
    if launch.grid[1] > MAX_GRID_Y:
        raise ValueError(f"matmul: {N} columns need more than {MAX_GRID_Y} column tiles; split the product")
    launcher(launch)
    return out


def _check_operands(a: Any, b: Any) -> str:
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(
            f"matmul kernels need operands of at least 2 dimensions, got shapes {tuple(a.shape)} and {tuple(b.shape)}: "
            "unsqueeze a vector into a 1-row or 1-column matrix first"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype}")
    if a.dtype.name not in CTYPES:
        raise TypeError(
            f"matmul kernels support {', '.join(CTYPES)}, not {a.dtype}: use the array library's own matmul for it"
        )
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
        )
    return a.dtype.name


def _choose_variant(variant: Optional[str], dtype: str, allow_tf32: bool) -> str:
    """The variant to run ("auto": pick a CUDA-core kernel by shape in _plan), or a TypeError for a dtype it lacks."""
    if variant is None:
        if dtype in DEFAULT_TENSOR_CORE_VARIANT and (dtype != "float32" or allow_tf32):
            return DEFAULT_TENSOR_CORE_VARIANT[dtype]
        return "auto"
    if variant not in VARIANTS:
        raise ValueError(f"matmul: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)} or None")
    takes = TENSOR_CORE_DTYPES.get(variant, "float32 and float64")
    if dtype not in takes.split(" and "):
        raise TypeError(f"matmul: variant {variant!r} takes {takes}, not {dtype}")
    return variant


def _collapse_batch(a: Any, b: Any) -> Tuple[Any, Any, Tuple[int, ...], Tuple[int, int]]:
    """Broadcast the batch dimensions and find one stride per operand that walks all of them as a single index.

    That works when each operand's batch is laid out as one evenly strided run (contiguous, or broadcast with stride
    0). Where it does not (a sliced batch, or batches that broadcast against each other, as (3, 1) with (1, 4)),
    the smaller operand and then, if needed, the other one is copied into a contiguous, fully broadcast array.
    """
    try:
        batch_shape = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    except ValueError:
        raise ValueError(
            f"matmul: the batch dimensions of shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None
    operands = [a, b]
    for copy in [None] + sorted((0, 1), key=lambda i: operands[i].size):  # as they are, then copy the smaller first
        if copy is not None:
            xp = array_module(operands[copy])
            full_shape = batch_shape + operands[copy].shape[-2:]
            operands[copy] = xp.ascontiguousarray(xp.broadcast_to(operands[copy], full_shape))
        (a, sa), (b, sb) = (_whole_elements(x) for x in operands)
        operands = [a, b]
        strides = _single_batch_stride(
            batch_shape, [_batch_strides(a.shape, sa, batch_shape), _batch_strides(b.shape, sb, batch_shape)]
        )
        if strides is not None:
            return a, b, batch_shape, strides
    raise AssertionError("contiguous, fully broadcast operands always collapse")


def _batch_strides(shape: Sequence[int], strides: Sequence[int], batch_shape: Sequence[int]) -> List[int]:
    """An operand's strides over the broadcast batch dimensions: 0 where it has size 1 or lacks the dimension."""
    missing = len(batch_shape) - (len(shape) - 2)
    own = [0 if n == 1 else s for n, s in zip(shape[:-2], strides[:-2])]
    return [0] * missing + own


def _single_batch_stride(batch_shape: Sequence[int], strides: Sequence[List[int]]) -> Optional[Tuple[int, ...]]:
    """Per operand, the stride s with offset(batch index z) = z * s over the flattened batch, or None if none exists."""
    dims = [i for i, n in enumerate(batch_shape) if n != 1]
    if not dims:
        return tuple(0 for _ in strides)
    inner = tuple(s[dims[-1]] for s in strides)
    run = 1  # batch entries inside dimension i
    for i in reversed(dims):
        if any(s[i] != unit * run for s, unit in zip(strides, inner)):
            return None
        run *= batch_shape[i]
    return inner


def _vectorizable(a: Any, b: Any, M: int, N: int, K: int, *strides: int) -> bool:
    """Whether both operands allow the warp-tiled kernel's 16-byte vector loads (see TileFetch in matmul.cu)."""
    sAb, sAm, sAk, sBb, sBk, sBn = strides
    width = 16 // a.itemsize
    return _operand_vectorizable(a, M, K, sAb, sAm, sAk, width) and _operand_vectorizable(b, N, K, sBb, sBn, sBk, width)


def _operand_vectorizable(x: Any, X: int, K: int, sb: int, sx: int, sk: int, width: int) -> bool:
    if data_address(x) % 16 or sb % width:
        return False
    if sx == 1 and sk != 1:  # vectors run along x (the kernel's x_fastest)
        return X % width == 0 and sk % width == 0
    return sk == 1 and K % width == 0 and sx % width == 0


def _blocks(M: int, N: int, batch: int, bm: int, bn: int) -> int:
    return -(-M // bm) * -(-N // bn) * batch


def _plan(
    variant: str, ctype: str, M: int, N: int, K: int, batch: int, vec: bool
) -> Tuple[str, Tuple[int, int, int], Tuple[int, int, int]]:
    """The kernel name expression, grid and block for one product (the grid covers M tiles in x, N tiles in y)."""
    z = min(batch, MAX_GRID_Y)  # the kernels loop over the rest of the batch

    def grid(bm: int, bn: int) -> Tuple[int, int, int]:
        return (-(-M // bm), -(-N // bn), z)

    if variant == "auto":
        bm, bn = (VECTOR_TILES[LARGE_DEFAULT] if LARGE_DEFAULT in VECTOR_TILES else WARPTILE_TILES)[ctype][:2]
        variant = LARGE_DEFAULT if _blocks(M, N, batch, bm, bn) >= SMS else "regblock"
    if variant == "naive":
        return f"matmul_naive<{ctype}>", grid(16, 16), (16, 16, 1)
    if variant == "coalesced":
        return f"matmul_coalesced<{ctype}>", grid(8, 32), (32, 8, 1)
    if variant == "smem":
        return f"matmul_smem<{ctype}, {SMEM_TILE}>", grid(SMEM_TILE, SMEM_TILE), (SMEM_TILE, SMEM_TILE, 1)
    if variant == "regblock":
        large = REGBLOCK_TILES["large"]
        tile = large if _blocks(M, N, batch, *large[:2]) >= SMS else REGBLOCK_TILES["small"]
        bm, bn, _, tm, tn = tile
        return _regblock_name(ctype, tile), grid(bm, bn), ((bm // tm) * (bn // tn), 1, 1)
    if variant == "warptile":
        bm, bn, _, wm, wn = WARPTILE_TILES[ctype][:5]
        return _warptile_name(ctype, vec), grid(bm, bn), ((bm // wm) * (bn // wn) * 32, 1, 1)
    if variant in VECTOR_TILES:
        tile = VECTOR_TILES[variant][ctype]
        bm, bn, _, wm, wn = tile[:5]
        kernel = _tiled_name(_vector_kernel(variant), ctype, tile, vec)
        return kernel, grid(bm, bn), ((bm // wm) * (bn // wn) * 32, 1, 1)
    return f"matmul_mma<{ctype}>", grid(*MMA_TILE), (256, 1, 1)

"""minitorch's CUDA kernels against cuBLAS, cuDNN and PyTorch, on the same inputs in one run.

    python benchmarks/kernels/bench_kernels.py       # needs a GPU; writes benchmarks/results/<gpu-name>.{json,md}

Each case is timed with CUDA events after a warm-up, as the median of many runs, next to its reference:

* the matrix product at 4096^3 (float32), every rung of the kernel ladder (the naive kernel at 1024^3) against
  cuBLAS through ``cupy.matmul`` (CuPy leaves TF32 off unless CUPY_TF32=1), and the tensor-core kernels against
  ``torch.matmul`` at the same precision;
* 2-d convolution on ResNet-18's 3x3 layers at batch 32 against cuDNN (``torch.nn.functional.conv2d``, TF32 off),
  forward and both gradients;
* softmax on 4096x4096 and 32768x1024 float32 against ``torch.softmax``;
* a ResNet-18 training step (batch 32, 224x224, SGD) against PyTorch eager.

The device's own peaks are measured in the same run: the copy bandwidth (a device-to-device copy of 1 GiB) and
cuBLAS's float32 and tensor-core rates at 8192^3. Every row prints its time, its rate (TFLOP/s or GB/s), its speed
as a percentage of the reference's, the percentage of the measured peak, and whether it meets its target from the
issue. Without a GPU the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import traceback
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import minitorch  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


# ---- work counts: what a case must compute or move, so a time becomes a rate ---------------------------------------
def gemm_flops(m: int, n: int, k: int, batch: int = 1) -> int:
    """A matrix product does one multiply and one add per (row, column, inner) triple."""
    return 2 * m * n * k * batch


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output positions along one dim, as nn.Conv2d computes them."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvShape:
    """One convolution: batch n, c -> k channels, an h x w input, an r x s kernel."""

    n: int
    c: int
    h: int
    w: int
    k: int
    r: int = 3
    s: int = 3
    stride: int = 1
    padding: int = 1

    @property
    def out_hw(self) -> Tuple[int, int]:
        return (
            conv_out_size(self.h, self.r, self.stride, self.padding),
            conv_out_size(self.w, self.s, self.stride, self.padding),
        )

    def flops(self) -> int:
        """The implicit GEMM's work: M = n*p*q outputs per channel, N = k channels, K = c*r*s taps.

        Each gradient (input and weight) is a GEMM of the same size, so it has the same count.
        """
        p, q = self.out_hw
        return gemm_flops(self.n * p * q, self.k, self.c * self.r * self.s)

    def label(self) -> str:
        return f"{self.c}->{self.k} {self.h}x{self.w} s{self.stride}"


# ResNet-18's 3x3 convolutions at batch 32 and 224x224 input: each stage's plain layer, then each stride-2 entry.
RESNET18_3X3 = (
    ConvShape(32, 64, 56, 56, 64),
    ConvShape(32, 64, 56, 56, 128, stride=2),
    ConvShape(32, 128, 28, 28, 128),
    ConvShape(32, 128, 28, 28, 256, stride=2),
    ConvShape(32, 256, 14, 14, 256),
    ConvShape(32, 256, 14, 14, 512, stride=2),
    ConvShape(32, 512, 7, 7, 512),
)


# Warps per row of the register softmax worth timing beside the planner's choice (4 and 1 for these shapes).
SOFTMAX_WARPS = {(4096, 4096): (8, 16), (32768, 1024): (2,)}


def softmax_bytes(rows: int, cols: int, itemsize: int) -> int:
    """The least memory traffic of a softmax: read every input once, write every output once."""
    return 2 * rows * cols * itemsize


def copy_bytes(nbytes: int) -> int:
    """A device-to-device copy reads and writes every byte."""
    return 2 * nbytes


def rate(work: float, ms: float) -> float:
    """Work per second in units of 1e12 (TFLOP/s for FLOPs) or 1e9 (GB/s for bytes): see ``Row.unit``."""
    return work / (ms * 1e-3)


# ---- targets and rows ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What the issue asks of a case: a least percentage of the reference's speed and/or of the measured peak."""

    of_reference: Optional[float] = None  # ours at >= this % of the reference's speed (ref time / our time)
    of_peak: Optional[float] = None  # our rate at >= this % of the device's measured peak

    def describe(self) -> str:
        parts = []
        if self.of_reference is not None:
            parts.append(f">= {self.of_reference:g}% of ref")
        if self.of_peak is not None:
            parts.append(f">= {self.of_peak:g}% of peak")
        return " and ".join(parts)


@dataclass
class Row:
    """One measured case. ``work`` is FLOPs (unit TFLOP/s) or bytes (unit GB/s); ``peak`` is in ``unit``."""

    case: str
    ours_ms: float
    reference: str = ""
    ref_ms: Optional[float] = None
    work: Optional[float] = None
    unit: str = "TFLOP/s"
    peak: Optional[float] = None
    target: Optional[Target] = None
    note: str = ""

    @property
    def scale(self) -> float:
        return 1e12 if self.unit == "TFLOP/s" else 1e9

    def ours_rate(self) -> Optional[float]:
        return None if self.work is None else rate(self.work, self.ours_ms) / self.scale

    def ref_rate(self) -> Optional[float]:
        return None if self.work is None or self.ref_ms is None else rate(self.work, self.ref_ms) / self.scale

    def pct_of_reference(self) -> Optional[float]:
        """Our speed as a percentage of the reference's: 100 means as fast, above 100 faster."""
        return None if self.ref_ms is None else 100.0 * self.ref_ms / self.ours_ms

    def pct_of_peak(self) -> Optional[float]:
        ours = self.ours_rate()
        return None if ours is None or not self.peak else 100.0 * ours / self.peak

    def met(self) -> Optional[bool]:
        """Whether the target is met; None when there is no target or a figure it needs is missing."""
        if self.target is None:
            return None
        checks = []
        for wanted, got in (
            (self.target.of_reference, self.pct_of_reference()),
            (self.target.of_peak, self.pct_of_peak()),
        ):
            if wanted is not None:
                if got is None:
                    return None
                checks.append(got >= wanted)
        return all(checks)

    def as_dict(self) -> Dict[str, Any]:
        record = asdict(self)
        record.update(
            ours_rate=self.ours_rate(),
            ref_rate=self.ref_rate(),
            pct_of_reference=self.pct_of_reference(),
            pct_of_peak=self.pct_of_peak(),
            target=None if self.target is None else self.target.describe(),
            met=self.met(),
        )
        return record


COLUMNS = ("case", "ours", "reference", "ref", "ours rate", "ref rate", "% of ref", "% of peak", "target", "met")


def _fmt(value: Optional[float], spec: str, suffix: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{suffix}"


def cells(row: Row) -> List[str]:
    """A row's table cells, in ``COLUMNS`` order."""
    met = row.met()
    return [
        row.case,
        f"{row.ours_ms:.3f} ms",
        row.reference,
        _fmt(row.ref_ms, ".3f", " ms"),
        _fmt(row.ours_rate(), ".1f", f" {row.unit}"),
        _fmt(row.ref_rate(), ".1f", f" {row.unit}"),
        _fmt(row.pct_of_reference(), ".1f", "%"),
        _fmt(row.pct_of_peak(), ".1f", "%"),
        "" if row.target is None else row.target.describe(),
        "" if met is None else ("met" if met else "NOT met"),
    ]


def markdown_table(rows: Sequence[Row]) -> List[str]:
    """The rows as a Markdown table (notes go below it, one line each)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    notes = [f"- {r.case}: {r.note}" for r in rows if r.note]
    return lines + ([""] + notes if notes else [])


def text_line(row: Row) -> str:
    """One row as the console prints it while the benchmark runs."""
    c = cells(row)
    line = f"{c[0]:44s} {c[1]:>12s}  {c[3]:>12s} {c[2]:18s} {c[4]:>14s} {c[6]:>8s} ref {c[7]:>7s} peak"
    if row.target is not None:
        line += f"  [{c[8]}: {c[9] or 'n/a'}]"
    return line + (f"  ({row.note})" if row.note else "")


def slug(gpu_name: str) -> str:
    """A file name from a GPU's name: 'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    return re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-") or "gpu"


def report(gpu: str, peaks: Dict[str, float], rows: Sequence[Row], command: str) -> List[str]:
    """The Markdown report: machine, measured peaks, the table, the targets' summary."""
    lines = [
        f"# minitorch CUDA kernels on {gpu}",
        "",
        f"Command: `{command}`. Times are medians of CUDA-event timings after a warm-up; "
        "% of ref = reference time / our time; % of peak = our rate / the device peak measured in the same run.",
        "",
        "Measured peaks: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()) + ".",
        "",
        *markdown_table(rows),
    ]
    judged = [r for r in rows if r.met() is not None]
    if judged:
        lines += ["", f"Targets met: {sum(bool(r.met()) for r in judged)} of {len(judged)}."]
    return lines


# ---- timing on the GPU ---------------------------------------------------------------------------------------------
def time_ms(fn: Callable[[], Any], warmup: int = 3, repeats: int = 20) -> float:
    """Median milliseconds of ``fn`` between two CUDA events, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    start, end = minitorch.cuda.Event(enable_timing=True), minitorch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


class Bench:
    """The GPU cases; each method measures some rows and appends them to ``rows``."""

    def __init__(self, repeats: int) -> None:
        import cupy

        from minitorch.backends.cuda_kernels import conv2d, matmul, softmax

        self.cp, self.gemm, self.conv2d, self.softmax = cupy, matmul, conv2d, softmax
        self.repeats = repeats
        self.rows: List[Row] = []
        self.peaks: Dict[str, float] = {}
        try:
            import torch
        except ImportError:
            torch = None
        self.torch = torch if torch is not None and torch.cuda.is_available() else None
        if self.torch is not None:
            # The FP32 references run in full FP32, as our FP32 kernels do; cuDNN may pick its fastest algorithm.
            self.torch.backends.cuda.matmul.allow_tf32 = False
            self.torch.backends.cudnn.allow_tf32 = False
            self.torch.backends.cudnn.benchmark = True

    def time(self, fn: Callable[[], Any], repeats: Optional[int] = None) -> float:
        return time_ms(fn, repeats=repeats or self.repeats)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(text_line(row), flush=True)

    def skip(self, case: str, why: str) -> None:
        print(f"{case:44s} skipped: {why}", flush=True)

    def randn(self, shape: Sequence[int], dtype: str = "float32") -> Any:
        return self.cp.random.standard_normal(tuple(shape), dtype="float32").astype(dtype)

    # -- the device's peaks
    def measure_peaks(self) -> None:
        cp = self.cp
        src = cp.ones(2**28, dtype=cp.float32)  # 1 GiB
        dst = cp.empty_like(src)
        ms = self.time(lambda: cp.copyto(dst, src))
        self.peaks["copy GB/s"] = rate(copy_bytes(src.nbytes), ms) / 1e9
        a, b = self.randn((8192, 8192)), self.randn((8192, 8192))
        self.peaks["cuBLAS FP32 TFLOP/s"] = (
            rate(gemm_flops(8192, 8192, 8192), self.time(partial(cp.matmul, a, b))) / 1e12
        )
        print("measured peaks: " + ", ".join(f"{k} {v:.1f}" for k, v in self.peaks.items()), flush=True)

    # -- matrix products
    def gemm_ladder(self) -> None:
        cp = self.cp
        fp32_peak = self.peaks["cuBLAS FP32 TFLOP/s"]
        for variant in (v for v in self.gemm.VARIANTS if v not in self.gemm.TENSOR_CORE_DTYPES):
            n = 1024 if variant == "naive" else 4096  # the naive kernel takes seconds at 4096
            a, b = self.randn((n, n)), self.randn((n, n))
            ours = self.time(partial(self.gemm.matmul, a, b, variant=variant))
            self.add(
                Row(
                    f"sgemm {n}^3 {variant}",
                    ours,
                    "cuBLAS (cupy)",
                    self.time(partial(cp.matmul, a, b)),
                    gemm_flops(n, n, n),
                    peak=fp32_peak,
                )
            )
        n = 4096
        a, b = self.randn((n, n)), self.randn((n, n))
        at, bt = self.randn((n, n)).T, self.randn((n, n)).T  # transposed operands are read in place, by strides
        ab = (self.randn((8, 1024, 1024)), self.randn((8, 1024, 1024)))
        for case, (x, y), target in (
            (f"sgemm {n}^3 default (variant=None)", (a, b), Target(of_reference=90)),
            (f"sgemm {n}^3 default, a.T @ b.T", (at, bt), None),
            ("sgemm batch 8 x 1024^3 default", ab, None),
        ):
            flops = gemm_flops(x.shape[-2], y.shape[-1], x.shape[-1], x.size // (x.shape[-2] * x.shape[-1]))
            self.add(
                Row(
                    case,
                    self.time(partial(self.gemm.matmul, x, y)),
                    "cuBLAS (cupy)",
                    self.time(partial(cp.matmul, x, y)),
                    flops,
                    peak=fp32_peak,
                    target=target,
                )
            )

    def gemm_tensor_cores(self) -> None:
        torch = self.torch
        if torch is None:
            self.skip("tensor-core GEMM", "needs torch with CUDA for the reference")
            return
        n, big = 4096, 8192
        for variant, dtype in self.gemm.TENSOR_CORE_DTYPES.items():
            case = f"{variant} GEMM {n}^3"
            # The inputs are made by torch and shared with CuPy through DLPack: torch.as_tensor cannot read CuPy's
            # bfloat16 arrays (an ml_dtypes dtype) through __cuda_array_interface__.
            ta, tb = (torch.randn(n, n, device="cuda").to(getattr(torch, dtype)) for _ in range(2))
            try:
                a, b = self.cp.from_dlpack(ta), self.cp.from_dlpack(tb)
            except Exception as err:  # CuPy knows bfloat16 only where ml_dtypes is installed
                self.skip(case, f"CuPy cannot take {dtype} arrays ({type(err).__name__}: {err})")
                continue
            precision = self.gemm.DEFAULT_TENSOR_CORE_VARIANT[dtype]  # tf32, fp16 or bf16: cuBLAS at the same one
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            ref_ms = self.time(partial(torch.matmul, ta, tb))
            if f"cuBLAS {precision} TFLOP/s" not in self.peaks:
                tbig = torch.randn(big, big, device="cuda").to(ta.dtype)
                ms = self.time(partial(torch.matmul, tbig, tbig))
                self.peaks[f"cuBLAS {precision} TFLOP/s"] = rate(gemm_flops(big, big, big), ms) / 1e12
            torch.backends.cuda.matmul.allow_tf32 = False
            peak = self.peaks[f"cuBLAS {precision} TFLOP/s"]
            ours = self.time(partial(self.gemm.matmul, a, b, variant=variant, allow_tf32=True))
            self.add(
                Row(
                    case,
                    ours,
                    f"torch.matmul ({precision})",
                    ref_ms,
                    gemm_flops(n, n, n),
                    peak=peak,
                    target=Target(of_reference=70),
                )
            )

    # -- convolution
    def conv(self) -> None:
        torch = self.torch
        if torch is None:
            self.skip("conv2d vs cuDNN", "needs torch with CUDA for cuDNN")
            return
        F = torch.nn.functional
        total = {"ours": 0.0, "ref": 0.0, "flops": 0}
        for shape in RESNET18_3X3:
            x, w = self.randn((shape.n, shape.c, shape.h, shape.w)), self.randn((shape.k, shape.c, shape.r, shape.s))
            g = self.randn((shape.n, shape.k) + shape.out_hw)
            tx, tw, tg = (torch.as_tensor(a, device="cuda") for a in (x, w, g))
            geometry = {"stride": (shape.stride,) * 2, "padding": (shape.padding,) * 2, "dilation": (1, 1), "groups": 1}
            torch_geometry = {"stride": shape.stride, "padding": shape.padding}
            steps = (
                (
                    "fwd",
                    partial(self.conv2d.conv2d_forward, x, w, out_hw=shape.out_hw, **geometry),
                    partial(F.conv2d, tx, tw, **torch_geometry),
                ),
                (
                    "dgrad",
                    partial(self.conv2d.conv2d_backward_input, g, w, x_hw=(shape.h, shape.w), **geometry),
                    partial(torch.nn.grad.conv2d_input, tx.shape, tw, tg, **torch_geometry),
                ),
                (
                    "wgrad",
                    partial(self.conv2d.conv2d_backward_weight, x, g, w_shape=w.shape, **geometry),
                    partial(torch.nn.grad.conv2d_weight, tx, tw.shape, tg, **torch_geometry),
                ),
            )
            for step, ours, ref in steps:
                row = Row(
                    f"conv2d {step} {shape.label()}",
                    self.time(ours),
                    "cuDNN (torch)",
                    self.time(ref),
                    shape.flops(),
                    peak=self.peaks["cuBLAS FP32 TFLOP/s"],
                )
                self.add(row)
                if step == "fwd":
                    total["ours"] += row.ours_ms
                    total["ref"] += row.ref_ms or 0.0
                    total["flops"] += shape.flops()
        self.add(
            Row(
                "conv2d fwd, all ResNet-18 3x3 layers",
                total["ours"],
                "cuDNN (torch)",
                total["ref"],
                total["flops"],
                peak=self.peaks["cuBLAS FP32 TFLOP/s"],
                target=Target(of_reference=60),
            )
        )

    # -- softmax
    def softmax_rows(self) -> None:
        torch = self.torch
        for rows, cols in ((4096, 4096), (32768, 1024)):
            x = self.randn((rows, cols))
            ref_ms, reference = None, ""
            if torch is not None:
                tx = torch.as_tensor(x, device="cuda")
                ref_ms, reference = self.time(partial(torch.softmax, tx, -1)), "torch.softmax"
            self.add(
                Row(
                    f"softmax {rows}x{cols} float32",
                    self.time(partial(self.softmax.softmax, x, -1)),
                    reference,
                    ref_ms,
                    softmax_bytes(rows, cols, 4),
                    unit="GB/s",
                    peak=self.peaks["copy GB/s"],
                    target=Target(of_reference=100, of_peak=85),
                )
            )
            for warps in SOFTMAX_WARPS.get((rows, cols), ()):  # other row shapes of the register kernel, to compare
                self.add(
                    Row(
                        f"softmax {rows}x{cols} float32, {warps} warps a row",
                        self.time(partial(self.softmax.softmax, x, -1, warps=warps)),
                        reference,
                        ref_ms,
                        softmax_bytes(rows, cols, 4),
                        unit="GB/s",
                        peak=self.peaks["copy GB/s"],
                    )
                )

    # -- a whole training step
    def resnet18_step(self, batch: int = 32) -> None:
        case = f"ResNet-18 training step, batch {batch}"
        try:
            from models.resnet import resnet18
        except ImportError as err:
            self.skip(case, f"models.resnet is not importable ({err})")
            return
        twin = torch_resnet18(self.torch)
        if twin is None:
            self.skip(
                case,
                "no PyTorch ResNet-18 to compare with (needs torch with CUDA, and torchvision or tests/twins_cnn.py)",
            )
            return
        torch = self.torch
        ours = resnet18().to("cuda")
        twin = twin.cuda()
        x = minitorch.randn(batch, 3, 224, 224, device="cuda")
        y = minitorch.randint(0, 1000, (batch,), device="cuda")
        tx, ty = torch.randn(batch, 3, 224, 224, device="cuda"), torch.randint(0, 1000, (batch,), device="cuda")

        def step(lib: Any, model: Any, opt: Any, inp: Any, target: Any) -> Callable[[], None]:
            def run() -> None:
                opt.zero_grad()
                lib.nn.functional.cross_entropy(model(inp), target).backward()
                opt.step()

            return run

        ours_step = step(minitorch, ours, minitorch.optim.SGD(ours.parameters(), lr=0.01, momentum=0.9), x, y)
        ref_step = step(torch, twin, torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9), tx, ty)
        self.add(
            Row(
                case,
                self.time(ours_step, 10),
                "PyTorch eager",
                self.time(ref_step, 10),
                target=Target(of_reference=100 / 1.5),
                note="target: at most 1.5x PyTorch's time (>= 66.7% of its speed)",
            )
        )


def torch_resnet18(torch: Any) -> Any:
    """PyTorch's ResNet-18: the zoo's plain-torch twin (tests/twins_cnn.py), else torchvision's; None if neither."""
    if torch is None:
        return None
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from twins_cnn import CASES

        return CASES["resnet18"].build_torch()
    except (ImportError, KeyError):
        pass
    try:
        from torchvision.models import resnet18
    except Exception:  # missing, or built against another torch
        return None
    return resnet18()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per case (the median is reported)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for <gpu-name>.json and .md")
    args = parser.parse_args(argv)
    if not minitorch.cuda.is_available():
        print(f"bench_kernels needs a CUDA GPU. {minitorch.backends.cuda.unavailable_reason()}", file=sys.stderr)
        return 2
    gpu = minitorch.cuda.get_device_name()
    print(f"{gpu}, Python {platform.python_version()}", flush=True)
    bench = Bench(args.repeats)
    bench.measure_peaks()
    command = "python benchmarks/kernels/bench_kernels.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    failed = []
    # The tensor-core kernels go last: they are the ones the CPU emulator cannot check before a GPU run.
    for part in (bench.gemm_ladder, bench.softmax_rows, bench.conv, bench.resnet18_step, bench.gemm_tensor_cores):
        # A part that fails is reported and the others still run; the files are rewritten after each part, so a run
        # stopped early keeps what it measured.
        try:
            part()
        except Exception:
            failed.append(part.__name__)
            traceback.print_exc()
            print(f"{part.__name__} failed; going on with the next part", file=sys.stderr, flush=True)
        write_results(args.out, gpu, bench, command, failed)
    print(f"wrote {args.out / slug(gpu)}.json and .md")
    return 1 if failed else 0


def write_results(out: Path, gpu: str, bench: Bench, command: str, failed: Sequence[str]) -> None:
    """Write ``<gpu-name>.json`` and ``.md`` with every row measured so far and the parts that failed."""
    out.mkdir(parents=True, exist_ok=True)
    name = slug(gpu)
    record = {"gpu": gpu, "peaks": bench.peaks, "rows": [r.as_dict() for r in bench.rows], "command": command}
    record["failed_parts"] = list(failed)
    lines = report(gpu, bench.peaks, bench.rows, command)
    if failed:
        lines += ["", "Parts that failed (see the run's output): " + ", ".join(failed) + "."]
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())

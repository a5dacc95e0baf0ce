"""Winograd's F(2x2, 3x3) against im2col + BLAS for stride-1 3x3 convolutions on the CPU (C++ path).

    python benchmarks/bench_winograd.py                         # ResNet-18's stride-1 3x3 layers, batch 8
    python benchmarks/bench_winograd.py --shapes 2x256x256x14   # N x C x O x size, comma-separated
    python benchmarks/bench_winograd.py --steps                 # bench_cpu.py's conv2d fwd+bwd cases vs PyTorch
    python benchmarks/bench_winograd.py --steps --resnet        # and its ResNet-18 training step

Per layer it times ``CpuBackend.conv`` with no weight gradient wanted (``keep=False``), ``conv_input_grad``, and
the training pair ``conv(keep=True)`` + ``conv_weight_grad`` (Winograd keeps V, im2col its columns), each both
ways. ``--steps`` times the benchmark's forward-and-backward step as bench_cpu.py does: with im2col only, by the
rule before the weight gradient had a Winograd form ("before": a training forward took im2col), and as routed
now. The routes alternate round by round in one process (they differ in ``_WINOGRAD_MIN_TILES_PER_CHANNEL``: 0
sends every stride-1 3x3 layer to Winograd, infinity none), and each figure is a median. The C++ kernels keep
one thread, NumPy's BLAS uses every core, PyTorch gets two threads.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import numpy as np

from bench_core import mean_seconds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import minitorch  # noqa: E402
from minitorch.backends import cpu  # noqa: E402
from minitorch.backends.windows import Geometry  # noqa: E402

DEFAULT = cpu._WINOGRAD_MIN_TILES_PER_CHANNEL
EVERY_LAYER, NO_LAYER = 0.0, float("inf")  # thresholds that send every stride-1 3x3 layer to Winograd, or none


@contextlib.contextmanager
def threshold(tiles_per_channel: float) -> Iterator[None]:
    cpu._WINOGRAD_MIN_TILES_PER_CHANNEL = tiles_per_channel
    try:
        yield
    finally:
        cpu._WINOGRAD_MIN_TILES_PER_CHANNEL = DEFAULT


def call_ms(fn: Callable[[], object], number: int = 11) -> float:
    """Median milliseconds of ``number`` calls after a warm-up call."""
    fn()
    times = []
    for _ in range(number):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def padded_by_one(size: int) -> Geometry:
    """A 3x3 window geometry over size x size, stride 1, padding 1 (the output as large as the input)."""
    return Geometry((size, size), (size, size), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))


def layer(n: int, c: int, o: int, size: int, rounds: int) -> Dict[str, float]:
    """Median milliseconds of the forward, the input gradient, and the forward with the weight gradient of one
    layer, each way."""
    backend, rng, geom = cpu.CPU_BACKEND, np.random.default_rng(0), padded_by_one(size)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    w = rng.standard_normal((o, c, 3, 3), dtype=np.float32)
    g = rng.standard_normal((n, o, size, size), dtype=np.float32)
    calls = {
        "forward": lambda: backend.conv(x, w, geom, 1),
        "input grad": lambda: backend.conv_input_grad(g, w, geom, 1),
        "forward + weight grad": lambda: backend.conv_weight_grad(x, g, geom, 1, backend.conv(x, w, geom, 1, True)[1]),
    }
    routes = {"winograd": EVERY_LAYER, "im2col": NO_LAYER}
    ms: Dict[str, List[float]] = {f"{call} {route}": [] for call in calls for route in routes}
    for _ in range(rounds):
        for route, tiles_per_channel in routes.items():
            with threshold(tiles_per_channel):
                for call, fn in calls.items():
                    ms[f"{call} {route}"].append(call_ms(fn))
    return {key: statistics.median(t) for key, t in ms.items()}


def layers(shapes: str, rounds: int) -> None:
    for shape in shapes.split(","):
        n, c, o, size = map(int, shape.split("x"))
        ms = layer(n, c, o, size, rounds)
        default = "routed" if cpu.CPU_BACKEND._winograd(n, (o, c), padded_by_one(size), 1) else "not routed"
        times = (
            f"{call} {ms[call + ' winograd']:.3f} / {ms[call + ' im2col']:.3f} ms"
            for call in ("forward", "input grad", "forward + weight grad")
        )
        print(f"{shape:16s} ({default}) Winograd / im2col + BLAS: " + "  ".join(times))


@contextlib.contextmanager
def forward_im2col_in_training() -> Iterator[None]:
    """The rule before the weight gradient had a Winograd form: a forward whose weight gradient is wanted
    (``keep``) takes im2col and keeps its columns; the other calls are routed as usual."""
    conv = cpu.CpuBackend.conv

    def previous(self, x, w, geom, groups, keep=False):
        with threshold(NO_LAYER if keep else cpu._WINOGRAD_MIN_TILES_PER_CHANNEL):
            return conv(self, x, w, geom, groups, keep)

    cpu.CpuBackend.conv = previous
    try:
        yield
    finally:
        cpu.CpuBackend.conv = conv


ROUTES: Dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "im2col": lambda: threshold(NO_LAYER),
    "before": forward_im2col_in_training,
    "routed": contextlib.nullcontext,
}


def steps(rounds: int, resnet: bool) -> None:
    import bench_cpu
    import torch

    torch.set_num_threads(2)
    cases = {name: case for name, case in bench_cpu.KERNELS.items() if "conv2d" in name}
    if resnet:
        name = next(name for name in bench_cpu.TRAINING if name.startswith("ResNet-18"))
        cases[name] = bench_cpu.training_cases(np.random.default_rng(0))[name]
    for name, (build, number, _) in cases.items():
        ours, theirs = build(minitorch), build(torch)
        ms: Dict[str, List[float]] = {route: [] for route in [*ROUTES, "torch"]}
        for _ in range(rounds):
            for route, context in ROUTES.items():
                with context():
                    ms[route].append(mean_seconds(ours, number) * 1e3)
            ms["torch"].append(mean_seconds(theirs, number) * 1e3)
        ratio = {route: statistics.median(a / b for a, b in zip(ms[route], ms["torch"])) for route in ROUTES}
        med = {key: statistics.median(t) for key, t in ms.items()}
        print(f"{name:48s} PyTorch {med['torch']:6.2f} ms; C++ path: "
              + ", ".join(f"{route} {med[route]:6.2f} ms ({ratio[route]:.2f}x)" for route in ROUTES))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="8x64x64x16,8x128x128x8,8x256x256x4,8x512x512x2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", action="store_true", help="bench_cpu.py's conv2d fwd+bwd cases instead")
    parser.add_argument("--resnet", action="store_true", help="with --steps: bench_cpu.py's ResNet-18 step too")
    args = parser.parse_args()
    if not cpu.has_extension():
        raise SystemExit("minitorch._C is not built; run `pip install -e .` with a C++ compiler first")
    cpu.use_extension(True)
    if args.steps:
        steps(args.rounds, args.resnet)
    else:
        layers(args.shapes, args.rounds)


if __name__ == "__main__":
    main()

"""The C++ CPU kernels (minitorch._C) against the NumPy path and PyTorch CPU.

    python benchmarks/bench_cpu.py              # prints tables, writes benchmarks/results/cpu_kernels.md
    python benchmarks/bench_cpu.py --profile    # cProfile of each training step on the NumPy path

Every case runs three ways on the same inputs in one process: minitorch on
the NumPy path, minitorch on the C++ path, and PyTorch. The path is switched
with ``minitorch.backends.cpu.use_extension`` (what ``MINITORCH_CPP`` sets at
import). Both frameworks get the same cores (``--threads``, 2 by default):
PyTorch runs on that many threads; minitorch's matrix products run on
NumPy's BLAS, which uses every core, and its C++ kernels keep their default
of one thread (``--kernel-threads``), since OpenMP threads woken beside
BLAS's spinning threads find no free core (see backends/cpu.py). Ratios are
minitorch time / PyTorch time (lower is better).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import bench_nn
import numpy as np
import torch

from bench_core import mean_seconds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import minitorch  # noqa: E402
from minitorch.backends import cpu  # noqa: E402

Step = Callable[[], None]


# ---- models, written once against either library's public API --------------------------------------
def lenet5(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def resnet18(lib, num_classes: int = 10):
    """ResNet-18 (He et al., 2015): a 7x7 stem, max pool, four stages of two basic blocks, average pool."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.down = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout
                else None
            )

        def forward(self, x):
            y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(y + (x if self.down is None else self.down(x)))

    stages = []
    for cin, cout, stride in ((64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)):
        stages += [Block(cin, cout, stride), Block(cout, cout, 1)]
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes),
    )  # fmt: skip


def lstm_classifier(lib):
    """Two LSTM layers (hidden 256) over a sequence, then a linear layer on the last step."""
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(64, 256, num_layers=2, batch_first=True)
            self.head = nn.Linear(256, 10)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    return Net()


def sgd(lib, params):
    return lib.optim.SGD(params, lr=1e-3, momentum=0.9)


def training_step(lib, build, x: np.ndarray, y: np.ndarray) -> Step:
    lib.manual_seed(0)
    return bench_nn.training_step(lib, build(lib), x, y, sgd)


TRAINING: Dict[str, Tuple[Callable, Tuple[int, ...], int, float]] = {
    # name: (model builder, input shape, steps per repeat, target ratio vs PyTorch from the issue)
    "LeNet-5 step, batch 64, 1x32x32": (lenet5, (64, 1, 32, 32), 10, 1.5),
    "ResNet-18 step, batch 8, 3x64x64": (resnet18, (8, 3, 64, 64), 2, 2.0),
    "LSTM 2x256 step, seq 64, batch 32": (lstm_classifier, (32, 64, 64), 2, 2.0),
}


def training_cases(rng: np.random.Generator) -> Dict[str, Tuple[Callable[[object], Step], int, float]]:
    cases = {}
    for name, (build, shape, number, target) in TRAINING.items():
        x = rng.standard_normal(shape, dtype=np.float32)
        y = rng.integers(0, 10, size=shape[0])
        cases[name] = ((lambda lib, b=build, x=x, y=y: training_step(lib, b, x, y)), number, target)
    return cases


# ---- single kernels, forward and backward ------------------------------------------------------------
def conv_case(n: int, c: int, o: int, size: int, stride: int) -> Callable[[object], Step]:
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((n, c, size, size), dtype=np.float32)
    w0 = rng.standard_normal((o, c, 3, 3), dtype=np.float32) * 0.1

    def build(lib) -> Step:
        x, w = lib.tensor(x0, requires_grad=True), lib.tensor(w0, requires_grad=True)
        return lambda: lib.nn.functional.conv2d(x, w, stride=stride, padding=1).sum().backward()

    return build


def unary_case(shape: Tuple[int, ...], fn: Callable[[object, object], object]) -> Callable[[object], Step]:
    x0 = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)

    def build(lib) -> Step:
        x = lib.tensor(x0, requires_grad=True)
        return lambda: fn(lib, x).sum().backward()

    return build


def _f(lib):
    return lib.nn.functional


KERNELS: Dict[str, Tuple[Callable[[object], Step], int, float]] = {
    # name: (builder, calls per repeat, target ratio vs PyTorch, or 0 when the issue sets none)
    **{
        f"conv2d 3x3 fwd+bwd, 8x{c}x{s}x{s} -> {o}, stride {st}": (conv_case(8, c, o, s, st), 3, 1.5)
        for c, o, s, st in (
            (64, 64, 16, 1),
            (64, 128, 16, 2),
            (128, 128, 8, 1),
            (128, 256, 8, 2),
            (256, 256, 4, 1),
            (256, 512, 4, 2),
            (512, 512, 2, 1),
        )
    },
    "max_pool2d 3x3/2 pad 1 fwd+bwd, 8x64x32x32": (
        unary_case((8, 64, 32, 32), lambda lib, x: _f(lib).max_pool2d(x, 3, 2, 1)),
        10,
        0,
    ),
    "avg_pool2d 2x2 fwd+bwd, 64x6x28x28": (unary_case((64, 6, 28, 28), lambda lib, x: _f(lib).avg_pool2d(x, 2)), 20, 0),
}


def compare(build: Callable[[object], Step], number: int, repeats: int) -> Tuple[float, float, float]:
    """Median seconds on the NumPy path, the C++ path and PyTorch, alternating so slow spells hit all three."""
    steps = {}
    for path in ("numpy", "cpp"):
        cpu.use_extension(path == "cpp")
        steps[path] = build(minitorch)
    steps["torch"] = build(torch)

    def timed(path: str) -> float:
        cpu.use_extension(path == "cpp")
        return mean_seconds(steps[path], number)

    times = [[timed(p) for p in ("numpy", "cpp", "torch")] for _ in range(repeats)]
    return tuple(statistics.median(t[i] for t in times) for i in range(3))  # type: ignore[return-value]


def table(title: str, rows: List[Tuple[str, float, float, float, float]]) -> List[str]:
    lines = [
        f"## {title}",
        "",
        "| case | NumPy path | C++ path | PyTorch | NumPy / PyTorch | C++ / PyTorch | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t_np, t_cpp, t_th, target in rows:
        met = "-" if not target else ("yes" if t_cpp / t_th <= target else "no")
        goal = f"<= {target}x" if target else "-"
        lines.append(
            f"| {name} | {t_np * 1e3:.2f} ms | {t_cpp * 1e3:.2f} ms | {t_th * 1e3:.2f} ms | "
            f"{t_np / t_th:.2f}x | {t_cpp / t_th:.2f}x | {goal} | {met} |"
        )
    return lines + [""]


def run(cases: Dict[str, Tuple[Callable[[object], Step], int, float]], repeats: int) -> List[Tuple]:
    rows = []
    for name, (build, number, target) in cases.items():
        t_np, t_cpp, t_th = compare(build, number, repeats)
        rows.append((name, t_np, t_cpp, t_th, target))
        print(
            f"{name:52s} numpy {t_np * 1e3:8.2f} ms  C++ {t_cpp * 1e3:8.2f} ms  torch {t_th * 1e3:8.2f} ms  "
            f"ratio {t_np / t_th:5.2f} -> {t_cpp / t_th:5.2f}"
        )
    return rows


def profile(cases: Dict[str, Tuple[Callable[[object], Step], int, float]], top: int) -> None:
    """The functions where each training step spends its time, on the NumPy path."""
    cpu.use_extension(False)
    for name, (build, number, _) in cases.items():
        step = build(minitorch)
        step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(number):
            step()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        print(f"==== {name} ({number} steps)\n{out.getvalue()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads")
    parser.add_argument("--kernel-threads", type=int, default=1, help="OpenMP threads of minitorch's C++ kernels")
    parser.add_argument("--profile", action="store_true", help="profile the training steps instead of timing")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "cpu_kernels.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu.set_num_threads(args.kernel_threads)
    training = training_cases(np.random.default_rng(0))
    if args.profile:
        profile(training, top=25)
        return
    if not cpu.has_extension():
        raise SystemExit("minitorch._C is not built; run `pip install -e .` with a C++ compiler first")
    kernel_rows = run(KERNELS, args.repeats)
    training_rows = run(training, args.repeats)
    lines = [
        "# C++ CPU kernels: NumPy path vs C++ path vs PyTorch CPU",
        "",
        f"Command: `python benchmarks/bench_cpu.py` ({args.repeats} alternating repeats in one process, medians). "
        f"Machine: {os.cpu_count()} cores, NumPy {np.__version__}, PyTorch {torch.__version__}; "
        f"{args.threads} threads for PyTorch; NumPy's BLAS on all cores and {args.kernel_threads} OpenMP "
        "thread(s) for minitorch's C++ kernels.",
        "",
        *table("Kernels, forward + backward", kernel_rows),
        *table("Training steps (forward, cross-entropy, backward, SGD with momentum)", training_rows),
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

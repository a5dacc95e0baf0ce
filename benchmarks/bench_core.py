"""Core speed against PyTorch CPU, measured side by side in one process.

    python benchmarks/bench_core.py            # prints a table, writes benchmarks/results/core_cpu.md

Each case runs the same computation in minitorch and in PyTorch, warms up,
then takes the median of several timed repeats. The ratio is
minitorch time / PyTorch time (lower is better; 1.0 means as fast).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import minitorch  # noqa: E402


def mean_seconds(fn: Callable[[], None], number: int) -> float:
    """Mean time of ``number`` calls, after a pause and one untimed call.

    The pause lets the other framework's BLAS/OpenMP threads, which spin for
    a while after their last job, go to sleep instead of taking our cores.
    """
    time.sleep(0.2)
    fn()
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def side_by_side(
    ours: Callable[[], None], theirs: Callable[[], None], number: int, repeats: int
) -> Tuple[float, float, float]:
    """Median times of both, and the median of their per-repeat ratios.

    The two run in alternation, so a slow spell of a shared machine hits
    both alike and cancels in the ratio.
    """
    for fn in (ours, theirs):
        for _ in range(max(1, number // 5)):
            fn()
    pairs = [(mean_seconds(ours, number), mean_seconds(theirs, number)) for _ in range(repeats)]
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a / b for a, b in pairs),
    )


def leaves(lib, arrays: List[np.ndarray]):
    return [lib.tensor(a, requires_grad=True) for a in arrays]


def case_overhead(lib, arrays):
    a, b, c = leaves(lib, arrays)

    def step():
        (a * b + c).sum().backward()

    return step


def case_matmul(lib, arrays):
    a, b = leaves(lib, arrays)

    def step():
        (a @ b).sum().backward()

    return step


def case_elementwise(lib, arrays):
    a, b, c = leaves(lib, arrays)

    def step():
        ((a * b + c).sigmoid() * a - b).sum().backward()

    return step


CASES: Dict[str, Tuple[Callable, Callable[[np.random.Generator], List[np.ndarray]], int, float]] = {
    # name: (builder, inputs, calls per repeat, target ratio from the issue)
    "(a*b+c).sum().backward(), 10 elements": (
        case_overhead,
        lambda r: [r.standard_normal(10, dtype=np.float32) for _ in range(3)],
        2000,
        3.0,
    ),
    "1024x1024 matmul forward+backward": (
        case_matmul,
        lambda r: [r.standard_normal((1024, 1024), dtype=np.float32) for _ in range(2)],
        5,
        1.3,
    ),
    "elementwise chain, 1M elements, fwd+bwd": (
        case_elementwise,
        lambda r: [r.standard_normal(1_000_000, dtype=np.float32) for _ in range(3)],
        10,
        2.0,
    ),
}


def report_case(name: str, t_mt: float, t_th: float, ratio: float, target: Optional[float]) -> None:
    """Print one side-by-side result as it is measured (``target`` None: no target)."""
    print(
        f"{name:45s} minitorch {t_mt * 1e3:9.3f} ms  torch {t_th * 1e3:9.3f} ms  ratio {ratio:5.2f}"
        + (f"  (target <= {target})" if target is not None else "")
    )


def ratio_table(
    title: str, script: str, repeats: int, rows: List[Tuple[str, float, float, float, Optional[float]]]
) -> List[str]:
    """The Markdown report: how it was measured, on what, and one row per case with its target."""
    return [
        f"# {title}",
        "",
        f"Command: `python benchmarks/{script}` ({repeats} alternating repeats in one process; "
        "times are medians, the ratio is the median of the per-repeat ratios).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, PyTorch {torch.__version__} ({torch.get_num_threads()} threads).",
        "",
        "| case | minitorch | PyTorch | ratio | target | met |",
        "|---|---|---|---|---|---|",
        *[
            f"| {n} | {a * 1e3:.3f} ms | {b * 1e3:.3f} ms | {r:.2f}x | "
            + (f"<= {t}x | {'yes' if r <= t else 'no'} |" if t is not None else "none | - |")
            for n, a, b, r, t in rows
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "core_cpu.md"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, (build, make_inputs, number, target) in CASES.items():
        arrays = make_inputs(rng)
        t_mt, t_th, ratio = side_by_side(build(minitorch, arrays), build(torch, arrays), number, args.repeats)
        rows.append((name, t_mt, t_th, ratio, target))
        report_case(*rows[-1])
    lines = ratio_table("Core CPU benchmark: minitorch vs PyTorch", "bench_core.py", args.repeats, rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

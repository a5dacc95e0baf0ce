"""Forward+backward time of every zoo model on the CPU against its PyTorch twin, same machine, one run.

    python benchmarks/bench_models.py [names]   # prints a table, writes benchmarks/results/models_cpu.md

Each model and its twin (tests/twins_*.py) hold the same seeded weights and
take the same float32 batch of two at the seed's input size (the registry's
inputs, with image batches redrawn at batch 2), in training mode. One timed
call is a forward pass, ``sum(output)`` and a backward pass. Timing is
bench_core's: the two run in alternation and the ratio is the median of the
per-repeat ratios.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, List

import numpy as np
import torch

from bench_core import ratio_table, report_case, side_by_side

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the twins live beside the tests, which are not a package
import minitorch  # noqa: E402

from zoo_reference import flat_outputs, seeded_state  # noqa: E402
from zoo_registry import all_cases  # noqa: E402

TARGETS = {"resnet18": 2.0}  # the target; other models are reported without one
BATCH = 2


def batch_of(arrays: List[np.ndarray], rng: np.random.Generator) -> List[np.ndarray]:
    """The case's inputs, with a single image batch (N, C, H, W) redrawn at batch 2."""
    if len(arrays) == 1 and arrays[0].ndim == 4 and arrays[0].dtype.kind == "f":
        return [rng.standard_normal((BATCH,) + arrays[0].shape[1:])]
    return arrays


def step(lib, model, arrays: List[np.ndarray]) -> Callable[[], None]:
    """One forward and backward pass of ``model`` on ``arrays`` (float inputs in float32)."""
    inputs = [lib.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a) for a in arrays]

    def run() -> None:
        model.zero_grad(set_to_none=True)
        sum(o.sum() for o in flat_outputs(model(*inputs))).backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models to time (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "models_cpu.md"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    cases = all_cases()
    rows = []
    for name in args.names or sorted(cases):
        case = cases[name]
        ours, twin = case.build(), case.build_torch()
        state = seeded_state({k: tuple(v.shape) for k, v in twin.state_dict().items()})
        twin.load_state_dict(
            {k: torch.from_numpy(v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in state.items()}
        )
        ours.load_state_dict(
            {k: minitorch.tensor(v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in state.items()}
        )
        arrays = batch_of(case.inputs(np.random.default_rng(0)), np.random.default_rng(0))
        t_mt, t_th, ratio = side_by_side(step(minitorch, ours, arrays), step(torch, twin, arrays), 1, args.repeats)
        rows.append((name, t_mt, t_th, ratio, TARGETS.get(name)))
        report_case(*rows[-1])
    title = "Model zoo: forward+backward on the CPU vs PyTorch (batch 2, float32, training mode)"
    lines = ratio_table(title, "bench_models.py", args.repeats, rows)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

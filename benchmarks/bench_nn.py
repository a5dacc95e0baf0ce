"""Training-step speed against PyTorch CPU, and the training command's time and accuracy.

    python benchmarks/bench_nn.py              # prints a table, writes benchmarks/results/nn_cpu.md

A training step is forward, cross-entropy, ``zero_grad``, backward and an
Adam step, on the same model in both frameworks (the PyTorch twin starts
from minitorch's weights). Timing is shared with bench_core: the two run
in alternation and the ratio is the median of the per-repeat ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
import torch

from bench_core import ratio_table, report_case, side_by_side

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import minitorch  # noqa: E402
import models  # noqa: E402


def torch_twin(model: minitorch.nn.Module, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    twin = build()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    return twin


def torch_lenet5() -> torch.nn.Module:
    nn = torch.nn
    net = nn.Module()
    net.features = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2)
    )
    net.classifier = nn.Sequential(
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)
    )
    net.forward = lambda x: net.classifier(net.features(x))
    return net


def torch_mlp() -> torch.nn.Module:
    nn = torch.nn
    net = nn.Module()
    net.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    net.forward = lambda x: net.layers(x)
    return net


def adam(lib, params):
    return lib.optim.Adam(params, lr=1e-3)


def training_step(lib, model, x: np.ndarray, y: np.ndarray, optimizer: Callable = adam) -> Callable[[], None]:
    """One step: forward, cross-entropy, zero_grad, backward and ``optimizer(lib, params)``'s step."""
    xs, ys = lib.tensor(x), lib.tensor(y)
    opt = optimizer(lib, model.parameters())
    loss_fn = lib.nn.CrossEntropyLoss()

    def step() -> None:
        loss = loss_fn(model(xs), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


CASES: Dict[str, Tuple[Callable, Callable, Tuple[int, ...], int, float]] = {
    # name: (minitorch model, torch twin, input shape, steps per repeat, target ratio from the issue)
    "LeNet-5 training step, batch 64, 1x32x32": (models.lenet5, torch_lenet5, (64, 1, 32, 32), 10, 2.0),
    "MLP 784-256-10 training step, batch 128": (models.mlp, torch_mlp, (128, 784), 20, 1.5),
}


def time_train_command() -> Dict[str, float]:
    """Run the README's main command once with its defaults; report wall time and test accuracy."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "models.train", "--model", "lenet5", "--no-progress", "--out", out]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads((Path(out) / "lenet5_metrics.json").read_text())
    return {"wall": wall, "accuracy": metrics["test_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "nn_cpu.md"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, (build, build_twin, shape, number, target) in CASES.items():
        minitorch.manual_seed(0)
        model = build()
        twin = torch_twin(model, build_twin)
        x = rng.standard_normal(shape, dtype=np.float32)
        y = rng.integers(0, 10, size=shape[0])
        ours, theirs = training_step(minitorch, model, x, y), training_step(torch, twin, x, y)
        t_mt, t_th, ratio = side_by_side(ours, theirs, number, args.repeats)
        rows.append((name, t_mt, t_th, ratio, target))
        report_case(*rows[-1])
    run = time_train_command()
    print(
        f"python -m models.train --model lenet5: {run['wall']:.1f} s wall, test accuracy {100 * run['accuracy']:.2f}%"
    )
    title = "nn CPU benchmark: training steps vs PyTorch, and the training command"
    lines = ratio_table(title, "bench_nn.py", args.repeats, rows) + [
        "",
        "| `python -m models.train --model lenet5` (defaults) | value | target | met |",
        "|---|---|---|---|",
        f"| wall time, start to exit | {run['wall']:.1f} s | <= 60 s | {'yes' if run['wall'] <= 60 else 'no'} |",
        f"| final test accuracy | {100 * run['accuracy']:.2f}% | >= 97% | {'yes' if run['accuracy'] >= 0.97 else 'no'} |",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

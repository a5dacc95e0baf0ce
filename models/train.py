"""Train a zoo model on bundled data: ``python -m models.train --model lenet5``.

No download and no GPU are needed: the images are scikit-learn's 1,797
handwritten digits (8x8, shipped inside the package), padded and resized
to 32x32 for the convolutional models. The run shows a progress bar with
the loss and accuracy, prints the final test accuracy, and writes to the
output folder:

* ``<model>.pt``: a checkpoint (model and optimizer state, readable with
  ``minitorch.load``, which never runs code from the file);
* ``<model>_curves.png``: loss and accuracy per epoch;
* ``<model>_metrics.json``: the same numbers as text.

The defaults (Adam with a one-cycle learning-rate schedule peaking at
0.01, 20 epochs, batches of 64 shifted by up to 2 pixels, inputs scaled to
zero mean and unit spread) reach >= 97% test accuracy on the digits with
LeNet-5; see ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import minitorch
import models
from minitorch import nn, optim
from minitorch.datasets import Digits
from minitorch.utils.data import DataLoader


@dataclass(frozen=True)
class Task:
    """How to build a model and which data it trains on."""

    build: Callable[..., nn.Module]
    image_size: int  # the digits are resized to image_size x image_size
    kwargs: Dict[str, Any]
    lr: float  # the peak of the one-cycle schedule
    epochs: int
    shift: int  # augmentation: each batch is moved by up to this many pixels


TASKS: Dict[str, Task] = {
    "mlp": Task(models.mlp, 8, {"in_features": 64, "hidden": (256,)}, lr=1e-2, epochs=20, shift=0),
    "lenet5": Task(models.lenet5, 32, {}, lr=1e-2, epochs=20, shift=2),
}

OPTIMIZERS: Dict[str, Callable[..., optim.Optimizer]] = {
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "sgd": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": optim.RMSprop,
    "adagrad": optim.Adagrad,
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, choices=sorted(TASKS), help="which zoo model to train")
    p.add_argument("--epochs", type=int, default=None, help="passes over the training set (default: per model)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per model)")
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    p.add_argument("--seed", type=int, default=0, help="seeds weights, shuffling and the train/test split")
    p.add_argument("--device", default="cpu", help="cpu, or cuda when CuPy and a GPU are present")
    p.add_argument("--out", default="runs", help="folder for the checkpoint, the curves and the metrics")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    args = p.parse_args(argv)
    try:
        minitorch.zeros(1, device=args.device)  # fails early, with the reason, when the device is unusable
    except RuntimeError as err:
        p.error(f"--device {args.device}: {err}")
    return args


def normalizer(dataset: Digits) -> Tuple[float, float]:
    """Mean and standard deviation of the training pixels: inputs are scaled to zero mean, unit spread."""
    images = minitorch.stack([dataset[i][0] for i in range(len(dataset))])
    return images.mean().item(), images.std().item()


def shifted(x: minitorch.Tensor, max_shift: int, rng: Any) -> minitorch.Tensor:
    """Move the whole batch by a random (dy, dx) of at most ``max_shift`` pixels.

    The digits sit inside a border of zeros at least ``max_shift`` wide, so
    rolling the image is the same as translating it. Seeing digits a little
    off centre keeps the small network from memorising pixel positions.
    """
    if max_shift == 0:
        return x
    dy, dx = (int(v) for v in rng.integers(-max_shift, max_shift + 1, size=2))
    return minitorch.roll(x, shifts=(dy, dx), dims=(2, 3))


def evaluate(model: nn.Module, loader: DataLoader, device: str, mean: float, std: float) -> Tuple[float, float]:
    """Mean loss and accuracy over a loader, in eval mode and without building a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with minitorch.no_grad():
        for x, y in loader:
            x, y = ((x - mean) / std).to(device), y.to(device)
            logits = model(x)
            total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    return total_loss / count, correct / count


def train(args: argparse.Namespace) -> Dict[str, Any]:
    """Run the training loop and write the outputs; returns the metrics."""
    task = TASKS[args.model]
    epochs = args.epochs if args.epochs is not None else task.epochs
    lr = args.lr if args.lr is not None else task.lr
    minitorch.manual_seed(args.seed)
    train_set = Digits(train=True, size=task.image_size, seed=args.seed)
    test_set = Digits(train=False, size=task.image_size, seed=args.seed)
    generator = minitorch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test_set, batch_size=256)

    mean, std = normalizer(train_set)
    shift_rng = np.random.default_rng(args.seed)

    model = task.build(num_classes=10, **task.kwargs).to(args.device)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=lr)
    # One cycle: the rate warms up to ``lr`` and anneals to almost zero (Smith & Topin, 2017).
    schedule = optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=lr,
        total_steps=epochs * len(train_loader),
        cycle_momentum=args.optimizer in ("adam", "adamw", "sgd"),
    )
    loss_fn = nn.CrossEntropyLoss()
    history: Dict[str, List[float]] = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = time.perf_counter()
    progress = _progress(epochs * len(train_loader), args.model, disable=args.no_progress)
    for _ in range(epochs):
        model.train()
        seen_loss, seen_correct, seen = 0.0, 0, 0
        for x, y in train_loader:
            x, y = shifted((x - mean) / std, task.shift, shift_rng).to(args.device), y.to(args.device)
            logits = model(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            seen_loss += loss.item() * len(y)
            seen_correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            progress.update(1)
            progress.set_postfix(loss=f"{seen_loss / seen:.4f}", acc=f"{seen_correct / seen:.3f}")
        test_loss, test_acc = evaluate(model, test_loader, args.device, mean, std)
        history["train_loss"].append(seen_loss / seen)
        history["train_acc"].append(seen_correct / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    progress.close()
    seconds = time.perf_counter() - start

    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, args.model)
    minitorch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epochs": epochs,
            "model_name": args.model,
            "input_mean": mean,  # what inputs must be normalised with to use the weights
            "input_std": std,
        },
        base + ".pt",
    )
    _plot(history, base + "_curves.png", args.model)
    metrics = {
        "model": args.model,
        "epochs": epochs,
        "seconds": seconds,
        "test_accuracy": history["test_acc"][-1],
        **history,
    }
    with open(base + "_metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
    print(
        f"final test accuracy: {100 * metrics['test_accuracy']:.2f}% ({len(test_set)} images, {seconds:.1f} s of training)"
    )
    print(f"wrote {base}.pt, {base}_curves.png and {base}_metrics.json")
    return metrics


def _progress(total: int, name: str, disable: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"training {name}", unit="step", disable=disable)


def _plot(history: Dict[str, List[float]], path: str, name: str) -> None:
    """Loss (left) and accuracy (right) per epoch, train and test."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        ax_loss.plot(epochs, history[f"{split}_loss"], marker="o", label=split)
        ax_acc.plot(epochs, [100 * a for a in history[f"{split}_acc"]], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=f"{name}: loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{name}: accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()

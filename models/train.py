"""Train a zoo model on bundled data: ``python -m models.train --model lenet5``.

No download and no GPU are needed. Each model comes with a task, and the
task's kind decides the data, the loss and what "accuracy" counts:

* images (``mlp``, ``lenet5``): scikit-learn's 1,797 handwritten digits
  (8x8, shipped inside the package), padded and resized to 32x32 for the
  convolutional models; accuracy of the predicted digit.
* sequence classification (``gru_classifier``): the same digits, read by
  a GRU as sequences of 8 rows of 8 pixels.
* sequence to sequence (``transformer``): the encoder-decoder reverses
  8 random symbols (``ReverseTask``); test accuracy counts the tokens that
  greedy decoding, without teacher forcing, gets right.
* character language model (``char_lstm``, ``decoder_only``): the corpus
  shipped with minitorch (``CharDataset``); the model learns from the first
  90% of the text and is tested on the last 10%. The loss is the
  cross-entropy per character, in nats; accuracy that of the next character.

The run shows a progress bar with the loss and accuracy, prints the final
test accuracy, and writes to the output folder:

* ``<model>.pt``: a checkpoint (model and optimizer state, readable with
  ``minitorch.load``, which never runs code from the file);
* ``<model>_curves.png``: loss and accuracy per epoch;
* ``<model>_metrics.json``: the same numbers as text.

Every task trains with Adam and a one-cycle learning-rate schedule; the
defaults are per model (``--help`` lists the options). LeNet-5's (peak
0.01, 20 epochs, batches of 64 shifted by up to 2 pixels, inputs scaled to
zero mean and unit spread) reach >= 97% test accuracy on the digits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import minitorch
import models
from minitorch import Tensor, nn, optim
from minitorch.datasets import CharDataset, CopyTask, Digits, ReverseTask
from minitorch.nn import functional as F
from minitorch.utils.data import DataLoader, Dataset, Subset
from models.decoding import greedy_search
from models.rnn import char_lstm, gru_classifier
from models.transformer import decoder_only, transformer

Batch = Tuple[Tensor, Tensor]


# ---- kinds of task: their data, loss and metric ---------------------------------------------------
class TaskData:
    """A kind of task, set up for one run: its train and test sets, and how a batch becomes a loss.

    Subclasses load the data in ``__init__`` (from the run's seed) and set
    ``model_kwargs`` (what the model's factory needs to know about the data,
    e.g. ``num_classes``); ``loss`` returns the mean loss of a batch, the
    number of right predictions and the number of predictions.
    """

    unit = "samples"  # what the test set holds, for the final report
    train_set: Dataset
    test_set: Dataset
    model_kwargs: Dict[str, Any]

    def loss(self, model: nn.Module, batch: Batch, device: str, train: bool) -> Tuple[Tensor, int, int]:
        raise NotImplementedError

    def checkpoint(self) -> Dict[str, Any]:
        """What else the checkpoint needs to make the weights usable (normalisation, vocabulary)."""
        return {}

    def test_size(self) -> int:
        """How many ``unit`` the test set holds."""
        return len(self.test_set)

    def report(self, model: nn.Module, device: str, test_loss: float) -> List[str]:
        """Lines to print after the test accuracy: more figures, or the trained model at work."""
        return []


def _classification(logits: Tensor, target: Tensor) -> Tuple[Tensor, int, int]:
    """Cross-entropy over the last dim of ``logits``, and the argmax's hits, for any leading shape."""
    flat = logits.reshape(-1, logits.shape[-1])
    loss = nn.functional.cross_entropy(flat, target.reshape(-1))
    return loss, (logits.argmax(-1) == target).sum().item(), target.numel()


class DigitImages(TaskData):
    """Classify the digits: images of ``size`` x ``size``, normalised, shifted by up to ``shift`` pixels in training."""

    unit = "images"

    def __init__(self, seed: int, size: int, shift: int = 0) -> None:
        self.train_set = Digits(train=True, size=size, seed=seed)
        self.test_set = Digits(train=False, size=size, seed=seed)
        self.mean, self.std = normalizer(self.train_set)
        self.shift, self.shift_rng = shift, np.random.default_rng(seed)
        self.model_kwargs = {"num_classes": 10}

    def inputs(self, x: Tensor, train: bool) -> Tensor:
        x = (x - self.mean) / self.std
        return shifted(x, self.shift, self.shift_rng) if train else x

    def loss(self, model: nn.Module, batch: Batch, device: str, train: bool) -> Tuple[Tensor, int, int]:
        x, y = batch
        return _classification(model(self.inputs(x, train).to(device)), y.to(device))

    def checkpoint(self) -> Dict[str, Any]:
        return {"input_mean": self.mean, "input_std": self.std}  # what inputs must be normalised with


class ColorDigits(DigitImages):
    """The digits for the ImageNet-shaped CNNs: three equal channels, resized to ``resize`` pixels when asked."""

    def __init__(self, seed: int, size: int, shift: int = 0, resize: Optional[int] = None) -> None:
        super().__init__(seed, size, shift)
        self.resize = resize

    def inputs(self, x: Tensor, train: bool) -> Tensor:
        x = super().inputs(x, train).expand(-1, 3, -1, -1)
        return F.interpolate(x, size=self.resize, mode="bilinear") if self.resize else x


class DigitRows(DigitImages):
    """Sequence classification: each 8x8 digit is a sequence of 8 rows, 8 pixels each (N, 8, 8)."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, size=8)

    def inputs(self, x: Tensor, train: bool) -> Tensor:
        return super().inputs(x, train).squeeze(1)  # (N, 1, 8, 8) -> (N, rows, pixels)


class Reversal(TaskData):
    """Sequence to sequence: an encoder-decoder learns to reverse (or copy) ``length`` symbols.

    The decoder reads the target shifted right behind a start token
    (``bos_id``, one more than the symbols), so its vocabulary has one
    token more than the source's. In training a token is right when its
    logit is highest given the true previous tokens (teacher forcing); in
    testing it must come out of greedy decoding.
    """

    unit = "sequences"

    def __init__(self, seed: int, task: str = "reverse", length: int = 8, symbols: int = 10) -> None:
        cls = {"reverse": ReverseTask, "copy": CopyTask}[task]
        self.task = task
        self.train_set = cls(num_samples=10_000, length=length, vocab_size=symbols, seed=2 * seed)
        self.test_set = cls(num_samples=1_000, length=length, vocab_size=symbols, seed=2 * seed + 1)
        self.bos_id = symbols
        self.model_kwargs = {"src_vocab_size": symbols, "tgt_vocab_size": symbols + 1}

    def start(self, n: int, device: str) -> Tensor:
        return minitorch.full((n, 1), self.bos_id, dtype=minitorch.int64, device=device)

    def loss(self, model: nn.Module, batch: Batch, device: str, train: bool) -> Tuple[Tensor, int, int]:
        src, tgt = (t.to(device) for t in batch)
        decoder_input = minitorch.cat([self.start(len(tgt), device), tgt[:, :-1]], 1)
        loss, hits, count = _classification(model(src, tgt=decoder_input), tgt)
        if not train:
            decoded = greedy_search(model, self.start(len(src), device), tgt.shape[1], src=src)[:, 1:]
            hits = (decoded == tgt).sum().item()
        return loss, hits, count

    def checkpoint(self) -> Dict[str, Any]:
        return {"task": self.task, "bos_id": self.bos_id}

    def report(self, model: nn.Module, device: str, test_loss: float) -> List[str]:
        src, _ = self.test_set[0]
        out = greedy_search(model.eval(), self.start(1, device), len(src), src=src.unsqueeze(0).to(device))
        return [f"{self.task}: {self.test_set.decode(src)} -> {self.test_set.decode(out[0, 1:])}"]


class CharText(TaskData):
    """Character language model on the bundled corpus: windows of ``block_size`` characters, next-character targets.

    Training windows lie in the first ``1 - test_fraction`` of the text, test
    windows (side by side, so every test character is predicted once) in the rest.
    """

    unit = "characters"

    def __init__(self, seed: int, block_size: int = 64, test_fraction: float = 0.1) -> None:
        # The split is fixed whatever the seed: the test text must be text the model never saw.
        self.text = CharDataset(block_size)
        split = int(len(self.text.data) * (1 - test_fraction))
        self.train_set = Subset(self.text, range(split - block_size))
        self.test_set = Subset(self.text, range(split, len(self.text), block_size))
        self.model_kwargs = {"vocab_size": self.text.vocab_size}

    def loss(self, model: nn.Module, batch: Batch, device: str, train: bool) -> Tuple[Tensor, int, int]:
        x, y = (t.to(device) for t in batch)
        return _classification(model(x), y)

    def checkpoint(self) -> Dict[str, Any]:
        return {"vocab": "".join(self.text.itos)}

    def test_size(self) -> int:
        return len(self.test_set) * self.text.block_size

    def report(self, model: nn.Module, device: str, test_loss: float) -> List[str]:
        prompt = self.text.encode("Beautiful is").unsqueeze(0).to(device)
        out = model.eval().generate(prompt, 80, do_sample=True, temperature=0.8, top_k=10)
        return [
            f"final test loss: {test_loss:.3f} nats per character ({test_loss / math.log(2):.3f} bits)",
            f"sample: {self.text.decode(out[0])!r}",
        ]


@dataclass(frozen=True)
class Task:
    """How to build a model, which data it trains on, and its defaults.

    ``data(seed)`` sets up the task's kind (a :class:`TaskData`); its
    ``model_kwargs`` and ``kwargs`` go to ``build``. Another image
    classifier trains on the digits with one more entry in ``TASKS``, e.g.
    ``"resnet18": Task(models.resnet18, partial(DigitImages, size=32, shift=2), {}, lr=1e-2, epochs=20)``.
    """

    build: Callable[..., nn.Module]
    data: Callable[[int], TaskData]
    kwargs: Dict[str, Any]
    lr: float  # the peak of the one-cycle schedule
    epochs: int


# The sequence tasks' defaults take one to two minutes on two CPU cores (see models/README.md for the figures).
TASKS: Dict[str, Task] = {
    "mlp": Task(models.mlp, partial(DigitImages, size=8), {"in_features": 64, "hidden": (256,)}, lr=1e-2, epochs=20),
    "lenet5": Task(models.lenet5, partial(DigitImages, size=32, shift=2), {}, lr=1e-2, epochs=20),
    "gru_classifier": Task(gru_classifier, DigitRows, {"input_size": 8, "hidden_size": 64}, lr=1e-2, epochs=20),
    "transformer": Task(
        transformer,
        Reversal,
        {
            "d_model": 64,
            "nhead": 4,
            "num_encoder_layers": 2,
            "num_decoder_layers": 2,
            "dim_feedforward": 128,
            "dropout": 0.0,
        },
        lr=3e-3,
        epochs=4,
    ),
    "char_lstm": Task(
        char_lstm,
        CharText,
        {"embedding_dim": 32, "hidden_size": 256, "num_layers": 1, "dropout": 0.5},
        lr=5e-3,
        epochs=2,
    ),
    "decoder_only": Task(
        decoder_only,
        CharText,
        {"num_layers": 2, "d_model": 64, "nhead": 4, "dim_feedforward": 192, "dropout": 0.2},
        lr=3e-3,
        epochs=2,
    ),
}

# The ImageNet CNNs train on the digits as 32x32 colour images (AlexNet needs 67), narrowed by ``width`` so that a
# run finishes in minutes on a CPU; ``--width 1`` trains the full network.
_CNN = partial(ColorDigits, size=32, shift=2)
TASKS.update(
    {
        "alexnet": Task(models.alexnet, partial(_CNN, resize=67), {"width": 0.25}, lr=1e-3, epochs=10),
        **{
            name: Task(getattr(models, name), _CNN, {"width": 0.25}, lr=1e-3, epochs=10)
            for name in ("vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn")
        },
        **{
            name: Task(getattr(models, name), _CNN, {"width": 0.25}, lr=1e-2, epochs=10)
            for name in ("googlenet", "resnet18", "resnet34", "resnet50", "densenet121")
        },
    }
)

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
    p.add_argument(
        "--max-batches", type=int, default=None, help="end each epoch after this many batches (quick checks)"
    )
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per model)")
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    p.add_argument("--seed", type=int, default=0, help="seeds weights, shuffling and the train/test split")
    p.add_argument("--device", default="cpu", help="cpu, or cuda when CuPy and a GPU are present")
    p.add_argument("--out", default="runs", help="folder for the checkpoint, the curves and the metrics")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument(
        "--width", type=float, default=None, help="channel scale of the ImageNet CNNs (default: per model; 1 = full)"
    )
    args = p.parse_args(argv)
    if args.width is not None and "width" not in TASKS[args.model].kwargs:
        p.error(f"--width: {args.model} has no width option (only the ImageNet CNNs do)")
    if args.max_batches is not None and args.max_batches < 1:
        p.error(f"--max-batches must be at least 1, got {args.max_batches}")
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


def evaluate(model: nn.Module, data: TaskData, loader: DataLoader, device: str) -> Tuple[float, float]:
    """Mean loss and accuracy over a loader, in eval mode and without building a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with minitorch.no_grad():
        for batch in loader:
            loss, hits, n = data.loss(model, batch, device, train=False)
            total_loss += loss.item() * n
            correct += hits
            count += n
    return total_loss / count, correct / count


def train(args: argparse.Namespace) -> Dict[str, Any]:
    """Run the training loop and write the outputs; returns the metrics."""
    task = TASKS[args.model]
    epochs = args.epochs if args.epochs is not None else task.epochs
    lr = args.lr if args.lr is not None else task.lr
    minitorch.manual_seed(args.seed)
    data = task.data(args.seed)
    generator = minitorch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(data.train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(data.test_set, batch_size=256)
    steps_per_epoch = min(len(train_loader), args.max_batches or len(train_loader))

    kwargs = {**task.kwargs, **({"width": args.width} if args.width is not None else {})}
    model = task.build(**data.model_kwargs, **kwargs).to(args.device)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=lr)
    # One cycle: the rate warms up to ``lr`` and anneals to almost zero (Smith & Topin, 2017).
    schedule = optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=lr,
        total_steps=epochs * steps_per_epoch,
        cycle_momentum=args.optimizer in ("adam", "adamw", "sgd"),
    )
    history: Dict[str, List[float]] = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = time.perf_counter()
    progress = _progress(epochs * steps_per_epoch, args.model, disable=args.no_progress)
    for _ in range(epochs):
        model.train()
        seen_loss, seen_correct, seen = 0.0, 0, 0
        for batch in islice(train_loader, steps_per_epoch):
            loss, hits, n = data.loss(model, batch, args.device, train=True)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            seen_loss += loss.item() * n
            seen_correct += hits
            seen += n
            progress.update(1)
            progress.set_postfix(loss=f"{seen_loss / seen:.4f}", acc=f"{seen_correct / seen:.3f}")
        test_loss, test_acc = evaluate(model, data, test_loader, args.device)
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
            **data.checkpoint(),
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
        f"final test accuracy: {100 * metrics['test_accuracy']:.2f}% "
        f"({data.test_size()} {data.unit}, {seconds:.1f} s of training)"
    )
    for line in data.report(model, args.device, history["test_loss"][-1]):
        print(line)
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

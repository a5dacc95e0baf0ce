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
import math
import os
import pstats
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

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


def gru_classifier(lib):
    """lstm_classifier with its two LSTM layers swapped for GRU layers of the same sizes."""
    net = lstm_classifier(lib)
    net.lstm = lib.nn.GRU(64, 256, num_layers=2, batch_first=True)
    return net


def char_gpt(lib, vocab: int = 65, context: int = 64, width: int = 128, heads: int = 4, layers: int = 4):
    """A character-level GPT: token and position embeddings, pre-LN blocks of causal self-attention and a
    GELU MLP, a final LayerNorm and a linear head. It returns (batch * context, vocab) logits, one row per
    position, so the cross-entropy of training_step scores every next-character prediction."""
    nn, F = lib.nn, lib.nn.functional
    mask = lib.triu(lib.ones(context, context, dtype=lib.bool), diagonal=1)  # True above the diagonal: the future

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
            scores = (q @ k.transpose(-2, -1)) * (width // heads) ** -0.5
            att = F.softmax(scores.masked_fill(mask[:t, :t], float("-inf")), dim=-1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, width))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(context, width)
            self.blocks = nn.Sequential(*(Block() for _ in range(layers)))
            self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)

        def forward(self, idx):
            b, t = idx.shape
            x = self.blocks(self.tok(idx) + self.pos(lib.arange(t)))
            return self.head(self.ln(x)).reshape(b * t, vocab)

    return GPT()


char_gpt.vocab = 65  # a language model: training_cases feeds it token ids and next-token targets


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
    "GRU 2x256 step, seq 64, batch 32": (gru_classifier, (32, 64, 64), 2, 0),
    "char GPT 4x128 step, context 64, batch 16": (char_gpt, (16, 64), 2, 0),
}


def training_cases(rng: np.random.Generator) -> Dict[str, Tuple[Callable[[object], Step], int, float]]:
    cases = {}
    for name, (build, shape, number, target) in TRAINING.items():
        vocab = getattr(build, "vocab", 0)
        if vocab:  # token ids in, one target per position
            x, y = rng.integers(0, vocab, size=shape), rng.integers(0, vocab, size=math.prod(shape))
        else:
            x, y = rng.standard_normal(shape, dtype=np.float32), rng.integers(0, 10, size=shape[0])
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


# ---- softmax, cross-entropy, layer norm and GELU: the Transformer step's kernels besides the products -------
def cross_entropy_case(n: int, classes: int) -> Callable[[object], Step]:
    rng = np.random.default_rng(0)
    x0, t0 = rng.standard_normal((n, classes), dtype=np.float32), rng.integers(0, classes, n)

    def build(lib) -> Step:
        x, t = lib.tensor(x0, requires_grad=True), lib.tensor(t0)
        return lambda: _f(lib).cross_entropy(x, t).backward()

    return build


def layer_norm_case(shape: Tuple[int, ...]) -> Callable[[object], Step]:
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(shape, dtype=np.float32)
    w0, b0 = rng.standard_normal((2, shape[-1]), dtype=np.float32)

    def build(lib) -> Step:
        x, w, b = (lib.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        return lambda: _f(lib).layer_norm(x, shape[-1:], w, b).sum().backward()

    return build


KERNELS.update(
    {
        **{
            f"{fn} fwd+bwd, {'x'.join(map(str, shape))}, last dim": (
                unary_case(shape, lambda lib, x, fn=fn: getattr(_f(lib), fn)(x, dim=-1)),
                number,
                0,
            )
            for fn in ("softmax", "log_softmax")
            for shape, number in (((1024, 65), 20), ((64, 4, 64, 64), 3))
        },
        "softmax fwd+bwd, 64x4x64x64, dim 1": (unary_case((64, 4, 64, 64), lambda lib, x: _f(lib).softmax(x, 1)), 3, 0),
        "cross_entropy fwd+bwd, 1024x65": (cross_entropy_case(1024, 65), 20, 0),
        "layer_norm fwd+bwd, 1024x128": (layer_norm_case((16 * 64, 128)), 20, 0),
        "layer_norm fwd+bwd, 8x64x768": (layer_norm_case((8, 64, 768)), 5, 0),
        **{
            f"gelu approximate={a} fwd+bwd, 16x64x512": (
                unary_case((16, 64, 512), lambda lib, x, a=a: _f(lib).gelu(x, approximate=a)),
                10,
                0,
            )
            for a in ("none", "tanh")
        },
    }
)


# ---- embedding, gather and the scatter-adds: NumPy's add.at against csrc/cpu/scatter.cpp ------------------------
def backward_case(forward: Callable, *arrays: np.ndarray, grads: Tuple[bool, ...]) -> Callable[[object], Step]:
    """``forward(lib, *tensors).backward(g)`` with a fixed random ``g``; leaves' gradients reset each call."""

    def build(lib) -> Step:
        tensors = [lib.tensor(a, requires_grad=r) for a, r in zip(arrays, grads)]
        g = lib.tensor(np.random.default_rng(1).standard_normal(forward(lib, *tensors).shape, dtype=np.float32))

        def step() -> None:
            for t in tensors:
                t.grad = None
            forward(lib, *tensors).backward(g)

        return step

    return build


def lookup_case(op: str, vocab: int, dim: int, ids: Tuple[int, ...]) -> Callable[[object], Step]:
    """Rows of a (vocab, dim) table picked by ids, by ``embedding`` or by ``table[ids]``; both add back in backward."""
    rng = np.random.default_rng(0)
    w, i = rng.standard_normal((vocab, dim), dtype=np.float32), rng.integers(0, vocab, ids)
    forward = (lambda lib, w, i: _f(lib).embedding(i, w)) if op == "embedding" else (lambda lib, w, i: w[i])
    return backward_case(forward, w, i, grads=(True, False))


def along_dim_case(op: str, shape: Tuple[int, ...], dim: int) -> Callable[[object], Step]:
    """gather / scatter_add with an index twice as long as x along ``dim``; index_add with a vector that long."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    long = shape[:dim] + (2 * shape[dim],) + shape[dim + 1 :]
    index = rng.integers(0, shape[dim], long if op != "index_add" else long[dim])
    src = rng.standard_normal(long, dtype=np.float32)
    if op == "gather":
        return backward_case(lambda lib, x, i: x.gather(dim, i), x, index, grads=(True, False))
    fn = {
        "scatter_add": lambda lib, x, i, s: x.scatter_add(dim, i, s),
        "index_add": lambda lib, x, i, s: x.index_add(dim, i, s),
    }
    return backward_case(fn[op], x, index, src, grads=(True, False, True))


KERNELS.update(
    {
        **{
            f"embedding fwd+bwd, {v}x{d} table, ids {'x'.join(map(str, ids))}": (
                lookup_case("embedding", v, d, ids),
                n,
                0,
            )
            for v, d, ids, n in ((65, 128, (16, 64), 50), (50257, 256, (8, 128), 3), (1000, 64, (100000,), 5))
        },
        **{
            f"{op} fwd+bwd, 256x512, dim {dim}": (along_dim_case(op, (256, 512), dim), 20, 0)
            for op in ("gather", "scatter_add", "index_add")
            for dim in (0, 1)
        },
        "x[idx] fwd+bwd, 1000x64 table, 8192 ids": (lookup_case("x[idx]", 1000, 64, (8192,)), 20, 0),
    }
)


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


def kernels_on_the_cores(cases: Dict[str, Tuple[Callable[[object], Step], int, float]], repeats: int, threads: int):
    """The training steps again with the cores given to the C++ kernels: ``threads`` OpenMP threads, and NumPy's
    BLAS held to one thread (threadpoolctl), so that no BLAS thread spins on the core a kernel thread needs (see
    minitorch/backends/cpu.py). None when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: the steps with the cores given to the kernels are left out")
        return None
    kernel_threads = cpu.get_num_threads()
    cpu.set_num_threads(threads)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            print(f"== training steps, BLAS on one thread, C++ kernels on {threads}")
            return run(cases, repeats)
    finally:
        cpu.set_num_threads(kernel_threads)


def cores_section(rows: Optional[List[Tuple]], threads: int) -> List[str]:
    if rows is None:
        return ["(The steps with the cores given to the C++ kernels need threadpoolctl, which was not installed.)", ""]
    return [
        *table(f"Training steps with the cores given to the C++ kernels ({threads} threads, BLAS on one)", rows)[:-1],
        "",
        'The same steps, with NumPy\'s BLAS held to one thread (`threadpoolctl.threadpool_limits(1, user_api="blas")`)',
        f"and `minitorch.set_num_threads({threads})`: the same {threads} cores as PyTorch, spent on our kernels instead",
        "of on BLAS. This suits a model whose time goes to the C++ kernels (LeNet-5's direct convolutions) and",
        "costs one whose time goes to matrix products (ResNet-18's im2col and Winograd products, the LSTM, GPT).",
        "",
    ]


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
    cores_rows = kernels_on_the_cores(training, args.repeats, args.threads)
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
        *cores_section(cores_rows, args.threads),
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

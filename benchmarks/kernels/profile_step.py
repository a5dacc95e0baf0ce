"""Where a ResNet-18 training step spends its time on the GPU: forward per module type, backward per autograd node.

    python benchmarks/kernels/profile_step.py [--batch 32] [--steps 5]

Every module's forward and every backward node is bracketed by device synchronisations, so each time is that piece
alone (the whole step runs slower than unprofiled, but the shares show what to fix first). Prints two tables, largest
first. Needs a GPU.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import minitorch  # noqa: E402
from minitorch.autograd import engine  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    if not minitorch.cuda.is_available():
        print(f"profile_step needs a CUDA GPU. {minitorch.backends.cuda.unavailable_reason()}", file=sys.stderr)
        return 2
    from models.resnet import resnet18

    sync = minitorch.cuda.synchronize
    forward_ms: collections.Counter = collections.Counter()
    backward_ms: collections.Counter = collections.Counter()

    def timed_backward(real):
        def call(node, grads):
            sync()
            start = time.perf_counter()
            out = real(node, grads)
            sync()
            backward_ms[node.name()] += (time.perf_counter() - start) * 1e3
            return out

        return call

    model = resnet18().to("cuda")
    leaves = [m for m in model.modules() if not list(m.children())]
    for module in leaves:  # time each leaf module's forward
        real_forward = module.forward

        def forward(*a, _real=real_forward, _name=type(module).__name__, **k):
            sync()
            start = time.perf_counter()
            out = _real(*a, **k)
            sync()
            forward_ms[_name] += (time.perf_counter() - start) * 1e3
            return out

        module.forward = forward
    opt = minitorch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = minitorch.randn(args.batch, 3, 224, 224, device="cuda")
    y = minitorch.randint(0, 1000, (args.batch,), device="cuda")
    real_call_backward = engine._call_backward
    engine._call_backward = timed_backward(real_call_backward)
    try:
        for step in range(args.steps + 1):
            if step == 1:  # the first step compiles kernels: leave it out
                forward_ms.clear()
                backward_ms.clear()
                sync()
                start = time.perf_counter()
            opt.zero_grad()
            minitorch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        sync()
    finally:
        engine._call_backward = real_call_backward
    total = (time.perf_counter() - start) * 1e3 / args.steps
    print(f"ResNet-18 step, batch {args.batch}, profiled: {total:.1f} ms a step")
    for title, table in (("forward, per module type", forward_ms), ("backward, per autograd node", backward_ms)):
        print(f"\n{title}: {sum(table.values()) / args.steps:.1f} ms a step")
        for name, ms in table.most_common(15):
            print(f"  {name:28s} {ms / args.steps:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

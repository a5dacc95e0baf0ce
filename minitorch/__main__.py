"""``python -m minitorch``: a two-minute tour that trains a tiny model and checks its gradients.

It shows the three things minitorch is for: strided tensors (views that
share memory), reverse-mode autograd (a small network fitted by gradient
descent) and gradient checking (autograd against finite differences).
"""

from __future__ import annotations

import minitorch


def tour_tensors() -> None:
    print("== Tensors are views of a flat storage ==")
    x = minitorch.arange(6.0).reshape(2, 3)
    xt = x.t()
    print(f"x.shape={tuple(x.shape)} x.stride()={x.stride()}; x.t().stride()={xt.stride()}")
    print(
        f"same storage: {x.untyped_storage().data_ptr() == xt.untyped_storage().data_ptr()}, "
        f"x.t().is_contiguous()={xt.is_contiguous()}"
    )
    xt[2, 0] = 100.0
    print(f"writing x.t()[2, 0] = 100 changes x[0, 2]: {x[0, 2].item()}")


def tour_autograd(steps: int = 300) -> float:
    print("== Autograd fits y = sin(x) with a 1-16-1 tanh network ==")
    minitorch.manual_seed(0)
    x = minitorch.linspace(-3, 3, 64).unsqueeze(1)
    y = x.sin()
    w1 = (minitorch.randn(1, 16) * 0.5).requires_grad_()
    b1 = minitorch.zeros(16, requires_grad=True)
    w2 = (minitorch.randn(16, 1) * 0.5).requires_grad_()
    b2 = minitorch.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    loss = None
    for step in range(steps):
        pred = (x @ w1 + b1).tanh() @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with minitorch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.5f}  grad_fn={loss.grad_fn.name()}")
    return loss.item()


def tour_gradcheck() -> None:
    print("== gradcheck: autograd against finite differences (float64) ==")
    a = minitorch.randn(3, 4, dtype=minitorch.float64, requires_grad=True)
    b = minitorch.randn(4, dtype=minitorch.float64, requires_grad=True)
    fn = lambda a, b: ((a * b).sigmoid() @ b).softmax(0)  # noqa: E731
    print(
        f"gradcheck: {minitorch.autograd.gradcheck(fn, (a, b))}, "
        f"gradgradcheck: {minitorch.autograd.gradgradcheck(fn, (a, b))}"
    )


def main() -> None:
    tour_tensors()
    final = tour_autograd()
    tour_gradcheck()
    print(f"done: final loss {final:.5f}")


if __name__ == "__main__":
    main()

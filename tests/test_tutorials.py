"""PyTorch programs run unchanged after ``import minitorch as torch``.

Each program below is PyTorch tutorial code (from "Learning PyTorch with
Examples" and the autograd tutorial), written against ``torch``. It runs once
with minitorch bound to the name ``torch`` and once with the real PyTorch;
the results must agree. Initial values are fixed numbers instead of
``torch.randn`` so that both frameworks start from the same point.
"""

import math

import numpy as np
import pytest

import minitorch

from helpers import requires_torch, torch

TENSORS_AND_AUTOGRAD = """
dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)
a = torch.tensor(0.1, dtype=dtype, requires_grad=True)
b = torch.tensor(-0.2, dtype=dtype, requires_grad=True)
c = torch.tensor(0.3, dtype=dtype, requires_grad=True)
d = torch.tensor(0.05, dtype=dtype, requires_grad=True)
learning_rate = 1e-6
for t in range(500):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        history.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
result = [a.item(), b.item(), c.item(), d.item()]
"""

CUSTOM_FUNCTION = """
class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
for t in range(500):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        history.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
result = [a.item(), b.item(), c.item(), d.item()]
"""

AUTOGRAD_TUTORIAL = """
x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.tensor([[0.1 * (i - j) for j in range(3)] for i in range(5)], requires_grad=True)
b = torch.tensor([0.3, -0.2, 0.1], requires_grad=True)
z = torch.matmul(x, w) + b
loss = ((z.sigmoid() - y) ** 2).mean()  # the tutorial's BCE loss arrives with minitorch.nn
names = [type(z.grad_fn).__name__, type(loss.grad_fn).__name__]
loss.backward()
history.append(loss.item())
z = torch.matmul(x, w) + b
names.append(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
names.append(z.requires_grad)
z_det = (torch.matmul(x, w) + b).detach()
names.append(z_det.requires_grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
first = inp.grad.clone()
out.backward(torch.ones_like(out), retain_graph=True)
second = inp.grad.clone()
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
result = [w.grad.tolist(), b.grad.tolist(), first.tolist(), second.tolist(), inp.grad.tolist(), names]
"""

# The bigram language model of the "makemore" lecture (part 1), on a handful of names.
# torch.eye(V)[xs] stands in for F.one_hot, which arrives with minitorch.nn.
BIGRAM_MAKEMORE = """
words = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
         "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett"]
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)
N = torch.zeros((V, V), dtype=torch.int32)
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
g = torch.Generator().manual_seed(2147483647)
samples = []
for i in range(5):
    out = []
    ix = 0
    while True:
        p = P[ix]
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    samples.append(''.join(out))
log_likelihood = 0.0
n = 0
xs, ys = [], []
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1, ix2 = stoi[ch1], stoi[ch2]
        log_likelihood += torch.log(P[ix1, ix2])
        n += 1
        xs.append(ix1)
        ys.append(ix2)
nll = -log_likelihood / n
xs = torch.tensor(xs)
ys = torch.tensor(ys)
num = xs.nelement()
W = torch.zeros((V, V), requires_grad=True)
for k in range(100):
    xenc = torch.eye(V)[xs]
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
    if k % 20 == 19:
        history.append(loss.item())
    W.grad = None
    loss.backward()
    W.data += -20 * W.grad
result = [nll.item(), loss.item(), int(N.sum().item()), N.dtype == torch.int32]
"""

PROGRAMS = {
    "bigram_makemore": BIGRAM_MAKEMORE,
    "tensors_and_autograd": TENSORS_AND_AUTOGRAD,
    "custom_function": CUSTOM_FUNCTION,
    "autograd_tutorial": AUTOGRAD_TUTORIAL,
}


def run(program, lib):
    scope = {"torch": lib, "math": math, "history": []}
    exec(program, scope)
    return scope["result"], scope["history"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tutorial_runs_on_minitorch(name):
    result, history = run(PROGRAMS[name], minitorch)
    assert history and all(math.isfinite(h) for h in history)
    assert history == sorted(history, reverse=True)  # the loss keeps falling


@requires_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tutorial_matches_pytorch(name):
    ours, our_history = run(PROGRAMS[name], minitorch)
    theirs, their_history = run(PROGRAMS[name], torch)
    np.testing.assert_allclose(our_history, their_history, rtol=1e-3)
    if name == "bigram_makemore":
        assert ours[2:] == theirs[2:]
        np.testing.assert_allclose(ours[:2], theirs[:2], rtol=1e-4)
    elif name == "autograd_tutorial":
        assert ours[-1] == theirs[-1]
        for a, b in zip(ours[:-1], theirs[:-1]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)

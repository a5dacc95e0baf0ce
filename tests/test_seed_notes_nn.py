"""Every item of the learner's notes (shared/seeds: NN, Activation Function, Loss Function,
Optimizer, FCNN/MLP and the CNN basics), in the order the notes list them."""

import math

import numpy as np
import pytest

import minitorch
import models
from minitorch import nn
from minitorch.autograd import gradcheck


def test_layers_model_and_the_training_process():
    """Input layer -> hidden layers -> output layer; forward, loss, chain-rule gradients, optimizer step."""
    minitorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    x = minitorch.randn(64, 2)
    y = (x[:, :1] * x[:, 1:]).sin()
    optimizer = minitorch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(200):
        prediction = model(x)  # forward propagation
        loss = nn.functional.mse_loss(prediction, y)  # the error
        optimizer.zero_grad()
        loss.backward()  # back propagation: gradients of every w and b by the chain rule
        optimizer.step()  # w <- w - lr * dJ/dw, b <- b - lr * dJ/db
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_gradient_descent_update_rule_is_what_sgd_does():
    w = nn.Parameter(minitorch.tensor([1.0, -2.0]))
    b = nn.Parameter(minitorch.tensor(0.5))
    loss = ((w * minitorch.tensor([3.0, 4.0])).sum() + b) ** 2
    loss.backward()
    expected_w = w.detach() - 0.01 * w.grad
    expected_b = b.detach() - 0.01 * b.grad
    minitorch.optim.SGD([w, b], lr=0.01).step()
    assert minitorch.allclose(w, expected_w) and minitorch.allclose(b, expected_b)


# ---- Activation Function table ------------------------------------------------------------------
X = minitorch.linspace(-5, 5, 101, dtype=minitorch.float64)


def derivative(fn, x):
    x = x.detach().requires_grad_()
    fn(x).sum().backward()
    return x.grad


def test_sigmoid_range_and_derivative():
    s = nn.Sigmoid()(X)
    assert bool(((s > 0) & (s < 1)).all())  # (0, 1): probabilities
    assert minitorch.allclose(s, 1 / (1 + minitorch.exp(-X)))
    assert minitorch.allclose(derivative(nn.Sigmoid(), X), s * (1 - s))
    assert derivative(nn.Sigmoid(), minitorch.tensor([30.0], dtype=minitorch.float64)).item() < 1e-12  # vanishes


def test_tanh_range_symmetry_and_derivative():
    t = nn.Tanh()(X)
    assert bool(((t > -1) & (t < 1)).all()) and minitorch.allclose(nn.Tanh()(-X), -t)  # odd: symmetric about 0
    assert minitorch.allclose(derivative(nn.Tanh(), X), 1 - t * t)


def test_relu_and_its_derivative_including_zero():
    r = nn.ReLU()(X)
    assert minitorch.equal(r, minitorch.where(X > 0, X, 0.0))
    assert minitorch.equal(derivative(nn.ReLU(), X), (X > 0).double())  # 0 at x <= 0: "dead" units
    assert derivative(nn.ReLU(), minitorch.tensor([0.0])).item() == 0.0


def test_leaky_relu_and_its_derivative():
    alpha = 0.1
    f = nn.LeakyReLU(negative_slope=alpha)
    assert minitorch.allclose(f(X), minitorch.where(X >= 0, X, alpha * X))
    away = X[X != 0]  # at exactly 0 the notes say slope 1; PyTorch (and minitorch) take alpha there
    slope = minitorch.where(away > 0, minitorch.ones_like(away), minitorch.full_like(away, alpha))
    assert minitorch.allclose(derivative(f, away), slope)
    assert derivative(f, minitorch.tensor([0.0])).item() == pytest.approx(alpha)


@pytest.mark.parametrize("fn", [minitorch.sigmoid, minitorch.tanh, nn.functional.leaky_relu])
def test_activation_derivatives_by_finite_differences(fn):
    x = minitorch.tensor([-2.0, -0.3, 0.4, 3.0], dtype=minitorch.float64, requires_grad=True)
    assert gradcheck(fn, (x,))


# ---- Loss Function table ------------------------------------------------------------------------
def test_mean_squared_error_against_the_notes_formula():
    """The notes write J = 1/(2n) sum (y - y_hat)^2; PyTorch's MSELoss (and ours) is 1/n sum, twice that."""
    y = minitorch.tensor([1.0, 2.0, 3.0])
    y_hat = minitorch.tensor([1.5, 1.0, 3.0])
    notes_j = ((y - y_hat) ** 2).sum() / (2 * 3)
    assert math.isclose(nn.MSELoss()(y_hat, y).item(), 2 * notes_j.item(), rel_tol=1e-6)


def test_cross_entropy_is_the_notes_formula_after_softmax():
    """H = -1/n sum y log y_hat, with y one-hot and y_hat = softmax(logits)."""
    logits = minitorch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    target = minitorch.tensor([0, 2])
    y = nn.functional.one_hot(target, 3).float()
    y_hat = logits.softmax(dim=1)
    notes_h = -(y * y_hat.log()).sum() / 2
    assert math.isclose(nn.CrossEntropyLoss()(logits, target).item(), notes_h.item(), rel_tol=1e-6)
    # sigmoid for multi-label: one binary cross-entropy per label
    labels = minitorch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    p = logits.sigmoid()
    manual = -(labels * p.log() + (1 - labels) * (1 - p).log()).mean()
    assert math.isclose(nn.BCEWithLogitsLoss()(logits, labels).item(), manual.item(), rel_tol=1e-6)


def test_losses_are_layers_and_can_be_custom():
    class HalfMSE(nn.Module):  # "in PyTorch, as a layer, customisable"
        def forward(self, prediction, target):
            return ((prediction - target) ** 2).mean() / 2

    y, y_hat = minitorch.randn(5), minitorch.randn(5)
    assert math.isclose(HalfMSE()(y_hat, y).item(), nn.MSELoss()(y_hat, y).item() / 2, rel_tol=1e-6)


# ---- Optimizer table ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda p: minitorch.optim.Adam(p, lr=0.05),
        lambda p: minitorch.optim.SGD(p, lr=0.05, momentum=0.9),
        lambda p: minitorch.optim.AdamW(p, lr=0.05, weight_decay=0.01),
        lambda p: minitorch.optim.RMSprop(p, lr=0.05),
        lambda p: minitorch.optim.Adagrad(p, lr=0.3),
    ],
)
def test_every_optimizer_of_the_notes_minimises_a_loss(make):
    minitorch.manual_seed(1)
    target = minitorch.tensor([3.0, -1.0])
    w = nn.Parameter(minitorch.zeros(2))
    optimizer = make([w])
    first = None
    for _ in range(100):
        loss = ((w - target) ** 2).sum()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05 * first


def test_too_large_a_learning_rate_oscillates_and_too_small_crawls():
    def run(lr):
        w = nn.Parameter(minitorch.tensor([1.0]))
        optimizer = minitorch.optim.SGD([w], lr=lr)
        for _ in range(20):
            optimizer.zero_grad()
            (w**2).sum().backward()
            optimizer.step()
        return abs(w.item())

    assert run(1.05) > 1.0  # diverges, flipping sign each step
    assert run(1e-4) > 0.99  # barely moves
    assert run(0.3) < 1e-3


# ---- FCNN/MLP: W of shape (n_j, n_i), b of shape (n_j) --------------------------------------------
def test_fully_connected_layer_shapes_and_formula():
    layer = nn.Linear(4, 3)  # L_i(n_i = 4) -> L_j(n_j = 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    x = minitorch.randn(2, 4)
    assert minitorch.allclose(layer(x), x @ layer.weight.T + layer.bias)
    mlp = models.mlp(in_features=4, hidden=(5,), num_classes=3)
    assert sum(p.numel() for p in mlp.parameters()) == (4 * 5 + 5) + (5 * 3 + 3)


# ---- CNN: output size, pooling, parameter sharing, LeNet-5's table --------------------------------
@pytest.mark.parametrize("h,p,f,s", [(32, 0, 5, 1), (28, 2, 5, 1), (227, 0, 11, 4), (224, 3, 7, 2), (13, 1, 3, 1)])
def test_convolution_output_size_formula(h, p, f, s):
    out = nn.Conv2d(1, 2, kernel_size=f, stride=s, padding=p)(minitorch.zeros(1, 1, h, h))
    assert out.shape[-2:] == ((h + 2 * p - f) // s + 1,) * 2


def test_pooling_output_size_and_parameter_sharing():
    assert nn.AvgPool2d(2, 2)(minitorch.zeros(1, 6, 28, 28)).shape == (1, 6, 14, 14)
    assert nn.MaxPool2d(3, 2)(minitorch.zeros(1, 96, 55, 55)).shape == (1, 96, 27, 27)
    conv = nn.Conv2d(3, 8, kernel_size=3)
    assert sum(p.numel() for p in conv.parameters()) == 8 * 3 * 3 * 3 + 8  # independent of the image size


def test_lenet5_follows_the_notes_table():
    model = models.lenet5()
    shapes = []
    x = minitorch.zeros(1, 1, 32, 32)
    for layer in list(model.features) + list(model.classifier):
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [
        (6, 28, 28), (6, 28, 28), (6, 14, 14),  # conv1 + tanh, subsampling 1
        (16, 10, 10), (16, 10, 10), (16, 5, 5),  # conv2 + tanh, subsampling 2
        (400,), (120,), (120,), (84,), (84,), (10,),  # flatten, fc3 + ReLU, fc4 + ReLU, output
    ]  # fmt: skip
    probabilities = x.softmax(dim=1)  # "Output (Softmax)": the loss applies it to the logits
    assert math.isclose(probabilities.sum().item(), 1.0, rel_tol=1e-6)
    assert np.isfinite(probabilities.detach().numpy()).all()

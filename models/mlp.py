"""The multilayer perceptron: fully connected layers with a nonlinearity between them."""

from __future__ import annotations

from typing import Sequence

import minitorch
from minitorch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


class MLP(nn.Module):
    """``in_features -> hidden[0] -> ... -> num_classes``; every layer sees all outputs of the one before.

    Input of any shape (N, ...) is flattened to (N, in_features) first, so
    images go in directly. Returns logits (no softmax: the loss applies it).
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden: Sequence[int] = (256,),
        num_classes: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        layers: list = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        return self.layers(x)


def mlp(num_classes: int = 10, in_features: int = 784, hidden: Sequence[int] = (256,), **kwargs: object) -> MLP:
    """An MLP, by default 784-256-10 (MNIST-sized input, one hidden layer of 256 ReLU units)."""
    return MLP(in_features=in_features, hidden=hidden, num_classes=num_classes, **kwargs)

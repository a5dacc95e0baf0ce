"""LeNet-5 (LeCun et al., 1998): two convolution + subsampling stages, then three fully connected layers.

The layers follow the seed's table (32x32 grey input):

====================  ==============================  ==========
layer                 setting                         output
====================  ==============================  ==========
conv1 + tanh          6 kernels 5x5, stride 1         6x28x28
subsampling 1         2x2 average pool, stride 2      6x14x14
conv2 + tanh          16 kernels 5x5, stride 1        16x10x10
subsampling 2         2x2 average pool, stride 2      16x5x5
fc3 + ReLU            120 units (after flatten)       120
fc4 + ReLU            84 units                        84
output                num_classes logits              10
====================  ==============================  ==========

Where the paper differs, we follow the seed's modern reading and say so:
the paper's C3 connects each of its 16 maps to a subset of S2's maps (we
connect all of them), its subsampling layers have a trainable coefficient
and bias (we use plain average pooling), it uses a scaled tanh throughout
(we use tanh in the feature extractor and ReLU in the classifier, as the
seed's table does) and its output layer is a set of Euclidean RBF units
(we use a linear layer whose logits go to cross-entropy). The parameter
count is 61,706.
"""

from __future__ import annotations

import minitorch
from minitorch import nn

_ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class LeNet5(nn.Module):
    """LeNet-5 for 32x32 single-channel images; ``features`` then ``classifier``."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        act = _ACTIVATIONS[activation]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),
            act(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            act(),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        if x.dim() != 4 or x.shape[-2:] != (32, 32):
            raise ValueError(f"LeNet5 expects input of shape (N, C, 32, 32), got {tuple(x.shape)}")
        return self.classifier(self.features(x))


def lenet5(num_classes: int = 10, **kwargs: object) -> LeNet5:
    """LeNet-5 as in the seed's table: 32x32 grey input, ``num_classes`` logits."""
    return LeNet5(num_classes=num_classes, **kwargs)

"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012): five convolutions, then three fully connected layers.

Two variants, chosen by ``alexnet(variant=...)``:

``"original"`` (the default) is the seed's table, the paper's network as one tower
(the paper split each layer across two GPUs; here every layer sees all
channels of the one before). Input 227x227x3:

=====================  ====================================  ==========
layer                  setting                               output
=====================  ====================================  ==========
conv1 + ReLU + LRN     96 kernels 11x11, stride 4            96x55x55
pool1                  3x3 max pool, stride 2                96x27x27
conv2 + ReLU + LRN     256 kernels 5x5, padding 2            256x27x27
pool2                  3x3 max pool, stride 2                256x13x13
conv3, conv4 + ReLU    384 kernels 3x3, padding 1            384x13x13
conv5 + ReLU           256 kernels 3x3, padding 1            256x13x13
pool5                  3x3 max pool, stride 2                256x6x6
fc6, fc7 + ReLU        4096 units, dropout before each       4096
fc8                    num_classes logits                    1000
=====================  ====================================  ==========

It has 62,378,344 parameters at 1000 classes. Local response normalisation
follows the paper (k=2, n=5, alpha=1e-4, beta=0.75); the paper multiplies
alpha by the *sum* of squares over the n neighbours where PyTorch's
``LocalResponseNorm`` uses their *mean*, so the layer gets alpha * n.

``"torchvision"`` is ``torchvision.models.alexnet``, from the "one weird trick"
paper (Krizhevsky, 2014): 64-192-384-256-256 kernels, conv1 padded by 2,
no LRN; 61,100,840 parameters, with torchvision's state_dict keys, so its
weights load directly.

Both end their features with ``AdaptiveAvgPool2d((6, 6))``, as torchvision
does: at the native size the map is already 6x6 and the pool changes
nothing; at other sizes it lets the classifier keep its shape. The smallest
input is 67x67 for the original and 63x63 for the torchvision variant (three
3x3 max pools need a map of at least 3x3); 28x28 or 32x32 digits must be
resized first. ``width`` scales every layer's channels and hidden units, so
``alexnet(width=0.125)`` trains on a CPU in minutes.
"""

from __future__ import annotations

import minitorch
from minitorch import nn

from .width import narrowed

# (out_channels, kernel_size, stride, padding) per convolution; max pools follow convs 1, 2 and 5.
_CONVS = {
    "original": [(96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1), (384, 3, 1, 1), (256, 3, 1, 1)],
    "torchvision": [(64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)],
}
_POOL_AFTER = {0, 1, 4}
_LRN_AFTER = {"original": {0, 1}, "torchvision": set()}
_LRN_SIZE = 5


class AlexNet(nn.Module):
    """AlexNet: ``features`` (convolutions), ``avgpool``, ``classifier`` (three linear layers)."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.5, *, variant: str = "original", width: float = 1.0
    ) -> None:
        super().__init__()
        if variant not in _CONVS:
            raise ValueError(f"variant must be one of {sorted(_CONVS)}, got {variant!r}")
        layers: list = []
        channels = 3
        for i, (out, kernel, stride, padding) in enumerate(_CONVS[variant]):
            out = narrowed(out, width)
            layers += [
                nn.Conv2d(channels, out, kernel_size=kernel, stride=stride, padding=padding),
                nn.ReLU(inplace=True),
            ]
            if i in _LRN_AFTER[variant]:
                layers.append(nn.LocalResponseNorm(_LRN_SIZE, alpha=1e-4 * _LRN_SIZE, beta=0.75, k=2.0))
            if i in _POOL_AFTER:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        hidden = narrowed(4096, width)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(channels * 6 * 6, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def alexnet(num_classes: int = 1000, dropout: float = 0.5, **kwargs: object) -> AlexNet:
    """AlexNet; ``variant="original"`` (default, 227x227 input) or ``"torchvision"``; ``width`` narrows it."""
    return AlexNet(num_classes=num_classes, dropout=dropout, **kwargs)

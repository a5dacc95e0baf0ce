"""VGG (Simonyan and Zisserman, 2014): blocks of 3x3 convolutions, each block closed by a 2x2 max pool.

Every VGG is one column of the paper's Table 1, written as a list: a number is
a 3x3 convolution (padding 1, so the map keeps its size) with that many
kernels, followed by ReLU, and ``"M"`` is a 2x2 max pool of stride 2 (it
halves the map). VGG-16, the seed's table, is configuration ``"D"``:
two 64s, two 128s, three 256s, three 512s, three 512s, then the classifier
(4096, 4096, num_classes with dropout) on the 7x7x512 map of a 224x224 input.
Its 138,357,544 parameters are mostly in the first fully connected layer
(25088 x 4096).

The ``_bn`` factories put ``BatchNorm2d`` between each convolution and its
ReLU (not in the paper; torchvision's variant, which trains without the
paper's staged initialisation). Module names and state_dict keys are
torchvision's (``features.N.weight``, ``classifier.N.weight``).

``AdaptiveAvgPool2d((7, 7))`` before the classifier lets other input sizes
through: the smallest is 32x32 (five pools halve it to 1x1, which the
adaptive pool repeats to 7x7). ``width`` scales every layer's channels and
hidden units, so ``vgg11(width=0.125)`` trains on a CPU in minutes.
"""

from __future__ import annotations

from typing import List, Union

import minitorch
from minitorch import nn

from .width import narrowed

# torchvision's names for the paper's columns: A = VGG-11, B = VGG-13, D = VGG-16, E = VGG-19.
CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: List[Union[int, str]], batch_norm: bool = False, *, width: float = 1.0) -> nn.Sequential:
    """The convolutional ``features`` of one configuration (see the module docstring)."""
    layers: list = []
    channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = narrowed(v, width)
        layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (from :func:`make_layers`), ``avgpool`` to 7x7, then a three-layer ``classifier``."""

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
        *,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        channels, hidden = narrowed(512, width), narrowed(4096, width)
        self.classifier = nn.Sequential(
            nn.Linear(channels * 7 * 7, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's choice: He init for the ReLU convolutions, small Gaussian weights for the classifier.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _vgg(cfg: str, batch_norm: bool, num_classes: int, width: float = 1.0, **kwargs: object) -> VGG:
    return VGG(make_layers(CFGS[cfg], batch_norm, width=width), num_classes=num_classes, width=width, **kwargs)


def vgg11(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-11 (configuration "A"): 8 convolutions + 3 linear layers, 132,863,336 parameters."""
    return _vgg("A", False, num_classes, **kwargs)


def vgg11_bn(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-11 with batch normalisation after each convolution."""
    return _vgg("A", True, num_classes, **kwargs)


def vgg13(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-13 (configuration "B"): 10 convolutions + 3 linear layers, 133,047,848 parameters."""
    return _vgg("B", False, num_classes, **kwargs)


def vgg13_bn(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-13 with batch normalisation after each convolution."""
    return _vgg("B", True, num_classes, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-16 (configuration "D", the seed's table): 13 convolutions + 3 linear layers, 138,357,544 parameters."""
    return _vgg("D", False, num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-16 with batch normalisation after each convolution."""
    return _vgg("D", True, num_classes, **kwargs)


def vgg19(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-19 (configuration "E"): 16 convolutions + 3 linear layers, 143,667,240 parameters."""
    return _vgg("E", False, num_classes, **kwargs)


def vgg19_bn(num_classes: int = 1000, **kwargs: object) -> VGG:
    """VGG-19 with batch normalisation after each convolution."""
    return _vgg("E", True, num_classes, **kwargs)

"""GoogLeNet (Szegedy et al., 2014): a stem of plain convolutions, then nine Inception modules.

An Inception module runs four branches side by side on the same input and
concatenates their channels: a 1x1 convolution; a 1x1 reduction then a 3x3;
a 1x1 reduction then a "5x5"; a 3x3 max pool then a 1x1 projection. Every
branch keeps the map's height and width, so the outputs stack. For a
224x224 input:

=======================  ===================================  ===========
layer                    setting                              output
=======================  ===================================  ===========
conv1                    64 kernels 7x7, stride 2, padding 3  64x112x112
maxpool1                 3x3, stride 2                        64x56x56
conv2, conv3             64 kernels 1x1; 192 kernels 3x3      192x56x56
maxpool2                 3x3, stride 2                        192x28x28
inception3a, 3b          2 Inception modules                  480x28x28
maxpool3                 3x3, stride 2                        480x14x14
inception4a ... 4e       5 Inception modules                  832x14x14
maxpool4                 2x2, stride 2                        832x7x7
inception5a, 5b          2 Inception modules                  1024x7x7
avgpool, dropout, fc     global average, p=0.2, linear        num_classes
=======================  ===================================  ===========

This is torchvision's GoogLeNet, so its weights load directly: each
convolution is a :class:`BasicConv2d` (conv without bias, BatchNorm with
eps=0.001, ReLU), which the paper (2014) did not have; every max pool
rounds its output size up (``ceil_mode=True``); and the "5x5" branch uses a
3x3 kernel, a slip in torchvision that its published weights depend on. The
parameter count is 6,624,904, or 13,004,888 with the two auxiliary
classifiers. Where the seed's table numbers the Inception stages 4a-4b,
5a-5e and 6a-6b, we use the paper's (and torchvision's) 3a-3b, 4a-4e, 5a-5b.

The auxiliary classifiers (``aux_logits=True``) hang off inception4a and
inception4d and only run in training mode: there the forward returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, whose auxiliary
losses the training loop adds (the paper weights them by 0.3); in eval
mode it returns the logits alone. torchvision's ``transform_input`` (which
re-normalises ImageNet inputs for its ported weights) and ``blocks`` (to
swap in other layer classes) are left out, so the arguments after
``aux_logits`` are keyword-only.

The smallest input is 15x15 (every max pool needs a map of at least 2x2),
or 47x47 for a single image in training mode, where batch norm needs more
than one value per channel; 32x32 digits go straight in. ``width`` scales every convolution's kernels
and the auxiliary classifiers' hidden units, so ``googlenet(width=0.125)``
trains on a CPU in minutes.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Optional, Union

import minitorch
from minitorch import nn
from minitorch.nn import functional as F

from .width import narrowed

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "The training-mode output of GoogLeNet with auxiliary classifiers."

# The paper's Table 1, per Inception module: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
_INCEPTIONS = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Convolution (no bias: the batch norm's shift replaces it), BatchNorm2d (eps=0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches whose outputs are concatenated along the channels."""

    def __init__(
        self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int, pool_proj: int
    ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1), BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1)
        )
        self.branch3 = nn.Sequential(  # 3x3 where the paper has 5x5: torchvision's weights expect it
            BasicConv2d(in_channels, ch5x5red, kernel_size=1), BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        return minitorch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """An auxiliary classifier: pool to 4x4, 1x1 convolution, two linear layers (training-time gradient help)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7, *, width: float = 1.0) -> None:
        super().__init__()
        channels, hidden = narrowed(128, width), narrowed(1024, width)
        self.conv = BasicConv2d(in_channels, channels, kernel_size=1)
        self.fc1 = nn.Linear(channels * 4 * 4, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet as torchvision builds it; see the module docstring for the layer table."""

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        *,
        init_weights: bool = True,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        self.aux_logits = aux_logits

        def scaled(channels: int) -> int:
            return narrowed(channels, width)

        self.conv1 = BasicConv2d(3, scaled(64), kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(scaled(64), scaled(64), kernel_size=1)
        self.conv3 = BasicConv2d(scaled(64), scaled(192), kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        channels = scaled(192)
        for name, branch_channels in _INCEPTIONS.items():
            block = Inception(channels, *(scaled(c) for c in branch_channels))
            setattr(self, name, block)
            channels = block.out_channels
            if name == "inception3b":  # the two pools between stages, in torchvision's attribute order
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            elif name == "inception4e":
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        aux1: Optional[InceptionAux] = None
        aux2: Optional[InceptionAux] = None
        if aux_logits:
            aux1 = InceptionAux(self.inception4a.out_channels, num_classes, dropout_aux, width=width)
            aux2 = InceptionAux(self.inception4d.out_channels, num_classes, dropout_aux, width=width)
        self.aux1, self.aux2 = aux1, aux2
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)
        if init_weights:
            # torchvision's choice: small truncated-normal weights everywhere, batch norm as identity.
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def forward(self, x: minitorch.Tensor) -> Union[GoogLeNetOutputs, minitorch.Tensor]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux_heads = self.training and self.aux_logits
        aux1 = self.aux1(x) if aux_heads else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux_heads else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        return GoogLeNetOutputs(x, aux2, aux1) if aux_heads else x


def googlenet(num_classes: int = 1000, aux_logits: bool = False, **kwargs: object) -> GoogLeNet:
    """GoogLeNet (Inception v1) as in torchvision; ``aux_logits=True`` adds the two training-time classifiers."""
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, **kwargs)

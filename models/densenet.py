"""DenseNet (Huang et al., 2016): inside a dense block, every layer sees the feature maps of all layers before it.

A dense layer reads the channel-wise concatenation of the block's input and
every earlier layer's output, and adds ``growth_rate`` new channels of its
own (batch norm, ReLU, 1x1 convolution to ``bn_size * growth_rate``
channels, batch norm, ReLU, 3x3 convolution). Between blocks a transition
(batch norm, ReLU, 1x1 convolution, 2x2 average pool) halves both the
channels (compression 0.5) and the map. DenseNet-121 at 224x224, the seed's
table:

===============  ===========================================  ==========
layer            setting                                      output
===============  ===========================================  ==========
conv0, norm0     64 kernels 7x7, stride 2, padding 3; ReLU    64x112x112
pool0            3x3 max pool, stride 2, padding 1            64x56x56
denseblock1      6 dense layers (growth rate 32)              256x56x56
transition1      1x1 convolution to 128, 2x2 average pool     128x28x28
denseblock2      12 dense layers                              512x28x28
transition2      1x1 convolution to 256, 2x2 average pool     256x14x14
denseblock3      24 dense layers                              1024x14x14
transition3      1x1 convolution to 512, 2x2 average pool     512x7x7
denseblock4      16 dense layers                              1024x7x7
norm5, pool      batch norm, ReLU, global average             1024
classifier       linear                                       num_classes
===============  ===========================================  ==========

It has 7,978,856 parameters; names and state_dict keys are torchvision's
(``features.denseblock1.denselayer1.norm1.weight``, ``classifier.weight``).
torchvision's ``memory_efficient`` (recomputing the concatenations in the
backward pass to save memory) is left out. The smallest input is 29x29 (each transition's 2x2 pool needs a 2x2 map),
or 61x61 for a single image in training mode, where batch norm needs more
than one value per channel; 32x32 digits go straight in. ``width`` scales the growth rate and the stem's
channels, so ``densenet121(width=0.25)`` trains on a CPU in minutes.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import List, Sequence

import minitorch
from minitorch import nn
from minitorch.nn import functional as F

from .width import narrowed


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (the bottleneck) then BN-ReLU-Conv3x3: ``growth_rate`` new channels from all before."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, features: List[minitorch.Tensor]) -> minitorch.Tensor:
        bottleneck = self.conv1(self.relu1(self.norm1(minitorch.cat(features, 1))))
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        return F.dropout(new_features, p=self.drop_rate, training=self.training)


class DenseBlock(nn.Module):
    """``num_layers`` dense layers; the block's output is its input and every layer's output, concatenated."""

    def __init__(
        self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int, drop_rate: float
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: minitorch.Tensor) -> minitorch.Tensor:
        features = [init_features]
        for layer in self.children():
            features.append(layer(features))
        return minitorch.cat(features, 1)


class Transition(nn.Sequential):
    """Between two dense blocks: BN, ReLU, 1x1 convolution to fewer channels, 2x2 average pool."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """A DenseNet: the stem, dense blocks joined by transitions, ``norm5``, then a linear ``classifier``."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        *,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        growth_rate = narrowed(growth_rate, width)
        num_features = narrowed(num_init_features, width)
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv0", nn.Conv2d(3, num_features, kernel_size=7, stride=2, padding=3, bias=False)),
                    ("norm0", nn.BatchNorm2d(num_features)),
                    ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
                ]
            )
        )
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:  # compression 0.5: each transition halves the channels
                self.features.add_module(f"transition{i + 1}", Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        # torchvision's choice: He init (fan_in) for convolutions, batch norm as identity, zero linear bias.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        out = F.relu(self.features(x))
        return self.classifier(F.adaptive_avg_pool2d(out, (1, 1)).flatten(1))


def densenet121(num_classes: int = 1000, **kwargs: object) -> DenseNet:
    """DenseNet-121: growth rate 32, bn_size 4, blocks of (6, 12, 24, 16) layers, 7,978,856 parameters."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes, **kwargs)

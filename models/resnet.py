"""ResNet (He et al., 2015): a stem, four stages of residual blocks, global average pool, one linear layer.

A residual block learns F(x) and outputs relu(F(x) + x): the shortcut carries
x unchanged, so a block that has nothing to add can learn F = 0, and the
gradient reaches early layers through the shortcuts. When a stage halves the
map and widens the channels, its first block's shortcut is a 1x1
convolution of stride 2 plus batch norm (``downsample``), so the shapes
match. For ResNet-18 (the seed's table) at 224x224:

==============  ==============================================  ==========
layer           setting                                         output
==============  ==============================================  ==========
conv1, bn1      64 kernels 7x7, stride 2, padding 3; ReLU       64x112x112
maxpool         3x3, stride 2, padding 1                        64x56x56
layer1          2 basic blocks (two 3x3 convolutions each)      64x56x56
layer2          2 basic blocks, the first of stride 2           128x28x28
layer3          2 basic blocks, the first of stride 2           256x14x14
layer4          2 basic blocks, the first of stride 2           512x7x7
avgpool, fc     global average, linear                          num_classes
==============  ==============================================  ==========

ResNet-34 has (3, 4, 6, 3) basic blocks per stage; ResNet-50 the same
counts of :class:`Bottleneck` blocks (1x1 reduce, 3x3, 1x1 expand by 4).
Parameter counts: 11,689,512 (18), 21,797,672 (34), 25,557,032 (50).
Names and state_dict keys are torchvision's (``layer1.0.conv1.weight``,
``layer2.0.downsample.0.weight``, ``fc.weight``), and the 3x3 convolution
of a bottleneck carries the stride, as in torchvision ("ResNet v1.5").
torchvision's ``groups`` and ``width_per_group`` (for ResNeXt and wide
ResNets), ``replace_stride_with_dilation`` and ``norm_layer`` are left out.

Every stride-2 layer rounds up, so any input of at least 1x1 goes through
(32x32 leaves a 1x1 map before the pool); in training mode batch norm needs
more than one value per channel, so a single image must be at least 33x33.
``width`` scales every stage's channels, so ``resnet18(width=0.125)``
trains on a CPU in minutes.
"""

from __future__ import annotations

from typing import List, Optional, Type, Union

import minitorch
from minitorch import nn
from minitorch.nn import functional as F

from .width import narrowed


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 (keeps the size at stride 1); no bias, since batch norm follows."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution: mixes channels at each position; no bias, since batch norm follows."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce to ``planes``, 3x3 (with the stride), 1x1 expand to ``4 * planes``, plus a shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet of ``block`` (BasicBlock or Bottleneck) with ``layers[i]`` blocks in stage i + 1."""

    def __init__(
        self,
        block: Type[Union[BasicBlock, Bottleneck]],
        layers: List[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        *,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        planes = [narrowed(c, width) for c in (64, 128, 256, 512)]
        self.inplanes = planes[0]
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)

        # torchvision's choice: He init (fan_out) for the ReLU convolutions, batch norm as identity.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            # Each block's last batch norm starts at zero, so every block starts as the identity.
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(
        self, block: Type[Union[BasicBlock, Bottleneck]], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: minitorch.Tensor) -> minitorch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 1000, **kwargs: object) -> ResNet:
    """ResNet-18: (2, 2, 2, 2) basic blocks, 11,689,512 parameters."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **kwargs)


def resnet34(num_classes: int = 1000, **kwargs: object) -> ResNet:
    """ResNet-34: (3, 4, 6, 3) basic blocks, 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, **kwargs)


def resnet50(num_classes: int = 1000, **kwargs: object) -> ResNet:
    """ResNet-50: (3, 4, 6, 3) bottleneck blocks, 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, **kwargs)

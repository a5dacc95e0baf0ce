"""PyTorch twins of the CNN zoo, written in plain ``torch.nn`` (torchvision does not import here), and ``CASES``.

Each twin follows torchvision's source (LeNet-5 and the original AlexNet,
which torchvision lacks, follow our docstrings' tables), with the same
module names, so its ``state_dict`` loads into our model key for key and
the two can be compared number for number. The twins are written
independently of ``models/`` on purpose: a mistake copied into both would
hide.

``CASES`` maps a model's name to a :class:`zoo_cases.Case` at full width
and the seed's input size; ``SMALL_CASES`` holds the same architectures
narrowed by ``width`` at small inputs, cheap enough for float64 gradient
checks (and for frozen references). The builders set dropout to 0, so
training-mode outputs are deterministic and the two frameworks can be
compared in both modes. Without torch the module still imports; every
``build_torch`` is then ``None``.

The twins also take a ``width`` that scales every layer's channels (and
AlexNet's and VGG's hidden units) the way our ``width`` keyword does, so
whole architectures can be compared cheaply in float64.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any, Callable, Dict, List, Optional

from models.alexnet import alexnet
from models.densenet import densenet121
from models.googlenet import googlenet
from models.lenet import lenet5
from models.resnet import resnet18, resnet34, resnet50
from models.vgg import vgg11, vgg16_bn

from zoo_cases import Case

try:
    import torch
except ImportError:  # the parity tests skip; the registry still lists our models
    torch = None


def scaled(channels: int, width: float) -> int:
    """``channels`` narrowed by ``width``, at least one."""
    return max(1, int(channels * width))


if torch is not None:
    nn = torch.nn
    F = torch.nn.functional

    class TorchLeNet5(nn.Module):
        def __init__(self, num_classes: int = 10) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2)
            )
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    class TorchAlexNet(nn.Module):
        """torchvision's AlexNet, or (``original=True``) the paper's single tower with LRN."""

        def __init__(
            self, num_classes: int = 1000, dropout: float = 0.5, original: bool = False, width: float = 1.0
        ) -> None:
            super().__init__()
            c = partial(scaled, width=width)
            if original:
                self.features = nn.Sequential(
                    nn.Conv2d(3, c(96), kernel_size=11, stride=4),
                    nn.ReLU(inplace=True),
                    nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                    nn.Conv2d(c(96), c(256), kernel_size=5, padding=2),
                    nn.ReLU(inplace=True),
                    nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                    nn.Conv2d(c(256), c(384), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c(384), c(384), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c(384), c(256), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                )
            else:
                self.features = nn.Sequential(
                    nn.Conv2d(3, c(64), kernel_size=11, stride=4, padding=2),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                    nn.Conv2d(c(64), c(192), kernel_size=5, padding=2),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                    nn.Conv2d(c(192), c(384), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c(384), c(256), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c(256), c(256), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(kernel_size=3, stride=2),
                )
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            self.classifier = nn.Sequential(
                nn.Dropout(p=dropout),
                nn.Linear(c(256) * 6 * 6, c(4096)),
                nn.ReLU(inplace=True),
                nn.Dropout(p=dropout),
                nn.Linear(c(4096), c(4096)),
                nn.ReLU(inplace=True),
                nn.Linear(c(4096), num_classes),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    VGG_CFGS = {
        "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
        "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
    }

    class TorchVGG(nn.Module):
        def __init__(
            self, cfg: str, batch_norm: bool, num_classes: int = 1000, dropout: float = 0.5, width: float = 1.0
        ) -> None:
            super().__init__()
            layers: List[nn.Module] = []
            in_channels = 3
            for v in VGG_CFGS[cfg]:
                if v == "M":
                    layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
                else:
                    v = scaled(v, width)
                    conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
                    if batch_norm:
                        layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                    else:
                        layers += [conv2d, nn.ReLU(inplace=True)]
                    in_channels = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(scaled(512, width) * 7 * 7, scaled(4096, width)),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(scaled(4096, width), scaled(4096, width)),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(scaled(4096, width), num_classes),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    class TorchBasicConv2d(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
            super().__init__()
            self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
            self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)), inplace=True)

    class TorchInception(nn.Module):
        def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) -> None:
            super().__init__()
            self.branch1 = TorchBasicConv2d(in_channels, ch1x1, kernel_size=1)
            self.branch2 = nn.Sequential(
                TorchBasicConv2d(in_channels, ch3x3red, kernel_size=1),
                TorchBasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
            )
            self.branch3 = nn.Sequential(
                TorchBasicConv2d(in_channels, ch5x5red, kernel_size=1),
                TorchBasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
            )
            self.branch4 = nn.Sequential(
                nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                TorchBasicConv2d(in_channels, pool_proj, kernel_size=1),
            )

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)

    class TorchInceptionAux(nn.Module):
        def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7, width: float = 1.0) -> None:
            super().__init__()
            self.conv = TorchBasicConv2d(in_channels, scaled(128, width), kernel_size=1)
            self.fc1 = nn.Linear(scaled(128, width) * 4 * 4, scaled(1024, width))
            self.fc2 = nn.Linear(scaled(1024, width), num_classes)
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, x):
            x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
            x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
            return self.fc2(self.dropout(x))

    class TorchGoogLeNet(nn.Module):
        def __init__(self, num_classes=1000, aux_logits=True, dropout=0.2, dropout_aux=0.7, width=1.0) -> None:
            super().__init__()
            c = partial(scaled, width=width)

            def inception(in_channels, *branch_channels):  # the module and its output channels
                b = [c(v) for v in branch_channels]
                return TorchInception(in_channels, *b), b[0] + b[2] + b[4] + b[5]

            self.aux_logits = aux_logits
            self.conv1 = TorchBasicConv2d(3, c(64), kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = TorchBasicConv2d(c(64), c(64), kernel_size=1)
            self.conv3 = TorchBasicConv2d(c(64), c(192), kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception3a, n = inception(c(192), 64, 96, 128, 16, 32, 32)
            self.inception3b, n = inception(n, 128, 128, 192, 32, 96, 64)
            self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception4a, n4a = inception(n, 192, 96, 208, 16, 48, 64)
            self.inception4b, n = inception(n4a, 160, 112, 224, 24, 64, 64)
            self.inception4c, n = inception(n, 128, 128, 256, 24, 64, 64)
            self.inception4d, n4d = inception(n, 112, 144, 288, 32, 64, 64)
            self.inception4e, n = inception(n4d, 256, 160, 320, 32, 128, 128)
            self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
            self.inception5a, n = inception(n, 256, 160, 320, 32, 128, 128)
            self.inception5b, n = inception(n, 384, 192, 384, 48, 128, 128)
            self.aux1 = TorchInceptionAux(n4a, num_classes, dropout_aux, width) if aux_logits else None
            self.aux2 = TorchInceptionAux(n4d, num_classes, dropout_aux, width) if aux_logits else None
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.dropout = nn.Dropout(p=dropout)
            self.fc = nn.Linear(n, num_classes)

        def forward(self, x):
            x = self.maxpool1(self.conv1(x))
            x = self.maxpool2(self.conv3(self.conv2(x)))
            x = self.maxpool3(self.inception3b(self.inception3a(x)))
            x = self.inception4a(x)
            aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
            x = self.inception4d(self.inception4c(self.inception4b(x)))
            aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
            x = self.maxpool4(self.inception4e(x))
            x = self.inception5b(self.inception5a(x))
            x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
            return (x, aux2, aux1) if self.training and self.aux_logits else x

    class TorchBasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class TorchBottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class TorchResNet(nn.Module):
        def __init__(self, block, layers, num_classes=1000, width=1.0) -> None:
            super().__init__()
            c = partial(scaled, width=width)
            self.inplanes = c(64)
            self.conv1 = nn.Conv2d(3, c(64), kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(c(64))
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, c(64), layers[0])
            self.layer2 = self._make_layer(block, c(128), layers[1], stride=2)
            self.layer3 = self._make_layer(block, c(256), layers[2], stride=2)
            self.layer4 = self._make_layer(block, c(512), layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(c(512) * block.expansion, num_classes)

        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks):
                layers.append(block(self.inplanes, planes))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    class TorchDenseLayer(nn.Module):
        def __init__(self, num_input_features, growth_rate, bn_size) -> None:
            super().__init__()
            self.norm1 = nn.BatchNorm2d(num_input_features)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
            self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)

        def forward(self, inputs):
            bottleneck = self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))
            return self.conv2(self.relu2(self.norm2(bottleneck)))

    class TorchDenseBlock(nn.ModuleDict):
        def __init__(self, num_layers, num_input_features, bn_size, growth_rate) -> None:
            super().__init__()
            for i in range(num_layers):
                layer = TorchDenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
                self.add_module(f"denselayer{i + 1}", layer)

        def forward(self, init_features):
            features = [init_features]
            for _, layer in self.items():
                features.append(layer(features))
            return torch.cat(features, 1)

    class TorchTransition(nn.Sequential):
        def __init__(self, num_input_features, num_output_features) -> None:
            super().__init__()
            self.norm = nn.BatchNorm2d(num_input_features)
            self.relu = nn.ReLU(inplace=True)
            self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
            self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    class TorchDenseNet(nn.Module):
        def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4) -> None:
            super().__init__()
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
                        ("norm0", nn.BatchNorm2d(num_init_features)),
                        ("relu0", nn.ReLU(inplace=True)),
                        ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
                    ]
                )
            )
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                block = TorchDenseBlock(num_layers, num_features, bn_size, growth_rate)
                self.features.add_module(f"denseblock{i + 1}", block)
                num_features = num_features + num_layers * growth_rate
                if i != len(block_config) - 1:
                    trans = TorchTransition(num_features, num_features // 2)
                    self.features.add_module(f"transition{i + 1}", trans)
                    num_features = num_features // 2
            self.features.add_module("norm5", nn.BatchNorm2d(num_features))
            self.classifier = nn.Linear(num_features, 1000)

        def forward(self, x):
            out = F.relu(self.features(x), inplace=True)
            return self.classifier(torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1))


def _twin(build: Callable[[], Any]) -> Optional[Callable[[], Any]]:
    """``build`` where torch imports, else None (the twin classes do not exist then)."""
    return build if torch is not None else None


def _images(batch: int, channels: int, size: int):
    """A builder of one float64 batch of standard-normal images."""
    return lambda rng: [rng.standard_normal((batch, channels, size, size))]


CASES: Dict[str, Case] = {
    "lenet5": Case(lenet5, _twin(lambda: TorchLeNet5()), _images(2, 1, 32)),
    "alexnet": Case(
        partial(alexnet, dropout=0.0), _twin(lambda: TorchAlexNet(dropout=0.0, original=True)), _images(2, 3, 227)
    ),
    "alexnet_torchvision": Case(
        partial(alexnet, dropout=0.0, variant="torchvision"),
        _twin(lambda: TorchAlexNet(dropout=0.0)),
        _images(2, 3, 224),
    ),
    "vgg11": Case(partial(vgg11, dropout=0.0), _twin(lambda: TorchVGG("A", False, dropout=0.0)), _images(1, 3, 224)),
    "vgg16_bn": Case(
        partial(vgg16_bn, dropout=0.0), _twin(lambda: TorchVGG("D", True, dropout=0.0)), _images(1, 3, 224)
    ),
    "googlenet": Case(
        partial(googlenet, aux_logits=True, dropout=0.0, dropout_aux=0.0),
        _twin(lambda: TorchGoogLeNet(aux_logits=True, dropout=0.0, dropout_aux=0.0)),
        _images(2, 3, 224),
    ),
    "resnet18": Case(resnet18, _twin(lambda: TorchResNet(TorchBasicBlock, [2, 2, 2, 2])), _images(2, 3, 224)),
    "resnet34": Case(resnet34, _twin(lambda: TorchResNet(TorchBasicBlock, [3, 4, 6, 3])), _images(1, 3, 224)),
    "resnet50": Case(resnet50, _twin(lambda: TorchResNet(TorchBottleneck, [3, 4, 6, 3])), _images(1, 3, 224)),
    "densenet121": Case(densenet121, _twin(lambda: TorchDenseNet()), _images(1, 3, 224)),
}

# The same architectures narrowed by ``width`` at small inputs: cheap enough to compare gradients in float64.
# Each keeps at least 2x2 positions per image in its last stage: batch norm over fewer values (two images at
# 1x1) is so ill-conditioned that a change of 1e-14 in the input moves float64 outputs by 1e-5.
SMALL_CASES: Dict[str, Case] = {
    "lenet5": CASES["lenet5"],
    "alexnet": Case(
        partial(alexnet, dropout=0.0, width=1 / 8),
        _twin(lambda: TorchAlexNet(dropout=0.0, original=True, width=1 / 8)),
        _images(2, 3, 67),
    ),
    "alexnet_torchvision": Case(
        partial(alexnet, dropout=0.0, variant="torchvision", width=1 / 8),
        _twin(lambda: TorchAlexNet(dropout=0.0, width=1 / 8)),
        _images(2, 3, 63),
    ),
    "vgg11": Case(
        partial(vgg11, dropout=0.0, width=1 / 8),
        _twin(lambda: TorchVGG("A", False, dropout=0.0, width=1 / 8)),
        _images(2, 3, 64),
    ),
    "vgg16_bn": Case(
        partial(vgg16_bn, dropout=0.0, width=1 / 8),
        _twin(lambda: TorchVGG("D", True, dropout=0.0, width=1 / 8)),
        _images(2, 3, 64),
    ),
    "googlenet": Case(
        partial(googlenet, aux_logits=True, dropout=0.0, dropout_aux=0.0, width=1 / 8),
        _twin(lambda: TorchGoogLeNet(aux_logits=True, dropout=0.0, dropout_aux=0.0, width=1 / 8)),
        _images(2, 3, 64),
    ),
    "resnet18": Case(
        partial(resnet18, width=1 / 8),
        _twin(lambda: TorchResNet(TorchBasicBlock, [2, 2, 2, 2], width=1 / 8)),
        _images(2, 3, 64),
    ),
    "resnet34": Case(
        partial(resnet34, width=1 / 8),
        _twin(lambda: TorchResNet(TorchBasicBlock, [3, 4, 6, 3], width=1 / 8)),
        _images(2, 3, 64),
    ),
    "resnet50": Case(
        partial(resnet50, width=1 / 8),
        _twin(lambda: TorchResNet(TorchBottleneck, [3, 4, 6, 3], width=1 / 8)),
        _images(2, 3, 64),
    ),
    "densenet121": Case(
        partial(densenet121, width=1 / 4),
        _twin(lambda: TorchDenseNet(growth_rate=8, num_init_features=16)),
        _images(2, 3, 64),
    ),
}

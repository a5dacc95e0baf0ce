"""The model zoo: networks rebuilt on minitorch's public API, one family per module.

Each model is built by a factory function named as torchvision names it
(``models.lenet5()``, ``models.resnet18()``) and is an ordinary
``minitorch.nn.Module`` whose ``state_dict`` keys follow PyTorch's style.
``python -m models.train --model lenet5`` trains one on bundled data.
"""

from . import decoding
from .alexnet import AlexNet, alexnet
from .densenet import DenseNet, densenet121
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .lenet import LeNet5, lenet5
from .mlp import MLP, mlp
from .resnet import ResNet, resnet18, resnet34, resnet50
from .rnn import CharRNN, RNNClassifier, char_gru, char_lstm, char_rnn, gru_classifier, lstm_classifier, rnn_classifier
from .transformer import Transformer, TransformerConfig, decoder_only, encoder_only, gpt, prefix_decoder, transformer
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "AlexNet",
    "alexnet",
    "DenseNet",
    "densenet121",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "googlenet",
    "LeNet5",
    "lenet5",
    "MLP",
    "mlp",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "VGG",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "CharRNN",
    "RNNClassifier",
    "char_gru",
    "char_lstm",
    "char_rnn",
    "gru_classifier",
    "lstm_classifier",
    "rnn_classifier",
    "Transformer",
    "TransformerConfig",
    "decoder_only",
    "encoder_only",
    "gpt",
    "prefix_decoder",
    "transformer",
    "decoding",
]

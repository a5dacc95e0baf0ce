"""The model zoo: networks rebuilt on minitorch's public API, one family per module.

Each model is built by a factory function named as torchvision names it
(``models.lenet5()``, ``models.mlp()``) and is an ordinary
``minitorch.nn.Module`` whose ``state_dict`` keys follow PyTorch's style.
``python -m models.train --model lenet5`` trains one on bundled data.
"""

from .lenet import LeNet5, lenet5
from .mlp import MLP, mlp

__all__ = ["LeNet5", "lenet5", "MLP", "mlp"]

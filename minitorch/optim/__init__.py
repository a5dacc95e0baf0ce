"""Optimizers (``minitorch.optim.SGD``, ``Adam``, ...) and learning-rate schedulers (``optim.lr_scheduler``).

Typical use, as in PyTorch::

    opt = minitorch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]

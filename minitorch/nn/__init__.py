"""``minitorch.nn``: Module, Parameter, the layers, and ``functional``/``init``/``utils``."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from .parameter import Buffer, Parameter  # noqa: F401

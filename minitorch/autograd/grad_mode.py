"""Switching graph recording on and off: no_grad, enable_grad, set_grad_enabled.

While grad mode is off, ops compute values only and record no graph, which
is what evaluation loops and optimizer updates want. The flag is per thread,
as in PyTorch. Each switch works as a context manager and as a decorator.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class _GradState(threading.local):
    enabled = True


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when ops record the autograd graph."""
    return _state.enabled


class _GradModeSwitch:
    """Base class: set grad mode on entry, restore the previous mode on exit."""

    mode = True

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self) -> tuple:
        return ()


class no_grad(_GradModeSwitch):
    """Turn graph recording off inside a ``with`` block or a decorated function."""

    mode = False


class enable_grad(_GradModeSwitch):
    """Turn graph recording back on, e.g. inside a ``no_grad`` block."""

    mode = True


class inference_mode(_GradModeSwitch):
    """Like ``no_grad`` (minitorch has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _args(self) -> tuple:
        return (not self.mode,)


class set_grad_enabled(_GradModeSwitch):
    """Set grad mode to ``mode``: takes effect at once, and restores on ``with`` exit.

    As in PyTorch, ``set_grad_enabled(False)`` called as a plain function
    switches recording off until switched on again.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __enter__(self) -> None:
        _state.enabled = self.mode

    def _args(self) -> tuple:
        return (self.mode,)

    def __call__(self, fn: Callable) -> Callable:
        _state.enabled = self.prev  # used as a decorator: only switch while fn runs
        return super().__call__(fn)

"""Narrower networks for quick CPU training: the CNN factories' ``width`` scales every channel count."""

from __future__ import annotations


def narrowed(channels: int, width: float) -> int:
    """``channels`` scaled by ``width`` (at least one); ``width=1`` is the published network."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(1, int(channels * width))

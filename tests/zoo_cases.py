"""One entry of a model registry: how to build our model, its PyTorch twin, and a batch of inputs.

Registries (``twins_cnn.CASES`` and the like) map a model's name to a
:class:`Case`; the parity tests, the frozen-reference script and the
benchmarks all read them, so a model is described once. This module does
not import torch, so it loads where PyTorch is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import numpy as np

import minitorch


@dataclass(frozen=True)
class Case:
    """``build()`` makes our model (its weights come from ``minitorch.manual_seed``, set by the caller);
    ``build_torch()`` makes the twin, with the same state_dict keys (``None`` without torch);
    ``inputs(rng)`` draws a small float64 batch (at the model's native input size unless the registry says otherwise)."""

    build: Callable[[], minitorch.nn.Module]
    build_torch: Optional[Callable[[], Any]]
    inputs: Callable[[np.random.Generator], List[np.ndarray]]

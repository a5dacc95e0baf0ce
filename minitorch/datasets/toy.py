"""Two-dimensional toy classification sets: points you can plot and a small MLP can separate.

Each returns ``(X, y)``: X a float32 tensor of shape (n, 2), y an int64
tensor of class labels, ordered class by class (let a DataLoader shuffle).
The same ``seed`` gives the same points.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor


def _result(x: np.ndarray, y: np.ndarray) -> Tuple[Tensor, Tensor]:
    return from_numpy(x.astype(np.float32)), from_numpy(y.astype(np.int64))


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Tuple[Tensor, Tensor]:
    """``n`` points on ``classes`` interleaved spiral arms (class sizes differ by at most one).

    Arm ``k`` runs from the centre (radius 0) outwards to radius 1 while its
    angle turns through 4 radians starting at ``4 * k``; ``noise`` is the
    standard deviation of Gaussian noise added to the angle.
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(classes):
        m = n // classes + (k < n % classes)
        r = np.linspace(0.0, 1.0, m)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), m) + rng.normal(0.0, noise, m)
        xs.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        ys.append(np.full(m, k))
    return _result(np.concatenate(xs), np.concatenate(ys))


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Tuple[Tensor, Tensor]:
    """Two interleaving half circles: class 0 the upper arc, class 1 the lower one shifted right.

    ``noise`` is the standard deviation of Gaussian noise added to every
    coordinate (scikit-learn's ``make_moons`` draws the same shapes).
    """
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    upper = np.linspace(0.0, np.pi, n_upper)
    lower = np.linspace(0.0, np.pi, n_lower)
    x = np.concatenate(
        [np.stack([np.cos(upper), np.sin(upper)], 1), np.stack([1 - np.cos(lower), 0.5 - np.sin(lower)], 1)]
    )
    x = x + rng.normal(0.0, noise, x.shape)
    return _result(x, np.repeat([0, 1], [n_upper, n_lower]))

"""scikit-learn's handwritten digits: 1797 grey 8x8 images of the digits 0-9 (installed with scikit-learn, no download)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor
from ..utils.data import Dataset


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of 1-D linear interpolation, sampling pixel centres (align_corners=False).

    Output pixel ``i`` reads the input at ``(i + 0.5) * n_in / n_out - 0.5``,
    split between its two neighbours in proportion to the distance.
    """
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - w)
    np.add.at(m, (np.arange(n_out), hi), w)
    return m


def _lenet_size(images: np.ndarray) -> np.ndarray:
    """8x8 -> 32x32 as MNIST feeds LeNet-5: bilinear resize to 28x28, then a 2-pixel zero border."""
    r = _resize_matrix(images.shape[-1], 28)
    big = np.einsum("oi,nij,pj->nop", r, images, r)  # resize rows and columns: R @ image @ R.T
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).astype(np.float32)


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Train and test indices with each class split in the same proportion, shuffled by ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


class Digits(Dataset):
    """The digits as ``(image, label)``: a float32 tensor of shape (1, size, size) in [0, 1] and an int.

    Pixel values 0..16 are divided by 16 (like torchvision's ``ToTensor``);
    no mean/std normalisation is applied: pass ``transform`` for that.
    ``size=32`` makes LeNet-5 inputs (see ``_lenet_size``). The split is
    stratified: every class puts ``round(test_fraction * count)`` of its
    images, chosen by ``seed``, into the test set (359 of 1797 by default),
    so ``train=True`` and ``train=False`` with the same seed never overlap.
    ``data`` (N, 1, size, size) and ``targets`` (N,) hold the whole split, e.g. for a TensorDataset.
    """

    classes = [str(d) for d in range(10)]

    def __init__(
        self,
        train: bool = True,
        size: int = 8,
        test_fraction: float = 0.2,
        seed: int = 0,
        transform: Optional[Callable[[Tensor], Any]] = None,
        target_transform: Optional[Callable[[int], Any]] = None,
    ) -> None:
        if size not in (8, 32):
            raise ValueError(f"Digits(size=...) must be 8 (the original images) or 32 (LeNet-5 input), got {size}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise ImportError("Digits needs scikit-learn, which ships the images: pip install scikit-learn") from None
        bunch = load_digits()
        images = bunch.images.astype(np.float32) / 16.0
        if size == 32:
            images = _lenet_size(images)
        labels = bunch.target.astype(np.int64)
        index = _stratified_split(labels, test_fraction, seed)[0 if train else 1]
        self.train = train
        self.data = from_numpy(np.ascontiguousarray(images[index, None]))
        self.targets = from_numpy(labels[index])
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        image, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

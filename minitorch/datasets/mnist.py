"""MNIST and Fashion-MNIST from the IDX files you downloaded (minitorch never downloads).

An IDX file is a tiny header and then raw numbers: two zero bytes, a type
code (0x08 = uint8, ...), the number of dims, each dim as a big-endian
int32, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from ..dtypes import float32
from ..ops.creation import from_numpy
from ..tensor import Tensor
from ..utils.data import Dataset

# IDX type code -> the big-endian NumPy dtype it names.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Union[str, "os.PathLike[str]"]) -> np.ndarray:
    """The array in an IDX file (gzip-compressed when the name ends in ``.gz``); RuntimeError if malformed."""
    path = os.fspath(path)
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except (OSError, EOFError) as e:  # e.g. a truncated or non-gzip ".gz" file
        raise RuntimeError(f"{path} could not be read ({e}); download it again") from None

    def bad(reason: str) -> RuntimeError:
        return RuntimeError(f"{path} is not a valid IDX file: {reason}; download it again")

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise bad("it does not start with the IDX magic number (two zero bytes, a type code, a dim count)")
    if raw[2] not in _IDX_TYPES:
        raise bad(f"unknown type code 0x{raw[2]:02x}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise bad("the header is cut short")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(raw) - 4 - 4 * ndim
    if found != expected:
        raise bad(f"its header promises shape {shape} ({expected} bytes of data) but it holds {found} bytes")
    return np.frombuffer(raw, dtype, offset=4 + 4 * ndim).astype(dtype.newbyteorder("=")).reshape(shape)


def _existing(folder: str, name: str) -> Optional[str]:
    """The path of ``name`` or ``name.gz`` in ``folder``, or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


class MNIST(Dataset):
    """The MNIST digits as ``(image, label)``: a float32 tensor (1, 28, 28) in [0, 1] and an int.

    ``root`` is the folder holding ``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte`` (``t10k-...`` for ``train=False``), each
    optionally gzipped (``.gz``); ``root/MNIST/raw``, where torchvision
    downloads them, works too. ``data`` holds the uint8 images (N, 28, 28)
    and ``targets`` the int64 labels, as in torchvision. Images are scaled to
    [0, 1] like torchvision's ``ToTensor``; pass ``transform`` to normalise.
    """

    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: Union[str, "os.PathLike[str]"],
        train: bool = True,
        transform: Optional[Callable[[Tensor], Any]] = None,
        target_transform: Optional[Callable[[int], Any]] = None,
    ) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        split = "train" if train else "t10k"
        images_path, labels_path = self._find([f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(
                f"{images_path} and {labels_path} do not match: expected images (N, H, W) and N labels, got "
                f"shapes {images.shape} and {labels.shape}"
            )
        self.data = from_numpy(images.astype(np.uint8))
        self.targets = from_numpy(labels.astype(np.int64))

    def _find(self, names: List[str]) -> List[str]:
        """The paths of ``names`` (or ``name.gz``) in the first folder that holds all of them."""
        folders = [self.root, os.path.join(self.root, type(self).__name__, "raw")]
        for folder in folders:
            paths = [_existing(folder, name) for name in names]
            if all(paths):
                return paths
        where = os.path.abspath(self.root)
        missing = "" if os.path.isdir(where) else " (that folder does not exist)"
        raise FileNotFoundError(
            f"{type(self).__name__} dataset not found: put {' and '.join(names)} (each may end in .gz) in "
            f"{where}{missing} or in {os.path.join(where, type(self).__name__, 'raw')}. minitorch does not "
            "download datasets: fetch the four IDX files yourself (or reuse a torchvision download)."
        )

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        image = (self.data[index].to(float32) / 255.0).unsqueeze(0)
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same file names and format as MNIST, with ten kinds of clothing."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

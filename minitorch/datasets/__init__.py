"""Small datasets that ship with minitorch or read common files, for tutorials and tests.

* ``Digits``      - scikit-learn's 8x8 handwritten digits (needs scikit-learn), optionally 32x32 for LeNet-5;
* ``MNIST``, ``FashionMNIST`` - read the IDX files you downloaded into a folder;
* ``make_spirals``, ``make_moons`` - 2-D toy classification sets;
* ``CopyTask``, ``ReverseTask``, ``SortTask``, ``AdditionTask`` - token sequence tasks;
* ``CharDataset``, ``load_text`` - a bundled text corpus for character-level language models.
"""

from .digits import Digits
from .mnist import MNIST, FashionMNIST, read_idx
from .sequences import AdditionTask, CopyTask, ReverseTask, SequenceTask, SortTask
from .text import CharDataset, load_text
from .toy import make_moons, make_spirals

__all__ = [
    "AdditionTask",
    "CharDataset",
    "CopyTask",
    "Digits",
    "FashionMNIST",
    "MNIST",
    "ReverseTask",
    "SequenceTask",
    "SortTask",
    "load_text",
    "make_moons",
    "make_spirals",
    "read_idx",
]

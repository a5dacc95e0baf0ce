"""A small text corpus that ships with minitorch, and a character-level language-modelling dataset.

``data/tiny_corpus.txt`` (about 9 KB, ASCII) holds the Zen of Python (the
text of the standard library's ``this`` module, rot13-decoded) followed by
short stories, verses and sayings written for minitorch and placed in the
public domain.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, List, Optional, Tuple

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor
from ..utils.data import Dataset


def load_text() -> str:
    """The bundled corpus as one string."""
    return (resources.files(__package__) / "data" / "tiny_corpus.txt").read_text(encoding="utf-8")


class CharDataset(Dataset):
    """Every window of ``block_size + 1`` characters as ``(x, y)``, y being x shifted left by one.

    The vocabulary is the sorted set of characters in ``text`` (the bundled
    corpus by default): token ``i`` is ``itos[i]``. A model reading ``x``
    learns to predict, at every position, the next character ``y``.
    """

    def __init__(self, block_size: int, text: Optional[str] = None) -> None:
        self.text = load_text() if text is None else text
        if block_size < 1 or len(self.text) <= block_size:
            raise ValueError(f"block_size must be between 1 and len(text) - 1 = {len(self.text) - 1}, got {block_size}")
        self.block_size = block_size
        self.itos: List[str] = sorted(set(self.text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        self.data = self.encode(self.text)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, s: str) -> Tensor:
        """The int64 tokens of ``s``; KeyError for a character outside the vocabulary."""
        return from_numpy(np.array([self.stoi[ch] for ch in s], dtype=np.int64))

    def decode(self, tokens: Any) -> str:
        """The text of ``tokens`` (a tensor or a list of ints)."""
        values = tokens.tolist() if isinstance(tokens, Tensor) else tokens
        return "".join(self.itos[i] for i in values)

    def __len__(self) -> int:
        return len(self.data) - self.block_size

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a CharDataset of length {len(self)}")
        index %= len(self)
        chunk = self.data[index : index + self.block_size + 1]
        return chunk[:-1], chunk[1:]

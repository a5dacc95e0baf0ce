"""Algorithmic sequence tasks for RNNs and Transformers: copy, reverse, sort and add.

Every sample is a pair ``(input, target)`` of int64 token tensors. All
samples are drawn once, from ``seed``, when the dataset is built, so the
same arguments give the same data; use another seed for a test set.

Vocabulary. Copy, reverse and sort use the tokens ``0 .. vocab_size-1``
(no special tokens). Addition uses 12 tokens: ``0``-``9`` are the digits,
``10`` is ``+`` and ``11`` is ``=``. ``dataset.vocab`` lists each token's
text and ``dataset.decode(tokens)`` turns tokens back into a string.

Two layouts:

* ``lm=False`` (sequence to sequence): ``input`` is the question and
  ``target`` the answer, e.g. reverse: ``[3, 1, 4] -> [4, 1, 3]``.
* ``lm=True`` (for a causal language model): the question and answer are
  joined into one sequence ``s``; ``input = s[:-1]``, ``target = s[1:]``
  and every target position that lies inside the question is ``-100``,
  ``cross_entropy``'s default ``ignore_index``, so only the answer is learned.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor
from ..utils.data import Dataset

IGNORE_INDEX = -100


class SequenceTask(Dataset):
    """Base class: subclasses set ``vocab`` and draw ``(questions, answers)`` arrays in ``_generate``."""

    vocab: List[str]

    def __init__(self, num_samples: int, seed: int, lm: bool) -> None:
        questions, answers = self._generate(np.random.default_rng(seed), num_samples)
        if lm:
            question_length = questions.shape[1]
            joined = np.concatenate([questions, answers], axis=1)
            questions, answers = joined[:, :-1], joined[:, 1:].copy()
            answers[:, : question_length - 1] = IGNORE_INDEX  # these targets are question tokens
        self.lm = lm
        self.inputs = from_numpy(np.ascontiguousarray(questions, dtype=np.int64))
        self.targets = from_numpy(np.ascontiguousarray(answers, dtype=np.int64))

    def _generate(self, rng: np.random.Generator, num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, tokens: Any) -> str:
        """The text of a sequence of tokens (a tensor or a list); ``-100`` shows as ``_``."""
        values = tokens.tolist() if isinstance(tokens, Tensor) else list(tokens)
        return " ".join("_" if t == IGNORE_INDEX else self.vocab[t] for t in values)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        return self.inputs[index], self.targets[index]


class _SymbolTask(SequenceTask):
    """A task over ``length`` random symbols from ``0 .. vocab_size-1``; ``_answer`` maps questions to answers."""

    def __init__(
        self, num_samples: int = 1000, length: int = 8, vocab_size: int = 10, seed: int = 0, lm: bool = False
    ) -> None:
        self.length = length
        self.vocab = [str(t) for t in range(vocab_size)]
        super().__init__(num_samples, seed, lm)

    def _generate(self, rng: np.random.Generator, num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
        questions = rng.integers(0, len(self.vocab), size=(num_samples, self.length))
        return questions, self._answer(questions)

    def _answer(self, questions: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CopyTask(_SymbolTask):
    """Repeat the input: ``[3, 1, 4] -> [3, 1, 4]``."""

    def _answer(self, questions: np.ndarray) -> np.ndarray:
        return questions.copy()


class ReverseTask(_SymbolTask):
    """Reverse the input: ``[3, 1, 4] -> [4, 1, 3]``."""

    def _answer(self, questions: np.ndarray) -> np.ndarray:
        return questions[:, ::-1].copy()


class SortTask(_SymbolTask):
    """Sort the input ascending: ``[3, 1, 4] -> [1, 3, 4]``."""

    def _answer(self, questions: np.ndarray) -> np.ndarray:
        return np.sort(questions, axis=1)


class AdditionTask(SequenceTask):
    """Add two ``digits``-digit numbers: ``"07+05=" -> "012"``.

    Numbers are written most significant digit first and zero-padded: the
    input has ``2 * digits + 2`` tokens (``a``, ``+``, ``b``, ``=``) and the
    answer ``digits + 1`` tokens, room for the carry.
    """

    vocab = [str(d) for d in range(10)] + ["+", "="]
    PLUS, EQUALS = 10, 11

    def __init__(self, num_samples: int = 1000, digits: int = 2, seed: int = 0, lm: bool = False) -> None:
        self.digits = digits
        super().__init__(num_samples, seed, lm)

    def _generate(self, rng: np.random.Generator, num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
        a, b = rng.integers(0, 10**self.digits, size=(2, num_samples))
        n = np.full((num_samples, 1), 0)
        questions = np.concatenate(
            [_digits_of(a, self.digits), n + self.PLUS, _digits_of(b, self.digits), n + self.EQUALS], axis=1
        )
        return questions, _digits_of(a + b, self.digits + 1)


def _digits_of(numbers: Sequence[int], width: int) -> np.ndarray:
    """Each number as ``width`` decimal digits, most significant first: 7 with width 3 -> [0, 0, 7]."""
    powers = 10 ** np.arange(width - 1, -1, -1)
    return (np.asarray(numbers)[:, None] // powers) % 10

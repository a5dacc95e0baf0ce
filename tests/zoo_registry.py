"""Every zoo model's :class:`~zoo_cases.Case`, by name, from the CNN and the sequence-model registries.

``all_cases`` has the CNNs at full width and the seed's input sizes (for
benchmarks); ``reference_cases`` has them narrowed and on small inputs, which
keeps the frozen float64 references cheap enough to check in every CI run.
"""

from __future__ import annotations

from typing import Dict

from twins_cnn import CASES as CNN_CASES
from twins_cnn import SMALL_CASES as SMALL_CNN_CASES
from twins_seq import CASES as SEQ_CASES
from zoo_cases import Case


def _merge(*registries: Dict[str, Case]) -> Dict[str, Case]:
    merged: Dict[str, Case] = {}
    for registry in registries:
        overlap = set(merged) & set(registry)
        assert not overlap, f"two registries name the same model: {overlap}"
        merged.update(registry)
    return merged


def all_cases() -> Dict[str, Case]:
    return _merge(CNN_CASES, SEQ_CASES)


def reference_cases() -> Dict[str, Case]:
    return _merge(SMALL_CNN_CASES, SEQ_CASES)

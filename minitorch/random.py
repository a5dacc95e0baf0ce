"""Random numbers: one seedable generator, so ``manual_seed`` makes runs repeatable.

Values are drawn on the host with NumPy's PCG64 generator and then moved to
the tensor's device, so a seed gives the same numbers on every device.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class Generator:
    """Holds a random state; pass one as ``generator=`` or use the default."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self._seed = 67280421310721  # PyTorch's default seed
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        """Reset the state from ``seed``; the same seed gives the same stream."""
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} does not fit in 64 bits")
        self._seed = seed % 2**64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy and return the seed used."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % 2**63)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        from .ops.creation import tensor

        state = self._rng.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"], state["has_uint32"], state["uinteger"]]
        return tensor(np.frombuffer(b"".join(int(w).to_bytes(16, "little") for w in words), dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> "Generator":
        raw = bytes(np.asarray(new_state.numpy(), dtype=np.uint8))
        if len(raw) != 64:
            raise RuntimeError("Invalid generator state: expected a uint8 tensor of 64 bytes from get_state()")
        words = [int.from_bytes(raw[i : i + 16], "little") for i in range(0, 64, 16)]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": words[0], "inc": words[1]},
            "has_uint32": words[2],
            "uinteger": words[3],
        }
        return self

    @property
    def rng(self) -> np.random.Generator:
        return self._rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every random function draws from it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    return default_generator.get_state()


def set_rng_state(state: Any) -> None:
    default_generator.set_state(state)


def rng(generator: Optional[Generator]) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the default one when None)."""
    return (generator or default_generator).rng

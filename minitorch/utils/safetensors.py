"""Read and write ``.safetensors`` files, the weights format that PyTorch, JAX and Hugging Face share.

A safetensors file is an 8-byte little-endian header length, a JSON header
naming each tensor's dtype, shape and byte range, then the raw bytes: plain
data, so loading it never runs code. These functions mirror
``safetensors.torch`` and use the ``safetensors`` package's NumPy API
(``pip install safetensors``), so a file written here loads with
``safetensors.torch.load_file`` and the other way round.

minitorch has no bfloat16 (nor float8, uint16/32/64 or complex): a file
holding such a tensor raises TypeError; convert it in PyTorch first, e.g.
``{k: v.float() for k, v in state.items()}``.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Dict, Optional, Union

import numpy as np

from ..ops.creation import from_numpy
from ..tensor import Tensor

# safetensors dtype codes that have a minitorch dtype.
_SUPPORTED = {"BOOL", "U8", "I8", "I16", "I32", "I64", "F16", "F32", "F64"}

PathLike = Union[str, "os.PathLike[str]"]


def _numpy_api() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "minitorch.utils.safetensors needs the safetensors package: pip install safetensors"
        ) from None
    return safetensors.numpy


def _to_arrays(tensors: Dict[str, Tensor]) -> Dict[str, np.ndarray]:
    """Contiguous host copies of the tensors, keyed by name (each saved separately, even if they share memory)."""
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not isinstance(t, Tensor):
            raise TypeError(
                f"safetensors stores a dict of str -> Tensor, got {type(name).__name__} -> {type(t).__name__} "
                f"for key {name!r}"
            )
        arrays[name] = t.detach().cpu().contiguous().numpy()
    return arrays


def _check_dtypes(start: bytes) -> None:
    """Raise TypeError naming the first tensor whose dtype minitorch lacks (bfloat16 most often).

    ``start`` is the beginning of the file: the header length, then the JSON
    header. A malformed header is left for the safetensors package to report.
    """
    try:
        (n,) = struct.unpack("<Q", start[:8])
        header = json.loads(start[8 : 8 + n])
    except (struct.error, ValueError):
        return
    for name, info in header.items():
        if name != "__metadata__" and info["dtype"] not in _SUPPORTED:
            kind = "bfloat16" if info["dtype"] == "BF16" else info["dtype"]
            raise TypeError(
                f"tensor {name!r} has dtype {kind}, which is not a minitorch dtype; convert it in PyTorch "
                "(e.g. tensor.float()) and save the file again"
            )


def _to_tensors(arrays: Dict[str, np.ndarray], device: Any) -> Dict[str, Tensor]:
    # np.array copies, so each tensor owns writable memory rather than a read-only buffer.
    return {name: from_numpy(np.array(a)).to(device) for name, a in arrays.items()}


def save_file(tensors: Dict[str, Tensor], filename: PathLike, metadata: Optional[Dict[str, str]] = None) -> None:
    """Write ``tensors`` (e.g. a state_dict) and optional string ``metadata`` to ``filename``."""
    _numpy_api().save_file(_to_arrays(tensors), filename, metadata=metadata)


def save(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding ``tensors``."""
    return _numpy_api().save(_to_arrays(tensors), metadata=metadata)


def load_file(filename: PathLike, device: Any = "cpu") -> Dict[str, Tensor]:
    """Read every tensor of a safetensors file onto ``device``."""
    api = _numpy_api()
    with open(filename, "rb") as f:
        start = f.read(8)
        if len(start) == 8:
            start += f.read(struct.unpack("<Q", start)[0])
    _check_dtypes(start)
    return _to_tensors(api.load_file(filename), device)


def load(data: bytes) -> Dict[str, Tensor]:
    """Read the tensors of a safetensors file held in memory (as ``save`` returns it)."""
    api = _numpy_api()
    _check_dtypes(data)
    return _to_tensors(api.load(data), "cpu")

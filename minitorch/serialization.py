"""``minitorch.save`` / ``minitorch.load``: checkpoints in a format that can never run code.

``torch.save`` pickles objects, and unpickling a file can execute anything
it names. minitorch writes data only: a JSON header that describes the
object (dicts, lists, numbers, strings and references to tensors) followed
by each tensor's raw bytes. A file is laid out as::

    MAGIC (8 bytes) | version (uint32) | file size (uint64) | header size (uint64)
    | header (UTF-8 JSON) | tensor bytes (little-endian, C order) | sha256 of all before (32 bytes)

so a truncated file is caught by its size and a corrupted one by its
checksum, and ``load`` raises a RuntimeError before returning anything.

What round-trips exactly: tensors of every minitorch dtype (with shape,
values, device, ``requires_grad`` and the Parameter class), None, bools,
ints, floats (inf and nan too), strings, dtypes, devices, ``Size``, and
lists, tuples, dicts and OrderedDicts of these, with any of them as dict
keys (optimizer state uses int keys). A tensor object that appears twice
is stored once and loads as one object; but *different* tensors that share
memory (a tensor and its view) are stored as separate copies of their own
values, so that sharing is not restored.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
from collections import OrderedDict
from typing import Any, BinaryIO, Dict, List, Union

import numpy as np

from . import dtypes
from .device import device as Device
from .tensor import Size, Tensor

MAGIC = b"MINITRCH"
VERSION = 1
_PREFIX = struct.Struct("<8sIQQ")  # magic, version, file size, header size
_DIGEST = 32  # bytes of a sha256 digest

FileLike = Union[str, "os.PathLike[str]", BinaryIO]


# ---- object tree <-> JSON -----------------------------------------------------------------
class _Encoder:
    """Turns an object into JSON-ready data, collecting the tensors it meets in ``self.tensors``."""

    def __init__(self) -> None:
        self.tensors: List[Tensor] = []
        self.index: Dict[int, int] = {}  # id(tensor) -> position, so a tensor seen twice is stored once

    def encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, Tensor):
            if id(obj) not in self.index:
                self.index[id(obj)] = len(self.tensors)
                self.tensors.append(obj)
            return {"tensor": self.index[id(obj)]}
        if isinstance(obj, dtypes.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, Device):
            return {"device": str(obj)}
        if isinstance(obj, Size):
            return {"Size": list(obj)}
        if type(obj) in (list, tuple):  # exactly these: a namedtuple would lose its class
            return {type(obj).__name__: [self.encode(x) for x in obj]}
        if type(obj) in (dict, OrderedDict):
            return {type(obj).__name__: [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        hint = "; save its state_dict() instead" if hasattr(obj, "state_dict") else ""
        raise TypeError(
            f"minitorch.save cannot store an object of type {type(obj).__module__}.{type(obj).__qualname__}: it "
            f"stores tensors, numbers, strings, None, dtypes, devices and lists/tuples/dicts of them{hint}"
        )


def _decode(node: Any, tensors: List[Tensor]) -> Any:
    """The object that ``_Encoder.encode`` turned into ``node``."""
    if not isinstance(node, dict):
        return node  # None, bool, int, float or str
    ((tag, value),) = node.items()
    if tag == "tensor":
        return tensors[value]
    if tag == "float":
        return float(value)
    if tag == "dtype":
        return _dtype_named(value)
    if tag == "device":
        return Device(value)
    if tag == "Size":
        return Size(value)
    if tag in ("list", "tuple"):
        items = [_decode(x, tensors) for x in value]
        return items if tag == "list" else tuple(items)
    if tag in ("dict", "OrderedDict"):
        pairs = [(_decode(k, tensors), _decode(v, tensors)) for k, v in value]
        return dict(pairs) if tag == "dict" else OrderedDict(pairs)
    raise ValueError(f"unknown tag {tag!r}")


def _dtype_named(name: str) -> dtypes.dtype:
    d = getattr(dtypes, name, None)
    if d not in dtypes.ALL:
        raise ValueError(f"unknown dtype {name!r}")
    return d


# ---- save ---------------------------------------------------------------------------------
def save(obj: Any, f: FileLike) -> None:
    """Write ``obj`` (a tensor, a state_dict, an optimizer state_dict, ...) to a path or binary file."""
    from .nn.parameter import Parameter

    encoder = _Encoder()
    tree = encoder.encode(obj)
    entries, chunks, offset = [], [], 0
    for t in encoder.tensors:
        array = t.detach().cpu().numpy()
        raw = array.astype(array.dtype.newbyteorder("<"), order="C").tobytes()
        entries.append(
            {
                "dtype": t.dtype.name,
                "shape": list(t.shape),
                "offset": offset,
                "device": str(t.device),
                "requires_grad": t.requires_grad,
                "parameter": isinstance(t, Parameter),
            }
        )
        chunks.append(raw)
        offset += len(raw)
    header = json.dumps({"tensors": entries, "object": tree}, allow_nan=False).encode("utf-8")
    size = _PREFIX.size + len(header) + offset + _DIGEST
    body = b"".join([_PREFIX.pack(MAGIC, VERSION, size, len(header)), header, *chunks])
    _write(f, body + hashlib.sha256(body).digest())


def _write(f: FileLike, data: bytes) -> None:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:
            out.write(data)
    else:
        f.write(data)


# ---- load ---------------------------------------------------------------------------------
def load(f: FileLike, map_location: Any = None, *, weights_only: bool = True) -> Any:
    """Read back what ``save`` wrote; ``map_location`` ('cpu', a device, or a dict like
    ``{'cuda:0': 'cpu'}``) moves tensors to another device than the one they were saved from.

    The file is only ever parsed as data, so ``weights_only`` is accepted
    for compatibility and both values behave the same safe way.
    """
    if not isinstance(map_location, (type(None), str, Device, dict)):
        raise TypeError(
            f"map_location should be a string, a minitorch.device or a dict, got {type(map_location).__name__}"
        )
    raw = _read(f)
    header = _check(raw)
    data_start = _PREFIX.size + len(header)
    try:
        meta = json.loads(header.decode("utf-8"))
        tensors = [_load_tensor(entry, raw, data_start, map_location) for entry in meta["tensors"]]
        return _decode(meta["object"], tensors)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
        raise RuntimeError(
            f"minitorch.load: the file's header is malformed ({e}); it was not written by minitorch.save"
        ) from None


def _read(f: FileLike) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as src:
            return src.read()
    if isinstance(f, io.TextIOBase):
        raise TypeError("minitorch.load needs a file opened in binary mode: open(path, 'rb')")
    return f.read()


def _check(raw: bytes) -> bytes:
    """Validate magic, size, checksum and version; return the header bytes."""
    if raw[:4] == b"PK\x03\x04":
        raise RuntimeError(
            "minitorch.load: this looks like a torch.save file; those hold pickles, which minitorch never loads "
            "because unpickling can run code. Save the tensors with safetensors in PyTorch and load them with "
            "minitorch.utils.safetensors.load_file."
        )
    if not raw.startswith(MAGIC) and not MAGIC.startswith(raw):
        raise RuntimeError(f"minitorch.load: not a file written by minitorch.save (it does not start with {MAGIC!r})")
    if len(raw) < _PREFIX.size + _DIGEST:
        raise RuntimeError(f"minitorch.load: the file is truncated (only {len(raw)} bytes)")
    _, version, size, header_size = _PREFIX.unpack_from(raw)
    if len(raw) != size:
        state = "truncated" if len(raw) < size else "corrupt (it has extra bytes)"
        raise RuntimeError(f"minitorch.load: the file is {state}: it has {len(raw)} bytes but was written with {size}")
    if hashlib.sha256(raw[:-_DIGEST]).digest() != raw[-_DIGEST:]:
        raise RuntimeError("minitorch.load: the file is corrupt: its sha256 checksum does not match its contents")
    if version > VERSION:
        raise RuntimeError(
            f"minitorch.load: the file has format version {version} but this minitorch reads up to {VERSION}; upgrade minitorch"
        )
    return raw[_PREFIX.size : _PREFIX.size + header_size]


def _target_device(saved: str, map_location: Any) -> Device:
    if map_location is None:
        return Device(saved)
    if isinstance(map_location, dict):
        return Device(map_location.get(saved, saved))
    return Device(map_location)


def _load_tensor(entry: dict, raw: bytes, data_start: int, map_location: Any) -> Tensor:
    from .cuda import is_available
    from .ops.creation import from_numpy

    d = _dtype_named(entry["dtype"])
    shape = tuple(int(n) for n in entry["shape"])
    start = data_start + entry["offset"]
    nbytes = math.prod(shape) * d.itemsize
    if start + nbytes > len(raw) - _DIGEST:
        raise ValueError(f"tensor bytes {start}..{start + nbytes} lie outside the data section")
    array = np.frombuffer(memoryview(raw)[start : start + nbytes], dtype=d.np.newbyteorder("<"))
    t = from_numpy(array.astype(d.np).reshape(shape))  # astype copies, so the tensor owns writable memory
    target = _target_device(entry["device"], map_location)
    if target.type == "cuda" and not is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but minitorch.cuda.is_available() is False. If you "
            "are running on a CPU-only machine, please use minitorch.load with map_location='cpu' to map your "
            "tensors to the CPU."
        )
    t = t.to(target)
    if entry["parameter"]:
        from .nn.parameter import Parameter

        return Parameter(t, requires_grad=entry["requires_grad"])
    return t.requires_grad_(entry["requires_grad"]) if entry["requires_grad"] else t

"""Storage: the flat, typed buffer of elements that tensors view.

A storage knows nothing about shapes. Many tensors (a tensor, its
transpose, a slice of it) can view one storage; ``data_ptr`` shows that
they share memory.
"""

from __future__ import annotations

from typing import Any, List


class Storage:
    """A 1-D array of one dtype on one device (``numpy`` or ``cupy`` array)."""

    __slots__ = ("data", "backend")

    def __init__(self, data: Any, backend: Any) -> None:
        self.data = data
        self.backend = backend

    @property
    def device(self) -> Any:
        return self.backend.device

    @property
    def dtype(self) -> Any:
        from .dtypes import from_numpy_dtype

        return from_numpy_dtype(self.data.dtype)

    def size(self) -> int:
        """Number of elements."""
        return int(self.data.shape[0])

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return int(self.data.itemsize)

    def nbytes(self) -> int:
        return self.size() * self.element_size()

    def data_ptr(self) -> int:
        """Address of the first element; equal for tensors that share this storage."""
        return self.backend.data_ptr(self.data)

    def __getitem__(self, i: int) -> Any:
        return self.data[i].item()

    def tolist(self) -> List[Any]:
        return self.backend.to_host(self.data).tolist()

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        return (
            f"{body}\n[minitorch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size {self.size()}]"
        )


class UntypedStorage:
    """The same memory seen as bytes, as ``Tensor.untyped_storage()`` returns it."""

    __slots__ = ("typed",)

    def __init__(self, typed: Storage) -> None:
        self.typed = typed

    @property
    def device(self) -> Any:
        return self.typed.device

    def size(self) -> int:
        """Size in bytes."""
        return self.typed.nbytes()

    def nbytes(self) -> int:
        return self.typed.nbytes()

    def __len__(self) -> int:
        return self.size()

    def data_ptr(self) -> int:
        return self.typed.data_ptr()

    def __repr__(self) -> str:
        return f"[minitorch.storage.UntypedStorage(device={self.device}) of size {self.size()}]"

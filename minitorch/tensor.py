"""The Tensor: a view (shape, strides, offset) of a Storage, plus autograd state.

Read this file for the data model. Math, views and indexing are defined once
each, as autograd Functions in ``minitorch/ops/``, and attached to Tensor as
methods there (``Tensor.exp``, ``Tensor.__add__``, ...).

Three pieces make a tensor:

* ``_storage``: the flat buffer (see ``storage.py``), possibly shared;
* its layout: ``shape``, ``stride()``, ``storage_offset()`` (see ``layout.py``);
* ``_data``: the backend array that views the storage with that layout. It is
  what ops compute on; it is always derived from the two above.

Autograd state: ``requires_grad``, ``grad``, ``grad_fn`` (the node that
made this tensor, None for leaves), and a version counter shared with every
view, bumped by in-place ops so that backward can notice stale saved values.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

from . import layout
from .backends import get_backend
from .device import as_device
from .dtypes import _FROM_NUMPY, dtype, to_dtype
from .storage import Storage, UntypedStorage


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as ``minitorch.Size([2, 3])``."""

    def numel(self) -> int:
        return layout.numel(self)

    def __repr__(self) -> str:
        return f"minitorch.Size({list(self)})"

    def __getitem__(self, i: Any) -> Any:
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other: Any) -> "Size":
        return Size(tuple(self) + tuple(other))


class VersionCounter:
    """Counts in-place writes; shared by a tensor and all views of its storage."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1


class Tensor:
    """An n-dimensional array with strides, broadcasting and reverse-mode autograd."""

    __slots__ = (
        "_data",
        "_storage_or_none",
        "_strides",
        "_offset",
        "_backend",
        "_requires_grad",
        "_grad",
        "_grad_fn",
        "_output_nr",
        "_version_counter",
        "_base",
        "_grad_accumulator",
        "_hooks",
        "_post_accumulate_hooks",
        "__dict__",
        "__weakref__",
    )

    # ---- construction ---------------------------------------------------------
    def __new__(cls, *args: Any, **kwargs: Any) -> "Tensor":
        """``minitorch.Tensor(data)`` / ``Tensor(2, 3)``: PyTorch's legacy constructor (float32)."""
        from .ops.creation import empty, tensor

        if cls is not Tensor:  # subclasses (e.g. nn.Parameter) build themselves
            return object.__new__(cls)
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=kwargs.get("dtype") or _default_float(), device=kwargs.get("device"))
        return empty(*args, dtype=_default_float(), device=kwargs.get("device"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @classmethod
    def _make(cls, array: Any, backend: Any) -> "Tensor":
        """Wrap a freshly computed backend array as a new tensor owning its storage."""
        t = object.__new__(Tensor)
        if type(array) is not backend.xp.ndarray:  # NumPy turns 0-d results into scalars
            array = backend.xp.asarray(array)
        if not array.flags.c_contiguous:
            array = backend.xp.ascontiguousarray(array)
        t._data = array
        t._storage_or_none = None  # made on first use: most results are never viewed
        t._strides = None  # None means row-major; computed when asked
        t._offset = 0
        t._backend = backend
        t._requires_grad = False
        t._grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version_counter = VersionCounter()
        t._base = None
        t._grad_accumulator = None
        t._hooks = None
        t._post_accumulate_hooks = None
        return t

    @property
    def _storage(self) -> Storage:
        """The flat buffer; for a freshly computed tensor, its array seen as 1-D."""
        if self._storage_or_none is None:
            self._storage_or_none = Storage(self._data.reshape(-1), self._backend)
        return self._storage_or_none

    def _new(self, array: Any) -> "Tensor":
        """A new tensor from an array computed on this tensor's device."""
        return Tensor._make(array, self._backend)

    def _view(self, shape: Sequence[int], strides: Sequence[int], offset: int) -> "Tensor":
        """A tensor over the same storage with another layout (no autograd)."""
        t = object.__new__(Tensor)
        t._storage_or_none = self._storage
        t._backend = self._backend
        t._data = self._backend.as_strided(self._storage.data, shape, strides, offset)
        t._strides = tuple(strides)
        t._offset = offset
        t._requires_grad = False
        t._grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version_counter = self._version_counter
        t._base = self if self._base is None else self._base
        t._grad_accumulator = None
        t._hooks = None
        t._post_accumulate_hooks = None
        return t

    def _alias_without_grad_fn(self) -> "Tensor":
        """Same memory, same version counter, no autograd history."""
        t = self._view(self._data.shape, self.stride(), self._offset)
        t._base = self._base
        return t

    def _with_grad_fn(self, node: Any, output_nr: int) -> "Tensor":
        t = self._alias_without_grad_fn()
        t._grad_fn, t._output_nr, t._requires_grad = node, output_nr, True
        return t

    # ---- layout -----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None) -> Any:
        """The shape, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[layout.normalize_dim(dim, self._data.ndim)] if self._data.ndim else 1

    def stride(self, dim: Optional[int] = None) -> Any:
        """Elements to skip in storage per step along each dimension."""
        if self._strides is None:
            self._strides = layout.contiguous_strides(self._data.shape)
        if dim is None:
            return self._strides
        return self._strides[layout.normalize_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        """Where element (0, ..., 0) sits in the storage."""
        return self._offset

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return self._strides is None or layout.is_contiguous(self._data.shape, self._strides)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._data.itemsize

    def untyped_storage(self) -> UntypedStorage:
        return UntypedStorage(self._storage)

    def storage(self) -> Storage:
        return self._storage

    def data_ptr(self) -> int:
        """Address of this tensor's first element (storage start + offset)."""
        return self._storage.data_ptr() + self._offset * self._data.itemsize

    @property
    def dtype(self) -> dtype:
        return _FROM_NUMPY[self._data.dtype]

    @property
    def device(self) -> Any:
        return self._backend.device

    @property
    def is_cuda(self) -> bool:
        return self._backend.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._backend.device.type == "cpu"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def get_device(self) -> int:
        return -1 if self.is_cpu else (self.device.index or 0)

    def type(self, dtype: Any = None) -> Any:
        """Without an argument, the legacy type name, e.g. ``'minitorch.FloatTensor'``."""
        if dtype is None:
            return "minitorch." + _LEGACY_NAMES[self.dtype.name]
        return self.to(to_dtype(dtype))

    @property
    def _version(self) -> int:
        return self._version_counter.value

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-made ones)."""
        return self._grad_fn is None

    # ---- autograd ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return
        if value and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}; "
                "convert first, e.g. x.float().requires_grad_()"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self) -> Any:
        """The node that produced this tensor (e.g. ``<MulBackward0>``), None for leaves."""
        return self._grad_fn

    @property
    def grad(self) -> Optional["Tensor"]:
        if self._grad_fn is not None and not self.retains_grad:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: grad is {list(value.shape)}, "
                    f"tensor is {list(self.shape)}"
                )
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        node = self._grad_fn
        return node is not None and self._output_nr in node.__dict__.get("_retained", {})

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is not None:
            import weakref

            self._grad_fn.__dict__.setdefault("_retained", {})[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook: Callable[["Tensor"], Optional["Tensor"]]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        from .autograd.function import _RemovableHandle

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            hooks = self._grad_fn.__dict__.setdefault("_tensor_hooks", {}).setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]) -> Any:
        """Call ``hook(tensor)`` after a leaf's ``.grad`` has been updated."""
        from .autograd.function import _RemovableHandle

        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _RemovableHandle(self._post_accumulate_hooks, hook)

    def backward(
        self,
        gradient: Optional["Tensor"] = None,
        retain_graph: Optional[bool] = None,
        create_graph: bool = False,
        inputs: Optional[Sequence["Tensor"]] = None,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf and add it into ``leaf.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares storage and version counter)."""
        t = self._view(self._data.shape, self.stride(), self._offset)
        t._base = self._base
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead, or use the view's base tensor.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        """The values without autograd history; writes to it are not tracked."""
        t = self.detach()
        t._version_counter = VersionCounter()
        return t

    @data.setter
    def data(self, other: "Tensor") -> None:
        self._set_layout_from(other)

    def _set_layout_from(self, other: "Tensor") -> None:
        """Make this tensor view ``other``'s storage with ``other``'s layout."""
        self._storage_or_none = other._storage
        self._backend = other._backend
        self._data = other._data
        self._strides = other._strides
        self._offset = other._offset

    # ---- conversion --------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> Any:
        """A NumPy array sharing this tensor's memory (on the CPU)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.is_cuda and not force:
            raise TypeError(
                "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                "to host memory first."
            )
        return self._backend.to_host(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __dlpack__(self, stream: Any = None, **kwargs: Any) -> Any:
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(**({} if stream is None else {"stream": stream}), **kwargs)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return self._data.__dlpack_device__()

    def tolist(self) -> Any:
        return self._backend.to_host(self._data).tolist()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1
                else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from .printing import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol: int) -> Any:
        from .ops.creation import tensor

        return (tensor, (self.tolist(), self.dtype, str(self.device), self._requires_grad))

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol "
                "at the moment.  If you were attempting to deepcopy a module, this may be because of a "
                "torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001"
            )
        t = self.detach().clone()
        t.__class__ = type(self)
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = self._grad.clone()
        t.__dict__.update(self.__dict__)
        memo[id(self)] = t
        return t

    # ---- device and dtype moves ---------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; no copy when nothing changes."""
        dev, dt, copy = None, None, kwargs.get("copy", False)
        for a in list(args) + [kwargs.get("device"), kwargs.get("dtype")]:
            if a is None:
                continue
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, dtype):
                dt = a
            elif isinstance(a, bool):
                copy = a
            else:
                dev = as_device(a)
        from .ops.pointwise import to_copy

        # Compare backends, not device names: 'cuda' and 'cuda:0' are one GPU (and one backend) when GPU 0 is current.
        backend = get_backend(dev) if dev is not None else self._backend
        if (dt is None or dt is self.dtype) and backend is self._backend and not copy:
            return self
        return to_copy(self, dt or self.dtype, backend)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Any = None) -> "Tensor":
        return self.to(as_device(device) if device is not None else "cuda")

    def float(self) -> "Tensor":
        return self.to(_dt.float32)

    def double(self) -> "Tensor":
        return self.to(_dt.float64)

    def half(self) -> "Tensor":
        return self.to(_dt.float16)

    def int(self) -> "Tensor":
        return self.to(_dt.int32)

    def long(self) -> "Tensor":
        return self.to(_dt.int64)

    def short(self) -> "Tensor":
        return self.to(_dt.int16)

    def char(self) -> "Tensor":
        return self.to(_dt.int8)

    def byte(self) -> "Tensor":
        return self.to(_dt.uint8)

    def bool(self) -> "Tensor":
        return self.to(_dt.bool)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def share_memory_(self) -> "Tensor":
        """No-op: minitorch runs in one process, so memory is already shared by reference."""
        return self

    def is_shared(self) -> bool:
        return False

    def pin_memory(self) -> "Tensor":
        return self

    def is_pinned(self) -> bool:
        return False

    # ---- new tensors of the same dtype/device ------------------------------------------
    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        from .ops.creation import tensor

        return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def _new_filled(self, fn: Callable, size: Tuple[Any, ...], kwargs: dict) -> "Tensor":
        kwargs.setdefault("dtype", self.dtype)
        kwargs.setdefault("device", self.device)
        return fn(*size, **kwargs)

    def new_zeros(self, *size: Any, **kwargs: Any) -> "Tensor":
        from .ops.creation import zeros

        return self._new_filled(zeros, size, kwargs)

    def new_ones(self, *size: Any, **kwargs: Any) -> "Tensor":
        from .ops.creation import ones

        return self._new_filled(ones, size, kwargs)

    def new_empty(self, *size: Any, **kwargs: Any) -> "Tensor":
        from .ops.creation import empty

        return self._new_filled(empty, size, kwargs)

    def new_full(self, size: Any, fill_value: Any, **kwargs: Any) -> "Tensor":
        from .ops.creation import full

        kwargs.setdefault("dtype", self.dtype)
        kwargs.setdefault("device", self.device)
        return full(size, fill_value, **kwargs)


from . import dtypes as _dt  # noqa: E402  (Tensor.float etc. need the module, not the builtin)
from .autograd import engine as _engine  # noqa: E402
from .autograd import function as _function  # noqa: E402

_function._Tensor = _engine.Tensor = Tensor

_LEGACY_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


def _default_float() -> dtype:
    return _dt.get_default_dtype()


def is_tensor(obj: Any) -> bool:
    """True for minitorch tensors (and subclasses such as Parameter)."""
    return isinstance(obj, Tensor)

"""In-place ops (``add_``, ``x[i] = v``, ...) and how autograd follows them.

An in-place op computes the new value out of place with ordinary
differentiable ops, then writes it into the tensor's memory and bumps the
shared version counter. For autograd the tensor then *becomes* that new
value: it takes over the new value's grad_fn.

If the tensor is a view, the write also changed its base. The base's new
history is a ``CopySlices`` node ("old base, with the view's part replaced
by the new value"), and the view becomes a fresh view of that new base.
This is how ``out = zeros(3); out[0] = w * 2`` makes ``out`` depend on ``w``.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import layout
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.function import Function
from ..device import check_same_device
from ..tensor import Tensor
from .views import AsStrided, GatherFlat, _input_index_of_view


class CopySlices(Function):
    """The base after a write through one of its views (forward is the write itself)."""

    grad_fn_name = "CopySlices"

    @staticmethod
    def forward(ctx: Any, old_base: Tensor, new_part: Tensor, index: Any) -> Tensor:
        ctx.index, ctx.part_shape = index, new_part.shape
        return old_base._alias_without_grad_fn()  # the data was already written

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        keep = Tensor._make(g._backend.xp.ones(g.shape, dtype=g.dtype.np), g._backend)
        keep._data.reshape(-1)[ctx.index.ravel()] = 0  # the overwritten part gets no gradient
        return g * keep, GatherFlat.apply(g, ctx.index).reshape(ctx.part_shape), None


def check_inplace_allowed(t: Tensor) -> None:
    """PyTorch's rules: leaves that require grad (and their views) can't be changed in place."""
    if not grad_mode._state.enabled:
        return
    if t._grad_fn is None and t._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap the update in `with minitorch.no_grad():` (as optimizers do), or work on a clone()."
        )
    if getattr(getattr(t._grad_fn, "_forward_cls", None), "multi_output_view", False):
        raise RuntimeError(
            f"Output {t._output_nr} of {t._grad_fn.name()} is a view and is being modified inplace. This view is "
            "the output of a function that returns multiple views. Such functions do not allow the output views "
            "to be modified inplace. You should replace the inplace operation by an out-of-place one."
        )
    base = t._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap the update in `with minitorch.no_grad():`, or work on a clone()."
        )


def inplace(
    self: Tensor, compute: Callable[..., Tensor], *args: Any, reads_self: bool = True, allow_overlap: bool = False
) -> Tensor:
    """Run ``compute(self, *args)`` and store the result in ``self``'s memory.

    ``allow_overlap`` is for fills: writing one value through an expanded
    (stride-0) tensor is well defined, any other write is not.
    """
    check_inplace_allowed(self)
    if not allow_overlap and layout.has_overlap(self.shape, self.stride()):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location. Please clone() the tensor before performing the operation."
        )
    record = grad_mode._state.enabled and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
    )
    if not record:
        with grad_mode.no_grad():
            new = compute(self, *args)
        _write(self, new)
        return self
    if self._base is not None:
        refresh_view(self)
    old = self.clone() if reads_self else self
    new = compute(old, *args)
    if new.dtype is not self.dtype:
        new = new.to(self.dtype)
    _write(self, new)
    if self._base is None:
        self._grad_fn, self._output_nr, self._requires_grad = new._grad_fn, new._output_nr, new._requires_grad
    else:
        _rebase_view(self, new)
    return self


def _write(self: Tensor, new: Tensor) -> None:
    if new.shape != self.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(new.shape)}")
    if not _castable(new.dtype, self.dtype):
        raise RuntimeError(
            f"result type {_type_name(new.dtype)} can't be cast to the desired output type {_type_name(self.dtype)}"
        )
    check_same_device(self, new)
    self._data[...] = new._data
    self._version_counter.bump()


def _castable(src: Any, dst: Any) -> bool:
    """In-place results may not move up a category (float into an int tensor, int into bool)."""
    return src._category <= dst._category


def _type_name(d: Any) -> str:
    return {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
    }[d.name]


def _rebase_view(view: Tensor, new: Tensor) -> None:
    base = view._base
    old_base = base._alias_without_grad_fn()
    old_base._grad_fn, old_base._output_nr, old_base._requires_grad = (
        base._grad_fn,
        base._output_nr,
        base._requires_grad,
    )
    index = _input_index_of_view(base, view.shape, view.stride(), view._offset)
    new_base = CopySlices.apply(old_base, new, index)
    base._grad_fn, base._output_nr, base._requires_grad = new_base._grad_fn, 0, True
    _set_view_history(view)


def _set_view_history(view: Tensor) -> None:
    """Make the view's grad_fn a view of its base's current history."""
    with grad_mode.enable_grad():
        fresh = AsStrided.apply(view._base, tuple(view.shape), tuple(view.stride()), view._offset)
    view._grad_fn, view._output_nr, view._requires_grad = fresh._grad_fn, 0, True
    view.__dict__["_autograd_version"] = view._version_counter.value


def refresh_view(view: Tensor) -> None:
    """A view whose base changed in place since its history was recorded gets a new one."""
    base = view._base
    if base is None or not base._requires_grad:
        return
    if view.__dict__.get("_autograd_version") != view._version_counter.value and view._version_counter.value:
        _set_view_history(view)


_function.view_refresher = refresh_view


# ---- the in-place methods ------------------------------------------------------------------
def _inplace_method(
    fn: Callable[..., Tensor], reads_self: bool = True, allow_overlap: bool = False
) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return inplace(
            self, lambda x, *a: fn(x, *a, **kwargs), *args, reads_self=reads_self, allow_overlap=allow_overlap
        )

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method


def _copy(x: Tensor, src: Any) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    src = src.to(device=x.device, dtype=x.dtype)
    return src.expand(x.shape)


def _fill(x: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
            )
        return value.to(x.dtype).expand(x.shape)
    from .creation import full_like

    return full_like(x, value)


def _zero(x: Tensor) -> Tensor:
    return _fill(x, 0)


def _uniform(x: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    from .creation import rand

    return rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) * (b - a) + a


def _normal(x: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    from .creation import randn

    return randn(x.shape, generator=generator, dtype=x.dtype, device=x.device) * std + mean


def _install() -> None:
    from . import pointwise as pw

    T = Tensor
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "remainder",
        "fmod",
        "floor_divide",
        "neg",
        "abs",
        "sign",
        "sqrt",
        "rsqrt",
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "reciprocal",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "relu",
        "floor",
        "ceil",
        "trunc",
        "round",
        "clamp",
        "clip",
        "masked_fill",
        "lerp",
        "addcmul",
        "addcdiv",
        "square",
        "frac",
    ):
        setattr(T, name + "_", _inplace_method(getattr(pw, name)))
    T.copy_ = _inplace_method(_copy, reads_self=False)
    T.fill_ = _inplace_method(_fill, reads_self=False, allow_overlap=True)
    T.zero_ = _inplace_method(_zero, reads_self=False, allow_overlap=True)
    T.uniform_ = _inplace_method(_uniform, reads_self=False)
    T.normal_ = _inplace_method(_normal, reads_self=False)
    T.__iadd__ = T.add_
    T.__isub__ = T.sub_
    T.__imul__ = T.mul_
    T.__itruediv__ = T.div_
    T.__ifloordiv__ = T.floor_divide_
    T.__imod__ = T.remainder_
    T.__ipow__ = T.pow_
    T.__iand__ = _inplace_method(pw.bitwise_and)
    T.__ior__ = _inplace_method(pw.bitwise_or)
    T.__ixor__ = _inplace_method(pw.bitwise_xor)
    T.multiply_, T.subtract_, T.divide_ = T.mul_, T.sub_, T.div_


_install()

"""Elementwise ops: arithmetic, unary math, comparisons, logic, where/clamp/lerp.

Each differentiable op is one Function: ``forward`` computes on backend
arrays (NumPy or CuPy, through ``backend.xp``) and ``backward`` is written
with tensor ops, so it can itself be differentiated. Broadcasting needs no
code here: the engine sums each input's gradient back to the input's shape.

Dtypes follow PyTorch (see ``dtypes.result_type``): operands are cast to
the result dtype first, and Python scalars stay "weak" (``x * 2.5`` keeps
x's floating dtype).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

from .. import dtypes as dt
from .. import layout
from ..autograd import grad_mode
from ..autograd.function import Function
from ..device import check_same_device
from ..tensor import Tensor


# ---- operand handling --------------------------------------------------------------------
def _check_operand(x: Any) -> None:
    if not isinstance(x, (Tensor, int, float, bool)):
        raise TypeError(f"unsupported operand type: expected a Tensor or a Python number, got {type(x).__name__}")


def _binary_dtype(a: Any, b: Any) -> dt.dtype:
    """Result dtype of a binary op; also checks both tensors are on one device."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        check_same_device(a, b)
        if a._data.shape != b._data.shape:
            layout.broadcast_shapes(a._data.shape, b._data.shape)  # raises PyTorch's error
        da, db = a.dtype, b.dtype
        if da is db:
            return da
        return dt.result_type((a, b))
    _check_operand(b)
    _check_operand(a)
    t, s = (a, b) if isinstance(a, Tensor) else (b, a)
    return dt.result_type((t,), (s,))


def _array(x: Any, d: dt.dtype) -> Any:
    """The backend array of a tensor in dtype ``d``; Python scalars pass through (weak)."""
    if isinstance(x, Tensor):
        arr = x._data
        return arr if arr.dtype == d.np else arr.astype(d.np)
    return x


def _backend_of(a: Any, b: Any) -> Any:
    return a._backend if isinstance(a, Tensor) else b._backend


def _save_operands(ctx: Any, a: Any, b: Any, keep_a: bool, keep_b: bool) -> None:
    """Save only the operands backward will read (a tensor not saved may be changed in place
    later without breaking this backward); Python scalars are kept as plain values."""
    ctx.save_for_backward(
        a if isinstance(a, Tensor) and keep_a else None, b if isinstance(b, Tensor) and keep_b else None
    )
    ctx.scalars = (None if isinstance(a, Tensor) else a, None if isinstance(b, Tensor) else b)


def _saved_operands(ctx: Any) -> Any:
    a, b = ctx.saved_tensors
    return (ctx.scalars[0] if a is None else a), (ctx.scalars[1] if b is None else b)


def _grad_if(ctx: Any, i: int, compute: Callable[[], Any]) -> Any:
    """Compute an input's gradient only if that input needs one."""
    return compute() if ctx.needs_input_grad[i] else None


# ---- binary arithmetic ---------------------------------------------------------------------
class Add(Function):
    grad_fn_name = "AddBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, alpha: Any = 1) -> Tensor:
        d = _binary_dtype(a, b)
        ctx.alpha = alpha
        backend = _backend_of(a, b)
        xb = _array(b, d)
        with backend.xp.errstate(invalid="ignore", over="ignore"):  # inf + -inf is nan, silently, as in PyTorch
            if alpha != 1:
                xb = xb * alpha
            return Tensor._make(_array(a, d) + xb, backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class Sub(Function):
    grad_fn_name = "SubBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, alpha: Any = 1) -> Tensor:
        d = _binary_dtype(a, b)
        bools = [x.dtype is dt.bool if isinstance(x, Tensor) else isinstance(x, bool) for x in (a, b)]
        if all(bools):
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        if any(bools):
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. "
                "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        ctx.alpha = alpha
        backend = _backend_of(a, b)
        xb = _array(b, d)
        with backend.xp.errstate(invalid="ignore", over="ignore"):
            if alpha != 1:
                xb = xb * alpha
            return Tensor._make(_array(a, d) - xb, backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g, -g if ctx.alpha == 1 else g * -ctx.alpha


class Mul(Function):
    grad_fn_name = "MulBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Tensor:
        d = _binary_dtype(a, b)
        _save_operands(ctx, a, b, keep_a=ctx.needs_input_grad[1], keep_b=ctx.needs_input_grad[0])
        backend = _backend_of(a, b)
        with backend.xp.errstate(invalid="ignore", over="ignore"):  # inf * 0 is nan, silently
            return Tensor._make(_array(a, d) * _array(b, d), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = _saved_operands(ctx)
        return _grad_if(ctx, 0, lambda: g * b), _grad_if(ctx, 1, lambda: g * a)


def _true_div_dtype(a: Any, b: Any) -> dt.dtype:
    d = _binary_dtype(a, b)
    return d if d.is_floating_point else dt.get_default_dtype()


class Div(Function):
    grad_fn_name = "DivBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Tensor:
        d = _true_div_dtype(a, b)
        _save_operands(ctx, a, b, keep_a=ctx.needs_input_grad[1], keep_b=True)
        backend = _backend_of(a, b)
        with backend.xp.errstate(divide="ignore", invalid="ignore"):
            return Tensor._make(backend.xp.true_divide(_array(a, d), _array(b, d)), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = _saved_operands(ctx)
        return _grad_if(ctx, 0, lambda: g / b), _grad_if(ctx, 1, lambda: -g * a / (b * b))


def _integer_division_check(xb: Any, d: dt.dtype, backend: Any) -> None:
    if not d.is_floating_point and bool((xb == 0).any() if hasattr(xb, "any") else xb == 0):
        raise RuntimeError("ZeroDivisionError: integer division by zero; use a float dtype to get inf/nan")


class _RoundedDiv(Function):
    """Division rounded down ('floor', ``//``) or toward zero ('trunc'); gradient zero."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, mode: str) -> Tensor:
        d = _binary_dtype(a, b)
        if d is dt.bool:
            raise NotImplementedError(
                f"\"div_{mode}_cpu\" not implemented for 'Bool'; convert to an integer dtype first"
            )
        backend = _backend_of(a, b)
        xp = backend.xp
        xa, xb = _array(a, d), _array(b, d)
        _integer_division_check(xb, d, backend)
        with xp.errstate(divide="ignore", invalid="ignore"):
            if mode == "floor":
                out = xp.floor_divide(xa, xb)
            elif d.is_floating_point:
                out = xp.trunc(xp.true_divide(xa, xb))
            else:
                q = xp.floor_divide(xa, xb)
                out = q + ((q < 0) & (q * xb != xa))  # floor rounds negatives down; undo that
        return Tensor._make(xp.asarray(out, dtype=d.np), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return _grad_if(ctx, 0, lambda: g * 0), _grad_if(ctx, 1, lambda: g * 0)


class DivRounded(_RoundedDiv):
    grad_fn_name = "DivBackward1"


class Remainder(Function):
    """Python's ``%``: the result has the sign of the divisor (``fmod`` keeps the dividend's)."""

    grad_fn_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, python_style: bool = True) -> Tensor:
        d = _binary_dtype(a, b)
        backend = _backend_of(a, b)
        xp = backend.xp
        xa, xb = _array(a, d), _array(b, d)
        _integer_division_check(xb, d, backend)
        _save_operands(ctx, a, b, keep_a=ctx.needs_input_grad[1], keep_b=ctx.needs_input_grad[1])
        ctx.python_style = python_style
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = xp.remainder(xa, xb) if python_style else xp.fmod(xa, xb)
        return Tensor._make(xp.asarray(out, dtype=d.np), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = _saved_operands(ctx)

        def grad_b() -> Tensor:
            q = div(a, b, rounding_mode="floor" if ctx.python_style else "trunc")
            return -g * q

        return _grad_if(ctx, 0, lambda: g), _grad_if(ctx, 1, grad_b)


class Pow(Function):
    grad_fn_name = "PowBackward0"

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> Tensor:
        d = _binary_dtype(a, b)
        backend = _backend_of(a, b)
        xp = backend.xp
        xa, xb = _array(a, d), _array(b, d)
        if not d.is_floating_point and bool(xp.any(xp.asarray(xb) < 0)):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = Tensor._make(xp.asarray(xp.power(xa, xb), dtype=d.np), backend)
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None, out)
        ctx.scalars = (a, b)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b, out = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b

        def grad_a() -> Tensor:
            if isinstance(b, (int, float)) and b == 0:
                return g * 0
            return g * b * pow(a, b - 1)

        def grad_b() -> Tensor:
            # d/db a**b = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0.
            if not isinstance(a, Tensor):
                return g * out * math.log(a)
            zero_base = a == 0
            grad = g * out * log(where(zero_base, 1.0, a))
            return where(zero_base & (b >= 0), 0.0, grad)

        return _grad_if(ctx, 0, grad_a), _grad_if(ctx, 1, grad_b)


def full_like_scalar(ref: Tensor, value: Any) -> Tensor:
    return Tensor._make(ref._backend.xp.full((), value, dtype=ref.dtype.np), ref._backend)


def _select(ctx: Any, a: Tensor, b: Tensor, np_name: str) -> Tensor:
    d = _binary_dtype(a, b)
    ctx.save_for_backward(a, b)
    return Tensor._make(getattr(a._backend.xp, np_name)(_array(a, d), _array(b, d)), a._backend)


def _split(ctx: Any, g: Tensor, a_wins: Tensor, tie: Tensor) -> Any:
    """The winner of each element gets the gradient; at ties each input gets half (as PyTorch)."""
    share = a_wins.to(g.dtype) + tie.to(g.dtype) * 0.5
    return _grad_if(ctx, 0, lambda: g * share), _grad_if(ctx, 1, lambda: g * (1 - share))


class Maximum(Function):
    grad_fn_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> Tensor:
        return _select(ctx, a, b, "maximum")

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = ctx.saved_tensors
        return _split(ctx, g, a > b, a == b)


class Minimum(Function):
    grad_fn_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> Tensor:
        return _select(ctx, a, b, "minimum")

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        a, b = ctx.saved_tensors
        return _split(ctx, g, a < b, a == b)


# ---- unary math: one table row per op ------------------------------------------------------
INPUT, OUTPUT = "input", "output"


def _unary(
    name: str,
    grad_fn_name: str,
    compute: Callable,
    saves: Optional[str],
    derivative: Optional[Callable],
    *,
    floating: bool = True,
    on_tensors: bool = False,
    kernel: Optional[str] = None,
) -> Callable:
    """Build a unary Function from its array computation and its derivative.

    ``derivative(g, x, y)`` returns the input gradient from the output
    gradient ``g``, the input ``x`` and the output ``y`` (only the one named
    by ``saves`` is available). ``floating`` ops turn integer input into the
    default float dtype first, as PyTorch does for exp, sin, ...

    A derivative written with operators only runs on tensors when the
    backward is itself recorded (``create_graph=True``) and directly on
    arrays otherwise, which skips a node's bookkeeping per operator. One
    that calls tensor functions (``cos(x)``) says ``on_tensors=True``. On
    arrays, ``kernel`` names a backend method that computes the derivative
    in one fused pass (``tanh_backward(g, y)``) in place of the formula.
    """

    def forward(ctx: Any, x: Tensor) -> Tensor:
        arr = x._data
        if floating and not x.dtype.is_floating_point:
            arr = arr.astype(dt.get_default_dtype().np)
        with x._backend.xp.errstate(all="ignore"):
            out = Tensor._make(compute(x._backend.xp, arr), x._backend)
        if saves is not None:
            ctx.save_for_backward(x if saves == INPUT else out)
        return out

    def backward(ctx: Any, g: Tensor) -> Tensor:
        if derivative is None:
            return g * 0
        (saved,) = ctx.saved_tensors if saves is not None else (None,)
        if on_tensors or grad_mode.is_grad_enabled():
            x, y = (saved, None) if saves == INPUT else (None, saved)
            return derivative(g, x, y)
        arr = None if saved is None else saved._data
        x, y = (arr, None) if saves == INPUT else (None, arr)
        xp = g._backend.xp
        with xp.errstate(all="ignore"):  # inf and nan pass through silently, as on tensors
            grad = getattr(g._backend, kernel)(g._data, arr) if kernel else derivative(g._data, x, y)
            return g._new(xp.asarray(grad))  # asarray: NumPy gives 0-d results as scalars

    cls = type(
        name,
        (Function,),
        {
            "grad_fn_name": grad_fn_name,
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "__doc__": f"Elementwise {name.lower()}.",
            "__module__": __name__,
        },
    )

    def op(input: Tensor) -> Tensor:
        return cls.apply(input)

    op.__name__ = op.__qualname__ = name.lower()
    op.__doc__ = cls.__doc__
    op.function = cls  # the Function behind it, for tests and readers
    return op


_LN2, _LN10 = math.log(2.0), math.log(10.0)

# name          grad_fn name          array computation                    saved   derivative (g: output grad)
neg = _unary("Neg", "NegBackward0", lambda xp, x: -x, None, lambda g, x, y: -g, floating=False)
abs = _unary(  # noqa: A001
    "Abs", "AbsBackward0", lambda xp, x: xp.abs(x), INPUT, lambda g, x, y: g * sign(x), floating=False, on_tensors=True
)
sign = _unary("Sign", "SignBackward0", lambda xp, x: xp.sign(x), None, None, floating=False)
sqrt = _unary("Sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x), OUTPUT, lambda g, x, y: g / (2 * y))
rsqrt = _unary("Rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x), OUTPUT, lambda g, x, y: -0.5 * g * y * y * y)
exp = _unary("Exp", "ExpBackward0", lambda xp, x: xp.exp(x), OUTPUT, lambda g, x, y: g * y)
exp2 = _unary("Exp2", "Exp2Backward0", lambda xp, x: xp.exp2(x), OUTPUT, lambda g, x, y: g * y * _LN2)
expm1 = _unary("Expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), OUTPUT, lambda g, x, y: g * (y + 1))
log = _unary("Log", "LogBackward0", lambda xp, x: xp.log(x), INPUT, lambda g, x, y: g / x)
log1p = _unary("Log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), INPUT, lambda g, x, y: g / (x + 1))
log2 = _unary("Log2", "Log2Backward0", lambda xp, x: xp.log2(x), INPUT, lambda g, x, y: g / (x * _LN2))
log10 = _unary("Log10", "Log10Backward0", lambda xp, x: xp.log10(x), INPUT, lambda g, x, y: g / (x * _LN10))
reciprocal = _unary("Reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x, OUTPUT, lambda g, x, y: -g * y * y)
square = _unary("Square", "PowBackward0", lambda xp, x: x * x, INPUT, lambda g, x, y: 2 * g * x, floating=False)
sin = _unary("Sin", "SinBackward0", lambda xp, x: xp.sin(x), INPUT, lambda g, x, y: g * cos(x), on_tensors=True)
cos = _unary("Cos", "CosBackward0", lambda xp, x: xp.cos(x), INPUT, lambda g, x, y: -g * sin(x), on_tensors=True)
tan = _unary("Tan", "TanBackward0", lambda xp, x: xp.tan(x), OUTPUT, lambda g, x, y: g * (1 + y * y))
asin = _unary(
    "Asin", "AsinBackward0", lambda xp, x: xp.arcsin(x), INPUT, lambda g, x, y: g * rsqrt(1 - x * x), on_tensors=True
)
acos = _unary(
    "Acos", "AcosBackward0", lambda xp, x: xp.arccos(x), INPUT, lambda g, x, y: -g * rsqrt(1 - x * x), on_tensors=True
)
atan = _unary("Atan", "AtanBackward0", lambda xp, x: xp.arctan(x), INPUT, lambda g, x, y: g / (1 + x * x))
sinh = _unary("Sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), INPUT, lambda g, x, y: g * cosh(x), on_tensors=True)
cosh = _unary("Cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), INPUT, lambda g, x, y: g * sinh(x), on_tensors=True)
tanh = _unary(
    "Tanh", "TanhBackward0", lambda xp, x: xp.tanh(x), OUTPUT, lambda g, x, y: g * (1 - y * y), kernel="tanh_backward"
)
sigmoid = _unary(
    "Sigmoid",
    "SigmoidBackward0",
    lambda xp, x: _stable_sigmoid(xp, x),
    OUTPUT,
    lambda g, x, y: g * y * (1 - y),
    kernel="sigmoid_backward",
)
relu = _unary(
    "Relu",
    "ReluBackward0",
    lambda xp, x: xp.maximum(x, 0),
    OUTPUT,
    lambda g, x, y: g * (y > 0),  # a bool mask: multiplying promotes it to g's dtype
    floating=False,
)
floor = _unary(
    "Floor",
    "FloorBackward0",
    lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy(),
    None,
    None,
    floating=False,
)
ceil = _unary(
    "Ceil", "CeilBackward0", lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy(), None, None, floating=False
)
trunc = _unary(
    "Trunc",
    "TruncBackward0",
    lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy(),
    None,
    None,
    floating=False,
)
frac = _unary("Frac", "FracBackward0", lambda xp, x: x - xp.trunc(x), None, lambda g, x, y: g)


def _stable_sigmoid(xp: Any, x: Any) -> Any:
    """1 / (1 + e^-x), in place on one buffer. For very negative x, e^-x overflows
    to inf and the result is the correct limit 0; elsewhere the relative error
    stays at rounding level, since 1 + e^-x never cancels."""
    out = xp.negative(x, out=xp.empty_like(x))  # an array even for 0-d input
    xp.exp(out, out=out)
    out += 1
    return xp.reciprocal(out, out=out)


_round_half_even = _unary(
    "Round",
    "RoundBackward0",
    lambda xp, x: xp.round(x) if x.dtype.kind == "f" else x.copy(),
    None,
    None,
    floating=False,
)


class _RoundDecimals(Function):
    grad_fn_name = "RoundBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, decimals: int) -> Tensor:
        return x._new(x._backend.xp.round(x._data, decimals))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        return g * 0, None


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round to nearest, ties to even (as PyTorch); ``decimals`` rounds to that many places."""
    return _round_half_even(input) if decimals == 0 else _RoundDecimals.apply(input, decimals)


# ---- comparisons and logic: no gradients, bool results ----------------------------------------
def _compare(np_name: str) -> Callable:
    def compare(a: Any, b: Any) -> Tensor:
        d = _binary_dtype(a, b)
        backend = _backend_of(a, b)
        return Tensor._make(getattr(backend.xp, np_name)(_array(a, d), _array(b, d)), backend)

    compare.__name__ = np_name
    compare.__doc__ = f"Elementwise ``{np_name}`` comparison; returns a bool tensor."
    return compare


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (a bool tensor)."""
    d = _binary_dtype(input, other)
    backend = _backend_of(input, other)
    return Tensor._make(
        backend.xp.isclose(_array(input, d), _array(other, d), rtol=rtol, atol=atol, equal_nan=equal_nan), backend
    )


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when ``isclose`` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values."""
    return input.shape == other.shape and bool((input._data == other._data).all())


def _logical(np_name: str) -> Callable:
    def logical(a: Any, b: Any) -> Tensor:
        backend = _backend_of(a, b)
        xa = a._data if isinstance(a, Tensor) else a
        xb = b._data if isinstance(b, Tensor) else b
        return Tensor._make(getattr(backend.xp, np_name)(xa, xb), backend)

    logical.__name__ = np_name
    logical.__doc__ = f"Elementwise ``{np_name}`` of the truth values; returns a bool tensor."
    return logical


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def logical_not(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.logical_not(input._data))


def _bitwise(np_name: str, op: str) -> Callable:
    def bitwise(a: Any, b: Any) -> Tensor:
        d = _binary_dtype(a, b)
        if d.is_floating_point:
            raise RuntimeError(
                f"\"{np_name}_cpu\" not implemented for '{d.name.capitalize()}': `{op}` needs bool or integer tensors"
            )
        backend = _backend_of(a, b)
        return Tensor._make(getattr(backend.xp, np_name)(_array(a, d), _array(b, d)), backend)

    bitwise.__name__ = np_name
    return bitwise


bitwise_and = _bitwise("bitwise_and", "&")
bitwise_or = _bitwise("bitwise_or", "|")
bitwise_xor = _bitwise("bitwise_xor", "^")


def bitwise_not(input: Tensor) -> Tensor:
    if input.dtype.is_floating_point:
        raise TypeError("~ (bitwise_not) is only supported for integer and boolean tensors")
    return input._new(input._backend.xp.invert(input._data))


def isnan(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isfinite(input._data))


# ---- selection ----------------------------------------------------------------------------
class Where(Function):
    grad_fn_name = "WhereBackward0"

    @staticmethod
    def forward(ctx: Any, cond: Tensor, a: Any, b: Any) -> Tensor:
        if cond.dtype is not dt.bool:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype.name.capitalize()}"
            )
        check_same_device(cond, *(x for x in (a, b) if isinstance(x, Tensor)))
        d = _binary_dtype(a, b) if (isinstance(a, Tensor) or isinstance(b, Tensor)) else dt.result_type((), (a, b))
        layout.broadcast_shapes(*(x._data.shape for x in (cond, a, b) if isinstance(x, Tensor)))  # PyTorch's error
        ctx.save_for_backward(cond)
        backend = cond._backend
        return Tensor._make(backend.xp.where(cond._data, _array(a, d), _array(b, d)).astype(d.np, copy=False), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (cond,) = ctx.saved_tensors
        return None, _grad_if(ctx, 1, lambda: where(cond, g, 0.0)), _grad_if(ctx, 2, lambda: where(cond, 0.0, g))


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other``; ``where(cond)`` gives nonzero indices."""
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    return Where.apply(condition, input, other)


class Clamp(Function):
    grad_fn_name = "ClampBackward1"

    @staticmethod
    def forward(ctx: Any, x: Tensor, lo: Any, hi: Any) -> Tensor:
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        d = dt.result_type((x,), tuple(v for v in (lo, hi) if v is not None))
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        arr = _array(x, d)
        xp = x._backend.xp
        if lo is not None:
            arr = xp.maximum(arr, lo)
        if hi is not None:
            arr = xp.minimum(arr, hi)
        return x._new(xp.asarray(arr, dtype=d.np))

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = (x >= lo) if lo is not None else (x <= hi)
        if lo is not None and hi is not None:
            inside = inside & (x <= hi)
        return where(inside, g, 0.0), None, None


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; the gradient passes where the input is inside."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min if isinstance(min, Tensor) else full_like_scalar(input, min))
        if max is not None:
            out = minimum(out, max if isinstance(max, Tensor) else full_like_scalar(input, max))
        return out
    return Clamp.apply(input, min, max)


clip = clamp


def maximum(input: Tensor, other: Tensor) -> Tensor:
    return Maximum.apply(input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    return Minimum.apply(input, other)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere (mask broadcasts)."""
    if mask.dtype is not dt.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype.name}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)."
            )
        value = value if value.requires_grad else value.item()
    out = Where.apply(mask, value, input)
    return out if out.dtype is input.dtype else out.to(input.dtype)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``: linear interpolation (gradients by composition)."""
    return input + weight * (end - input)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (gradients by composition)."""
    return input + value * (tensor1 * tensor2)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``; integer division is refused, as in PyTorch."""
    if not (tensor1.dtype.is_floating_point or tensor2.dtype.is_floating_point):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release addcdiv will perform "
            "a true division of tensor1 and tensor2. Use (input + value * torch.true_divide(tensor1, tensor2)) instead."
        )
    return input + value * (tensor1 / tensor2)


# ---- dtype and device conversion ----------------------------------------------------------
class ToCopy(Function):
    grad_fn_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx: Any, x: Tensor, d: dt.dtype, backend: Any) -> Tensor:
        ctx.src = (x.dtype, x._backend)
        arr = x._data
        if backend is not x._backend:
            arr = backend.from_host(x._backend.to_host(arr))
        return Tensor._make(arr.astype(d.np, copy=True), backend)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Any:
        d, backend = ctx.src
        return to_copy(g, d, backend), None, None


def to_copy(x: Tensor, d: dt.dtype, backend: Any) -> Tensor:
    """A copy of ``x`` in dtype ``d`` on ``backend``'s device (differentiable)."""
    return ToCopy.apply(x, d, backend)


# ---- the functional API -----------------------------------------------------------------------
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    return Add.apply(input, other, alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    return Sub.apply(input, other, alpha)


def mul(input: Any, other: Any) -> Tensor:
    return Mul.apply(input, other)


def div(input: Any, other: Any, *, rounding_mode: Optional[str] = None) -> Tensor:
    """True division (``/``) or, with ``rounding_mode`` 'floor' or 'trunc', rounded division."""
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
        )
    return DivRounded.apply(input, other, rounding_mode)


def floor_divide(input: Any, other: Any) -> Tensor:
    return DivRounded.apply(input, other, "floor")


def remainder(input: Any, other: Any) -> Tensor:
    return Remainder.apply(input, other, True)


def fmod(input: Any, other: Any) -> Tensor:
    return Remainder.apply(input, other, False)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001
    """``input ** exponent``; either may be a tensor or a number."""
    if isinstance(exponent, Tensor) and exponent.ndim == 0 and not exponent.requires_grad and isinstance(input, Tensor):
        exponent = exponent.item()
    return Pow.apply(input, exponent)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``pow`` computed in float64."""
    a = input.double() if isinstance(input, Tensor) else float(input)
    b = exponent.double() if isinstance(exponent, Tensor) else float(exponent)
    return pow(a, b)


def true_divide(input: Any, other: Any) -> Tensor:
    return Div.apply(input, other)


def negative(input: Tensor) -> Tensor:
    return neg(input)


def absolute(input: Tensor) -> Tensor:
    return abs(input)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    return sub(other, input, alpha=alpha)


def _reversed(fn: Callable) -> Callable:
    """``2 - x`` and friends: the Python scalar stays a weak operand on the left."""

    def reflected(self: Tensor, other: Any) -> Tensor:
        if not isinstance(other, (int, float, bool)):
            return NotImplemented
        return fn(other, self)

    return reflected


def _checked(fn: Callable) -> Callable:
    """Operator form: unknown operand types return NotImplemented so Python can try the other side."""

    def op(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Tensor, int, float, bool)):
            return NotImplemented
        return fn(self, other)

    return op


def _install() -> None:
    """Attach these ops to Tensor as methods and operators."""
    T = Tensor
    T.__add__ = T.__radd__ = _checked(lambda a, b: Add.apply(a, b))
    T.__sub__ = _checked(lambda a, b: Sub.apply(a, b))
    T.__rsub__ = _reversed(lambda a, b: Sub.apply(a, b))
    T.__mul__ = T.__rmul__ = _checked(lambda a, b: Mul.apply(a, b))
    T.__truediv__ = _checked(lambda a, b: Div.apply(a, b))
    T.__rtruediv__ = _reversed(lambda a, b: Div.apply(a, b))
    T.__floordiv__ = _checked(floor_divide)
    T.__rfloordiv__ = _reversed(floor_divide)
    T.__mod__ = _checked(remainder)
    T.__rmod__ = _reversed(remainder)
    T.__pow__ = _checked(pow)
    T.__rpow__ = _reversed(pow)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__eq__ = _checked(eq)
    T.__ne__ = _checked(ne)
    T.__lt__ = _checked(lt)
    T.__le__ = _checked(le)
    T.__gt__ = _checked(gt)
    T.__ge__ = _checked(ge)
    T.__and__ = T.__rand__ = _checked(bitwise_and)
    T.__or__ = T.__ror__ = _checked(bitwise_or)
    T.__xor__ = T.__rxor__ = _checked(bitwise_xor)
    T.__invert__ = bitwise_not
    T.__hash__ = lambda self: id(self)
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "floor_divide",
        "remainder",
        "fmod",
        "pow",
        "float_power",
        "true_divide",
        "neg",
        "negative",
        "abs",
        "absolute",
        "sign",
        "sqrt",
        "rsqrt",
        "exp",
        "exp2",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "reciprocal",
        "square",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "sigmoid",
        "relu",
        "floor",
        "ceil",
        "trunc",
        "frac",
        "round",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "logical_and",
        "logical_or",
        "logical_xor",
        "logical_not",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
        "isnan",
        "isinf",
        "isfinite",
        "clamp",
        "clip",
        "maximum",
        "minimum",
        "masked_fill",
        "lerp",
        "addcmul",
        "addcdiv",
        "where",
        "isclose",
        "allclose",
        "equal",
    ):
        setattr(T, name, globals()[name])
    T.multiply, T.subtract, T.divide = mul, sub, div
    T.greater, T.greater_equal, T.less, T.less_equal, T.not_equal = gt, ge, lt, le, ne
    T.arcsin, T.arccos, T.arctan = asin, acos, atan
    T.where = lambda self, condition, other: where(condition, self, other)


_install()

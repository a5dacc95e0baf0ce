"""minitorch: a from-scratch deep-learning framework with PyTorch's API.

``import minitorch`` and write the code you would write after ``import torch``.
The pieces, in the order a reader might visit them:

* ``layout``   - shape/stride/offset arithmetic (start here);
* ``storage``, ``tensor`` - the data model;
* ``autograd`` - Function, the graph and the backward engine;
* ``ops``      - every op, one family per module;
* ``backends`` - the small contract to NumPy (CPU) and CuPy (GPU).
"""

from __future__ import annotations

from . import autograd, backends, cuda, layout  # noqa: F401
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .device import device  # noqa: F401
from .backends.cpu import get_num_threads, set_num_threads  # noqa: F401  (the C++ kernels' OpenMP threads)
from .dtypes import (  # noqa: F401
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from .layout import broadcast_shapes as _broadcast_shapes
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: F401
from .printing import set_printoptions  # noqa: F401
from .storage import Storage, UntypedStorage  # noqa: F401
from .tensor import Size, Tensor, is_tensor  # noqa: F401

from .ops import creation, pointwise, views, reduction, inplace, indexing, joining, linalg  # noqa: E402,F401  (attach Tensor methods)
from .ops.indexing import *  # noqa: E402,F401,F403
from .ops.joining import *  # noqa: E402,F401,F403
from .ops.linalg import *  # noqa: E402,F401,F403
from .ops.special import erf  # noqa: E402,F401
from .ops.creation import (  # noqa: E402,F401
    arange,
    as_tensor,
    asarray,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .ops.pointwise import (  # noqa: E402,F401
    abs,
    absolute,
    acos,
    allclose,
    add,
    asin,
    atan,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    clamp,
    clip,
    cos,
    cosh,
    div,
    eq,
    equal,
    exp,
    exp2,
    expm1,
    float_power,
    floor,
    floor_divide,
    fmod,
    frac,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    addcmul,
    addcdiv,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    negative,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    rsub,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from .ops.reduction import (  # noqa: E402,F401
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    count_nonzero,
    cumprod,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    msort,
    nansum,
    norm,
    prod,
    softmax,
    sort,
    std,
    std_mean,
    sum,
    topk,
    var,
    var_mean,
)
from .ops.views import (  # noqa: E402,F401
    as_strided,
    broadcast_tensors,
    broadcast_to,
    chunk,
    clone,
    diagonal,
    flatten,
    movedim,
    moveaxis,
    narrow,
    permute,
    reshape,
    select,
    split,
    squeeze,
    swapaxes,
    swapdims,
    t,
    tensor_split,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
)

multiply, subtract, divide = mul, sub, div
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
arcsin, arccos, arctan = asin, acos, atan
return_types = reduction.return_types


def broadcast_shapes(*shapes):  # noqa: ANN001,ANN201
    """The shape that tensors of these shapes broadcast to."""
    return Size(_broadcast_shapes(*shapes))


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def result_type(tensor1, tensor2):  # noqa: ANN001,ANN201
    """The dtype an arithmetic op on these two operands would produce."""
    from .dtypes import result_type as _rt

    ts = [x for x in (tensor1, tensor2) if isinstance(x, Tensor)]
    ss = [x for x in (tensor1, tensor2) if not isinstance(x, Tensor)]
    return _rt(ts, ss)


def promote_types(type1: dtype, type2: dtype) -> dtype:
    from .dtypes import _promote_two

    return _promote_two(type1, type2)


def is_storage(obj) -> bool:  # noqa: ANN001
    return isinstance(obj, (Storage, UntypedStorage))


__version__ = "0.1.0"

from . import nn, optim, utils  # noqa: E402,F401  (after the ops: layers use Tensor methods)
from .serialization import load, save  # noqa: E402,F401

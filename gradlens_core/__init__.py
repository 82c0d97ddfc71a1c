"""gradlens_core: an autograd engine on numpy with PyTorch's semantics and event hooks.

``import gradlens_core as torch`` runs ordinary PyTorch programs of the supported subset
and prints what PyTorch prints; every node creation, alias, in-place edit and backward
pass is reported to listeners (see :func:`subscribe`).

>>> import gradlens_core as torch
>>> a = torch.tensor([1., 2., 3.], requires_grad=True)
>>> out = a.sigmoid()
>>> out.sum().backward()
>>> a.grad
tensor([0.1966, 0.1050, 0.0452])
"""

from __future__ import annotations

from . import _methods, _out, _warn
from ._arrange import diag, roll, tile, tril, triu
from ._cumulative import cumprod, cumsum, flip
from ._dtype import (
    bool_ as bool,
)
from ._dtype import (
    dtype,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    uint8,
)
from ._events import subscribe
from ._factories import (
    Generator,
    arange,
    as_tensor,
    bernoulli,
    default_generator,
    device,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    initial_seed,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from ._grad_mode import (
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ._handles import RemovableHandle
from ._logic import all, any, argwhere, masked_select, nonzero
from ._math_ops import addcdiv, addcmul, cross, erf, expm1, hypot, logsumexp
from ._ops import (
    abs,
    absolute,
    add,
    addmm,
    allclose,
    amax,
    amin,
    arctan2,
    argmax,
    argmin,
    argsort,
    atan2,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    bmm,
    cat,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    clone,
    concat,
    cos,
    div,
    divide,
    dot,
    eq,
    equal,
    exp,
    floor,
    floor_divide,
    fmod,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    less,
    less_equal,
    log,
    log1p,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    lt,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    multiply,
    mv,
    ne,
    neg,
    norm,
    outer,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    round,
    rsub,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    sqrt,
    square,
    stack,
    std,
    sub,
    subtract,
    sum,
    tanh,
    topk,
    true_divide,
    trunc,
    var,
    where,
)
from ._order_stats import kthvalue, median
from ._str import set_printoptions
from ._tensor import Size, Tensor
from ._views import (
    chunk,
    flatten,
    index_select,
    narrow,
    permute,
    select,
    split,
    squeeze,
    t,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
)
from ._views import (
    torch_reshape as reshape,
)
from ._warn import is_warn_always_enabled, set_warn_always

_methods.install()
_out.install(globals())  # out= for the torch.* functions that take it (_out.OUT)

_warn.silence_numpy_float_warnings()

from . import autograd, linalg, nn, optim  # noqa: E402  (they use the installed Tensor methods)

__version__ = "0.1.0"

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
cfloat = None
strided = "torch.strided"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def detach(input: Tensor) -> Tensor:
    return input.detach()


def get_default_dtype() -> dtype:
    from . import _dtype

    return _dtype.default_float


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def result_type(a, b) -> dtype:
    from . import _dtype

    return _dtype.result_type(a, b)


class _Cuda:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0


cuda = _Cuda()

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

from . import _argparse, _arrange, _composite_ops, _math_ops, _methods, _more_functions, _ops, _out, _views, _warn
from ._arrange import diag, diagonal, meshgrid, roll, tril, triu
from ._composite_ops import (
    block_diag,
    bucketize,
    cartesian_prod,
    combinations,
    histc,
    msort,
    renorm,
    searchsorted,
    trapezoid,
    trapz,
)
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
from ._einsum import einsum
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
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ._handles import RemovableHandle
from ._index_ops import index_copy, index_fill, masked_scatter, put, take
from ._logic import all, any, argwhere, masked_select, nonzero
from ._math_ops import addcdiv, addcmul, cross, erf, expm1, hypot, logsumexp
from ._more_functions import *  # noqa: F403  (its __all__: torch functions and legacy types)
from ._ops import (
    abs,
    absolute,
    add,
    addmm,
    allclose,
    amax,
    amin,
    arctan,
    arctan2,
    argmax,
    argmin,
    argsort,
    atan,
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
    fill,
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
    log2,
    log10,
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
    rsqrt,
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
from ._sampling import multinomial
from ._scatter import gather, index_add, scatter, scatter_add
from ._str import set_printoptions
from ._tensor import Size, Tensor
from ._unique import bincount
from ._unique import torch_unique as unique
from ._views import (
    torch_reshape as reshape,
)
from ._warn import is_warn_always_enabled, set_warn_always

_methods.install()
_composite_ops.install()

_warn.silence_numpy_float_warnings()

from . import autograd, linalg, nn, optim, serialization, utils  # noqa: E402
from .serialization import load, save  # noqa: E402  (they use the installed Tensor methods)

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
    """The default float dtype (``set_default_dtype``'s)."""
    from . import _dtype

    return _dtype.default_float


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def result_type(a, b) -> dtype:
    from . import _dtype

    return _dtype.result_type(a, b)


# torch's functions of in-place ops: the Tensor methods, their parser errors naming a function
# (and their tensor ``input``)
clamp_min_ = _argparse.entry(_ops.clamp_min_, "clamp_min_", False)
clamp_max_ = _argparse.entry(_ops.clamp_max_, "clamp_max_", False)
fill_ = _argparse.entry(_ops.fill_, "fill_", False)
clamp_ = _argparse.entry(_ops.clamp_, "clamp_", False)
clip_ = _argparse.entry(_ops.clamp_, "clip_", False)
round_ = _argparse.entry(_ops.round_, "round_", False)
index_put_ = _argparse.entry(_methods.index_put_, "index_put_", False)
abs_ = _argparse.entry(_ops.abs_, "abs_", False)
ceil_ = _argparse.entry(_ops.ceil_, "ceil_", False)
cos_ = _argparse.entry(_ops.cos_, "cos_", False)
erf_ = _argparse.entry(_math_ops.erf_, "erf_", False)
exp_ = _argparse.entry(_ops.exp_, "exp_", False)
expm1_ = _argparse.entry(_math_ops.expm1_, "expm1_", False)
floor_ = _argparse.entry(_ops.floor_, "floor_", False)
log_ = _argparse.entry(_ops.log_, "log_", False)
neg_ = _argparse.entry(_ops.neg_, "neg_", False)
relu_ = _argparse.entry(_ops.relu_, "relu_", False)
sigmoid_ = _argparse.entry(_ops.sigmoid_, "sigmoid_", False)
sin_ = _argparse.entry(_ops.sin_, "sin_", False)
log2_ = _argparse.entry(_ops.log2_, "log2_", False)
log10_ = _argparse.entry(_ops.log10_, "log10_", False)
atan_ = _argparse.entry(_ops.atan_, "atan_", False)
arctan_ = _argparse.entry(_ops.atan_, "arctan_", False)
rsqrt_ = _argparse.entry(_ops.rsqrt_, "rsqrt_", False)
sqrt_ = _argparse.entry(_ops.sqrt_, "sqrt_", False)
tanh_ = _argparse.entry(_ops.tanh_, "tanh_", False)
zero_ = _argparse.entry(_ops.zero_, "zero_", False)


globals().update(_more_functions.FUNCTION_FORMS)  # (sinh_, frac_, square_, ...)


# torch's functions of the views: their tensor is ``input``
chunk = _argparse.entry(_views.chunk, "chunk", False)
flatten = _argparse.entry(_views.flatten, "flatten", False)
index_select = _argparse.entry(_views.index_select, "index_select", False)
narrow = _argparse.entry(_views.narrow, "narrow", False)
select = _argparse.entry(_views.select, "select", False)
squeeze = _argparse.entry(_views.squeeze, "squeeze", False)
t = _argparse.entry(_views.t, "t", False)
transpose = _argparse.entry(_views.transpose, "transpose", False)
unbind = _argparse.entry(_views.unbind, "unbind", False)
unflatten = _argparse.entry(_views.unflatten, "unflatten", False)
unsqueeze = _argparse.entry(_views.unsqueeze, "unsqueeze", False)


def permute(input=_argparse.MISSING, dims=_argparse.MISSING, *extra, **unknown) -> Tensor:
    """``torch.permute(input, dims)``: the dims are one argument (the method takes them as ints too)."""
    if extra or unknown or not isinstance(dims, (tuple, list)):
        _argparse.refuse_extra(("permute", False), (input, dims), extra, unknown)
    return _views.permute(input, dims)


def movedim(input=_argparse.MISSING, source=_argparse.MISSING, destination=_argparse.MISSING, *extra, **unknown):
    """``torch.movedim(input, source, destination)`` (see ``Tensor.movedim``)."""
    if extra or unknown or _argparse.MISSING in (input, source, destination):
        _argparse.refuse_extra(("movedim", False), (input, source, destination), extra, unknown)
    return _views.movedim(input, source, destination)


def moveaxis(input=_argparse.MISSING, source=_argparse.MISSING, destination=_argparse.MISSING, *extra, **unknown):
    """``torch.moveaxis``: ``torch.movedim`` under numpy's name."""
    if extra or unknown or _argparse.MISSING in (input, source, destination):
        _argparse.refuse_extra(("moveaxis", False), (input, source, destination), extra, unknown)
    return _views.movedim(input, source, destination)


def tile(input=_argparse.MISSING, dims=_argparse.MISSING, *extra, **unknown) -> Tensor:
    """``torch.tile(input, dims)``: the dims are one argument (the method takes them as ints too)."""
    if extra or unknown or not isinstance(dims, (tuple, list)):
        _argparse.refuse_extra(("tile", False), (input, dims), extra, unknown)
    return _arrange.tile(input, dims)


def split(tensor, split_size_or_sections, dim=0):  # noqa: F811 - torch.split's keyword names
    """``torch.split``: a Python function of torch's, ``tensor.split(split_size_or_sections, dim)``."""
    return tensor.split(split_size_or_sections, dim)


def detach_(input=_argparse.MISSING, *extra, **unknown) -> Tensor:
    """``torch.detach_(x)``: ``x.detach_()``."""
    if extra or unknown or not isinstance(input, Tensor):
        _argparse.refuse_extra(("detach_", False), (input,), extra, unknown)
    return input.detach_()


class _Cuda:
    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0


cuda = _Cuda()

# out= for the torch.* functions that take it (_out.OUT), once all of them are defined
_out.install(globals())

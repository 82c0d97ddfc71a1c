"""Differentiable and non-differentiable ops, with PyTorch's node names and saved tensors.

Each op computes its value with numpy and records a node whose class carries the
derivative formula (``fn(node, grad, ns)``, see ``_ns``). What a node saves follows
PyTorch's ``tools/autograd/derivatives.yaml``: it decides which in-place edits break
backward, so it is part of the observable behaviour.

>>> import gradlens_core as torch
>>> x = torch.tensor([1., 2.], requires_grad=True)
>>> (x * x).grad_fn
<MulBackward0 ...>
"""

from __future__ import annotations

import builtins
import math
import numbers
import sys
import threading
import warnings

import numpy as np

from . import _dtype, _events, _ns, _reduce, _stl, _warn
from ._argparse import (
    MISSING,
    NotATensor,
    call_keywords,
    entry,
    parser_error,
    refuse,
    refuse_extra,
    refuse_given,
    warn_deprecated,
)
from ._autograd import NotImplementedNode, backward_formula, node_class, non_overlapping_and_dense
from ._layout import (
    apply_in_iteration_order,
    empty_preserving,
    in_operands_layout,
    preserved_copy,
    reduce_all_winner,
    reduction_tie_keys,
    vectorized_lanes,
    write_before_first,
)
from ._tensor import (
    Tensor,
    _make_node,
    autograd_first,
    check_inplace,
    check_internal_overlap,
    finish_inplace,
    int_arg,
    kernel_not_implemented,
    mark_original_self,
    needs_grad,
    record,
    refuse_stale_view,
    stale_views_first,
    symint_arg,
)

_ndarray = np.ndarray
_wrap = Tensor._wrap
_in_builtin_formula = _ns.in_builtin_formula


def _arr(x) -> np.ndarray:
    return x if type(x) is _ndarray else np.asarray(x)


def _is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, Tensor)


def scalar_first_or_refused(call, again, args, extra, unknown, name, value, default):
    """An op's arguments past its parameters (``*extra``, ``**unknown``): PyTorch's deprecated
    overload with the Scalar first (``add_(alpha, other)``, ``addcmul(input, value, t1, t2)``)
    runs ``again`` with the Scalar as ``name``, after PyTorch's warning; any other call gets the
    parser's refusal."""
    first, scalar, *rest = args
    if len(extra) == 1 and not unknown and _is_scalar(scalar):
        warn_deprecated(call)
        return again(first, *rest, extra[0], _call=call, **{name: scalar})
    refuse_extra(call, args, extra, unknown, **{name: (value, default)})


def _check_number(x) -> None:
    """Refuse what PyTorch's parser takes for no Number (None, a string, a list; the op then
    replays the parser for its text)."""
    if not _is_scalar(x):
        raise TypeError(f"argument must be Number, not {type(x).__name__}")


def _check_numbers(*values) -> None:
    """``_check_number`` for each of ``values`` that is not a tensor; a Python int or float
    passes at the cost of a class test (these checks sit on ops' fast paths)."""
    for x in values:
        if x.__class__ is not float and x.__class__ is not int and not isinstance(x, Tensor):
            _check_number(x)


def _check_bounds(min, max) -> None:
    """``_check_numbers`` for clamp's bounds, None meaning absent."""
    if min is not None:
        _check_numbers(min)
    if max is not None:
        _check_numbers(max)


def _number_as_tensor(x, other=None) -> Tensor:
    """A number where a binary op takes a tensor (PyTorch wraps it: the result has the dtype of
    a tensor ``other``, as far as the number's category allows); anything else is refused."""
    if not _is_scalar(x):
        raise NotATensor(x)
    return as_tensor_arg(x, other if isinstance(other, Tensor) else None)


def as_tensor_arg(x, like: Tensor | None = None) -> Tensor:
    """Turn a non-tensor operand (a list, an array) into a tensor."""
    if isinstance(x, Tensor):
        return x
    from ._factories import tensor

    if isinstance(x, np.generic):  # PyTorch reads a numpy scalar as a Python number
        x = int(x) if isinstance(x, np.integer) else float(x) if x.dtype.kind in "fb" else x
    if like is not None and isinstance(x, (int, float)):
        # a wrapped number: the result's dtype is the other operand's (a 0-d one too)
        dt = _dtype.result_type(like, x)
        try:
            return tensor(x, dtype=dt)
        except OverflowError:  # wraps around, as in C (beyond [-2**63, 2**64) the parser refuses it)
            return tensor(np.asarray(_dtype.parsed_number(x)).astype(dt.np))
    return tensor(x)


def tensor_list(tensors) -> list:
    """A ``Tensor[]`` argument (cat's, stack's): a list or tuple of tensors, nothing else (not a
    list, a number or a numpy array among them). Raises for the parser's replay to name it."""
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise NotATensor("expected a list of tensors")
    return list(tensors)


def _cast(x, dt: _dtype.dtype):
    """Values of operand ``x`` (tensor or Python scalar) in dtype ``dt``."""
    if isinstance(x, Tensor):
        d = x._data
        return d if d.dtype == dt.np else d.astype(dt.np)
    return x


def _operands(a, b):
    """(array_a, array_or_scalar_b, dtype) of a binary op under PyTorch's promotion."""
    if isinstance(b, Tensor):
        da, db = a._data, b._data
        if da.dtype == db.dtype:
            return da, db, None
    elif type(b) is float and a._data.dtype.kind == "f":
        return a._data, b, None
    elif not _is_scalar(b):
        raise NotATensor(b)  # PyTorch's parser refuses it (see _argparse)
    dt = _dtype.result_type(a, b)
    db = _cast(b, dt)
    if not isinstance(db, _ndarray):
        try:
            db = dt.np.type(db)
        except OverflowError:  # an integer out of the dtype's range wraps around, as in C
            db = np.asarray(_dtype.parsed_number(db)).astype(dt.np)[()]
    return _cast(a, dt), db, dt


def broadcast_error(sa, sb) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast."""
    n = builtins.max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + tuple(sa)
    pb = (1,) * (n - len(sb)) + tuple(sb)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at non-singleton dimension {i}"
            )
    return RuntimeError(f"shapes {list(sa)} and {list(sb)} cannot be broadcast")


def check_pairs_broadcast(shapes) -> None:
    """Raise PyTorch's error for ``shapes`` that do not broadcast (an op of three operands):
    TensorIterator broadcasts them in order, so tensor a is the shape of those before.

    For ``where(ones(3) > 0, ones(2, 3), ones(2))``: (3,) and (2, 3) give (2, 3), which does
    not match (2,) at dim 1."""
    shape = tuple(shapes[0])
    for other in shapes[1:]:
        try:
            shape = np.broadcast_shapes(shape, other)
        except ValueError:
            raise broadcast_error(shape, other) from None


def _shape_of(x):
    return x.shape if isinstance(x, (Tensor, _ndarray)) else ()


def _compute(fn, a, b, inputs=()):
    """``fn(a, b)``, laid out as TensorIterator lays it out; shapes that do not broadcast get
    PyTorch's error, after a stale no_grad view among the differentiable op's ``inputs``
    refuses (PyTorch's autograd layer runs before the kernel)."""
    try:
        res = fn(a, b)
    except ValueError:
        pass
    else:
        if res.__class__ is _ndarray and res.ndim > 1:
            return in_operands_layout(res, a, b)
        return res
    for x in inputs:
        refuse_stale_view(x)
    raise broadcast_error(_shape_of(a), _shape_of(b))


def _float_data(x: Tensor) -> np.ndarray:
    d = x._data
    return d if d.dtype.kind == "f" else d.astype(_dtype.default_float.np)


# ============================================================================ arithmetic


@backward_formula("AddBackward0")
def _add_bw(node, g, ns):
    alpha = node._ctx
    return g, (g if alpha == 1 else g * alpha)


@backward_formula("SubBackward0")
def _sub_bw(node, g, ns):
    alpha = node._ctx
    return g, (-g if alpha == 1 else -g * alpha)


@backward_formula("RsubBackward1")
def _rsub_bw(node, g, ns):
    return (-g if node._ctx == 1 else -g * node._ctx,)


@backward_formula("MulBackward0")
def _mul_bw(node, g, ns):
    # saved: (other, self) -- each operand's grad needs the other one. PyTorch's generated
    # formulas compute the inputs' grads in the alphabetical order of their names (here
    # other, then self): under create_graph that orders the nodes, whose sequence numbers
    # order the next backward pass (and so which term of a sum comes first)
    ga = gb = None
    if node.needs(1):
        operand = _saved_operand_value(node, 1, g, ns)
        gb = g * operand
        if g.ndim > 1:  # (a 1-d result has one layout)
            gb = ns.grad_layout(gb, g, operand)
    if node.needs(0):
        other = _saved_operand_value(node, 0, g, ns)
        ga = g * other
        if g.ndim > 1:
            ga = ns.grad_layout(ga, g, other)
    return ga, gb


@backward_formula("DotBackward0")
def _dot_bw(node, g, ns):
    """derivatives.yaml: self: grad * tensor.conj(), tensor: grad * self.conj() (self's first:
    the alphabetical order, see _mul_bw). Saved: (tensor, self)."""
    ga = g * _saved_operand_value(node, 0, g, ns) if node.needs(0) else None
    gb = g * _saved_operand_value(node, 1, g, ns) if node.needs(1) else None
    return ga, gb


def _saved_operand_value(node, i, g, ns):
    """Saved operand ``i`` of mul/div. PyTorch saves a Python number operand as a wrapped-number
    tensor, so its formula's ``grad * other`` is the Tensor overload (MulBackward0, an empty
    edge): under create_graph the number is that 0-d tensor (``SavedTensor.wrapped_number``:
    int64 for an int, whose product with a float grad keeps the grad's dtype, as a 0-d tensor
    of the same category does). A complex number is made a tensor of the grad's dtype (a
    wrapped number does not promote, a complex128 tensor would)."""
    value = node.saved_value(i, ns)
    if ns.records_graph and not isinstance(value, Tensor):
        if _is_scalar(value) and not isinstance(value, complex):
            return node._held[i].wrapped_number()
        return _wrap(np.asarray(value, dtype=g._data.dtype))
    return value


@backward_formula("DivBackward0")
def _div_bw(node, g, ns):
    # other's grad first (the alphabetical order, see _mul_bw), then self's
    other = _saved_operand_value(node, 0, g, ns)
    gb = None
    if node.needs(1):
        # -grad * ((self / other) / other): C++ (GCC) evaluates an operator's right operand
        # first, so the quotients are made (and numbered) before the negation
        quotient = (node.saved_value(1, ns) / other) / other
        gb = -g * quotient
    ga = g / other if node.needs(0) else None
    if g.ndim > 1:  # (a 1-d result has one layout)
        ga = ns.grad_layout(ga, g, other)
        gb = ns.grad_layout(gb, g, other)
    return ga, gb


@backward_formula("NegBackward0")
def _neg_bw(node, g, ns):
    return (-g,)


@backward_formula("ReciprocalBackward0")
def _reciprocal_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (-g * (r * r),)  # derivatives.yaml: -grad * (result * result).conj()


# pow's formulas as FunctionsManual.cpp's pow_backward*: where() picks zeros where x ** (e - 1)
# or log(x) is inf or nan, so numpy is silenced there.


@backward_formula("PowBackward0")
def _pow_scalar_bw(node, g, ns):
    x, e = node.unpack(ns)
    if e == 0:
        return (ns.zeros_like(g),)
    if not isinstance(e, complex):
        e = float(e)  # pow_backward's exponent.toDouble(): the Scalars of its graph are doubles
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ns.grad_layout(g * (e * x ** (e - 1)), g, x),)  # grad * (exp * self.pow(exp - 1)), exp a Scalar


@backward_formula("PowBackward1")
def _pow_tensor_bw(node, g, ns):
    x, e, r = node.unpack(ns)
    if node.needs(0) and not ns.records_graph:
        _check_bool_sub(_wrap(e), 1)  # pow_backward_self's ``exponent - 1`` refuses a bool exponent
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # exponent's grad first (the alphabetical order, see _mul_bw)
        gb = (
            g * ns.where((x == 0) & (e >= 0), ns.zeros_like(r), r * ns.log(ns.cast_like(x, r)))
            if node.needs(1)
            else None
        )
        ga = ns.where(e == 0.0, ns.zeros_like(g), g * (e * x ** (e - 1))) if node.needs(0) else None
    return ga, gb


@backward_formula("PowBackward2")
def _pow_rscalar_bw(node, g, ns):
    base, e, r = node.unpack(ns)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = r * float(np.log(base))  # (result * base.log()): the log of a Scalar is a Scalar
        if base == 0:  # 0 ** e is 0 or 1 for e >= 0: no gradient there (not 0 * -inf)
            scaled = ns.where(e >= 0, ns.zeros_like(r), scaled)
        return (g * scaled,)


def _add_like(a, b, alpha, np_fn, node_cls, op):
    if not isinstance(a, Tensor):
        a = _number_as_tensor(a, b)
    da, db, _ = _operands(a, b)
    if not _alpha_is_one(alpha):
        _check_broadcast(da, db)  # TensorIterator's shapes come before add's alpha check
        fused = _alpha_kernel(np_fn, alpha, da.dtype)
        np_fn, db = (fused, db) if fused else (np_fn, _scaled(db, alpha, da.dtype, np_fn is np.subtract))
    out = _wrap(_arr(_compute(np_fn, da, db, (a, b))))
    if _in_builtin_formula[0] and _is_scalar(b):
        return record(out, _SCALAR_OVERLOADS[node_cls], (a,), ctx=alpha, op=op)
    return record(out, node_cls, (a, b), ctx=alpha, op=op)


# ---------------------------------------------------------------- Scalar overloads (C++ formulas)
# Under create_graph a built-in formula's ``t + 2`` is ATen's add.Scalar (AddBackward1, one
# edge), ``t * 2`` mul.Scalar (MulBackward1) ..., see ``_ns.in_builtin_formula``.


def _scalar_grad_bw(node, g, ns):
    return (g,)  # add.Scalar / sub.Scalar: handle_r_to_c(self.scalar_type(), grad)


def _scaled_by_scalar(input, scalar, op):
    """``input * scalar`` or ``input / scalar`` as ATen's mul.Scalar / div.Scalar (MulBackward1 /
    DivBackward1), or None when no node is recorded (the plain op is then the same)."""
    if not (_in_builtin_formula[0] and _is_scalar(scalar) and isinstance(input, Tensor) and input.requires_grad):
        return None
    from .nn import _loss_ops  # owns mul.Scalar / div.Scalar (also used by cross_entropy)

    return _loss_ops.mul_scalar(input, scalar) if op == "mul" else _loss_ops.div_scalar(input, scalar)


def _scalar_minus_tensor(scalar, t):
    """C++ ``scalar - t`` in a formula: ``empty_like(t).fill_(scalar).sub_(t)``, an in-place
    SubBackward0 whose first edge is empty, at version 2."""
    filled = _wrap(np.full_like(t._data, scalar))
    filled._version_counter[0] = 1  # fill_
    return sub_(filled, t)


_AddBackward0 = node_class("AddBackward0")
_SubBackward0 = node_class("SubBackward0")
_MulBackward0 = node_class("MulBackward0")
_DivBackward0 = node_class("DivBackward0")
_SCALAR_OVERLOADS = {
    _AddBackward0: node_class("AddBackward1", _scalar_grad_bw),
    _SubBackward0: node_class("SubBackward1", _scalar_grad_bw),
}


def _alpha_is_one(alpha) -> bool:
    # a float 1.0 or True is still checked against the dtype
    return type(alpha) is int and alpha == 1


def _check_broadcast(a, b) -> None:
    try:
        np.broadcast_shapes(_shape_of(a), _shape_of(b))
    except ValueError:
        raise broadcast_error(_shape_of(a), _shape_of(b)) from None


def _scaled(values, alpha, dtype, subtracted=False):
    """``alpha * values`` as PyTorch's add/sub apply it (ATen's alpha_check: a bool alpha only for
    bool results, no float alpha for integer tensors); a number alpha is read as ``dtype`` and
    refused out of its range. ``subtracted``: sub's, which ATen computes as add with ``-alpha``
    (negated as C++ negates an int64, wrapping): ``-(values * -alpha)``, for the caller to subtract.
    """
    if not _is_scalar(alpha) and not isinstance(alpha, Tensor):
        raise NotATensor(alpha)
    alpha = _dtype.parsed_number(alpha)
    if isinstance(alpha, bool) and dtype.kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if dtype.kind in "iub" and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if dtype.kind == "b":
        return values & bool(alpha) if isinstance(values, _ndarray) else (values and bool(alpha))
    dt = _dtype.from_numpy_dtype(dtype)
    if not subtracted:
        return values * _dtype.checked_scalar(alpha, dt)
    with np.errstate(over="ignore"):
        return -(values * _dtype.checked_scalar(_negated(alpha), dt))


def _negated(alpha):
    """sub's ``-alpha`` as ATen computes it: an integer in int64, wrapping (-(-2**63) is -2**63)."""
    if isinstance(alpha, numbers.Integral):
        return (2**63 - int(alpha)) % 2**64 - 2**63
    return -alpha


def _alpha_kernel(np_fn, alpha, dtype):
    """``(a, b) -> np_fn(a, alpha * b)`` as ATen's add kernel computes it for a floating dtype:
    ``vec::fmadd(b, alpha, a)``, one rounding (BinaryOpsKernel.cpp add_clamp_kernel / the
    ufunc add_kernel; the scalar tail is fused too: GCC contracts ``a + alpha * b``). sub is
    add with ``-alpha``. None for other dtypes (integers: exact or wrapping; float16 rounds
    differently, its kernel left as it was).

    >>> float(_alpha_kernel(np.add, -0.03, np.dtype(np.float32))(np.float32(0.36), np.float32(-2.93)))
    0.44790002703666687
    """
    if dtype != np.float32 and dtype != np.float64:
        return None
    _scaled(dtype.type(0), alpha, dtype, np_fn is np.subtract)  # (its checks)
    if isinstance(alpha, Tensor):
        alpha = alpha.item()
    alpha = float(_negated(alpha) if np_fn is np.subtract else alpha)

    def kernel(a, b):
        res = np.asarray(fma(b, alpha, a, dtype))
        if not res.ndim:
            return res
        # TensorIterator's inner loop runs along a's fastest dim (column-major a: the first)
        fortran = res.ndim > 1 and np.ndim(a) == res.ndim and a.flags.f_contiguous and not a.flags.c_contiguous
        inner = 0 if fortran else -1
        b_shape = (1,) * (res.ndim - np.ndim(b)) + np.shape(b)
        # other constant along the inner loop: GCC hoisted ``alpha * b`` out of the scalar
        # tail's vectorized loop (measured: unfused there, see _hoisted_tail); a one-element
        # other over a dense self is one run (TensorIterator coalesces the dims)
        dense = np.ndim(a) == res.ndim and (a.flags.c_contiguous or a.flags.f_contiguous)
        run = res.size if np.size(b) == 1 and dense else res.shape[inner] if b_shape[inner] == 1 else 1
        if run > 1:
            tail = _hoisted_tail(res.size, run, dtype)
            if tail is not None:
                unfused = np.asarray(a, dtype) + np.asarray(dtype.type(alpha) * np.asarray(b, dtype), dtype)
                tail = tail.reshape(res.shape, order="F" if fortran else "C")
                res = np.where(tail, np.broadcast_to(unfused, res.shape), res)
        return res

    return kernel


def _hoisted_tail(size, run, dtype):
    """Where ATen's add kernel rounds ``a + alpha * b`` twice for a ``b`` constant along runs of
    ``run`` elements (flat positions of ``size``; None if nowhere): each run is done in vectors
    of 16 floats (8 doubles, AVX512) by ``vec::fmadd``; of the ``r`` left, the first is fused,
    then GCC's 128-bit vectorized epilogue (4 floats / 2 doubles at a time) is not, the rest
    is. Measured on torch 2.13's AVX512 build."""
    vec, width = (16, 4) if dtype == np.float32 else (8, 2)
    r = run % vec
    unfused = width * ((r - 1) // width) if r else 0
    if not unfused:
        return None
    j = np.arange(size) % run - (run - r)  # the position in the tail
    return (j >= 1) & (j <= unfused)


def fma(x, y, z, dtype=None):
    """``x * y + z`` rounded once in ``dtype`` (by default ``x``'s and ``z``'s), as a fused
    multiply-add (the kernels' ``vec::fmadd``); ``y`` is a number (a Scalar cast to dtype)
    or an array; float16 as ATen's opmath computes it: in float32, then rounded.

    float32: the product of two floats is exact in float64, and the float64 sum rounded to odd
    then to float32 is the correctly rounded sum (53 >= 24 + 2 bits). float64: Boldo and
    Melquiond's emulation (an exact product by Veltkamp's split, TwoSum, a sum rounded to odd).

    >>> float(fma(np.float32(0.1), np.float32(10), np.float32(-1)))  # unfused: 0.0
    1.4901161193847656e-08
    """
    dtype = np.result_type(x, z) if dtype is None else dtype
    x, y, z = (np.asarray(v, dtype=np.float64 if dtype == np.float64 else np.float32) for v in (x, y, z))
    kernel, chunk = (_fma64, _FMA64_CHUNK) if dtype == np.float64 else (_fma32, _FMA_CHUNK)
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    size = math.prod(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if size <= chunk:
            return kernel(x, y, z).astype(dtype, copy=False)
        # in blocks of rows: the float64 temporaries stay bounded (float32: in scratch arrays)
        x, y, z = (np.broadcast_to(v, shape) for v in (x, y, z))
        out = np.empty(shape, dtype)
        rows = builtins.max(1, chunk // (size // shape[0]))
        for i in range(0, shape[0], rows):
            block = (x[i : i + rows], y[i : i + rows], z[i : i + rows])
            if kernel is _fma32:
                _fma32(*block, out=out[i : i + rows])
            else:
                out[i : i + rows] = kernel(*block)
        return out


_FMA_CHUNK = 262144  # elements per block: float32 works in per-thread scratch arrays of this size (_fma_scratch)
_FMA64_CHUNK = 15000  # float64's temporaries: under glibc's 128 KiB mmap threshold (no fresh pages)


def _fma32(x, y, z, out=None):
    """float32 ``x * y + z`` rounded once, into ``out`` if given (see ``fma``)."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
    n = math.prod(shape)
    wide, low, flags = (a[:n] for a in _fma_scratch(n))
    s = wide.reshape(shape)
    np.multiply(x, y, out=s, dtype=np.float64)  # exact
    np.add(s, z, out=s)
    bits = wide.view(np.uint64)
    # rounding s to float32 can only differ from rounding the exact sum where s is a float32 tie
    # (or in float32's subnormal range, where the ties sit elsewhere) and inexact
    np.bitwise_and(bits, 0x1FFFFFFF, out=low)
    ties = np.count_nonzero(np.equal(low, 0x10000000, out=flags))
    np.bitwise_and(bits, 0x7FF0000000000000, out=low)  # the exponent: below float32's normal range?
    tiny = np.count_nonzero(np.less(low, (1023 - 125) << 52, out=flags))
    if ties or (tiny and tiny > np.count_nonzero(s == 0)):
        s = _round_to_odd(s.copy(), np.multiply(x, y, dtype=np.float64), z)
    if out is None:
        return s.astype(np.float32)
    out[...] = s
    return out


_FMA_SCRATCH = threading.local()


def _fma_scratch(n: int) -> tuple:
    """Per-thread scratch arrays (float64, uint64, bool) of at least ``n`` elements for
    ``_fma32``: fresh arrays of this size would cost their page faults on every call."""
    have = getattr(_FMA_SCRATCH, "arrays", None)
    if have is None or have[0].size < n:
        have = _FMA_SCRATCH.arrays = (np.empty(n, np.float64), np.empty(n, np.uint64), np.empty(n, np.bool_))
    return have


def _round_to_odd(s, a, b):
    """``s = a + b`` (rounded to nearest) rounded to odd instead: an inexact sum becomes the
    neighbour with an odd last bit on the side of the exact value (TwoSum gives the error):
    on the bits, step toward zero if the exact value is nearer zero, then set the last bit."""
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    inexact = err != 0
    toward_zero = inexact & (np.signbit(err) != np.signbit(s))
    bits = np.asarray(s).view(np.int64) - toward_zero
    return (bits | inexact).view(np.float64)


def _fma64(x, y, z):
    def split(v):  # Veltkamp: v = hi + lo, each half fits 26 bits, so products are exact
        t = v * 134217729.0
        hi = t - (t - v)
        return hi, v - hi

    p = x * y
    (xh, xl), (yh, yl) = split(x), split(y)
    pe = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl  # x * y == p + pe (barring underflow)
    s = np.asarray(z + p)
    bb = s - z
    se = (z - (s - bb)) + (p - bb)  # z + p == s + se
    r = s + _round_to_odd(se + pe, se, pe)
    return np.where(np.isfinite(r), r, p + z)  # overflowing splits: the unfused value


# The public binary ops hand a failed call to PyTorch's argument parser (``_argparse.refuse``):
# a wrong argument type gets the parser's TypeError, which PyTorch raises before the op runs.
# ``_call`` names the call for it (``_argparse.entry``); the fast path pays nothing.


def add(input=MISSING, other=MISSING, *extra, alpha=1, _call=("add", False)):
    """``input + alpha * other`` (AddBackward0; saves nothing)."""
    if extra:
        return _alpha_first(add, input, other, extra, _call)
    try:
        return _add_like(input, other, alpha, np.add, _AddBackward0, "add")
    except Exception:
        refuse(_call, (input, other), alpha=(alpha, 1))
        raise


def sub(input=MISSING, other=MISSING, *extra, alpha=1, _call=("sub", False)):
    """``input - alpha * other`` (SubBackward0; saves nothing)."""
    if extra:
        return _alpha_first(sub, input, other, extra, _call)
    try:
        _check_bool_sub(input, other)
        return _add_like(input, other, alpha, np.subtract, _SubBackward0, "sub")
    except Exception:
        refuse(_call, (input, other), alpha=(alpha, 1))
        raise


def _alpha_first(op, input, other, extra, call):
    """``add(input, alpha, other)``, a deprecated overload PyTorch runs with a warning (any
    other call with more positional arguments is its parser's to refuse)."""
    if len(extra) == 1 and _is_scalar(other):
        warn_deprecated(call)
        return op(input, extra[0], alpha=other, _call=call)
    refuse_extra(call, (input, other), extra, None)


def _is_bool(x) -> bool:
    return isinstance(x, bool) or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def _check_bool_sub(a, b) -> None:
    if _is_bool(a) and _is_bool(b):  # a Python bool is wrapped as a bool tensor
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
        )
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert "
            "a mask, use the `~` or `logical_not()` operator instead."
        )


def _number_first(fn, input, other, _call):
    """``torch.mul(2, t)``: a number first is a wrapped tensor; anything else is refused as
    PyTorch's parser refuses it."""
    if _is_scalar(input) and isinstance(other, Tensor):
        return fn(other, input)
    refuse(_call, (input, other))
    return fn(as_tensor_arg(input), other)


subtract = entry(sub, "subtract", False)


def rsub(input, other, alpha=1, *, _call=("rsub", False)):
    """``other - alpha * input`` for a Python number ``other`` (RsubBackward1)."""
    try:
        if not isinstance(input, Tensor):
            raise NotATensor(input)
        if isinstance(other, Tensor):
            return sub(other, input, alpha=alpha)
        if _in_builtin_formula[0] and alpha == 1 and input.requires_grad:
            return _scalar_minus_tensor(other, input)
        _check_bool_sub(input, other)
        da, db, _ = _operands(input, other)
        fused = _alpha_kernel(np.subtract, alpha, da.dtype) if alpha != 1 else None
        res = _arr(fused(db, da) if fused else db - (da * alpha if alpha != 1 else da))
    except Exception:
        refuse(_call, (input, other), alpha=(alpha, 1))
        raise
    if not res.size and res.ndim > 1:  # (numpy lays out a nonempty result as TensorIterator does)
        res = in_operands_layout(res, da, db)
    return record(_wrap(res), node_class("RsubBackward1"), (input,), ctx=alpha, op="rsub")


def mul(input=MISSING, other=MISSING, *extra, _call=("mul", False)):
    """Elementwise product (MulBackward0): saves ``other`` if ``input`` needs grad, and vice versa."""
    if extra:
        refuse_extra(_call, (input, other), extra, None)
    if not isinstance(input, Tensor):
        return _number_first(mul, input, other, _call)
    if _in_builtin_formula[0]:
        scaled = _scaled_by_scalar(input, other, "mul")
        if scaled is not None:
            return scaled
    if other.__class__ is float and input._data.dtype.kind == "f":
        # the common ``t * 1.5``, inline: what _operands and _saved_operand would give
        res = np.multiply(input._data, other)
        result = _wrap(res if res.__class__ is _ndarray else np.asarray(res))
        saved = (other, None) if input.requires_grad else ()
        return record(result, _MulBackward0, (input, other), saved, op="mul")
    try:
        da, db, _ = _operands(input, other)
    except Exception:
        refuse(_call, (input, other))
        raise
    res = _compute(np.multiply, da, db, (input, other))
    result = _wrap(res if res.__class__ is _ndarray else np.asarray(res))
    if needs_grad(input, other):
        saved = (_saved_operand(other, db, input), _saved_operand(input, da, other))
        return record(result, _MulBackward0, (input, other), saved, op="mul")
    return record(result, _MulBackward0, (input, other), op="mul")


multiply = entry(mul, "multiply", False)


def _saved_operand(x, values, partner):
    """What a binary op saves of operand ``x`` (``_as_saved``, inline: mul's every call) if
    ``partner`` needs grad, else nothing."""
    if not (isinstance(partner, Tensor) and partner.requires_grad):
        return None
    return x if isinstance(x, Tensor) or x.__class__ in _PYTHON_NUMBERS else values


_PYTHON_NUMBERS = (int, float, bool, complex)


def _as_saved(x, values):
    """What a node saves of operand ``x``: the tensor, a Python number as it is (PyTorch saves
    it as a wrapped number: ``t * 2`` saves ``tensor(2)``), else its values."""
    return x if isinstance(x, Tensor) or x.__class__ in _PYTHON_NUMBERS else values


def div(input=MISSING, other=MISSING, *extra, rounding_mode=None, _call=("div", False)):
    """True division (DivBackward0): saves ``other``, and ``input`` if ``other`` needs grad."""
    if extra:
        refuse_extra(_call, (input, other), extra, None, rounding_mode=(rounding_mode, None))
    try:
        if rounding_mode is not None:
            return _floor_or_trunc_div(input, other, rounding_mode)
        number = None
        if not isinstance(input, Tensor):
            number = input
            input = _number_as_tensor(input, other)
        if _in_builtin_formula[0]:
            scaled = _scaled_by_scalar(input, other, "div")
            if scaled is not None:
                return scaled
        da, db, dt = _operands(input, other)
    except Exception:
        refuse(_call, (input, other), rounding_mode=(rounding_mode, None))
        raise
    if (dt.np if dt else da.dtype).kind != "f":
        # a number keeps its value (the integer dtype it was promoted to does not wrap it)
        da = (
            da.astype(_dtype.default_float.np) if number is None else np.asarray(float(number), _dtype.default_float.np)
        )
        db = (
            db.astype(_dtype.default_float.np)
            if isinstance(db, _ndarray)
            else float(other if _is_scalar(other) else db)
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _wrap(_arr(_compute(np.true_divide, da, db, (input, other))))
    if needs_grad(input, other):
        saved = (_as_saved(other, db), _saved_operand(input, da, other))
        return record(out, _DivBackward0, (input, other), saved, op="div")
    return record(out, _DivBackward0, (input, other), op="div")


true_divide = entry(div, "true_divide", False)
divide = entry(div, "divide", False)


@autograd_first
def _floor_or_trunc_div(a, b, mode, node=None):
    """``div(a, b, rounding_mode=mode)``, recorded as DivBackward2 (a zero gradient), or as the
    NotImplemented ``node`` of an op that names itself there (``floor_divide``)."""
    a = as_tensor_arg(a, b if isinstance(b, Tensor) else None)
    da, db, _ = _operands(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        _check_rounding_operands(da, db, mode)
        if mode == "floor":
            res = (
                _compute(np.floor_divide, da, db)
                if da.dtype.kind in "iu"
                else np.floor(_compute(np.true_divide, da, db))
            )
        elif mode == "trunc":
            q = _compute(np.true_divide, da, db)
            res = np.trunc(q).astype(da.dtype) if da.dtype.kind in "iu" else np.trunc(q)
        else:
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")
    out = _wrap(_arr(res))
    if out._data.dtype.kind != "f":
        return _nondiff(out._data, (a, b), "div")
    if node is not None:  # PyTorch's NotImplemented node has edges only to inputs that require grad
        return record(out, NotImplementedNode, (a, b), ctx=node, op=node[6:], grad_edges_only=True)
    # differentiable with a zero gradient, as PyTorch's div with a rounding mode, which saves
    # other, self if other needs grad (their versions are checked), and the mode
    saved = (b, a if _requires(b) else None)
    return record(out, _DivBackward2, (a, b), saved, ctx=mode, op="div")


def _check_rounding_operands(a, b, mode) -> None:
    """What the kernels of div with a rounding mode refuse: bools, and (integers) a zero divisor."""
    kind = np.result_type(a, b).kind
    if kind == "b":
        raise kernel_not_implemented(f"div_{mode}_cpu", _dtype.bool_)
    if kind in "iu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")  # the integer kernels' check


def _rounding_division(mode):
    """The in-place kernel of div with ``rounding_mode`` (as ``_floor_or_trunc_div`` computes it)."""
    if mode == "floor":

        def floor(a, b):
            _check_rounding_operands(a, b, mode)
            return np.floor_divide(a, b) if np.result_type(a, b).kind in "iu" else np.floor(np.true_divide(a, b))

        return floor
    if mode == "trunc":

        def trunc(a, b):
            _check_rounding_operands(a, b, mode)
            return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))

        return trunc
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")


def floor_divide(input=MISSING, other=MISSING, *extra, _call=("floor_divide", False)):
    """``input // other`` (PyTorch has no derivative for it: a NotImplemented node)."""
    if extra:
        refuse_extra(_call, (input, other), extra, None)
    try:
        return _floor_or_trunc_div(input, other, "floor", "aten::floor_divide")
    except Exception:
        refuse(_call, (input, other))
        raise


def floor_divide_(self, other=MISSING, *extra, _call=("floor_divide_", True), **unknown):
    """In-place ``//`` (``x //= y``): PyTorch has no derivative for it, so its node is
    NotImplemented (backward raises) and a number ``other`` is no input of it."""
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _inplace_binary(
                self,
                other,
                _rounding_division("floor"),
                NotImplementedNode,
                "floor_divide_",
                number_edge=False,
                ctx="aten::floor_divide_",
            )
    except Exception:
        refuse(_call, (self, other))
        raise


def remainder(input=MISSING, other=MISSING, *extra, _call=("remainder", False)):
    """Python's ``%`` (numpy's mod): RemainderBackward0 for a number ``other``,
    RemainderBackward1 for a tensor, which saves self and other only when other's grad is
    wanted (derivatives.yaml: other: -grad * self.div(other, rounding_mode="floor")). A number
    ``input`` is remainder.Scalar_Tensor, which PyTorch has no derivative for: its node is
    NotImplemented, and backward raises.

    >>> import gradlens_core as torch
    >>> a = torch.tensor([5., -3.], requires_grad=True) * 1
    >>> y = a % torch.tensor([2., 2.])
    >>> a.mul_(2)  # nothing saved a: backward still runs
    tensor([10., -6.], grad_fn=<MulBackward0>)
    >>> y.sum().backward()
    """
    if extra:
        refuse_extra(_call, (input, other), extra, None)
    try:
        if not isinstance(input, Tensor):
            if _is_scalar(input) and isinstance(other, Tensor):
                return _number_remainder(input, other)
            raise NotATensor(input)
        da, db, _ = _operands(input, other)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _wrap(_arr(_compute(_mod, da, db, (input, other))))
    except Exception:
        refuse(_call, (input, other))
        raise
    if not isinstance(other, Tensor):
        return record(out, node_class("RemainderBackward0"), (input,), op="remainder")
    saved = (input, other) if _requires(other) else ()  # (only other's formula reads them)
    return record(out, node_class("RemainderBackward1"), (input, other), saved, op="remainder")


def _mod(a, b):
    """PyTorch's remainder kernel: integers refuse a zero divisor, bools have none; floats take
    fmod, then add ``b`` where the signs differ, so a zero keeps the dividend's sign (numpy's
    mod gives the divisor's)."""
    kind = np.result_type(a, b).kind
    if kind in "iub":
        res = np.mod(a, b)  # (shapes are checked first)
        if kind == "b":
            raise kernel_not_implemented("remainder_cpu", _dtype.bool_)
        if not np.all(b):
            raise RuntimeError("ZeroDivisionError")
        return res
    m = np.fmod(a, b)
    return np.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)


def _number_remainder(number, t: Tensor) -> Tensor:
    # the number is a wrapped scalar of the tensor's dtype category (``_operands`` promotes)
    dt, dn, _ = _operands(t, number)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _wrap(_arr(_compute(_mod, dn, dt, (t,))))
    return record(out, NotImplementedNode, (t,), ctx="aten::remainder", op="remainder")


@backward_formula("RemainderBackward0")
@backward_formula("FmodBackward0")
def _remainder_scalar_bw(node, g, ns):
    return (g,)  # self: grad


def _remainder_like_bw(divide: str):
    """remainder's and fmod's formula for a tensor other: self: grad; other: -grad *
    self.div(other, rounding_mode=...) (``divide``: the namespace's floor or trunc division)."""

    def formula(node, g, ns):
        if not node.needs(1):
            return (g, None)
        x, o = node.unpack(ns)
        return (g if node.needs(0) else None, -g * getattr(ns, divide)(x, o))

    return formula


_remainder_bw = backward_formula("RemainderBackward1")(_remainder_like_bw("floor_divide"))


def fmod(input=MISSING, other=MISSING, *extra, _call=("fmod", False)):
    """C's fmod (the result takes the dividend's sign): FmodBackward0 for a number ``other``,
    FmodBackward1 for a tensor, which saves self and other only when other's grad is wanted
    (derivatives.yaml: other: -grad * self.div(other, rounding_mode="trunc"))."""
    if extra:
        refuse_extra(_call, (input, other), extra, None)
    try:
        if not isinstance(input, Tensor):
            raise NotATensor(input)  # fmod has no Number-first overload
        da, db, _ = _operands(input, other)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _wrap(_arr(_compute(_fmod, da, db, (input, other))))
    except Exception:
        refuse(_call, (input, other))
        raise
    if not isinstance(other, Tensor):
        return record(out, node_class("FmodBackward0"), (input,), op="fmod")
    saved = (input, other) if _requires(other) else ()
    return record(out, node_class("FmodBackward1"), (input, other), saved, op="fmod")


def _fmod(a, b):
    """ATen's fmod kernel: integers refuse a zero divisor (after the shapes), bools have none."""
    kind = np.result_type(a, b).kind
    if kind == "b":
        raise kernel_not_implemented("fmod_cpu", _dtype.bool_)
    res = np.fmod(a, b)
    if kind in "iu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")
    return res


_fmod_bw = backward_formula("FmodBackward1")(_remainder_like_bw("trunc_divide"))


def neg(input=MISSING, *extra, _call=("neg", False)):
    """``-input`` (NegBackward0)."""
    try:
        data = input._data
    except AttributeError:  # no tensor: PyTorch's parser refuses the call
        refuse(_call, (input, *extra))
        raise
    if extra:
        refuse_extra(_call, (input,), extra, None)
    if data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return record(_wrap(_arr(np.negative(data))), node_class("NegBackward0"), (input,), op="neg")


negative = entry(neg, "negative", False)


def reciprocal(input):
    """``1 / input`` (ReciprocalBackward0; saves the result)."""
    with np.errstate(divide="ignore"):
        data = _arr(np.reciprocal(_float_data(input)))
    return record(_wrap(data), node_class("ReciprocalBackward0"), (input,), save_output=True, op="reciprocal")


def pow(input, exponent, *, _call=("pow", False)):
    """``input ** exponent``: PowBackward0 (scalar exponent), 1 (tensor), 2 (scalar base)."""
    try:
        if not isinstance(input, Tensor):
            if not isinstance(exponent, Tensor) or not _is_scalar(input):
                raise NotATensor(input)
            return _rpow(input, exponent)
        if isinstance(exponent, Tensor):
            da, db, _ = _operands(input, exponent)
            if da.dtype == np.bool_:
                raise no_kernel("pow", _dtype.bool_)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = _wrap(_arr(_compute(_power, da, db, (input, exponent))))
            return record(
                out, node_class("PowBackward1"), (input, exponent), (input, exponent), save_output=True, op="pow"
            )
        da, db, _ = _operands(input, exponent)
    except Exception:
        refuse(_call, (input, exponent))
        raise
    _check_integer_power(input, exponent)
    # the kernel reads the exponent as the tensor's dtype (an integer one as int64 first); float
    # and double read it as a double
    if da.dtype.kind in "iu":
        _dtype.checked_scalar(exponent, _dtype.int64)
    if da.dtype.kind != "f" or da.dtype == np.float16:
        _dtype.checked_scalar(exponent, _dtype.from_numpy_dtype(da.dtype))
    elif exponent.__class__ is not float:
        _dtype.parsed_number(exponent)  # (an int beyond the parser's range is refused)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _wrap(_arr(_power(da, db)))
    return record(out, node_class("PowBackward0"), (input,), (input, exponent), op="pow")


def _power(base, exp):
    """``np.power`` with PyTorch's integer rules: a negative exponent gives 0, except for the
    bases 1 and -1 (numpy refuses it); bools stay bool (numpy makes int8)."""
    kind = np.result_type(base, exp).kind
    if kind == "b":
        return np.power(np.asarray(base, dtype=np.uint8), np.asarray(exp, dtype=np.uint8)).astype(np.bool_)
    if kind not in "iu":
        special = _POW_SPECIAL.get(float(exp)) if np.ndim(exp) == 0 and kind == "f" else None
        if special is not None and base.dtype in (np.float32, np.float64):
            return special(base)
        return np.power(base, exp)
    negative = np.asarray(exp) < 0
    if not negative.any():
        return np.power(base, exp)
    values = np.power(base, np.where(negative, 0, exp))
    odd = np.asarray(exp) % 2 == 1
    special = np.where(np.asarray(base) == 1, 1, np.where(np.asarray(base) == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, special, values).astype(values.dtype)


# PowKernel.cpp's pow_tensor_scalar_optimized_kernel special-cases these exponents (float and
# double; half goes through float and matches np.power); the rest is std::pow / SLEEF's pow
_POW_SPECIAL = {
    3.0: lambda x: x * x * x,
    -2.0: lambda x: 1 / (x * x),
    -0.5: lambda x: 1 / np.sqrt(x),  # Vectorized::rsqrt is a division too
}


def _rpow(base, exponent: Tensor):
    de = _cast(exponent, _dtype.result_type(exponent, base))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = _arr(_power(de.dtype.type(base), de))
    if res.ndim > 1 and not res.flags.c_contiguous:  # pow.Scalar's meta allocates it contiguous
        res = np.ascontiguousarray(res)
    out = _wrap(res)
    return record(out, node_class("PowBackward2"), (exponent,), (base, exponent), save_output=True, op="pow")


def square(input):
    return pow(input, 2)


# ---------------------------------------------------------------- lerp, atan2


def _lerp_values(start, end, weight):
    """ATen's lerp: ``start + weight * (end - start)`` where ``|weight| < 0.5``, else ``end -
    (end - start) * (1 - weight)``; the vectorized kernel fuses the multiply and the add (one
    rounding, see ``fma``); float16 in float32 (opmath), then rounded."""
    dtype = np.result_type(start, end)
    if dtype == np.float16:
        start, end, weight = (np.asarray(v, np.float32) for v in (start, end, weight))
    diff = end - start
    small = np.abs(weight) < 0.5
    coeff = np.where(small, weight, weight - 1)
    base = np.where(small, start, end)
    return fma(coeff, diff, base, diff.dtype).astype(dtype, copy=False)


def lerp(input, end, weight, *, _call=("lerp", False)):
    """``input + weight * (end - input)``: LerpBackward0 for a number weight (saves it),
    LerpBackward1 for a tensor (saves weight, and input and end if weight needs grad)."""
    try:
        if not (isinstance(input, Tensor) and isinstance(end, Tensor)):
            raise NotATensor(end)
        if not (isinstance(weight, Tensor) or _is_scalar(weight)):
            raise NotATensor(weight)
        if not isinstance(weight, Tensor):
            _dtype.parsed_number(weight)  # (the parser refuses an int beyond [-2**63, 2**64))
    except Exception:
        refuse(_call, (input, end, weight))
        raise
    dt = input._data.dtype
    if end._data.dtype != dt:
        raise RuntimeError(f"expected dtype {input.dtype._cpp} for `end` but got dtype {end.dtype._cpp}")
    if dt.kind != "f":
        raise no_kernel("lerp_kernel_scalar" if _is_scalar(weight) else "lerp_kernel_tensor", input.dtype)
    if isinstance(weight, Tensor):
        w = weight._data
        if w.dtype != dt:
            if w.ndim:
                raise RuntimeError(f"expected dtype {input.dtype._cpp} for `weight` but got dtype {weight.dtype._cpp}")
            w = w.astype(dt)
        shapes = (input._data.shape, end._data.shape, w.shape)
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise _broadcast3_error(shapes) from None
        res = _arr(_lerp_values(input._data, end._data, w))
        saved = (input, end, weight) if weight.requires_grad else (None, None, weight)
        node = node_class("LerpBackward1")
        return record(_wrap(res), node, (input, end, weight), saved, op="lerp")
    _check_broadcast(input._data, end._data)
    # the kernel reads weight as its math type (float for half: lerp_kernel_scalar's
    # weight.to<opmath_t>()), refusing it out of its range
    w = _dtype.checked_scalar(weight, _dtype.opmath(input.dtype))
    opmath = np.float32 if dt == np.float16 else dt.type
    with np.errstate(over="ignore"):
        res = _arr(_lerp_values(input._data, end._data, opmath(w)))
    return record(_wrap(res), node_class("LerpBackward0"), (input, end), (weight,), op="lerp")


def _broadcast3_error(shapes) -> RuntimeError:
    a, b, c = shapes
    try:
        ab = np.broadcast_shapes(a, b)
    except ValueError:
        return broadcast_error(a, b)
    return broadcast_error(ab, c)


@backward_formula("LerpBackward0")
def _lerp_scalar_bw(node, g, ns):
    (w,) = node.unpack(ns)  # self: grad * (1 - weight.toDouble()); end: grad * weight
    return (g * (1 - float(w)) if node.needs(0) else None, g * w if node.needs(1) else None)


@backward_formula("LerpBackward1")
def _lerp_bw(node, g, ns):
    # self: grad * (1 - weight); end: grad * weight; weight: grad * (end - self)
    x, e, w = node.unpack(ns)
    return (
        g * (1 - w) if node.needs(0) else None,
        g * w if node.needs(1) else None,
        g * (e - x) if node.needs(2) else None,
    )


def atan2(input, other, *, _call=("atan2", False)):
    """The angle of (other, input) (Atan2Backward0; saves both)."""
    try:
        if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
            raise NotATensor(other)
        da, db, dt = _operands(input, other)
    except Exception:
        refuse(_call, (input, other))
        raise
    if (dt.np if dt else da.dtype).kind != "f":
        da, db = da.astype(np.float32), db.astype(np.float32)
    res = _arr(_compute(np.arctan2, da, db, (input, other)))
    return record(_wrap(res), node_class("Atan2Backward0"), (input, other), (input, other), op="atan2")


arctan2 = entry(atan2, "arctan2", False)


@backward_formula("Atan2Backward0")
def _atan2_bw(node, g, ns):
    # atan2_backward: denom = self * self + other * other; recip = denom.reciprocal(),
    # masked_fill'ed (out of place: ReciprocalBackward0's saved result stays) with 0 where
    # denom == 0 (a zero grad, not nan, at the origin); {grad * other * recip, grad * -self * recip}
    x, y = node.unpack(ns)
    denom = x * x + y * y
    with np.errstate(divide="ignore"):
        recip = ns.masked_fill(ns.reciprocal(denom), denom == 0, 0)
    return (g * y * recip if node.needs(0) else None, g * -x * recip if node.needs(1) else None)


# ============================================================================ unary elementwise


def _unary(name, np_fn, save_input=False, save_output=False, float_only=True, quiet=False):
    """An elementwise op. ``quiet`` ops can make inf/nan from finite input (log(0), exp(100)):
    numpy's warnings are silenced for them, as PyTorch warns about nothing. The others skip
    ``np.errstate``, which costs more than the op itself on small tensors."""
    node_cls = node_class(name)
    op = name[: name.index("Backward")].lower()

    def fn(input=MISSING, *extra, _call=(op, False)):
        try:
            data = input._data
        except AttributeError:  # no tensor: PyTorch's parser refuses the call
            refuse(_call, (input, *extra))
            raise
        if extra:
            refuse_extra(_call, (input,), extra, None)
        kind = data.dtype.kind
        if kind != "f":
            if kind == "b":
                _check_kernel(input, op)
            if float_only:
                data = data.astype(_dtype.default_float.np)  # (set_default_dtype)
        if quiet:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                res = np_fn(data)
        else:
            res = np_fn(data)
        if res.__class__ is not _ndarray:
            res = np.asarray(res)
        elif res.ndim > 1:
            res = in_operands_layout(res, data)
        args = (input,)
        return record(_wrap(res), node_cls, args, args if save_input else (), None, save_output, op)

    fn.__name__ = fn.__qualname__ = op  # (Python's TypeErrors name the qualname)
    fn.__doc__ = f"Elementwise {op} ({name}{'; saves its input' if save_input else ''}{'; saves its result' if save_output else ''})."
    return fn


# ops whose CPU kernel is not compiled for bool tensors, with the kernel's name
_NO_BOOL_KERNEL = {
    "floor": "floor_vml_cpu",
    "ceil": "ceil_vml_cpu",
    "round": "round_vml_cpu",
    "trunc": "trunc_vml_cpu",
    "abs": "abs_cpu",
}


def no_kernel(kernel: str, dt: _dtype.dtype) -> NotImplementedError:
    """PyTorch's error for a dtype its kernel is not compiled for."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{dt._legacy}'")


def _check_kernel(input: Tensor, op: str) -> None:
    if input._data.dtype != np.bool_:
        return
    if op == "relu":
        raise RuntimeError("Boolean inputs not supported for relu")
    if op in _NO_BOOL_KERNEL:
        raise no_kernel(_NO_BOOL_KERNEL[op], input.dtype)


@backward_formula("ExpBackward0")
def _exp_bw(node, g, ns):
    (r,) = node.unpack(ns)
    res = g * r
    return (res if res.ndim < 2 else ns.grad_layout(res, g, r),)


@backward_formula("LogBackward0")
def _log_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g / x
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("SqrtBackward0")
def _sqrt_bw(node, g, ns):
    (r,) = node.unpack(ns)
    res = g / (2 * r)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, r),)


@backward_formula("SinBackward0")
def _sin_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g * ns.cos(x)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("CosBackward0")
def _cos_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g * -ns.sin(x)  # as derivatives.yaml: grad * -self.sin() (create_graph records NegBackward0)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


def _fused(name, formula, inputs, values):
    """Record a backward computation as one node, as PyTorch records tanh_backward & co."""
    return record(_wrap(_arr(values)), node_class(name, formula), inputs, inputs, op=name)


def _tanh_backward(g, r, ns):
    """ATen's tanh_backward(grad, result); one node (TanhBackwardBackward0) under create_graph."""
    if ns.records_graph:
        return _fused("TanhBackwardBackward0", _tanh_bb, (g, r), g._data * (1 - r._data * r._data))
    res = g * (1 - r * r)
    return res if res.ndim < 2 else ns.grad_layout(res, g, r)


@backward_formula("TanhBackward0")
def _tanh_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (_tanh_backward(g, r, ns),)


def _tanh_bb(node, gg, ns):
    # derivatives.yaml: grad_output: tanh_backward(grad, output); output: grad * (-2 * output * grad_output)
    g, r = node.unpack(ns)
    return _tanh_backward(gg, r, ns), gg * (-2 * r * g)


def _sigmoid_backward(g, r, ns):
    """ATen's sigmoid_backward(grad, result); one node (SigmoidBackwardBackward0) under create_graph."""
    if ns.records_graph:
        return _fused("SigmoidBackwardBackward0", _sigmoid_bb, (g, r), g._data * (1 - r._data) * r._data)
    res = g * (1 - r) * r
    return res if res.ndim < 2 else ns.grad_layout(res, g, r)


@backward_formula("SigmoidBackward0")
def _sigmoid_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (_sigmoid_backward(g, r, ns),)


def _sigmoid_bb(node, gg, ns):
    # derivatives.yaml: grad_output: sigmoid_backward(grad, output); output: grad * grad_output * (-2 * output + 1)
    g, r = node.unpack(ns)
    return _sigmoid_backward(gg, r, ns), gg * g * (-2 * r + 1)


def _threshold_backward(g, x, threshold, ns):
    """ATen's threshold_backward(grad, self, threshold): grad where self > threshold (and where
    self is nan), else 0; one node (ThresholdBackwardBackward0) under create_graph."""
    if ns.records_graph:
        values = np.where(x._data <= threshold, np.zeros((), g._data.dtype), g._data)
        return record(_wrap(values), _ThresholdBackwardBackward0, (g, x), (x,), ctx=threshold, op="threshold_backward")
    # threshold_backward's TensorIterator takes self before grad
    return ns.grad_layout(ns.where(x <= threshold, ns.zeros_like(g), g), x, g)


def _threshold_bb(node, gg, ns):
    # derivatives.yaml: grad_output: threshold_backward(grad, self, threshold); self: zeros_like(grad)
    (x,) = node.unpack(ns)
    return _threshold_backward(gg, x, node._ctx, ns), ns.zeros_like(gg)


_ThresholdBackwardBackward0 = node_class("ThresholdBackwardBackward0", _threshold_bb)


@backward_formula("ReluBackward0")
def _relu_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (_threshold_backward(g, r, 0, ns),)  # derivatives.yaml: threshold_backward(grad, result, 0)


@backward_formula("AbsBackward0")
def _abs_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g * ns.sgn(x)  # derivatives.yaml: grad * self.sgn()
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("Log1PBackward0")
def _log1p_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g / (x + 1)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("Log2Backward0")
def _log2_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g / (x * 0.6931471805599453)  # derivatives.yaml: grad / (self * ln 2)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("Log10Backward0")
def _log10_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g / (x * 2.3025850929940456)  # derivatives.yaml: grad / (self * ln 10)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("AtanBackward0")
def _atan_bw(node, g, ns):
    (x,) = node.unpack(ns)
    res = g / (x * x + 1)  # derivatives.yaml: grad / (self * self + 1)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, x),)


@backward_formula("RsqrtBackward0")
def _rsqrt_bw(node, g, ns):
    (r,) = node.unpack(ns)
    res = -0.5 * g * r**3  # derivatives.yaml: -0.5 * grad * result.pow(3)
    return (res if res.ndim < 2 else ns.grad_layout(res, g, r),)


def _in_double(np_fn):
    """``np_fn`` of a float32 array computed in float64 and rounded: PyTorch's SLEEF kernels (log2,
    log10, atan) are within 1 ulp, and the rounded exact value is theirs far more often than
    numpy's float32 one (log10: 0.05% of values differ, not 40%; atan: 6%, not 28%)."""

    def fn(x):
        if x.dtype == np.float32:
            return np_fn(x.astype(np.float64)).astype(np.float32)
        return np_fn(x)

    fn.__name__ = np_fn.__name__
    return fn


_np_log2, _np_log10, _np_atan = _in_double(np.log2), _in_double(np.log10), _in_double(np.arctan)


def _np_rsqrt(x):
    # ATen's rsqrt is 1 / sqrt(x), each correctly rounded (its vectorised kernel divides too)
    return np.reciprocal(np.sqrt(x))


def _zero_grad_formula(node, g, ns):
    return (ns.zeros_like(g),)  # PyTorch's zeros_like(grad): zero even where grad is inf or nan


for _name in (
    "RoundBackward0",
    "RoundBackward1",
    "FloorBackward0",
    "CeilBackward0",
    "SignBackward0",
    "TruncBackward0",
):
    node_class(_name, _zero_grad_formula)


@backward_formula("SgnBackward0")
def _sgn_bw(node, g, ns):
    # sgn_backward(self, grad, result): _efficientzerotensor for real tensors, zeros as well;
    # self and result are saved, and their versions checked
    node.unpack(ns)
    return (ns.zeros_like(g),)


@backward_formula("DivBackward2")
def _div_rounded_bw(node, g, ns):
    node.unpack(ns)  # the saved operands are checked (their versions), as PyTorch's formula reads them
    return ns.zeros_like(g), ns.zeros_like(g)


_DivBackward2 = node_class("DivBackward2")


def _np_sigmoid(x):
    # exp(-|x|) never overflows; the two branches give the same value where both are finite.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _np_relu(x):
    # relu is clamp_min(x, 0), which keeps x on a tie: relu(-0.0) is -0.0
    return _keeping_input(np.maximum, x, x.dtype.type(0))


exp = _unary("ExpBackward0", np.exp, save_output=True, quiet=True)
log = _unary("LogBackward0", np.log, save_input=True, quiet=True)
log1p = _unary("Log1PBackward0", np.log1p, save_input=True, quiet=True)
sqrt = _unary("SqrtBackward0", np.sqrt, save_output=True, quiet=True)
sin = _unary("SinBackward0", np.sin, save_input=True)
log2 = _unary("Log2Backward0", _np_log2, save_input=True, quiet=True)
log10 = _unary("Log10Backward0", _np_log10, save_input=True, quiet=True)
atan = _unary("AtanBackward0", _np_atan, save_input=True)
arctan = entry(atan, "arctan", False)
rsqrt = _unary("RsqrtBackward0", _np_rsqrt, save_output=True, quiet=True)
cos = _unary("CosBackward0", np.cos, save_input=True)
tanh = _unary("TanhBackward0", np.tanh, save_output=True)
sigmoid = _unary("SigmoidBackward0", _np_sigmoid, save_output=True)
relu = _unary("ReluBackward0", _np_relu, save_output=True, float_only=False)
abs = _unary("AbsBackward0", np.abs, save_input=True, float_only=False)
absolute = entry(abs, "absolute", False)
_round = _unary("RoundBackward0", np.round, float_only=False)


_NO_DECIMALS = type("_NoDecimals", (), {"__repr__": lambda self: "None"})()  # (decimals=None is refused)


def round(input=MISSING, *extra, decimals=_NO_DECIMALS, _call=("round", False)):
    """Elementwise round half to even (RoundBackward0), or to ``decimals`` decimal places
    (RoundBackward1: ``nearbyint(x * 10**decimals) / 10**decimals`` in the tensor's dtype,
    float for half)."""
    if extra or not isinstance(input, Tensor):
        refuse_extra(_call, (input,), extra, None, decimals=(decimals, _NO_DECIMALS))
    if decimals is _NO_DECIMALS:
        return _round(input)
    decimals = _decimals_arg(input, decimals, _call)
    res = _round_decimals(input._data, decimals)
    return record(_wrap(res), node_class("RoundBackward1"), (input,), op="round")


def _decimals_arg(input, decimals, call) -> int:
    try:
        if decimals.__class__ is not int:
            decimals = int_arg(decimals, "decimals")
        if input._data.dtype.kind != "f":
            raise no_kernel("round_cpu" if decimals else "round_vml_cpu", input.dtype)  # (0: plain round)
    except Exception:
        refuse(call, (input,), decimals=(decimals, _NO_DECIMALS))
        raise
    return decimals


def _round_decimals(data, decimals: int):
    wide = _wide(data)
    ten_pow = wide.dtype.type(10.0 ** builtins.abs(decimals))
    with np.errstate(over="ignore", invalid="ignore"):
        if decimals < 0:
            res = np.rint(wide / ten_pow) * ten_pow
        else:
            res = np.rint(wide * ten_pow) / ten_pow
    return np.asarray(res.astype(data.dtype, copy=False))


floor = _unary("FloorBackward0", np.floor, float_only=False)
ceil = _unary("CeilBackward0", np.ceil, float_only=False)
trunc = _unary("TruncBackward0", np.trunc, float_only=False)


def _np_sign(x):
    if x.dtype == np.bool_:
        return x.copy()
    return _ns.sign_of(x)  # PyTorch: sign(nan) is 0 (also of a 0-d tensor)


sign = _unary("SignBackward0", _np_sign, float_only=False)
sgn = _unary(
    "SgnBackward0", _np_sign, save_input=True, save_output=True, float_only=False
)  # sign, for real tensors (abs's formula uses it)


@backward_formula("ClampMinBackward0")
@backward_formula("ClampMaxBackward0")
@backward_formula("ClampBackward1")
def _clamp_bw(node, g, ns):
    x, lo, hi = node.unpack(ns)
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        mask = (x <= hi) if mask is None else mask & (x <= hi)
    return (ns.where(mask, g, ns.zeros_like(g)),)


def _has_zero(v) -> bool:
    """Whether ``v`` (array or number) holds a zero of either sign: short of one, no tie of
    +0.0 and -0.0 is looked for. One pass: count_nonzero is the quicker on small arrays,
    ``== 0`` on large ones."""
    if not isinstance(v, _ndarray):
        return v == 0
    return np.count_nonzero(v) != v.size if v.size <= 2048 else bool((v == 0).any())


_TIE_ORDER: dict = {}  # (ufunc, dtype) -> how numpy keeps the array on a ±0 tie (see below)


def _numpy_tie_order(np_fn, dtype):
    """How to call numpy's ``np_fn`` (maximum or minimum) so that a tie of +0.0 and -0.0
    keeps the array operand ``x``: 0 for ``np_fn(x, bound)``, 1 for ``np_fn(bound, x)``, None
    if neither does in every probe (contiguous, strided and single-element arrays). numpy's
    rule differs between dtypes, so it is probed once per dtype."""
    key = (np_fn, dtype)
    if key not in _TIE_ORDER:
        probes = [-np.zeros(n * step, dtype)[::step] for n, step in ((1, 1), (5, 1), (70, 1), (70, 3))]
        bound = dtype.type(0)

        def keeps_x(call) -> bool:
            return all(np.signbit(call(x)).all() for x in probes)

        if keeps_x(lambda x: np_fn(x, bound)):
            _TIE_ORDER[key] = 0
        elif keeps_x(lambda x: np_fn(bound, x)):
            _TIE_ORDER[key] = 1
        else:
            _TIE_ORDER[key] = None
    return _TIE_ORDER[key]


def _keeping_input(np_fn, x, bound):
    """``np_fn(x, bound)`` for a number ``bound``, keeping ``x`` on a tie of +0.0 and -0.0 as
    PyTorch's clamp kernels do (``vec::clamp_min`` is written ``max(min, a)`` to keep ``a``):
    the operands go to numpy in the order its own tie rule keeps ``x``, which costs no pass."""
    if x.dtype.kind != "f":
        return np_fn(x, bound)
    order = _numpy_tie_order(np_fn, x.dtype)
    if order == 0:
        return np_fn(x, bound)
    if order == 1:
        return np_fn(bound, x)
    res = np_fn(x, bound)
    return _settle_zero_ties(_arr(res), x, bound, _first_everywhere) if _has_zero(x) else res


def _settle_zero_ties(res, a, b, lanes):
    """Give each tie of +0.0 and -0.0 between ``a`` and ``b`` the operand PyTorch's CPU kernel
    returns, in place in ``res``: ``b`` where ``lanes()`` is True and ``a`` elsewhere.

    ``lanes`` (called only if there is a tie: it costs passes over the shape) gives
    ``vectorized_lanes``' answer for maximum/minimum-like kernels: their vectorized body
    (``_mm256_max_ps``) returns the second operand on a tie, their scalar loop
    (``std::max``) the first. Kernels that keep the first operand everywhere (clamp with
    number bounds: ``vec::clamp_min`` is written ``max(min, a)`` to keep ``a``) pass
    ``_first_everywhere``. numpy's own choice differs between dtypes, so it is never relied on.

    >>> a, b = np.zeros(17, np.float32), -np.zeros(17, np.float32)
    >>> res = _settle_zero_ties(np.maximum(a, b), a, b, lambda: vectorized_lanes((17,), (a, b), a.dtype))
    >>> int(np.signbit(res).sum())  # 16 from the vectorized body (b), 1 from the scalar loop (a)
    16
    """
    tie = (a == 0) & (b == 0)
    if tie.any():
        second = lanes()
        np.copyto(res, a if second is False else np.where(second, b, a), where=tie)
    return res


def _first_everywhere():
    return False


def _clip(data, lo, hi, out=None, dtype=None):
    """clamp's values: ``minimum(maximum(data, lo), hi)``, each bound optional, computed in
    ``dtype`` (default: numpy's promotion). A ±0 tie keeps ``data`` for number bounds; for
    tensor bounds it follows maximum/minimum's kernel (one bound: maximum_stub/minimum_stub;
    both: clamp_stub, the same vector/scalar split over its three operands). ``out`` is the
    array written in place, if any."""
    if dtype is None and not isinstance(lo, _ndarray) and not isinstance(hi, _ndarray):  # number bounds
        # the kernel reads each bound as data's dtype, refusing one out of its range
        dt = _dtype.from_numpy_dtype(data.dtype)
        if dt is _dtype.bool_:  # clamp's kernels are not compiled for bool
            kernel = (
                "clamp_min_scalar_cpu" if hi is None else "clamp_max_scalar_cpu" if lo is None else "clamp_scalar_cpu"
            )
            raise no_kernel(kernel, dt)
        res = data
        if lo is not None:
            res = _keeping_input(np.maximum, res, _dtype.checked_scalar(lo, dt))
        if hi is not None:
            res = _keeping_input(np.minimum, res, _dtype.checked_scalar(hi, dt))
        return _arr(res) if res is not data else res.copy()
    arrays = [b for b in (lo, hi) if isinstance(b, _ndarray)]
    layouts = [data, *arrays]  # the operands before casting: vectorized_lanes casts as torch does
    if dtype is not None:
        data, lo, hi = (
            b.astype(dtype.np) if isinstance(b, _ndarray) and b.dtype != dtype.np else b for b in (data, lo, hi)
        )
        arrays = [b for b in (lo, hi) if isinstance(b, _ndarray)]
    if len(arrays) == 2 and data.dtype == np.bool_:  # (maximum's and minimum's, for one bound, are)
        raise no_kernel("clamp_cpu", _dtype.bool_)
    res = np.broadcast_to(data, np.broadcast_shapes(data.shape, *(b.shape for b in arrays))) if arrays else data
    second = []  # vectorized_lanes' answer, computed once, at the first tie

    def lanes():
        if not second:
            second.append(vectorized_lanes(step.shape, layouts, step.dtype, out) if arrays else False)
        return second[0]

    for bound, np_fn in ((lo, np.maximum), (hi, np.minimum)):
        if bound is None:
            continue
        step = np_fn(res, bound if isinstance(bound, _ndarray) else res.dtype.type(bound))
        if step.dtype.kind == "f" and _has_zero(bound) and _has_zero(res):
            step = _settle_zero_ties(_arr(step), res, bound, lanes)
        res = step
    return _arr(res) if res is not data else res.copy()


@autograd_first(call=("clamp", False))
def clamp(input, min=None, max=None, _name="ClampBackward1"):
    """Clip values into [min, max] (ClampBackward1; saves its input; ClampBackward0 for tensor bounds)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_by_tensors(input, min, max, "ClampBackward0")
    _check_bounds(min, max)  # the caller replays the parser for its text
    dt = _dtype.result_type(input, *(v for v in (min, max) if v is not None))  # int.clamp(0.5) is float
    data = _cast(input, dt)
    return record(_wrap(_clip(data, min, max)), node_class(_name), (input,), (input, min, max), op="clamp")


def _clamp_by_tensors(input, min, max, name):
    """clamp with a tensor bound. ClampBackward0 (clamp.Tensor) has an edge to each of input,
    min and max (None for an absent one); ClampMinBackward1 and ClampMaxBackward1 (clamp_min
    and clamp_max with a tensor) to input and their one bound. Each saves its inputs."""
    lo = None if min is None else as_tensor_arg(min)
    hi = None if max is None else as_tensor_arg(max)
    bounds = [b for b in (lo, hi) if b is not None]
    dt = _dtype.result_type(input, *bounds)  # a 0-d bound does not promote
    try:
        res = _clip(input._data, *(None if b is None else b._data for b in (lo, hi)), dtype=dt)
    except ValueError:
        raise broadcast_error(input.shape, bounds[0].shape) from None
    inputs = (input, lo, hi) if name == "ClampBackward0" else (input, *bounds)
    return record(_wrap(res), node_class(name), inputs, inputs, op="clamp")


@backward_formula("ClampBackward0")
def _clamp_tensor_bw(node, g, ns):
    x, lo, hi = node.unpack(ns)
    z = ns.zeros_like(g)
    above = (x >= lo) if lo is not None else None
    below = (x <= hi) if hi is not None else None
    keep = above if below is None else (below if above is None else above & below)
    gx = ns.where(keep, g, z)
    glo = None if lo is None else ns.where(x < lo, g, z)
    ghi = None if hi is None else ns.where(x > hi, g, z)
    return gx, glo, ghi


clip = entry(clamp, "clip", False)


@autograd_first(call=("clamp_min", False))
def clamp_min(input, min):
    """``clamp(min=...)`` recorded as PyTorch's clamp_min: ClampMinBackward0 for a number,
    ClampMinBackward1 for a tensor (saving self and min; the grad goes to min where it wins).

    >>> import gradlens_core as torch
    >>> x = torch.tensor([1., -2.], requires_grad=True)
    >>> x.clamp_min(torch.zeros(2, requires_grad=True))
    tensor([1., 0.], grad_fn=<ClampMinBackward1>)
    """
    if isinstance(min, Tensor):
        return _clamp_by_tensors(input, min, None, "ClampMinBackward1")
    return clamp.__wrapped__(input, min=min, _name="ClampMinBackward0")


@autograd_first(call=("clamp_max", False))
def clamp_max(input, max):
    """``clamp(max=...)`` recorded as PyTorch's clamp_max: ClampMaxBackward0 for a number,
    ClampMaxBackward1 for a tensor (saving self and max)."""
    if isinstance(max, Tensor):
        return _clamp_by_tensors(input, None, max, "ClampMaxBackward1")
    return clamp.__wrapped__(input, max=max, _name="ClampMaxBackward0")


@backward_formula("ClampMinBackward1")
def _clamp_min_tensor_bw(node, g, ns):
    # self: where(self >= min, grad, at::scalar_tensor(0.)); min: where(self < min, grad, ...) (a
    # tie is self's): a 0-d zero of each formula's own
    x, lo = node.unpack(ns)
    return (
        _where_or_zero(x >= lo, g, ns) if node.needs(0) else None,
        _where_or_zero(x < lo, g, ns) if node.needs(1) else None,
    )


@backward_formula("ClampMaxBackward1")
def _clamp_max_tensor_bw(node, g, ns):
    # self: where(self <= max, grad, at::scalar_tensor(0.)); max: where(self > max, grad, ...)
    x, hi = node.unpack(ns)
    return (
        _where_or_zero(x <= hi, g, ns) if node.needs(0) else None,
        _where_or_zero(x > hi, g, ns) if node.needs(1) else None,
    )


def _where_or_zero(cond, g, ns):
    """``where(cond, grad, at::scalar_tensor(0., grad.options()))``."""
    return ns.where(cond, g, ns.zeros((), g))


def _split_grad(g, a, b, a_loses, b_loses, ns):
    """derivatives.yaml's maximum/minimum: ``where(self == other, grad / 2, grad).masked_fill_(loses, 0)``
    for each operand (a nan operand loses nowhere: it gets the whole grad)."""
    # each formula compares the operands itself (under create_graph: a condition per WhereBackward0)
    ga = ns.masked_fill_(ns.where(a == b, g / 2, g), a_loses, 0) if a_loses is not None else None
    gb = ns.masked_fill_(ns.where(a == b, g / 2, g), b_loses, 0) if b_loses is not None else None
    return ga, gb


@backward_formula("MaximumBackward0")
def _maximum_bw(node, g, ns):
    a, b = node.unpack(ns)
    return _split_grad(g, a, b, a < b if node.needs(0) else None, a > b if node.needs(1) else None, ns)


@backward_formula("MinimumBackward0")
def _minimum_bw(node, g, ns):
    a, b = node.unpack(ns)
    return _split_grad(g, a, b, a > b if node.needs(0) else None, a < b if node.needs(1) else None, ns)


def _extremum(np_fn, input, other) -> np.ndarray:
    """maximum/minimum's values: numpy's, with a tie of +0.0 and -0.0 given the operand
    PyTorch's CPU kernel returns there (the second in its vectorized body, the first in its
    scalar loop: see ``vectorized_lanes``)."""
    da, db, _ = _operands(input, other)
    res = _arr(_compute(np_fn, da, db, (input, other)))
    if res.dtype.kind == "f" and _has_zero(da) and _has_zero(db):  # a ±0 tie needs a zero on each side
        # the operands' layouts before casting decide the kernel's loop (vectorized_lanes casts as torch does)
        layouts = [input._data, other._data if isinstance(other, Tensor) else db]
        res = _settle_zero_ties(res, da, db, lambda: vectorized_lanes(res.shape, layouts, res.dtype))
    return res


def _extremum_op(np_fn, name: str, node_name: str):
    """maximum / minimum: two tensors (numbers are refused, as PyTorch's parser does)."""

    def op(input, other, *, _call=(name, False)):
        try:
            if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
                raise NotATensor(other)
            out = _wrap(_extremum(np_fn, input, other))
        except Exception:
            refuse(_call, (input, other))
            raise
        return record(out, node_class(node_name), (input, other), (input, other), op=name)

    op.__name__ = op.__qualname__ = name
    return op


maximum = _extremum_op(np.maximum, "maximum", "MaximumBackward0")
minimum = _extremum_op(np.minimum, "minimum", "MinimumBackward0")


# ============================================================================ non-differentiable


def _nondiff(data, inputs, op):
    """A result with no history (comparisons, argmax, integer results)."""
    out = _wrap(data)
    if _events.active:
        _events.emit(
            "created", tensor=out, grad_fn=None, inputs=tuple(i for i in inputs if isinstance(i, Tensor)), op=op
        )
    return out


def _compare(np_fn, op, call=None):
    """A comparison named ``call`` = (torch's name, whether a Tensor method) in the parser's
    errors; ``__eq__``/``__ne__`` return NotImplemented where the parser refuses the operand."""
    call = call or (op, False)

    def fn(input, other):
        try:
            da, db, _ = _operands(input, other)
        except Exception:
            if call[0][:2] == "__":  # ==, !=: PyTorch's parser error becomes NotImplemented
                if parser_error(op, (other,), {}, True) is not None:
                    return NotImplemented
                raise
            refuse(call, (input, other))
            raise
        return _nondiff(_arr(_compute(np_fn, da, db)), (input, other), op)

    fn.__name__ = fn.__qualname__ = call[0]  # (Python's binding errors name the function by its qualname)
    return fn


_COMPARISONS = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


def comparison(op: str, name: str, method: bool):
    """The comparison ``op`` as torch's ``name`` (an alias, a Tensor method, ``__eq__``)."""
    return _compare(_COMPARISONS[op], op, (name, method))


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
less = comparison("lt", "less", False)
less_equal = comparison("le", "less_equal", False)
greater = comparison("gt", "greater", False)
greater_equal = comparison("ge", "greater_equal", False)


def _logical(np_fn, op, kernel_name=None):
    kernel_name = kernel_name or op

    def fn(input, other):
        swapped = False
        if not isinstance(input, Tensor) and _is_scalar(input) and isinstance(other, Tensor):
            input, other = other, input  # bitwise_and.Scalar_Tensor: the number is wrapped
            swapped = kernel_name != op  # the shifts keep their order
        da, db, dt = _operands(input, other)
        if swapped:
            da, db, input, other = db, da, other, input
        if da.dtype.kind == "f":
            # the kernel's dispatch on the promoted dtype: PyTorch's NotImplementedError, after
            # TensorIterator's broadcast
            try:
                np.broadcast_shapes(da.shape, np.shape(db))
            except ValueError:
                raise broadcast_error(da.shape, np.shape(db)) from None
            raise kernel_not_implemented(f"{kernel_name}_cpu", dt or input.dtype)
        return _nondiff(_arr(_compute(np_fn, da, db)), (input, other), op)

    fn.__name__ = fn.__qualname__ = op
    return fn


# no derivative, but an autograd kernel (a float input that requires grad enters it before the dtype check)
bitwise_and = autograd_first(_logical(np.bitwise_and, "bitwise_and"), call=("bitwise_and", False))
bitwise_or = autograd_first(_logical(np.bitwise_or, "bitwise_or"), call=("bitwise_or", False))
bitwise_xor = autograd_first(_logical(np.bitwise_xor, "bitwise_xor"), call=("bitwise_xor", False))


def _shift_kernel(left: bool):
    """ATen's lshift/rshift kernels (integral dtypes only): a shift by a negative count or by the
    width or more gives 0 to the left; to the right, the sign (signed) or 0 (unsigned)."""
    name = "lshift" if left else "rshift"

    def kernel(a, b):
        dtype = np.result_type(a, b)
        if dtype.kind not in "iu":
            raise kernel_not_implemented(f"{name}_cpu", _dtype.from_numpy_dtype(dtype))
        a = np.asarray(a, dtype)
        b = np.asarray(b, dtype)
        bits = dtype.itemsize * 8
        signed = b.view(dtype.str.replace("u", "i")) if dtype.kind == "u" else b
        bad = (signed < 0) | (b >= bits)
        count = np.where(bad, 0, b)
        if left:
            return np.where(bad, dtype.type(0), np.left_shift(a, count)).astype(dtype)
        if dtype.kind == "i":
            return np.right_shift(a, np.where(bad, bits - 1, b).astype(dtype)).astype(dtype)
        return np.where(bad, dtype.type(0), np.right_shift(a, count)).astype(dtype)

    return kernel


bitwise_left_shift = autograd_first(
    _logical(_shift_kernel(True), "bitwise_left_shift", "lshift"), call=("bitwise_left_shift", False)
)
bitwise_right_shift = autograd_first(
    _logical(_shift_kernel(False), "bitwise_right_shift", "rshift"), call=("bitwise_right_shift", False)
)


def logical_not(input):
    return _nondiff(np.logical_not(input._data), (input,), "logical_not")


@autograd_first(call=("bitwise_not", False))
def bitwise_not(input):
    if input._data.dtype.kind == "f":
        raise kernel_not_implemented("bitwise_not_cpu", input.dtype)
    return _nondiff(np.invert(input._data), (input,), "bitwise_not")


def _bitwise_inplace(np_fn, name: str, kernel_name=None):
    """``bitwise_and_`` ...: in place, no history; the result dtype is checked against self's
    before the kernel refuses a float one, as TensorIterator does."""
    op = name + "_"
    kernel_name = kernel_name or name

    def kernel(a, b):
        if a.dtype.kind == "f" or np.asarray(b).dtype.kind == "f":
            raise kernel_not_implemented(f"{kernel_name}_cpu", _dtype.from_numpy_dtype(np.result_type(a, b)))
        return np_fn(a, b)

    def fn(self, other=MISSING, *extra, _call=(op, True), **unknown):
        if extra or unknown:
            refuse_extra(_call, (self, other), extra, unknown)
        try:
            return _inplace_binary(self, other, kernel, None, op)
        except Exception:
            refuse(_call, (self, other))
            raise

    fn.__name__ = fn.__qualname__ = op
    return fn


bitwise_and_ = _bitwise_inplace(np.bitwise_and, "bitwise_and")
bitwise_or_ = _bitwise_inplace(np.bitwise_or, "bitwise_or")
bitwise_xor_ = _bitwise_inplace(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift_ = _bitwise_inplace(_shift_kernel(True), "bitwise_left_shift", "lshift")
bitwise_right_shift_ = _bitwise_inplace(_shift_kernel(False), "bitwise_right_shift", "rshift")


def bitwise_not_(self=MISSING, *extra, _call=("bitwise_not_", True), **unknown):
    """``~self`` in place (no history)."""
    _self_only(self, extra, unknown, _call)
    check_inplace(self, "bitwise_not_")
    if self._data.dtype.kind == "f":
        raise kernel_not_implemented("bitwise_not_cpu", self.dtype)
    _write(self, np.invert(self._data), "bitwise_not_")
    return finish_inplace(self, "bitwise_not_", None, (self,))


def _logical_operand(input, other, _call):
    try:
        if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
            raise NotATensor(other)
        return _operands(input, other)[1]
    except Exception:
        refuse(_call, (input, other))
        raise


def logical_and(input, other, *, _call=("logical_and", False)):
    return _nondiff(np.logical_and(input._data, _logical_operand(input, other, _call)), (input, other), "logical_and")


def logical_or(input, other, *, _call=("logical_or", False)):
    return _nondiff(np.logical_or(input._data, _logical_operand(input, other, _call)), (input, other), "logical_or")


def isnan(input):
    return _nondiff(np.isnan(input._data), (input,), "isnan")


def isinf(input):
    return _nondiff(np.isinf(input._data), (input,), "isinf")


def isfinite(input):
    return _nondiff(np.isfinite(input._data), (input,), "isfinite")


def _dims(x: Tensor, dim):
    """Wrapped reduction dims of a differentiable reduction; a 0-d tensor accepts dim 0/-1 and
    has no axis to reduce."""
    dims = stale_views_first(_wrapped_dims, (x, dim))
    return dims if x._data.ndim else ()


def _wrapped_dims(x: Tensor, dim) -> tuple:
    dims = tuple(sorted(x._wrap_dim(d) for d in dim)) if isinstance(dim, (list, tuple)) else (x._wrap_dim(dim),)
    for a, b in zip(dims, dims[1:]):
        if a == b:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return dims


def _arg_extreme(input, dim, keepdim, call, find):
    """argmax / argmin (``find`` is numpy's): the flat index when ``dim`` is None (of shape
    (1,) * ndim with ``keepdim``), else the index along ``dim``; int64, no history."""
    name = call[0]
    try:
        _check_bool(keepdim, "keepdim")
        _no_bool_arg(input, name)
        _nonempty_reduction(input, dim, name)
        if dim is None:
            res = np.asarray(find(input._data), dtype=np.int64)
            if keepdim:
                res = res.reshape((1,) * input.ndim)
        else:
            res = np.asarray(find(input._data, axis=input._wrap_dim(dim), keepdims=keepdim), dtype=np.int64)
    except Exception:
        refuse_given(call, (input, dim, keepdim), _DIM_KEEPDIM)
        raise
    return _nondiff(res, (input,), name)


def argmax(input, dim=None, keepdim=False, *, _call=("argmax", False)):
    return _arg_extreme(input, dim, keepdim, _call, np.argmax)


def argmin(input, dim=None, keepdim=False, *, _call=("argmin", False)):
    return _arg_extreme(input, dim, keepdim, _call, np.argmin)


_DIM_KEEPDIM = (("dim", None), ("keepdim", False))  # a reduction's optional arguments (``refuse_given``)


def _check_bool(x, name: str) -> None:
    """A bool argument (``keepdim``, ``descending``, ...): anything else is refused, as by
    PyTorch's parser (the op's ``except`` replays it for its text)."""
    if x.__class__ is not bool:
        raise TypeError(f"argument '{name}' must be bool, not {type(x).__name__}")


def _no_bool_arg(input, name) -> None:
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")


def _zero_numel_check_dims(input, dim, name) -> None:
    """ATen's zero_numel_check_dims for an empty input: each dim, named as given, must be non-empty."""
    refuse_stale_view(input)  # before amax/amin's kernel refuses an empty input's dims
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim "
            "with the 'dim' argument."
        )
    for d in dims:
        if input._data.shape[input._wrap_dim(d)] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _nonempty_reduction(input, dim, name) -> None:
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    elif input._data.ndim and input._data.shape[input._wrap_dim(dim)] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {input._wrap_dim(dim)} to have non-zero size.")


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._data, as_tensor_arg(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> bool:
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data, other._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False, *, _call=("isclose", False)):
    if not (isinstance(other, Tensor) and isinstance(input, Tensor)):  # (a numpy array too: the parser's)
        refuse(_call, (input, other), rtol=(rtol, 1e-05), atol=(atol, 1e-08), equal_nan=(equal_nan, False))
    return _nondiff(np.isclose(input._data, other._data, rtol, atol, equal_nan), (input, other), "isclose")


# ============================================================================ reductions


@backward_formula("SumBackward0")
def _sum_bw(node, g, ns):
    return (ns.expand(g, node._ctx),)


@backward_formula("SumBackward1")
def _sum_dim_bw(node, g, ns):
    # sum_backward: unsqueeze_multiple(grad, dims), expanded to the input's sizes
    shape, dims, keepdim, _ = node._ctx
    if not keepdim and shape:
        g = ns.unsqueeze_multiple(g, dims)
    return (ns.expand(g, shape),)


@backward_formula("MeanBackward0")
def _mean_bw(node, g, ns):
    shape = node._ctx
    return (ns.div_scalar(ns.expand(g, shape), _numel(shape)),)


@backward_formula("MeanBackward1")
def _mean_dim_bw(node, g, ns):
    shape, dims, keepdim, _ = node._ctx
    # mean_backward: sum_backward (unsqueeze_multiple, expand) / the count of elements reduced
    count = 1
    for d in dims:
        count *= shape[d]
    if not keepdim and shape:
        g = ns.unsqueeze_multiple(g, dims)
    return (ns.div_scalar(ns.expand(g, shape), count),)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _reduce_dtype(x: Tensor, dtype):
    if dtype is not None:
        return dtype.np
    return np.int64 if x._data.dtype.kind in "iub" else x._data.dtype


def _silent():
    """PyTorch makes inf and nan without a word; numpy warns (the filter for gradlens_core's
    modules does not see warnings raised inside numpy's own Python functions, such as ndarray.sum)."""
    return np.errstate(invalid="ignore", over="ignore")


def _sum_data(data, dims, out_dt, keepdim=False):
    """A float sum in PyTorch's order of additions (``_reduce.sum_data``); numpy's otherwise
    (integer sums are exact, whatever the order)."""
    if np.dtype(out_dt).kind == "f":
        return _reduce.sum_data(data, dims, keepdim, out_dt)
    return np.asarray(data.sum(axis=dims, keepdims=keepdim, dtype=out_dt))


def sum(input, dim=None, keepdim=False, *, dtype=None, _call=("sum", False)):
    """Sum of all elements (SumBackward0) or over ``dim`` (SumBackward1)."""
    if not isinstance(input, Tensor):
        return builtins.sum(input)
    try:
        out_dt = _reduce_dtype(input, dtype)
        if dim is None:
            with _silent():  # inf - inf is nan, silently
                res = _sum_data(input._data, tuple(range(input.ndim)), out_dt)
            if keepdim is not False:
                _check_bool(keepdim, "keepdim")
                res = res.reshape((1,) * input.ndim)
            return record(_wrap(res), node_class("SumBackward0"), (input,), ctx=input._data.shape, op="sum")
        if keepdim.__class__ is not bool:
            _check_bool(keepdim, "keepdim")
        dims = _reduce_dims(input, dim)  # dim=() is all dims (SumBackward1)
    except Exception:
        refuse_given(_call, (input, dim, keepdim), _DIM_KEEPDIM, dtype=(dtype, None))
        raise
    with _silent():
        res = _ns.reduced(_sum_data(input._data, dims, out_dt, keepdim))
    ctx = (input._data.shape, dims, keepdim, dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(_wrap(res), node_class("SumBackward1"), (input,), ctx=ctx, op="sum")


def mean(input, dim=None, keepdim=False, *, dtype=None, _call=("mean", False)):
    """Mean of all elements (MeanBackward0) or over ``dim`` (MeanBackward1)."""
    try:
        if input._data.dtype.kind != "f" and dtype is None:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {input.dtype._legacy}"
            )
        if isinstance(dtype, _dtype.dtype) and not dtype.is_floating_point:  # mean(dtype=torch.long)
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a floating point or "
                f"complex dtype. Got: {dtype._legacy}"
            )
        d = input._data if dtype is None else input._data.astype(dtype.np)
        if dim is None:
            with np.errstate(divide="ignore", invalid="ignore"):  # mean of nothing is nan, silently
                res = _reduce.mean_data(d, tuple(range(d.ndim)))
            if keepdim is not False:
                _check_bool(keepdim, "keepdim")
                res = res.reshape((1,) * input.ndim)
            return record(_wrap(res), node_class("MeanBackward0"), (input,), ctx=d.shape, op="mean")
        if keepdim.__class__ is not bool:
            _check_bool(keepdim, "keepdim")
        dims = _reduce_dims(input, dim)  # dim=() is all dims (MeanBackward1)
    except Exception:
        refuse_given(_call, (input, dim, keepdim), _DIM_KEEPDIM, dtype=(dtype, None))
        raise
    with np.errstate(divide="ignore", invalid="ignore"):
        res = _ns.reduced(_reduce.mean_data(d, dims, keepdim))
    ctx = (d.shape, dims, keepdim, dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(_wrap(res), node_class("MeanBackward1"), (input,), ctx=ctx, op="mean")


def _prod_safe_zeros(g, x, dim, ns):
    """PyTorch's prod_safe_zeros_backward: the grad times the product of the other elements
    along ``dim`` (exclusive cumulative products from both ends), exact when ``x`` holds zeros."""
    if 0 in x.shape:
        return ns.expand(g, x.shape)
    if x.shape[dim] == 1:
        return g
    return g * ns.exclusive_prod(x, dim)


@backward_formula("ProdBackward0")
def _prod_bw(node, g, ns):
    """prod_backward: ``grad * (result / input)`` without zeros; with more than one zero (and no
    graph to record) zeros; otherwise the zero-safe products over the flattened input."""
    x, r = node.unpack(ns)
    if x.ndim == 0:
        return (g,)
    zeros = np.count_nonzero((x._data if ns.records_graph else x) == 0)
    if zeros == 0:
        return (g * (r / x),)
    if zeros > 1 and not ns.records_graph:
        return (np.zeros(x.shape, x.dtype),)
    flat = ns.reshape(x.contiguous() if ns.records_graph else np.ascontiguousarray(x), (-1,))
    return (ns.reshape(_prod_safe_zeros(g, flat, 0, ns), x.shape),)


@backward_formula("ProdBackward1")
def _prod_dim_bw(node, g, ns):
    """prod_backward over ``dim``: ``grad * (result / input)`` unless the input holds a zero."""
    x, r = node.unpack(ns)
    dim, keepdim, _ = node._ctx
    if dim is None:  # a 0-d input
        return (g,)
    if not keepdim:
        g, r = ns.unsqueeze(g, dim), ns.unsqueeze(r, dim)
    if np.any((x._data if ns.records_graph else x) == 0):
        return (_prod_safe_zeros(g, x, dim, ns),)
    return (g * (r / x),)


_NO_DIM = object()  # a reduction called without dim (None is refused, as by PyTorch's parser)


@autograd_first(call=("prod", False))
def prod(input, dim=_NO_DIM, keepdim=False, *, dtype=None):
    """Product of elements (ProdBackward0 / ProdBackward1; saves input and result)."""
    out_dt = _reduce_dtype(input, dtype)
    _check_bool(keepdim, "keepdim")
    if dim is _NO_DIM:
        with _silent():  # inf * 0 is nan, silently
            res = np.asarray(input._data.prod(dtype=out_dt))
        return record(_wrap(res), node_class("ProdBackward0"), (input,), (input,), save_output=True, op="prod")
    d = input._wrap_dim(dim)
    if input._data.ndim == 0:
        out = _wrap(input._data.astype(out_dt))
        return record(
            out, node_class("ProdBackward1"), (input,), (input,), ctx=(None, keepdim, dim), save_output=True, op="prod"
        )
    with _silent():
        res = _ns.reduced(input._data.prod(axis=d, keepdims=keepdim, dtype=out_dt))
    out = _wrap(res)
    ctx = (d, keepdim, dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(out, node_class("ProdBackward1"), (input,), (input,), ctx=ctx, save_output=True, op="prod")


def _extreme_all_bw(node, g, ns):
    """PyTorch's evenly_distribute_backward: ``grad.new_zeros(sizes).masked_fill_(mask, grad /
    mask.sum())``, the mask marking the elements equal to the result (the nan ones when the
    result is nan); MaskedFillBackward1 under create_graph, an empty edge for the zeros."""
    x, r = node.unpack(ns)
    xd, rd = (x._data, r._data) if ns.records_graph else (x, r)
    mask = np.isnan(xd) if np.isnan(rd) else xd == rd
    if ns.records_graph:
        mask = _wrap(mask)
        count = mask.sum()
    else:
        count = int(np.count_nonzero(mask))  # g / count keeps g's dtype
        if g.dtype.itemsize < 4:  # div's kernel divides a half by a 0-d count in float
            return (ns.masked_fill_(ns.zeros(x.shape, x), mask, (g.astype(np.float32) / count).astype(g.dtype)),)
    return (ns.masked_fill_(ns.zeros(x.shape, x), mask, g / count),)


node_class("MaxBackward1", _extreme_all_bw)
node_class("MinBackward1", _extreme_all_bw)


def _extreme_dim_bw(node, g, ns):
    """PyTorch's value_selecting_reduction_backward: ``zeros(sizes).scatter_(dim, indices, grad)``,
    grad and indices unsqueezed at ``dim`` unless kept (zeros, zero_, then scatter_: version 2;
    ScatterBackward0 under create_graph)."""
    (indices,) = node.unpack(ns)
    shape, dim, keepdim, given = node._ctx
    given = given if given.__class__ is int else dim  # the dim as given, as PyTorch's formula takes it
    if dim is None:  # a 0-d input: the value itself was selected
        return (ns.made_in_place(ns.index_add(g, shape, (), "ScatterBackward0", (indices, given)), 2),)
    idx = indices if not ns.records_graph else indices._data
    if not keepdim:
        g = ns.unsqueeze(g, given if ns.records_graph else dim)  # grad.unsqueeze(dim)
        idx = np.expand_dims(idx, dim)
        if ns.records_graph:
            indices = _wrap(idx)  # indices.unsqueeze(dim), which scatter_ saves
    grid = list(np.indices(idx.shape, sparse=True))
    grid[dim] = idx
    return (ns.made_in_place(ns.index_add(g, shape, tuple(grid), "ScatterBackward0", (indices, given)), 2),)


node_class("MaxBackward0", _extreme_dim_bw)
node_class("MinBackward0", _extreme_dim_bw)


class _ReturnTypes(tuple):
    """``torch.return_types.max(values=..., indices=...)``."""

    _name = ""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]

    def __repr__(self) -> str:
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


def _return_type(name):
    return type(name, (_ReturnTypes,), {"_name": name, "__slots__": ()})


_max_rt, _min_rt, _sort_rt, _topk_rt = (_return_type(n) for n in ("max", "min", "sort", "topk"))


_ALL = type("_AllDims", (), {"__repr__": lambda self: "None"})()  # max(): no dim given (max(None) is refused)


def _extreme(input, dim, keepdim, other, is_max, call):
    name = "max" if is_max else "min"
    if isinstance(dim, Tensor):
        other, dim = dim, _ALL
    if other is not None:
        return maximum(input, other) if is_max else minimum(input, other)
    if dim is _ALL:
        if input._data.size == 0:
            refuse_stale_view(input)
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument."
            )
        res = input._data.max() if is_max else input._data.min()
        if res == 0 and res.dtype.kind == "f":  # which zero: the sign of the one torch's kernel keeps
            flat = input._data.ravel()
            zeros = np.flatnonzero(flat == 0)
            res = flat[reduce_all_winner(flat, zeros)] if zeros.size > 1 else res
        res = np.asarray(res)
        node = node_class("MaxBackward1" if is_max else "MinBackward1")
        return record(_wrap(res), node, (input,), (input,), save_output=True, op=name)
    try:
        d = stale_views_first(input._wrap_dim, (dim,), inputs=(input,))
        if keepdim.__class__ is not bool:
            raise TypeError(f"{name}(): argument 'keepdim' must be bool")
    except TypeError:
        refuse_given(call, (input, dim, keepdim), (("dim", _ALL), ("keepdim", False)))
        raise
    data = input._data
    node = node_class("MaxBackward0" if is_max else "MinBackward0")
    if data.ndim == 0:
        idx_t = _wrap(np.zeros((), dtype=np.int64))
        vals = record(_wrap(data.copy()), node, (input,), (idx_t,), ctx=(data.shape, None, keepdim, dim), op=name)
        return (_max_rt if is_max else _min_rt)(vals, idx_t)
    if data.shape[d] == 0:
        refuse_stale_view(input)
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    idx = np.argmax(data, axis=d) if is_max else np.argmin(data, axis=d)
    idx = np.asarray(idx, dtype=np.int64)
    values = np.take_along_axis(data, np.expand_dims(idx, d), axis=d)
    if not keepdim:
        values = values.squeeze(d)
    else:
        idx = np.expand_dims(idx, d)
    idx_t = _wrap(idx)
    node = node_class("MaxBackward0" if is_max else "MinBackward0")
    ctx = (data.shape, d, keepdim, dim)  # the dim as given: PyTorch's ``_saved_dim``
    vals = record(_wrap(values.copy()), node, (input,), (idx_t,), ctx=ctx, op=name)
    return (_max_rt if is_max else _min_rt)(vals, idx_t)


def max(input, dim=_ALL, keepdim=False, *, other=None, _call=("max", False)):
    """Largest element (MaxBackward1), or (values, indices) over ``dim`` (MaxBackward0)."""
    return _extreme(input, dim, keepdim, other, True, _call)


def min(input, dim=_ALL, keepdim=False, *, other=None, _call=("min", False)):
    """Smallest element (MinBackward1), or (values, indices) over ``dim`` (MinBackward0)."""
    return _extreme(input, dim, keepdim, other, False, _call)


node_class("SortBackward0", _extreme_dim_bw)
node_class("TopkBackward0", _extreme_dim_bw)
node_class("SortBackward1", _extreme_dim_bw)


def _sorted_indices(data: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """Indices that sort ``data`` along ``d``: equal elements keep their order, nan last
    ascending and first descending (PyTorch's ``stable=True``; ``sort`` redoes the rows where
    std::sort would order equal elements otherwise)."""
    if not descending:
        return np.argsort(data, axis=d, kind="stable")
    n = data.shape[d]
    reverse = np.argsort(np.flip(data, d), axis=d, kind="stable")
    return np.flip(n - 1 - reverse, d)


def _select_along(input, idx, d, node_name, op, rt, dim):
    """(values, indices) picked by ``idx`` along ``d``, recorded as ``node_name`` (PyTorch's
    value_selecting_reduction_backward with keepdim: the grad is scattered back). ``dim``: as
    given (PyTorch's ``_saved_dim``)."""
    data = input._data
    idx = np.array(idx, dtype=np.int64, order="C")  # (a flip's view: a fresh contiguous copy)
    values = np.take_along_axis(data, idx, axis=d) if data.ndim else data.copy()
    idx_t = _wrap(idx)
    ctx = (data.shape, d if data.ndim else None, True, dim)
    vals = record(_wrap(values), node_class(node_name), (input,), (idx_t,), ctx=ctx, op=op)
    return rt(vals, idx_t)


def sort(input, dim=-1, descending=False, stable=None, *, _call=("sort", False)):
    """Sorted values and their indices along ``dim`` (SortBackward0, or SortBackward1 for the
    overload taking ``stable``; saves the indices)."""
    try:
        if dim.__class__ is bool:  # sort(input, stable, dim, descending) has stable first
            raise TypeError("sort(): argument 'dim' must be int, not bool")
        if descending.__class__ is not bool or not (stable is None or stable.__class__ is bool):
            raise TypeError("sort(): argument 'descending' or 'stable' must be bool")
        if stable is not None and call_keywords(sys._getframe()) is not None:
            # only the overload taking stable fits, where dim is keyword-only (a call with
            # **kwargs cannot be read, and is taken as PyTorch would take it)
            refuse_given(_call, (input, dim, descending), (("dim", -1), ("descending", False)), stable=(stable, None))
        d = input._wrap_dim(dim, builtins.max(input._data.ndim, 1))
    except Exception:
        given = {} if stable is None else {"stable": (stable, None)}
        refuse_given(_call, (input, dim, descending), (("dim", -1), ("descending", False)), **given)
        raise
    data = input._data
    idx = _sorted_indices(data, d, descending) if data.ndim else np.zeros((), np.int64)
    # an expanded dim (stride 0) is left as it is (sort_kernel returns early)
    if not stable and data.ndim and data.shape[d] > 1 and data.strides[d]:
        _redo_rows_as_libstdcxx(
            data, idx, d, descending, lambda queue: _stl.sort(queue, len(queue), _key_order(descending))
        )
    name = "SortBackward0" if stable is None else "SortBackward1"
    return _select_along(input, idx, d, name, "sort", _sort_rt, dim)


def argsort(input, dim=-1, descending=False, stable=False, *, _call=("argsort", False)):
    """The indices ``sort`` gives (no history)."""
    return sort(input, dim, descending, None if stable is False else stable, _call=_call).indices.detach()


def topk(input, k, dim=-1, largest=True, sorted=True, *, _call=("topk", False)):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices (TopkBackward0)."""
    data = input._data
    try:
        if k.__class__ is not int:
            k = symint_arg(k, "k")
        d = input._wrap_dim(dim, builtins.max(data.ndim, 1))
        _check_bool(largest, "largest")
        _check_bool(sorted, "sorted")
        n = data.shape[d] if data.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError("selected index k out of range")
    except Exception:
        refuse_given(_call, (input, k, dim, largest, sorted), (("dim", -1), ("largest", True), ("sorted", True)))
        raise
    if not data.ndim:
        return _select_along(input, np.zeros((), np.int64), d, "TopkBackward0", "topk", _topk_rt, dim)
    idx = np.take(_sorted_indices(data, d, largest), np.arange(k), axis=d)
    if k:
        # topk_impl_loop: partial_sort, or nth_element then sort of the first k - 1
        comp = _key_order(largest)
        if k * 64 <= n:
            algorithm = lambda queue: _stl.partial_sort(queue, k, comp)  # noqa: E731
        elif sorted:
            algorithm = lambda queue: (_stl.nth_element(queue, k - 1, comp), _stl.sort(queue, k - 1, comp))  # noqa: E731
        else:  # nth_element's own order, ties or not
            algorithm = lambda queue: _stl.nth_element(queue, k - 1, comp)  # noqa: E731
        _redo_rows_as_libstdcxx(data, idx, d, largest, algorithm, every_row=not (sorted or k * 64 <= n))
    return _select_along(input, idx, d, "TopkBackward0", "topk", _topk_rt, dim)


def _key_order(descending: bool):
    """PyTorch's comparators of (value, index) pairs (KeyValueCompAsc/Desc): nan is largest."""
    isnan = math.isnan
    if descending:
        return lambda x, y: (isnan(x[0]) and not isnan(y[0])) or x[0] > y[0]
    return lambda x, y: (not isnan(x[0]) and isnan(y[0])) or x[0] < y[0]


def _redo_rows_as_libstdcxx(data, idx, d, descending, algorithm, every_row=False) -> None:
    """Redo, in ``idx`` (indices along ``d``, as numpy's stable order gives them), the rows whose
    answer depends on the algorithm PyTorch's CPU kernel runs -- those with equal values, or
    ``every_row`` -- by replaying ``algorithm`` (libstdc++'s, see ``_stl``) on (value, index)
    pairs. Rows of distinct values come out the same from any correct algorithm."""
    n = data.shape[d]
    rows = np.moveaxis(data, d, -1).reshape(-1, n)
    if every_row:
        redo = np.ones(rows.shape[0], dtype=bool)
    else:
        s = np.sort(rows, axis=1)
        nan = np.isnan(s) if s.dtype.kind == "f" else np.zeros(s.shape, dtype=bool)
        redo = ((s[:, 1:] == s[:, :-1]) | (nan[:, 1:] & nan[:, :-1])).any(axis=1)
    if not redo.any():
        return
    k = idx.shape[d]
    out = np.moveaxis(idx, d, -1).reshape(-1, k)  # a view of idx when it can be, else written back
    for r in np.flatnonzero(redo):
        queue = list(zip(rows[r].tolist(), range(n)))
        algorithm(queue)
        out[r] = [i for _, i in queue[:k]]
    if not np.shares_memory(out, idx):
        idx[...] = np.moveaxis(out.reshape(np.moveaxis(idx, d, -1).shape), -1, d)


def _reduce_dims(input, dim):
    """All dims for ``dim`` None or (), else the wrapped dims."""
    if _all_dims(dim):
        return tuple(range(input._data.ndim))
    return _dims(input, dim)


def _all_dims(dim) -> bool:
    """Whether a reduction's ``dim`` argument asks for all dims (None, () or [])."""
    return dim is None or (dim.__class__ in (tuple, list) and not dim)


def _restore_reduced_dims(g, dims, keepdim, ns):
    """FunctionsManual's restore_reduced_dims: ``g`` reshaped with a 1 at each reduced dim,
    from ``g``'s own shape (not the input's, which ``.data =`` may have changed)."""
    return g if keepdim else ns.reshape(g, _ns.with_unit_dims(g.shape, dims))


@backward_formula("AmaxBackward0")
@backward_formula("AminBackward0")
def _amax_bw(node, g, ns):
    """derivatives.yaml: scale_grad_by_count(restore_reduced_dims(grad), restore_reduced_dims(result)
    == self, dims), that is ``(grad / mask.sum(dims, True)) * mask``: ties share the grad."""
    x, r = node.unpack(ns)
    dims, keepdim, _ = node._ctx
    g = _restore_reduced_dims(g, dims, keepdim, ns)
    r = _restore_reduced_dims(r, dims, keepdim, ns)
    mask = r == x
    count = ns.sum(mask, dims, True) if dims else mask
    if not ns.records_graph:
        if g.dtype.itemsize < 4 and count.size == 1:  # div's kernel divides a half by one count in float
            return ((g.astype(np.float32) / count).astype(g.dtype) * mask,)
        count = count.astype(g.dtype)  # PyTorch divides in the grad's dtype
    return ((g / count) * mask,)


def _amax_like(input, dim, keepdim, is_max, call):
    """amax / amin; a wrong argument gets PyTorch's parser text (``refuse_given``)."""
    try:
        _check_bool(keepdim, "keepdim")
        if input._data.size == 0:
            _zero_numel_check_dims(input, dim, call[0])
        dims = _reduce_dims(input, dim)
    except Exception:
        refuse_given(call, (input, dim, keepdim), (("dim", ()), ("keepdim", False)))
        raise
    fn = np.amax if is_max else np.amin
    res = _ns.reduced(fn(input._data, axis=dims, keepdims=keepdim))
    if res.dtype.kind == "f" and np.count_nonzero(res) != res.size:  # a zero: which sign torch keeps
        _settle_reduced_zeros(res, input._data, dims, keepdim)
    name = "AmaxBackward0" if is_max else "AminBackward0"
    return record(
        _wrap(res),
        node_class(name),
        (input,),
        (input,),
        ctx=(dims, keepdim, dim),  # the dim as given: PyTorch's ``_saved_dim``
        save_output=True,
        op=name[:4].lower(),
    )


def _settle_reduced_zeros(res, x, dims, keepdim) -> None:
    """Give each zero of amax/amin's result ``res`` the sign of the zero PyTorch's kernel keeps
    (``reduction_tie_keys``), in place."""
    if not dims:
        return
    zero = res == 0 if keepdim else np.expand_dims(res == 0, dims)
    keys = np.where((x == 0) & zero, reduction_tie_keys(x, dims), np.iinfo(np.int64).min)
    kept = [d for d in range(x.ndim) if d not in dims]
    moved = np.transpose(keys, kept + list(dims)).reshape([x.shape[d] for d in kept] + [-1])
    values = np.transpose(x, kept + list(dims)).reshape(moved.shape)
    winners = np.take_along_axis(values, moved.argmax(-1)[..., None], -1)[..., 0]
    np.copyto(res, winners.reshape(res.shape), where=res == 0)


def amax(input, dim=(), keepdim=False, *, _call=("amax", False)):
    """Largest values over ``dim`` (AmaxBackward0; ties share the gradient evenly)."""
    return _amax_like(input, dim, keepdim, True, _call)


def amin(input, dim=(), keepdim=False, *, _call=("amin", False)):
    """Smallest values over ``dim`` (AminBackward0)."""
    return _amax_like(input, dim, keepdim, False, _call)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_backward(g, x, ctx, ns):
    """FunctionsManual's var_backward: ``(2.0 / dof) * grad * (self - self.mean(dim, True))``, with
    ``grad`` unsqueezed back to the input's dims; over all elements ``self.mean()``, and for
    ``dof <= 0`` ``grad * where(self == self.mean(), nan, inf)``."""
    dims, keepdim, c, all_elements = ctx[:4]
    shape = tuple(x.shape)
    if all_elements:
        dof = _numel(shape) - c
        if dof <= 0:
            return g * _nan_where_mean_else_inf(x, ns)
        return (2.0 / dof) * g * (x - ns.mean(x))
    if not keepdim and len(shape) > 1:
        g = ns.unsqueeze_multiple(g, dims)
    dof = _numel(tuple(shape[d] for d in dims)) - c
    with np.errstate(divide="ignore", invalid="ignore"):
        return (2.0 / dof if dof else math.inf) * g * (x - ns.mean(x, dims, True))  # C++ doubles: 2 / 0 is inf


def _nan_where_mean_else_inf(x, ns):
    """``where(self == self.mean(), nan, inf)``: a constant (no history), in ``x``'s dtype."""
    data = x._data if ns.records_graph else x
    values = np.where(data == data.mean(), np.nan, np.inf).astype(data.dtype)
    return _wrap(values) if ns.records_graph else values


@backward_formula("VarBackward0")
def _var_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (_var_backward(g, x, node._ctx, ns),)


@backward_formula("StdBackward0")
def _std_bw(node, g, ns):
    # std_backward: var_backward((grad / (result * 2)).masked_fill_(result == 0, 0), ...)
    x, r = node.unpack(ns)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad_var = ns.masked_fill_(g / (r * 2), r == 0, 0)
    return (_var_backward(grad_var, x, node._ctx, ns),)


def _check_var_dtype(input) -> None:
    # checked before the dims are
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")


def _var_data(input, dims, c, keepdim, name="var"):
    """The variance over ``dims`` in the input's dtype, as PyTorch computes it
    (``_reduce.var_data``; std's sqrt is taken before rounding)."""
    _check_var_dtype(input)
    d = input._data
    # PyTorch's reduction factor: input numel divided by output numel (0 for an empty input)
    out_numel = _numel(tuple(size for k, size in enumerate(d.shape) if k not in dims))
    factor = d.size // builtins.max(out_numel, 1)
    if factor - c <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor "
            "(input numel divided by output numel).",
            UserWarning,
            stacklevel=_warn.user_stacklevel(),  # (the user's line, however deep: torch.var is wrapped for out=)
        )
    return _ns.reduced(_reduce.var_data(d, dims, c, keepdim, take_sqrt=name == "std"))


def _var_args(input, dim, unbiased, keepdim, correction, call):
    """var / std's arguments: (dim, the dims reduced, the correction, the correction as
    PyTorch's node keeps it: ``unbiased`` as 1 or 0 for the overloads taking it (a dim or
    ``unbiased`` given), else ``correction``, None if not given). ``var(input, True)`` is the
    ``unbiased`` overload; wrong types get PyTorch's parser text (``refuse_given``)."""
    try:
        if dim.__class__ is bool:  # var(input, unbiased)
            unbiased, dim = dim, None
        for flag, flag_name in ((unbiased, "unbiased"), (keepdim, "keepdim")):
            if flag is not None and flag.__class__ is not bool:
                _check_bool(flag, flag_name)
        _check_var_dtype(input)
        dims = _reduce_dims(input, dim)
    except Exception:
        if unbiased.__class__ is bool and dim is None:  # var(input, unbiased)
            refuse_given(call, (input, unbiased), ())
        optional = (("dim", None), ("unbiased", None), ("keepdim", False))
        refuse_given(call, (input, dim, unbiased, keepdim), optional, correction=(correction, None))
        raise
    c = _correction(unbiased, correction)
    return dim, dims, c, (correction if correction is not None or (unbiased is None and dim is None) else c)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, _call=("var", False)):
    """Variance over ``dim`` (VarBackward0; Bessel's correction by default)."""
    dim, dims, c, given = _var_args(input, dim, unbiased, keepdim, correction, _call)
    res = _var_data(input, dims, c, keepdim)
    ctx = (dims, keepdim, c, dim is None or input._data.ndim == 0, dim, given)
    return record(_wrap(res), node_class("VarBackward0"), (input,), (input,), ctx=ctx, op="var")


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, _call=("std", False)):
    """Standard deviation over ``dim`` (StdBackward0)."""
    dim, dims, c, given = _var_args(input, dim, unbiased, keepdim, correction, _call)
    res = _var_data(input, dims, c, keepdim, "std")
    ctx = (dims, keepdim, c, dim is None or input._data.ndim == 0, dim, given)
    return record(
        _wrap(np.asarray(res)), node_class("StdBackward0"), (input,), (input,), ctx=ctx, save_output=True, op="std"
    )


@backward_formula("LinalgVectorNormBackward0")
def _norm_bw(node, g, ns):
    """FunctionsManual's norm_backward (through linalg_vector_norm_backward): grad and norm
    unsqueezed at the reduced dims (none when ``dim`` was not given), then by ``p``."""
    x, r = node.unpack(ns)
    p, dims, keepdim, _ = node._ctx
    shape = tuple(x.shape)
    if not keepdim and dims and shape:
        g = ns.unsqueeze_multiple(g, dims)
        r = ns.unsqueeze_multiple(r, dims)
    if p == 0:
        return (None,)  # the count of non-zeros is flat: PyTorch returns an undefined grad
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 1:
            return (ns.sgn(x) * g,)
        if p in (float("inf"), float("-inf")):
            # amax(abs(self))'s derivative, shared among the ties (and NaNs, which win)
            a = ns.abs(x)
            mask = (a == r) | (a != a)
            count = ns.cast_like(ns.sum(mask, axis=tuple(dims) or None, keepdims=True), g)
            return (ns.sgn(x) * ((g / count) * mask),)
        if p == 2:
            return (g * ns.masked_fill_(x / r, r == 0, 0),)
        if p < 1:
            self_scaled = ns.sgn(x) * ns.masked_fill_(ns.abs(x) ** (p - 1), x == 0, 0)
            return (self_scaled * g * r ** (1 - p),)
        self_scaled = ns.sgn(x) * ns.abs(x) ** (p - 1) if p < 2 else x * ns.abs(x) ** (p - 2)
        return (self_scaled * ns.masked_fill_(g / r ** (p - 1), r == 0, 0),)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (LinalgVectorNormBackward0)."""
    if p.__class__ is str and p == "fro":
        if dim is not None and not isinstance(dim, int):
            len(dim)  # torch.norm's own len(dim) of a dim that is no int (a numpy integer too)
        p = 2
    elif p is None:
        p = 2
    if not isinstance(p, (int, float)):
        if isinstance(p, str):  # torch.norm takes any other string for a matrix norm
            if p != "nuc":
                raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
            if input.ndim < 2:
                raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
        refuse(("linalg_vector_norm", False), (input, p))
        raise TypeError(f"norm(): p must be a number or a string, got {type(p).__name__}")
    try:
        if keepdim.__class__ is not bool:
            _check_bool(keepdim, "keepdim")
        if not input.dtype.is_floating_point:
            raise RuntimeError(
                f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype._legacy}"
            )
        dims = _reduce_dims(input, dim)
    except Exception:  # torch.norm calls linalg.vector_norm(input, p, dim, keepdim), an int dim as [dim]
        dims = [dim] if isinstance(dim, int) else dim
        refuse_given(("linalg_vector_norm", False), (input, p, dims, keepdim), _DIM_KEEPDIM)
        raise
    d = input._data
    if dtype is not None and dtype.np != d.dtype:  # computed in dtype (the grad is cast back to input's)
        if not dtype.is_floating_point:
            raise RuntimeError(
                f"linalg.vector_norm: dtype should be floating point or complex, but got {dtype._legacy}"
            )
        if _dtype.promote_types(input.dtype, dtype) is not dtype:
            raise RuntimeError(
                f"linalg.vector_norm: the dtype of the input ({input.dtype._legacy}) should be convertible without "
                f"narrowing to the specified dtype ({dtype._legacy})"
            )
        d = d.astype(dtype.np)
    res = _reduce.norm2_data(d, tuple(dims), keepdim) if p == 2 else None  # PyTorch's order where replayed
    if p in (float("inf"), float("-inf")):
        name = "inf" if p > 0 else "-inf"
        if d.size == 0 and _all_dims(dim):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {name} norm on an empty tensor because the operation "
                "does not have an identity"
            )
        for k in dims:
            if d.shape[k] == 0:  # (PyTorch's text lacks the space after the dim)
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {name} norm on the dimension {k}because this "
                    "dimension is empty and the operation does not have an identity"
                )
        res = (np.abs(d).max if p > 0 else np.abs(d).min)(axis=tuple(dims), keepdims=keepdim)
    elif p == 0:
        res = np.count_nonzero(d, axis=tuple(dims), keepdims=keepdim).astype(d.dtype)
    if res is None:
        res = (((np.abs(d) ** p).sum(axis=dims, keepdims=keepdim)) ** (1.0 / p)).astype(d.dtype)
    res = _ns.reduced(res)
    # the backward sees the dims as given: none (all reduced) are not unsqueezed back
    ctx = (p, () if _all_dims(dim) else dims, keepdim, dim)  # dim as given: PyTorch's ``_saved_dim``
    out = _wrap(res)
    return record(
        out, node_class("LinalgVectorNormBackward0"), (input,), (input,), ctx=ctx, save_output=True, op="norm"
    )


# ============================================================================ matrix products


@backward_formula("BmmBackward0")
def _bmm_bw(node, g, ns):
    # derivatives.yaml: self: grad.bmm(mat2.transpose(1, 2)); mat2: self.transpose(1, 2).bmm(grad)
    # saved: (self, mat2); mat2's grad first (the alphabetical order, see _mul_bw)
    gb = ns.bmm(ns.swapaxes(node.saved_value(0, ns), 1, 2), g) if node.needs(1) else None
    ga = ns.bmm(g, ns.swapaxes(node.saved_value(1, ns), 1, 2)) if node.needs(0) else None
    return ga, gb


@backward_formula("MmBackward0")
def _mm_bw(node, g, ns):
    # saved: (self, mat2); ctx: which of them is column-major. mat2's grad first (the
    # alphabetical order, see _mul_bw)
    gb = _mm_mat2_grad(g, node.saved_value(0, ns), _column_major_input(node, 1), ns) if node.needs(1) else None
    ga = _mm_mat1_grad(g, node.saved_value(1, ns), _column_major_input(node, 0), ns) if node.needs(0) else None
    return ga, gb


def _column_major_input(node, i: int, first: int = 0) -> bool:
    """PyTorch's test for a column-major matrix (strides (1, rows)), e.g. a transposed weight,
    of the product's ``i``-th matrix (input ``first + i``). MmBackward0 and AddmmBackward0
    keep the matrices' strides in ``_ctx``, as PyTorch saves them (``self_sym_strides``)."""
    strides = node._ctx[i]
    shape, dtype = node._input_meta[first + i]
    return strides[0] == dtype.itemsize and strides[1] == dtype.itemsize * shape[0]


def _mm_mat1_grad(g, mat2, column_major: bool, ns):
    """PyTorch's mm_mat1_backward: the grad of a column-major mat1 is made column-major too
    (its transposes are t(): TBackward0 in a double-backward graph)."""
    if column_major:
        return ns.t(ns.matmul(mat2, ns.t(g)))
    return ns.matmul(g, ns.t(mat2))


def _mm_mat2_grad(g, mat1, column_major: bool, ns):
    """PyTorch's mm_mat2_backward: the grad of a column-major mat2 (``x @ w.t()``) is made
    column-major, so that through ``t()`` it has the weight's own layout and AccumulateGrad
    takes it without a copy."""
    if column_major:
        return ns.t(ns.matmul(ns.t(g), mat1))
    return ns.matmul(ns.t(mat1), g)


@backward_formula("MvBackward0")
def _mv_bw(node, g, ns):
    ga = ns.outer(g, node.saved_value(1, ns)) if node.needs(0) else None
    gb = ns.matmul(ns.t(node.saved_value(0, ns)), g) if node.needs(1) else None  # self.t().mv(grad)
    return ga, gb


@backward_formula("AddmmBackward0")
def _addmm_bw(node, g, ns):
    # saved: (mat1, mat2); ctx: their strides, alpha, beta. derivatives.yaml: self:
    # maybe_multiply(grad, beta); mat1, mat2: mm_mat1/2_backward(..., alpha), which multiply
    # their product by alpha unless it is 1
    alpha, beta = node._ctx[2:]
    g1 = _mm_mat1_grad(g, node.saved_value(1, ns), _column_major_input(node, 0, 1), ns) if node.needs(1) else None
    g2 = _mm_mat2_grad(g, node.saved_value(0, ns), _column_major_input(node, 1, 1), ns) if node.needs(2) else None
    if alpha != 1:
        g1 = None if g1 is None else g1 * alpha
        g2 = None if g2 is None else g2 * alpha
    return (g if beta == 1 else g * beta), g1, g2


def _two_saved(a, b):
    return (_saved_operand(a, None, b) if isinstance(b, Tensor) else None, _saved_operand(b, None, a))


# The kernels of the matrix products (as PyTorch names them in its errors); none is
# compiled for bool.
_PRODUCT_KERNELS = {"mm": "addmm_impl_cpu_", "mv": "addmv_impl_cpu", "dot": "dot", "bmm": "bmm"}


def _check_product_kernel(a: Tensor, op: str) -> None:
    if a._data.dtype == np.bool_:
        raise no_kernel(_PRODUCT_KERNELS[op], a.dtype)


def _no_products(result_numel: int, inner: int) -> bool:
    """Whether a matrix product has nothing to multiply: its result is empty (returned as
    is) or its inner dim is 0 (zero_()). PyTorch then runs no kernel, so nothing refuses bool."""
    return result_numel == 0 or inner == 0


@autograd_first
def mm(input, mat2):
    """Matrix product of two matrices (MmBackward0; saves each operand the other's grad needs)."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})"
        )
    if input.dtype is not mat2.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {input.dtype._cpp} != {mat2.dtype._cpp}"
        )
    if not _no_products(input.shape[0] * mat2.shape[1], input.shape[1]):
        _check_product_kernel(input, "mm")
    out = _wrap(input._data @ mat2._data)
    strides = (input._data.strides, mat2._data.strides)
    return record(out, node_class("MmBackward0"), (input, mat2), _two_saved(input, mat2), ctx=strides, op="mm")


@autograd_first
def dot(input, tensor):  # (torch names the second vector ``tensor``)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input.dtype is not tensor.dtype:
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {input.dtype._legacy} and {tensor.dtype._legacy}"
        )
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{tensor.shape[0]}] to have "
            f"the same number of elements, but got {input.shape[0]} and {tensor.shape[0]} elements respectively"
        )
    _check_product_kernel(input, "dot")
    out = _wrap(np.asarray(np.dot(input._data, tensor._data)))
    saved = _two_saved(input, tensor)[::-1]  # (tensor, self), as MulBackward0's formula reads them
    return record(out, node_class("DotBackward0"), (input, tensor), saved, op="dot")


@autograd_first
def mv(input, vec):
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), vec ({vec.shape[0]})"
        )
    if input.dtype is not vec.dtype:
        # mv runs as addmv into a result of vec's dtype, which is named first
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {vec.dtype._legacy}, {input.dtype._legacy}, "
            f"and {vec.dtype._legacy}"
        )
    if not _no_products(input.shape[0], input.shape[1]):
        _check_product_kernel(input, "mv")
    out = _wrap(input._data @ vec._data)
    return record(out, node_class("MvBackward0"), (input, vec), _two_saved(input, vec), op="mv")


@autograd_first
def bmm(input, mat2):
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, {input.shape[2]}] "
            f"but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    if _no_products(input.shape[0] * input.shape[1] * mat2.shape[2], input.shape[2]):
        # bmm's result (of batch2's dtype) is empty or zeros: no kernel runs, nothing checks dtypes
        out = _wrap(np.zeros((input.shape[0], input.shape[1], mat2.shape[2]), mat2._data.dtype))
    else:
        _check_product_kernel(input, "bmm")  # the kernel's dispatch on self's dtype comes first
        if input.dtype is not mat2.dtype:
            raise RuntimeError(f"expected scalar type {input.dtype._legacy} but found {mat2.dtype._legacy}")
        out = _wrap(input._data @ mat2._data)
    return record(out, node_class("BmmBackward0"), (input, mat2), _two_saved(input, mat2), op="bmm")


@backward_formula("UnsafeViewBackward0")
def _unsafe_view_bw(node, g, ns):
    return (ns.reshape(g, node._ctx),)


def _unsafe_view(input: Tensor, shape) -> Tensor:
    """``at::_unsafe_view``: a reshape that is recorded as a new tensor (UnsafeViewBackward0)."""
    out = _wrap(input._data.reshape(shape))
    return record(out, node_class("UnsafeViewBackward0"), (input,), ctx=input._data.shape, op="matmul")


def _squeeze0_bw(node, g, ns):
    # derivatives.yaml (squeeze_.dim): unsqueeze_to(grad, dim, self.sizes()), here grad.unsqueeze(0)
    return (ns.unsqueeze(g, 0),)


def _squeeze0_(t: Tensor) -> Tensor:
    """``t.squeeze_(0)`` of a fresh result whose dim 0 has size 1: an in-place edit (version 1,
    SqueezeBackward4)."""
    shape = t._data.shape
    node_cls = node_class("SqueezeBackward4", _squeeze0_bw)
    # the node is made while t still has its old shape: that is the shape its grad goes back in
    finish_inplace(t, "squeeze_", node_cls, (t,), ctx=shape)
    t._data = t._data.reshape(shape[1:])
    return t


def matmul(input, other, *, _call=("matmul", False)):
    """``input @ other`` dispatched as PyTorch's ``_matmul_impl`` (dot, mv, mm, folded mm/mv, or bmm)."""
    if not (isinstance(other, Tensor) and isinstance(input, Tensor)):  # (a numpy array too: the parser's)
        refuse(_call, (input, other))
    d1, d2 = input.ndim, other.ndim
    if d1 == 0 or d2 == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {d1}D and {d2}D")
    if d1 == 1 and d2 == 1:
        return dot(input, other)
    if d1 == 2 and d2 == 1:
        return mv(input, other)
    if d1 == 1 and d2 == 2:
        return _squeeze0_(mm(input.unsqueeze(0), other))
    if d1 == 2 and d2 == 2:
        return mm(input, other)
    if _should_fold(input, other):
        return _folded_matmul(input, other)
    return _batched_matmul(input, other)


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """PyTorch's should_fold: an N-d (N >= 3) by 1-d/2-d product folds the batch into one mm
    or mv when the small operand requires grad, or the batch dims can be folded without a copy."""
    big, small = (a, b) if a.ndim >= b.ndim else (b, a)
    if not (big.ndim >= 3 and small.ndim <= 2):
        return False
    if small.requires_grad:
        return True
    if a.ndim == 2:
        return False
    data = big._data
    if data.size == 0:
        return True
    shape, strides = list(data.shape), list(data.strides)
    if a.ndim < b.ndim:  # PyTorch looks at b.mT
        shape[-2:], strides[-2:] = shape[:-3:-1], strides[:-3:-1]
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(data.ndim - 2))


def _folded_matmul(input: Tensor, other: Tensor) -> Tensor:
    # the larger operand's batch is folded into the rows; if it is the right-hand one, the
    # transposed problem other^T @ input^T is solved and transposed back (a copy)
    transpose = other.ndim > input.ndim
    t1 = other.mT if transpose else input
    t2 = (input.t() if input.ndim == 2 else input) if transpose else other
    out_shape = tuple(t1.shape[:-1])
    folded = t1.reshape(_numel(out_shape), t1.shape[-1])
    if t2.ndim == 2:
        output = _unsafe_view(mm(folded, t2), out_shape + (t2.shape[1],))
        return contiguous(output.mT) if transpose else output
    return _unsafe_view(mv(folded, t2), out_shape)


def _batched_matmul(input: Tensor, other: Tensor) -> Tensor:
    # PyTorch broadcasts the batch dims, folds them into one, runs bmm and views the result back
    d1, d2 = input.ndim, other.ndim
    n = input.shape[-2] if d1 > 1 else 1
    m1 = input.shape[-1]
    batch1 = tuple(input.shape[: builtins.max(d1 - 2, 0)])
    m2 = other.shape[-2] if d2 > 1 else other.shape[0]
    p = other.shape[-1] if d2 > 1 else 1
    batch2 = tuple(other.shape[: builtins.max(d2 - 2, 0)])
    if d1 == 3 and d2 == 3 and batch1[0] != batch2[0]:
        # a batch of one that requires grad is squeezed to a matrix (its grad is then a plain mm's)
        if batch1[0] == 1 and input.requires_grad:
            return matmul(input.squeeze(0), other)
        if batch2[0] == 1 and other.requires_grad:
            return matmul(input, other.squeeze(0))
    try:
        batch = tuple(np.broadcast_shapes(batch1, batch2))
    except ValueError:
        raise broadcast_error(batch1, batch2) from None
    count = _numel(batch)
    a3 = input.expand(*batch, n, m1).reshape(count, n, m1)
    if d2 == 1:
        b3 = other.expand(*batch, m2).reshape(count, m2).unsqueeze(2)
    else:
        b3 = other.expand(*batch, m2, p).reshape(count, m2, p)
    prod_ = bmm(a3, b3)
    out_shape = batch + ((n,) if d1 > 1 else ()) + ((p,) if d2 > 1 else ())
    if d2 == 1:
        prod_ = prod_.squeeze(-1)
    return _unsafe_view(prod_, out_shape)


@autograd_first
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` (AddmmBackward0); with ``beta`` 0 the input's
    values are not read (its nan and inf do not propagate), as PyTorch's.

    Dtypes are checked before shapes, ``input`` against ``mat2`` first, as PyTorch's meta
    function does: ``addmm(ones(2, 2), ones(2, 3), ones(3, 2, dtype=float64))`` raises
    "self and mat2 must have the same dtype, but got Float and Double"."""
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    for (na, a), (nb, b) in ((("self", input), ("mat2", mat2)), (("mat1", mat1), ("mat2", mat2))):
        if a.dtype is not b.dtype:
            raise RuntimeError(
                f"{na} and {nb} must have the same dtype, but got {a.dtype._legacy} and {b.dtype._legacy}"
            )
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})"
        )
    if input.ndim <= 2:  # the kernel expands input to the result's shape (expand's error)
        from ._views import _expanded_shape

        _expanded_shape(input.shape, (mat1.shape[0], mat2.shape[1]))
    if not _no_products(mat1.shape[0] * mat2.shape[1], mat1.shape[1]):
        _check_product_kernel(mat1, "mm")
    data = mat1._data @ mat2._data
    if alpha != 1:
        data = data * alpha
    try:
        if beta == 0:
            data = np.ascontiguousarray(np.broadcast_to(data, np.broadcast_shapes(input._data.shape, data.shape)))
        else:
            data = data + (input._data if beta == 1 else input._data * beta)
    except ValueError:
        raise broadcast_error(input.shape, data.shape) from None
    out = _wrap(data)
    saved = (_saved_operand(mat1, None, mat2), _saved_operand(mat2, None, mat1))
    ctx = (mat1._data.strides, mat2._data.strides, alpha, beta)
    return record(out, node_class("AddmmBackward0"), (input, mat1, mat2), saved, ctx=ctx, op="addmm")


def outer(input, vec2):
    """PyTorch's composite outer: ``self.reshape({n, 1}) * vec2`` (ViewBackward0, MulBackward0)."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.reshape(input.shape[0], 1) * vec2


ger = outer


# ============================================================================ softmax


def _softmax_backward_data(g, r, dim, ns):
    """ATen's _softmax_backward_data(grad_output, output, dim): ``output * (grad_output -
    (grad_output * output).sum(dim, True))``; one node (SoftmaxBackwardDataBackward0, saving
    grad_output and output) under create_graph."""
    if ns.records_graph:
        values = _softmax_backward_values(g._data, r._data, dim, log=False)
        return record(
            _wrap(_arr(values)), _SoftmaxBackwardDataBackward0, (g, r), (g, r), ctx=dim, op="softmax_backward"
        )
    return _softmax_backward_values(g, r, dim, log=False)


def _softmax_backward_values(gd, rd, dim, log):
    """The values of (log_)softmax's backward kernel: float and double in the kernels' order
    (``_reduce.softmax_backward_data``), others in numpy's."""
    if _reduce._kernel_float(gd) and gd.dtype == rd.dtype:
        return _reduce.softmax_backward_data(gd, rd, dim % gd.ndim, log)
    if log:
        return gd - np.exp(rd) * np.sum(gd, axis=dim, keepdims=True)
    return rd * (gd - np.sum(gd * rd, axis=dim, keepdims=True))


def _softmax_bdb(node, gg, ns):
    # derivatives.yaml: grad_output: _softmax_backward_data(grad, output, dim);
    # output: softmax_double_backward(grad, grad_output, dim, output), that is
    # grad_output * grad - (output * grad_output).sum(dim, true) * grad - grad_output * (output * grad).sum(dim, true)
    g, r = node.unpack(ns)
    dim = node._ctx
    ggo = _softmax_backward_data(gg, r, dim, ns) if node.needs(0) else None
    if not node.needs(1):
        return ggo, None
    # C++ evaluates an operator's right operand first: the last term is made (and its nodes
    # numbered) first, then the middle one, then the first
    last = g * ns.sum(r * gg, dim, True)
    middle = ns.sum(r * g, dim, True) * gg
    return ggo, g * gg - middle - last


_SoftmaxBackwardDataBackward0 = node_class("SoftmaxBackwardDataBackward0", _softmax_bdb)


@backward_formula("SoftmaxBackward0")
def _softmax_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (_softmax_backward_data(g, r, node._ctx, ns),)  # derivatives.yaml: _softmax_backward_data(grad, result, dim)


def _log_softmax_backward_data(g, r, dim, ns):
    """ATen's _log_softmax_backward_data(grad_output, output, dim): ``grad_output -
    output.exp() * grad_output.sum(dim, True)``; one node (LogSoftmaxBackwardDataBackward0,
    saving grad_output and output) under create_graph."""
    if ns.records_graph:
        values = _softmax_backward_values(g._data, r._data, dim, log=True)
        node = _LogSoftmaxBackwardDataBackward0
        return record(_wrap(_arr(values)), node, (g, r), (g, r), ctx=dim, op="log_softmax_backward")
    return _softmax_backward_values(g, r, dim, log=True)


def _log_softmax_bdb(node, gg, ns):
    # derivatives.yaml: grad_output: grad - (grad * output.exp()).sum(dim, true);
    # output: -grad_output.sum(dim, true) * output.exp() * grad
    g, r = node.unpack(ns)
    dim = node._ctx
    ggo = gg - ns.sum(gg * ns.exp(r), dim, True) if node.needs(0) else None
    if not node.needs(1):
        return ggo, None
    e = ns.exp(r)  # the right operand of ``-grad_output.sum(dim, true) * output.exp()`` is made first
    return ggo, -ns.sum(g, dim, True) * e * gg


_LogSoftmaxBackwardDataBackward0 = node_class("LogSoftmaxBackwardDataBackward0", _log_softmax_bdb)


@backward_formula("LogSoftmaxBackward0")
def _log_softmax_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (_log_softmax_backward_data(g, r, node._ctx, ns),)  # _log_softmax_backward_data(grad, result, dim)


def _softmax_data(input, dim, dtype, op):
    """(the input in the computing dtype, its values, wrapped dim); integer dtypes have no kernel."""
    if dim is None:  # (F.softmax finds an implicit dim; the op refuses None, as PyTorch's parser)
        raise TypeError(f"{op}(): argument 'dim' must be int, not NoneType")
    if dtype is not None and dtype is not input.dtype:
        # PyTorch's softmax(dtype=) is ``input.to(dtype)`` first: its graph has a ToCopyBackward0
        input = _to_dtype(input, dtype)
    d = input._data
    dim = input._wrap_dim(dim)
    if d.dtype.kind != "f" and d.size:  # an empty tensor runs no kernel
        # the kernel for the last dim is a separate one, and named so in the error
        kernel = f"{op}_lastdim_kernel_impl" if dim >= input.ndim - 1 else f"{op}_kernel_impl"
        raise no_kernel(kernel, _dtype.from_numpy_dtype(d.dtype))
    return input, d, dim


def _wide(d):
    # PyTorch's kernels compute half precision in float (its accumulate type), then round
    return d.astype(np.float32) if d.dtype == np.float16 else d


def _shift(d, dim):
    # the max along ``dim`` keeps exp from overflowing
    return d.max(axis=dim, keepdims=True, initial=-np.inf)


@autograd_first(call=("softmax", False))
def softmax(input, dim=None, dtype=None, _stacklevel=3):
    """Softmax over ``dim`` (SoftmaxBackward0; saves its result)."""
    input, d, axis = _softmax_data(input, dim, dtype, "softmax")
    if not d.size:  # an empty tensor runs no kernel (of any dtype)
        res = np.empty(d.shape, d.dtype)
    elif _reduce._kernel_float(d):
        res = _arr(_reduce.softmax_data(d, axis, log=False))  # in the kernel's order of additions
    else:
        w = _wide(d)
        e = np.exp(w - _shift(w, axis))
        res = _arr((e / e.sum(axis=axis, keepdims=True)).astype(d.dtype, copy=False))
    # the node keeps the dim as given, as PyTorch's (``_saved_dim``): its formula takes it so
    ctx = dim if dim.__class__ is int else axis
    return record(_wrap(res), node_class("SoftmaxBackward0"), (input,), ctx=ctx, save_output=True, op="softmax")


@autograd_first(call=("log_softmax", False))
def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    """Log-softmax over ``dim`` (LogSoftmaxBackward0; saves its result)."""
    input, d, axis = _softmax_data(input, dim, dtype, "log_softmax")
    if not d.size:  # an empty tensor runs no kernel (of any dtype)
        res = np.empty(d.shape, d.dtype)
    elif d.dtype == np.float16 and axis == d.ndim - 1:
        res = _half_log_softmax_lastdim(d)
    elif _reduce._kernel_float(d):
        with np.errstate(divide="ignore", invalid="ignore"):
            res = _arr(_reduce.softmax_data(d, axis, log=True))  # in the kernel's order of additions
    else:
        w = _wide(d)
        z = w - _shift(w, axis)
        with np.errstate(divide="ignore", invalid="ignore"):  # log of an empty sum, silently
            res = _arr((z - np.log(np.exp(z).sum(axis=axis, keepdims=True))).astype(d.dtype, copy=False))
    out = _wrap(res)
    ctx = dim if dim.__class__ is int else axis  # as softmax's
    return record(out, node_class("LogSoftmaxBackward0"), (input,), ctx=ctx, save_output=True, op="log_softmax")


def _half_log_softmax_lastdim(d: np.ndarray) -> np.ndarray:
    """PyTorch's log_softmax of float16 over the last dim: computed in float, but the kernel
    keeps the row's sum and its log in float16 arrays, so both are rounded to half before the
    final ``x - max - log(sum)`` (the other dims' kernel rounds only the result)."""
    w = d.astype(np.float32)
    z = w - w.max(axis=-1, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):  # log of an empty sum, silently
        total = np.exp(z).sum(axis=-1, keepdims=True).astype(np.float16)
        log_total = np.log(total.astype(np.float32)).astype(np.float16)
    return (z - log_total.astype(np.float32)).astype(np.float16)


# ============================================================================ selection and joining


@backward_formula("WhereBackward0")
def _where_bw(node, g, ns):
    (cond,) = node.unpack(ns)
    z = ns.zeros_like(g)
    return ns.where(cond, g, z), ns.where(cond, z, g)


@autograd_first
def where(condition, input=None, other=None, *, _call=("where", False)):
    """Elementwise choice (WhereBackward0; saves the condition)."""
    try:
        if input is None and other is None:
            return tuple(_wrap(np.asarray(i, dtype=np.int64)) for i in np.nonzero(condition._data))
        if _is_scalar(input) or _is_scalar(other):
            # ATen first makes a number a scalar_tensor of the result dtype (refused out of its range)
            dt = _dtype.result_type(input, other)
            for x in (input, other):
                if _is_scalar(x):
                    _dtype.scalar_tensor_value(x, dt)
        if condition._data.dtype != np.bool_:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype._legacy}"
            )
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            input = _number_as_tensor(input)
        if isinstance(input, Tensor):
            da, db, _ = _operands(input, other)
        else:
            db, da, _ = _operands(other, input)
    except Exception:
        refuse(_call, (condition, input, other))
        raise
    try:
        res = in_operands_layout(np.where(condition._data, da, db), condition._data, da, db)
    except ValueError:
        check_pairs_broadcast([condition.shape, _shape_of(da), _shape_of(db)])
        raise
    return record(_wrap(_arr(res)), node_class("WhereBackward0"), (input, other), (condition,), op="where")


@backward_formula("CatBackward0")
def _cat_bw(node, g, ns):
    # cat_tensors_backward: each input's part of the grad, grad.narrow(dim, start, size); a
    # skipped empty 1-d input gets zeros({0})
    dim, sizes, _ = node._ctx
    grads, start = [], 0
    for n in sizes:
        if n is None:
            grads.append(ns.zeros((0,), g))
        else:
            grads.append(ns.narrow(g, dim, start, n))
            start += n
    return tuple(grads)


def _skipped_in_cat(t: Tensor) -> bool:
    # PyTorch's legacy rule: an empty 1-d tensor joins any cat (its shape is not checked)
    return t._data.ndim == 1 and t._data.shape[0] == 0


def cat(tensors, dim=0, *, _call=("cat", False)):
    """Concatenate along ``dim`` (CatBackward0; every input has an edge, even a skipped empty one)."""
    try:
        tensors = tensor_list(tensors)
        if not tensors:
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")  # a Python-side check
        d = stale_views_first(_cat_dim, (tensors, dim))
    except Exception:
        refuse_given(_call, (tensors, dim), (("dim", 0),))
        raise
    dt = _dtype.result_type(*[t.dtype for t in tensors])
    parts = [t for t in tensors if not _skipped_in_cat(t)]
    if not parts:  # only empty 1-d tensors: an empty one
        sizes = [None] * len(tensors)
        return record(
            _wrap(np.zeros((0,), dtype=dt.np)),
            node_class("CatBackward0"),
            tuple(tensors),
            ctx=(0, sizes, dim),
            op="cat",
        )
    res = np.concatenate([_cast(t, dt) for t in parts], axis=d)
    sizes = [None if _skipped_in_cat(t) else t.shape[d] for t in tensors]
    ctx = (d, sizes, dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(_wrap(res), node_class("CatBackward0"), tuple(tensors), ctx=ctx, op="cat")


concat = concatenate = cat


def _cat_dim(tensors, dim):
    """cat's kernel checks of its tensors; the wrapped dim (None when all are skipped)."""
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    parts = [t for t in tensors if not _skipped_in_cat(t)]
    if not parts:
        return None
    ref = parts[0]
    d = ref._wrap_dim(dim)
    for i, t in enumerate(tensors):
        if _skipped_in_cat(t):
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {ref.shape[k]} but got size "
                    f"{t.shape[k]} for tensor number {i} in the list."
                )
    return d


@backward_formula("StackBackward0")
def _stack_bw(node, g, ns):
    dim, n, _ = node._ctx
    return tuple(ns.select(g, dim, i) for i in range(n))


@autograd_first(call=("stack", False))
def stack(tensors, dim=0):
    """Stack along a new ``dim`` (StackBackward0)."""
    tensors = tensor_list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    d = tensors[0]._wrap_dim(dim, tensors[0].ndim + 1)
    dt = _dtype.result_type(*[t.dtype for t in tensors])
    res = np.stack([_cast(t, dt) for t in tensors], axis=d)
    ctx = (d, len(tensors), dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(_wrap(res), node_class("StackBackward0"), tuple(tensors), ctx=ctx, op="stack")


# ============================================================================ copies and casts


@backward_formula("CloneBackward0")
def _clone_bw(node, g, ns):
    return (g,)


@backward_formula("ToCopyBackward0")
def _to_copy_bw(node, g, ns):
    return (g,)


def clone(input, *, memory_format=None):
    """A copy with its own storage that stays in the graph (CloneBackward0), laid out as
    PyTorch's preserve_format: a dense tensor keeps its strides, others get
    TensorIterator's order."""
    return _clone_of(input, preserved_copy(input._data))


def contiguous_clone(input):
    """``clone(memory_format=torch.contiguous_format)``: a C-contiguous copy (CloneBackward0)."""
    return _clone_of(input, np.array(input._data, order="C"))


def contiguous(input, memory_format=None):
    return input if input._data.flags.c_contiguous else contiguous_clone(input)


def _clone_of(input, data):
    return record(_wrap(data), node_class("CloneBackward0"), (input,), op="clone")


def _to_dtype(input, dt: _dtype.dtype, copy=False):
    if dt is input.dtype and not copy:
        return input
    data = input._data.astype(dt.np)
    if not data.size:  # _to_copy lays an empty tensor out as empty_like does (numpy zeroes its strides)
        data = empty_preserving(input._data, dt.np)
    # differentiable into a floating dtype whatever the source (a bool tensor can require grad)
    if dt.is_floating_point and input._data.dtype.kind != "c":
        return record(_wrap(data), node_class("ToCopyBackward0"), (input,), op="to")
    return _nondiff(data, (input,), "to")


def to(input, *args, **kwargs):
    """Convert dtype (``to(torch.float64)``); devices other than cpu are refused."""
    from ._factories import _check_device

    dt = kwargs.get("dtype")
    copy = kwargs.get("copy", False)
    for a in args:
        if isinstance(a, _dtype.dtype):
            dt = a
        elif isinstance(a, Tensor):
            dt = a.dtype
        elif isinstance(a, str) or type(a).__name__ == "device":
            _check_device(a)
    _check_device(kwargs.get("device"))
    if dt is None:
        return input
    return _to_dtype(input, dt, copy)


def _caster(dt):
    def fn(self, memory_format=None):
        return _to_dtype(self, dt)

    return fn


def type_as(input, other):
    return _to_dtype(input, other.dtype)


# ============================================================================ in-place ops


def _write(self: Tensor, values, op: str, result: _dtype.dtype | None = None) -> None:
    """Store ``values`` into ``self`` (broadcast, cast to self's dtype as PyTorch allows).

    ``result`` is the dtype PyTorch computes the op in (numpy's may differ: tanh of an int64
    array is float64 in numpy, float32 in PyTorch); by default the dtype of ``values``.
    """
    check_out_shape(self._data.shape, _shape_of(values))
    if result is None:
        result = _dtype.from_numpy_dtype(values.dtype if isinstance(values, _ndarray) else np.result_type(values))
    check_result_dtype(result, self)
    self._data[...] = values


def check_out_shape(dst_shape, src_shape) -> None:
    """TensorIterator's shape check for a result written into ``dst``: the operands broadcast,
    and to ``dst``'s shape."""
    if tuple(src_shape) == tuple(dst_shape):
        return
    try:
        full = np.broadcast_shapes(tuple(src_shape), tuple(dst_shape))
    except ValueError:
        raise broadcast_error(dst_shape, src_shape) from None
    if full != tuple(dst_shape):
        raise RuntimeError(f"output with shape {list(dst_shape)} doesn't match the broadcast shape {list(full)}")


def check_result_dtype(result: _dtype.dtype, self: Tensor) -> None:
    """Refuse an in-place result ``self`` cannot hold (a float into an integer tensor, ...)."""
    if not _dtype.can_cast(result, self.dtype):
        raise RuntimeError(
            f"result type {result._legacy} can't be cast to the desired output type {self.dtype._legacy}"
        )


def _snapshot(self: Tensor):
    """``self`` as it is before an in-place edit, for formulas that need the old values:
    PyTorch's kernel saves ``self.clone()``, recorded in grad mode (CloneBackward0 over
    self's history, which a formula under create_graph differentiates through)."""
    old = _wrap(preserved_copy(self._data))
    if needs_grad(self):
        old._grad_fn = _make_node(node_class("CloneBackward0"), (self,), (), None)
        mark_original_self(old)
    return old


def check_no_partial_overlap(self: Tensor, other) -> None:
    """Refuse a source that shares some, but not all, of the memory an in-place op writes."""
    if isinstance(other, Tensor) and overlap_status(self._data, other._data) == "partial":
        _refuse_overlap()


def check_no_overlap(self: Tensor, other) -> None:
    """Refuse a source that shares any of the memory an in-place op writes (index_put_)."""
    if isinstance(other, Tensor) and overlap_status(self._data, other._data) in ("partial", "full"):
        _refuse_overlap()


def _same_strides(a: np.ndarray, b: np.ndarray) -> bool:
    """PyTorch's ``a.strides() == b.strides()``: sizes are not compared (``t.mT`` of a column
    fully overlaps ``t``), the strides of dims of size 1 are (``x[..., ::2]`` of a 1×1 tensor
    only partly overlaps it)."""
    return a.strides == b.strides


def _same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and the same strides (those of dims of size 1 too, as PyTorch compares them)."""
    return a.shape == b.shape and _same_strides(a, b)


def _refuse_overlap():
    raise RuntimeError(
        "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
        "memory location. Please clone() the tensor before performing the operation."
    )


def overlap_status(a: np.ndarray, b: np.ndarray) -> str:
    """PyTorch's get_overlap_status of two arrays: "full" (the same elements), "partial",
    "no", or "too_hard" when either is not dense (PyTorch then checks nothing)."""
    if a is b:
        return "full"
    if a.size == 0 or b.size == 0:
        return "no"
    if not (non_overlapping_and_dense(a) and non_overlapping_and_dense(b)):
        return "too_hard"
    a_begin = a.__array_interface__["data"][0]
    b_begin = b.__array_interface__["data"][0]
    a_end = a_begin + a.size * a.itemsize
    b_end = b_begin + b.size * b.itemsize
    if a_begin == b_begin and a_end == b_end:
        return "full" if _same_strides(a, b) else "partial"
    return "partial" if a_begin < b_end and b_begin < a_end else "no"


def _inplace_binary(
    self,
    other,
    np_fn,
    node_cls,
    op,
    alpha=1,
    check_operands=None,
    result_dtype=lambda d: d,
    number_edge=True,
    ctx=None,
    save_output=False,
):
    """``self op= other``; ``result_dtype`` maps the promoted dtype to the op's result dtype;
    ``number_edge``: a number ``other`` is an input of the node (a wrapped number, as add_'s);
    ``ctx``: the node's context (``alpha`` if None); ``save_output``: the node saves the result."""
    # autograd's refusals come first, then the kernel's operand checks (sub_ of a bool), then
    # TensorIterator's overlap checks, as PyTorch's
    check_inplace(self, op, (other,), overlap="ok")
    refuse_stale_view(other)  # collect_next_edges reads other's grad_fn before the kernel checks
    if check_operands is not None:
        check_operands(self, other)
    check_internal_overlap(self, op)
    check_no_partial_overlap(self, other)
    if not isinstance(other, Tensor) and not _is_scalar(other):
        raise NotATensor(other)  # PyTorch's parser refuses it (see _argparse)
    da, db, dt = _operands(self, other)
    result = result_dtype(dt or self.dtype)
    # TensorIterator checks the shapes, then the result dtype, before add_ checks alpha
    check_out_shape(self._data.shape, _shape_of(db))
    check_result_dtype(result, self)
    raw = db
    if not _alpha_is_one(alpha):
        fused = _alpha_kernel(np_fn, alpha, da.dtype)  # add_'s kernel is add's
        np_fn, db = (fused, raw) if fused else (np_fn, _scaled(db, alpha, da.dtype, np_fn is np.subtract))
    if da is self._data and _aliases_unanalysably(da, raw):
        saved = _inplace_saved(self, other, db, node_cls)
        # writes self as PyTorch's loop does, scaling each value of other as it reads it
        fn = np_fn if raw is db else (lambda a, b: np_fn(a, _scaled(b, alpha, da.dtype, np_fn is np.subtract)))
        apply_in_iteration_order(fn, da, raw)
    else:
        try:
            res = _compute(np_fn, da, db)
        except RuntimeError as e:
            if str(e) == "ZeroDivisionError":  # the integer kernel's loop stopped at the first zero divisor
                zero = np.equal(db, 0)
                write_before_first(da, np_fn(da, np.where(zero, 1, db)), zero, (db,))
            raise
        saved = _inplace_saved(self, other, db, node_cls)
        _write(self, res, op, result)
    inputs = (self, other) if number_edge or isinstance(other, Tensor) else (self,)
    # PyTorch's NotImplemented node has edges only to the inputs that require grad
    node_inputs = tuple(t for t in inputs if t.requires_grad) if node_cls is NotImplementedNode else None
    return finish_inplace(
        self,
        op,
        node_cls,
        inputs,
        saved,
        ctx=alpha if ctx is None else ctx,
        save_output=save_output,
        node_inputs=node_inputs,
    )


def _aliases_unanalysably(da, db) -> bool:
    """``db`` shares memory with ``da`` (self's own array) in a way get_overlap_status calls too hard."""
    return (
        db.__class__ is _ndarray
        and np.may_share_memory(da, db)
        and overlap_status(da, db) == "too_hard"
        and np.shares_memory(da, db)
    )


def _inplace_saved(self, other, db, node_cls) -> tuple:
    """What an in-place product or quotient saves (before self changes)."""
    saved = ()
    if (node_cls is _FmodBackward1 or node_cls is _RemainderBackward1) and _requires(other):
        return (_snapshot(self), other)  # only other's formula reads them
    if node_cls in (_PowBackward0, _PowBackward1) and needs_grad(self, other):
        # pow's formulas read self as it was: PyTorch's in-place kernel saves self.clone()
        return (_snapshot(self), other)
    if node_cls is _MulBackward0 and needs_grad(self, other):
        saved = (_saved_operand(other, db, self), _snapshot(self) if _requires(other) else None)
    elif (node_cls is _DivBackward0 or node_cls is _DivBackward2) and needs_grad(self, other):
        saved = (_as_saved(other, db), _snapshot(self) if _requires(other) else None)
    return saved


def _requires(x) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def add_(self, other=MISSING, *extra, alpha=1, _call=("add_", True), **unknown):
    if extra or unknown:
        return scalar_first_or_refused(_call, add_, (self, other), extra, unknown, "alpha", alpha, 1)
    try:
        return _inplace_binary(self, other, np.add, _AddBackward0, "add_", alpha)
    except Exception:
        refuse(_call, (self, other), alpha=(alpha, 1))
        raise


def sub_(self, other=MISSING, *extra, alpha=1, _call=("sub_", True), **unknown):
    if extra or unknown:
        return scalar_first_or_refused(_call, sub_, (self, other), extra, unknown, "alpha", alpha, 1)
    try:
        return _inplace_binary(self, other, np.subtract, _SubBackward0, "sub_", alpha, _check_bool_sub)
    except Exception:
        refuse(_call, (self, other), alpha=(alpha, 1))
        raise


def mul_(self, other=MISSING, *extra, _call=("mul_", True), **unknown):
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown)
    try:
        return _inplace_binary(self, other, np.multiply, _MulBackward0, "mul_")
    except Exception:
        refuse(_call, (self, other))
        raise


def div_(self, other=MISSING, *extra, rounding_mode=None, _call=("div_", True), **unknown):
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown, rounding_mode=(rounding_mode, None))
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode is not None:
                return _inplace_binary(
                    self, other, _rounding_division(rounding_mode), _DivBackward2, "div_", ctx=rounding_mode
                )
            return _inplace_binary(self, other, np.true_divide, _DivBackward0, "div_", result_dtype=_dtype.float_result)
    except Exception:
        refuse(_call, (self, other), rounding_mode=(rounding_mode, None))
        raise


_FmodBackward1 = node_class("FmodBackward1")
_RemainderBackward1 = node_class("RemainderBackward1")


def fmod_(self, other=MISSING, *extra, _call=("fmod_", True), **unknown):
    """In-place ``fmod`` (FmodBackward0 for a number, FmodBackward1 saving self's old values)."""
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown)
    try:
        node_cls = _FmodBackward1 if isinstance(other, Tensor) else node_class("FmodBackward0")
        with np.errstate(divide="ignore", invalid="ignore"):
            return _inplace_binary(self, other, _fmod, node_cls, "fmod_", number_edge=False)
    except Exception:
        refuse(_call, (self, other))
        raise


def remainder_(self, other=MISSING, *extra, _call=("remainder_", True), **unknown):
    """In-place ``remainder`` (``x %= y``): RemainderBackward0 for a number, RemainderBackward1
    for a tensor, saving self's old values and other only when other's grad is wanted.

    >>> import gradlens_core as torch
    >>> a = torch.tensor([5., -3.])
    >>> a %= 2
    >>> a
    tensor([1., 1.])
    """
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown)
    try:
        node_cls = _RemainderBackward1 if isinstance(other, Tensor) else node_class("RemainderBackward0")
        with np.errstate(divide="ignore", invalid="ignore"):
            return _inplace_binary(self, other, _mod, node_cls, "remainder_", number_edge=False)
    except Exception:
        refuse(_call, (self, other))
        raise


_PowBackward0 = node_class("PowBackward0")
_PowBackward1 = node_class("PowBackward1")


def pow_(self, exponent=MISSING, *extra, _call=("pow_", True), **unknown):
    """In-place ``**`` (``x **= y``): PowBackward0 for a number exponent, saving self's old
    values and the exponent; PowBackward1 for a tensor, saving self's old values, the exponent
    and the result (as ``pow`` does).

    >>> import gradlens_core as torch
    >>> x = torch.tensor([1.0, 2.0, 3.0])
    >>> x **= 2
    >>> x
    tensor([1., 4., 9.])
    """
    if extra or unknown:
        refuse_extra(_call, (self, exponent), extra, unknown)
    try:
        tensor_exponent = isinstance(exponent, Tensor)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _inplace_binary(
                self,
                exponent,
                _pow_kernel if tensor_exponent else _power,
                _PowBackward1 if tensor_exponent else _PowBackward0,
                "pow_",
                check_operands=_check_integer_power,
                number_edge=False,
                save_output=tensor_exponent,
            )
    except Exception:
        refuse(_call, (self, exponent))
        raise


def _check_integer_power(base: Tensor, exponent) -> None:
    """pow's check of a number exponent (before TensorIterator's checks): NumPy's rule."""
    if base._data.dtype.kind in "iub" and isinstance(exponent, numbers.Integral) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _pow_kernel(base, exponent):
    """pow's kernel for a tensor exponent: none for bools (after the shape and dtype checks)."""
    if np.result_type(base, exponent) == np.bool_:
        raise no_kernel("pow", _dtype.bool_)
    return _power(base, exponent)


def _inplace_unary(name, np_fn, save_output=False, save_input=False, float_only=True):
    node_cls = node_class(name)
    op = name[: name.index("Backward")].lower() + "_"

    def fn(self=MISSING, *extra, _call=(op, True), **unknown):
        _self_only(self, extra, unknown, _call)
        check_inplace(self, op, overlap="ok")
        if op == "relu_":  # relu's own check of a bool input comes before TensorIterator's
            _check_kernel(self, "relu")
        check_internal_overlap(self, op)
        result = _dtype.float_result(self.dtype) if float_only else self.dtype
        check_result_dtype(result, self)
        _check_kernel(self, op[:-1])
        saved = (_snapshot(self),) if save_input and needs_grad(self) else ()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            _write(self, np_fn(self._data), op, result)
        return finish_inplace(self, op, node_cls, (self,), saved, save_output=save_output)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"In-place {op[:-1]} (bumps the version counter)."
    return fn


def _self_only(self, extra, unknown, call) -> None:
    """The argument check of an op of the tensor alone (exp_, zero_, ...): anything more, or
    no tensor (``torch.exp_()``), is refused as PyTorch's parser (for a Tensor method, CPython's
    METH_NOARGS check) refuses it. The op's catch-alls cost no more than this test."""
    if extra or unknown or self.__class__ is not Tensor and not isinstance(self, Tensor):
        refuse_extra(call, (self,), extra, unknown)


exp_ = _inplace_unary("ExpBackward0", np.exp, save_output=True)
sigmoid_ = _inplace_unary("SigmoidBackward0", _np_sigmoid, save_output=True)
tanh_ = _inplace_unary("TanhBackward0", np.tanh, save_output=True)
relu_ = _inplace_unary("ReluBackward0", _np_relu, save_output=True, float_only=False)
sqrt_ = _inplace_unary("SqrtBackward0", np.sqrt, save_output=True)
log_ = _inplace_unary("LogBackward0", np.log, save_input=True)
sin_ = _inplace_unary("SinBackward0", np.sin, save_input=True)
log2_ = _inplace_unary("Log2Backward0", _np_log2, save_input=True)
log10_ = _inplace_unary("Log10Backward0", _np_log10, save_input=True)
atan_ = _inplace_unary("AtanBackward0", _np_atan, save_input=True)
arctan_ = entry(atan_, "arctan_", False)
rsqrt_ = _inplace_unary("RsqrtBackward0", _np_rsqrt, save_output=True)
cos_ = _inplace_unary("CosBackward0", np.cos, save_input=True)
abs_ = _inplace_unary("AbsBackward0", np.abs, save_input=True, float_only=False)
_neg_ = _inplace_unary("NegBackward0", np.negative, float_only=False)


def neg_(self=MISSING, *extra, _call=("neg_", True), **unknown):
    """In-place negation (refused on bool tensors, as ``-`` is)."""
    _self_only(self, extra, unknown, _call)
    if self._data.dtype == np.bool_:
        neg(self)  # raises PyTorch's error
    return _neg_(self)


_round_ = _inplace_unary("RoundBackward0", np.round, float_only=False)


def round_(self=MISSING, *extra, decimals=_NO_DECIMALS, _call=("round_", True), **unknown):
    """In-place ``round`` (RoundBackward0, or RoundBackward1 with ``decimals``)."""
    if extra or unknown or not isinstance(self, Tensor):
        refuse_extra(_call, (self,), extra, unknown, decimals=(decimals, _NO_DECIMALS))
    if decimals is _NO_DECIMALS:
        return _round_(self)
    decimals = _decimals_arg(self, decimals, _call)
    check_inplace(self, "round_", overlap="ok")
    check_internal_overlap(self, "round_")
    _write(self, _round_decimals(self._data, decimals), "round_")
    return finish_inplace(self, "round_", node_class("RoundBackward1"), (self,))


floor_ = _inplace_unary("FloorBackward0", np.floor, float_only=False)
ceil_ = _inplace_unary("CeilBackward0", np.ceil, float_only=False)
node_class("ZeroBackward0", _zero_grad_formula)
node_class("FillBackward0", _zero_grad_formula)
node_class("FillBackward2", _zero_grad_formula)


@backward_formula("FillBackward1")
@backward_formula("FillBackward3")
def _fill_tensor_bw(node, g, ns):
    return ns.zeros_like(g), ns.sum(g)  # self: zeros_like(grad); value: grad.sum()


@autograd_first(call=("fill", False))
def fill(input, value):
    """``torch.fill``: ``empty_like(input).fill_(value)``, a new tensor laid out as ``input``.
    FillBackward0 for a number; FillBackward1 for a 0-d tensor, whose grad is ``grad.sum()``.

    >>> import gradlens_core as torch
    >>> torch.fill(torch.ones(2, requires_grad=True), 3.0)
    tensor([3., 3.], grad_fn=<FillBackward0>)
    """
    if not isinstance(input, Tensor):
        raise NotATensor(input)
    _check_numbers(value)  # the caller replays the parser for its text
    out = _wrap(empty_preserving(input._data))
    if isinstance(value, Tensor):
        _check_fill_value(value)
        out._data[...] = value._data.astype(out._data.dtype)
        return record(out, node_class("FillBackward1"), (input, value), op="fill")
    out._data[...] = _dtype.checked_scalar(value, input.dtype)
    return record(out, node_class("FillBackward0"), (input,), op="fill")


def _check_fill_value(value: Tensor) -> None:
    if value.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")


def zero_(self=MISSING, *extra, _call=("zero_", True), **unknown):
    """Fill with zeros in place (ZeroBackward0)."""
    _self_only(self, extra, unknown, _call)
    check_inplace(self, "zero_", overlap="ok")  # filling is idempotent: PyTorch allows expanded tensors
    self._data[...] = 0
    return finish_inplace(self, "zero_", node_class("ZeroBackward0"), (self,))


def fill_(self=MISSING, value=MISSING, *extra, _call=("fill_", True), **unknown):
    """Fill with ``value`` in place (FillBackward0, or FillBackward1 for a 0-d tensor value)."""
    # filling with a number is idempotent: PyTorch allows expanded tensors (not with a tensor value)
    try:
        if extra or unknown:
            raise NotATensor(extra)
        _check_numbers(value)
        check_inplace(self, "fill_", (value,), overlap="error" if isinstance(value, Tensor) else "ok")
    except Exception:
        refuse(_call, (self, value, *extra), unknown)
        raise
    if isinstance(value, Tensor):
        _check_fill_value(value)
        _write(self, value._data.astype(self._data.dtype), "fill_")
        return finish_inplace(self, "fill_", node_class("FillBackward3"), (self, value))
    self._data[...] = _dtype.checked_scalar(value, self.dtype)
    return finish_inplace(self, "fill_", node_class("FillBackward2"), (self,))


def clamp_(self=MISSING, min=None, max=None, *extra, _call=("clamp_", True), **unknown):
    """In-place clamp (ClampBackward1; saves the original values; ClampBackward0 for tensor bounds)."""
    try:
        if extra or unknown:
            raise NotATensor(extra)
        _check_bounds(min, max)
        check_inplace(self, "clamp_", overlap="ok")
    except Exception:
        if extra:  # (min and max came by position)
            refuse(_call, (self, min, max, *extra), unknown)
        refuse_given(_call, (self, min, max), (("min", None), ("max", None)), unknown)
        raise
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return _clamp_in_place(self, min, max, "clamp_", "ClampBackward1", "ClampBackward0")


def clamp_min_(self=MISSING, min=MISSING, *extra, _call=("clamp_min_", True), **unknown):
    """In-place ``clamp_min``: ClampMinBackward0 for a number, ClampMinBackward1 for a tensor
    (which, as clamp_'s, saves self's old values and the bound).

    >>> import gradlens_core as torch
    >>> a = torch.tensor([1., -2.], requires_grad=True) * 1
    >>> a.clamp_min_(torch.zeros(2))
    tensor([1., 0.], grad_fn=<ClampMinBackward1>)
    """
    _one_bound_args(self, min, extra, unknown, _call)
    return _clamp_in_place(self, min, None, "clamp_min_", "ClampMinBackward0", "ClampMinBackward1")


def clamp_max_(self=MISSING, max=MISSING, *extra, _call=("clamp_max_", True), **unknown):
    """In-place ``clamp_max``: ClampMaxBackward0 for a number, ClampMaxBackward1 for a tensor."""
    _one_bound_args(self, max, extra, unknown, _call)
    return _clamp_in_place(self, None, max, "clamp_max_", "ClampMaxBackward0", "ClampMaxBackward1")


def _one_bound_args(self, bound, extra, unknown, call) -> None:
    """clamp_min_'s and clamp_max_'s checks before their kernel: the parser's (replayed for its
    text: a bound that is no number or tensor, none, more than one, or an unknown keyword),
    then autograd's refusal of the edit."""
    try:
        if bound is MISSING or extra or unknown:
            raise TypeError(f"{call[0]}() takes one bound")
        _check_numbers(bound)
        check_inplace(self, call[0], (bound,), overlap="ok")
    except Exception:
        refuse(call, (self, bound, *extra), unknown)
        raise


def _clamp_in_place(self, min, max, op, name, tensor_name):
    """clamp_, clamp_min_ and clamp_max_ after their argument checks: node ``name`` for number
    bounds, ``tensor_name`` for tensor ones."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        check_internal_overlap(self, op)
        return _clamp_tensor_(self, min, max, op, tensor_name)
    if not self.dtype.is_floating_point:
        # clamp promotes by hand and allows no promotion in place; its message names the C++ type
        result = _dtype.result_type(self, *(v for v in (min, max) if v is not None))
        if result is not self.dtype:
            raise RuntimeError(
                f"result type {result._legacy} can't be cast to the desired output type {self.dtype._cpp}"
            )
    check_internal_overlap(self, op)  # TensorIterator's, after clamp's own dtype check
    saved = (_snapshot(self), min, max) if needs_grad(self) else ()
    _write(self, _clip(self._data, min, max), op)
    return finish_inplace(self, op, node_class(name), (self,), saved)


def _clamp_tensor_(self, min, max, op, name):
    lo = None if min is None else as_tensor_arg(min)
    hi = None if max is None else as_tensor_arg(max)
    bounds = [b for b in (lo, hi) if b is not None]
    for b in bounds:
        check_no_partial_overlap(self, b)
    result = _dtype.result_type(self, *bounds)
    try:
        res = _clip(self._data, *(None if b is None else b._data for b in (lo, hi)), out=self._data, dtype=result)
    except ValueError:
        raise broadcast_error(self.shape, bounds[0].shape) from None
    check_out_shape(self._data.shape, res.shape)
    check_result_dtype(result, self)
    # clamp_ has an edge to each bound (None for an absent one), clamp_min_/clamp_max_ to theirs
    inputs = (self, lo, hi) if name == "ClampBackward0" else (self, *bounds)
    saved = (_snapshot(self), *inputs[1:]) if needs_grad(*inputs) else ()
    self._data[...] = res
    return finish_inplace(self, op, node_class(name), inputs, saved)


clip_ = clamp_


@backward_formula("CopyBackwards")
def _copy_bw(node, g, ns):
    return ns.zeros_like(g), g


def _second(_, value):
    return value


def copy_(self, src=MISSING, non_blocking=False, *extra, _call=("copy_", True), **unknown):
    """Copy ``src`` into ``self`` (CopyBackwards: self's old values get zero grad)."""
    if extra or unknown or not isinstance(src, Tensor) or non_blocking.__class__ is not bool:
        if extra or unknown or not _is_scalar(src) or non_blocking.__class__ is not bool:
            refuse_extra(_call, (self, src, non_blocking), extra, unknown, (("non_blocking", False),))
        src = as_tensor_arg(src)  # a number: PyTorch's parser takes it as a tensor here
    # copying a tensor onto the very same elements: PyTorch returns before its checks (even an
    # expanded tensor may be its own source), the version still moves
    a, b = self._data, src._data
    same = (
        _same_layout(a, b)
        and a.dtype == b.dtype
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )
    # copy_ (unlike the generated in-place ops) requires grad only into a differentiable
    # dtype (VariableTypeManual's copy_): copying into a bool view made under no_grad is allowed
    differentiable = self._data.dtype.kind in "fc"
    check_inplace(self, "copy_", (src,), overlap="ok" if same else "error", tracked=differentiable)
    if not same:
        check_no_partial_overlap(self, src)
        check_out_shape(self._data.shape, src._data.shape)
        if _aliases_unanalysably(a, b):
            apply_in_iteration_order(_second, a, b)  # PyTorch's loop reads what it wrote
        else:
            a[...] = b  # copy_ casts to any dtype
    node_cls = node_class("CopyBackwards") if differentiable else None
    return finish_inplace(self, "copy_", node_cls, (self, src))


@backward_formula("MaskedFillBackward0")
def _masked_fill_bw(node, g, ns):
    (mask,) = node.unpack(ns)
    return (ns.masked_fill(g, mask, 0),)  # derivatives.yaml: grad.masked_fill(mask, 0)


@backward_formula("MaskedFillBackward1")
def _masked_fill_tensor_bw(node, g, ns):
    # self: grad.masked_fill(mask, 0); value: masked_fill_backward, grad.masked_select(mask).sum()
    (mask,) = node.unpack(ns)
    gv = None
    if node.needs(1):
        gv = ns.sum(ns.masked_select(g, mask))
    return (ns.masked_fill(g, mask, 0) if node.needs(0) else None), gv


def raise_not_a_bool_mask(dtype: _dtype.dtype):
    """masked_fill_'s refusal of a mask that is not bool (the dtype named as C++ names it)."""
    raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {dtype._cpp}")


def _masked_fill_args(self, mask, value):
    """(value, node class, differentiable inputs): a tensor value (0-d only) is an input of
    its own (MaskedFillBackward1); the mask never is. The value is converted once the shapes
    are checked."""
    _check_numbers(value)
    if mask._data.dtype != np.bool_:
        raise_not_a_bool_mask(mask.dtype)
    if not isinstance(value, Tensor):
        return value, node_class("MaskedFillBackward0"), (self,)
    if value.ndim:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)."
        )
    return value, node_class("MaskedFillBackward1"), (self, value)


@autograd_first(call=("masked_fill", False))
def masked_fill(input, mask, value):
    """Values replaced by ``value`` where ``mask`` is True (MaskedFillBackward0, or 1 for a tensor
    value; saves the mask)."""
    v, node_cls, inputs = _masked_fill_args(input, mask, value)
    if mask.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, mask.shape)
        except ValueError:  # expand_outplace(mask, self) names the mask first
            raise broadcast_error(mask.shape, input.shape) from None
    # the kernel reads the value (a 0-d tensor's item() too) after the shape checks
    res = np.where(mask._data, _dtype.checked_scalar(v, input.dtype), input._data)
    return record(_wrap(_arr(res)), node_cls, inputs, (mask,), op="masked_fill")


def masked_fill_(self, mask=MISSING, value=MISSING, *extra, _call=("masked_fill_", True), **unknown):
    """In-place ``masked_fill`` (MaskedFillBackward0, or 1 for a tensor value)."""
    try:
        if extra or unknown or mask is MISSING:
            raise NotATensor(extra)
        check_inplace(self, "masked_fill_", (value,), overlap="warn")
        v, node_cls, inputs = _masked_fill_args(self, mask, value)
    except Exception:
        refuse(_call, (self, mask, value, *extra), unknown)
        raise
    check_out_shape(self._data.shape, mask._data.shape)
    _write(self, np.where(mask._data, _dtype.checked_scalar(v, self.dtype), self._data), "masked_fill_")
    return finish_inplace(self, "masked_fill_", node_cls, inputs, (mask,))

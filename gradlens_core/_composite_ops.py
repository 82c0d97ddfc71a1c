"""Functions PyTorch writes in terms of other ops (CompositeImplicitAutograd), written here the
same way so that their graphs are PyTorch's: msort, sum_to_size, cartesian_prod, combinations,
trapezoid/trapz; and block_diag (BlockDiagBackward0), searchsorted, bucketize and histc (no grad).

>>> import gradlens_core as torch
>>> torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4]))
tensor([[1, 3],
        [1, 4],
        [2, 3],
        [2, 4]])
>>> torch.trapezoid(torch.tensor([1.0, 2.0, 3.0]))
tensor(4.)
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._autograd import backward_formula, node_class
from ._ops import _nondiff
from ._saved_attrs import Saved as _Saved
from ._saved_attrs import _register, _unsigned, captured, sizes
from ._tensor import Tensor, record

_register(
    "UnfoldBackward0",
    dimension=captured("backward", "dimension"),
    self_sym_sizes=sizes(),
    size=captured("backward", "size"),
    step=captured("backward", "step"),
)

__all__ = [
    "msort",
    "sum_to_size",
    "cartesian_prod",
    "combinations",
    "trapezoid",
    "trapz",
    "block_diag",
    "searchsorted",
    "bucketize",
    "histc",
    "renorm",
    "unfold",
]


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim: ``sort(input, 0).values`` (SortBackward0)."""
    return input.sort(0)[0]


def sum_to_size(self: Tensor, *size) -> Tensor:
    """``self`` summed to ``size``, which must expand to ``self``'s shape (at::sum_to: a sum over
    the dims to reduce kept as 1, then a view without the leading ones; ``self`` if none).

    >>> import gradlens_core as torch
    >>> torch.ones(2, 3).sum_to_size(1, 3)
    tensor([[2., 2., 2.]])
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    shape = self._data.shape
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = list(range(lead)) + [lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1]
    out = self
    if dims:
        out = out.sum(dims, keepdim=True)
    return out.view(size) if lead > 0 else out


def _meshgrid_ij(tensors):
    """at::meshgrid(tensors, "ij"): each 1-d tensor viewed along its own dim, expanded to the grid."""
    shape = tuple(t.numel() for t in tensors)
    grids = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[i] = -1
        grids.append(t.view(view).expand(shape))
    return grids


def _check_1d(t: Tensor) -> None:
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """The rows of every combination of one element of each vector (meshgrid, flatten, stack)."""
    for t in tensors:
        _check_1d(t)
    if len(tensors) == 1:
        return tensors[0]
    from ._ops import stack

    return stack([g.flatten() for g in _meshgrid_ij(tensors)], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-element combinations of a vector's elements, in order (meshgrid of ``r`` copies,
    masked_select of the increasing index tuples, stack).

    >>> import gradlens_core as torch
    >>> torch.combinations(torch.tensor([1, 2, 3]))
    tensor([[1, 2],
            [1, 3],
            [2, 3]])
    """
    _check_1d(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._wrap(np.empty((0,), dtype=input._data.dtype))
    from ._ops import stack

    n = input.numel()
    grids = _meshgrid_ij([input] * r)
    # _triu_mask: index tuples that increase (or do not decrease, with replacement)
    idx = np.indices((n,) * r) if n else np.zeros((r,) + (0,) * r, dtype=np.int64)
    mask = np.ones((n,) * r, dtype=bool)
    for i in range(r - 1):
        mask &= (idx[i] <= idx[i + 1]) if with_replacement else (idx[i] < idx[i + 1])
    m = Tensor._wrap(mask)
    return stack([g.masked_select(m) for g in grids], 1)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``, with spacing ``dx`` (default 1) or sample points ``x``
    (aten's do_trapezoid: ``(sum - (first + last) / 2) * dx``, or ``(dx * (y[1:] + y[:-1])).sum() / 2``).

    >>> import gradlens_core as torch
    >>> torch.trapezoid(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0]))
    tensor(4.)
    """
    from .nn._loss_ops import div_scalar, mul_scalar

    d = y._wrap_dim(dim)
    n = y.shape[d]
    if n == 0:  # zeros_like_except(y, dim)
        return Tensor._wrap(np.zeros(y.shape[:d] + y.shape[d + 1 :], dtype=y._data.dtype))
    if isinstance(x, Tensor):
        if x.ndim == 1:
            if x.shape[0] != n:
                raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
            view = [1] * y.ndim
            view[d] = x.shape[0]
            xv = x.view(view)
        elif x.ndim < y.ndim:
            xv = x.view((1,) * (y.ndim - x.ndim) + tuple(x.shape))
        else:
            xv = x
        m = xv.shape[d]
        dx = xv.narrow(d, 1, m - 1) - xv.narrow(d, 0, m - 1)
        # do_trapezoid(y, dx, dim): C++ ``/ 2.`` is div.Scalar (DivBackward1)
        return div_scalar((dx * (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))).sum(d), 2.0)
    spacing = 1.0 if x is None and dx is None else float(x if dx is None else dx)
    # do_trapezoid(y, double dx, dim): (sum - (first + last) * 0.5) * dx, with C++ numbers
    return mul_scalar(y.sum(d) - mul_scalar(y.select(d, 0) + y.select(d, -1), 0.5), spacing)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``torch.trapz``: ``trapezoid`` under its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d as a row, or 2-d) on the diagonal of a matrix of zeros
    (BlockDiagBackward0; the result dtype is their promoted type).

    >>> import gradlens_core as torch
    >>> torch.block_diag(torch.tensor([[1, 2]]), torch.tensor(3))
    tensor([[1, 2, 0],
            [0, 0, 3]])
    """
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t.ndim} dimensions"
            )
        mats.append(t._data.reshape((1, -1) if t.ndim < 2 else t._data.shape))
    dt = tensors[0].dtype if tensors else _dtype.float32
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    rows = sum(m.shape[0] for m in mats)
    cols = sum(m.shape[1] for m in mats)
    out = np.zeros((rows, cols), dtype=dt.np)
    r = c = 0
    spans = []
    for m in mats:
        out[r : r + m.shape[0], c : c + m.shape[1]] = m
        spans.append((r, c, m.shape))
        r += m.shape[0]
        c += m.shape[1]
    ctx = (tuple(spans), tuple(t.shape for t in tensors), tuple(t.dtype for t in tensors))
    return record(Tensor._wrap(out), node_class("BlockDiagBackward0"), tensors, ctx=ctx, op="block_diag")


@backward_formula("BlockDiagBackward0")
def _block_diag_bw(node, g, ns):
    # block_diag_backward: each input's block of the grad, in the input's shape and dtype
    spans, shapes, dtypes = node._ctx
    grads = []
    for i, ((r, c, (h, w)), shape) in enumerate(zip(spans, shapes)):
        if not node.needs(i):
            grads.append(None)
            continue
        block = ns.narrow(ns.narrow(g, 0, r, h), 1, c, w)
        grads.append(ns.reshape(block, tuple(shape)))
    return tuple(grads)


# ----------------------------------------------------------------------------- bucketing (no grad)
def _side(right: bool, side):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        return side
    return "right" if right else "left"


def searchsorted(sorted_sequence: Tensor, input, *, out_int32=False, right=False, side=None, sorter=None) -> Tensor:
    """Indices where ``input``'s values would be inserted in the sorted last dim of
    ``sorted_sequence`` (int64, or int32 with ``out_int32``).

    >>> import gradlens_core as torch
    >>> torch.searchsorted(torch.tensor([1.0, 3.0, 5.0]), torch.tensor([2.0, 5.0]))
    tensor([1, 2])
    """
    s = _side(right, side)
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._data, -1)
    if seq.ndim > 1 and (scalar or seq.shape[:-1] != vals.shape[:-1]):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of "
            f"boundaries tensor and input value tensor must match, but we got boundaries tensor {list(seq.shape)} "
            f"and input value tensor {list(vals.shape)}"
        )
    if seq.ndim <= 1:
        res = np.searchsorted(seq.reshape(-1), vals, side=s)
    else:
        flat_seq = seq.reshape(-1, seq.shape[-1])
        flat_vals = vals.reshape(flat_seq.shape[0], -1)
        res = np.stack([np.searchsorted(a, v, side=s) for a, v in zip(flat_seq, flat_vals)]).reshape(vals.shape)
    return _nondiff(
        np.asarray(res, dtype=np.int32 if out_int32 else np.int64), (sorted_sequence, input), "searchsorted"
    )


def bucketize(input, boundaries: Tensor, *, out_int32=False, right=False) -> Tensor:
    """The bucket of each value of ``input`` among the 1-d sorted ``boundaries``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are ignored, the last bin includes max.

    >>> import gradlens_core as torch
    >>> torch.histc(torch.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)
    tensor([0., 2., 1., 0.])
    """
    data = input._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{input.dtype._legacy}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    x = data.reshape(-1)
    x = x[(x >= lo) & (x <= hi)]
    # aten's histogramdd kernel: pos = (x - min) * bins / (max - min), in the input's dtype
    ct = data.dtype.type
    pos = ((x - ct(lo)) * ct(bins) / (ct(hi) - ct(lo))).astype(np.int64)
    pos[pos == bins] = bins - 1
    out = np.bincount(pos, minlength=bins).astype(data.dtype)
    return _nondiff(out, (input,), "histc")  # (histc has no derivative formula)


def install() -> None:
    """The Tensor methods of this module's ops and of ``_index_ops``'s."""
    from . import _index_ops as ix
    from . import _sampling

    for name, fn in {
        "msort": msort,
        "sum_to_size": sum_to_size,
        "take": ix.take,
        "put_": ix.put_,
        "put": ix.put,
        "index_fill_": ix.index_fill_,
        "index_fill": ix.index_fill,
        "index_copy_": ix.index_copy_,
        "index_copy": ix.index_copy,
        "masked_scatter_": ix.masked_scatter_,
        "masked_scatter": ix.masked_scatter,
        "fill_diagonal_": ix.fill_diagonal_,
        "histc": histc,
        "unfold": unfold,
        "renorm": renorm,
        "multinomial": _sampling.multinomial,
    }.items():
        setattr(Tensor, name, fn)


# ----------------------------------------------------------------------------- unfold (a view)
def _unfold_array(a: np.ndarray, d: int, size: int, step: int) -> np.ndarray:
    if a.ndim == 0:
        return np.lib.stride_tricks.as_strided(a, (1,), (0,), writeable=a.flags.writeable)
    shape = list(a.shape)
    strides = list(a.strides)
    n = (shape[d] - size) // step + 1
    shape[d] = n
    strides[d] = a.strides[d] * step
    return np.lib.stride_tricks.as_strided(
        a, tuple(shape) + (size,), tuple(strides) + (a.strides[d],), writeable=a.flags.writeable
    )


def _unfold_backward(g, in_shape, d: int, size: int, step: int, ns, dimension=None):
    """unfold_backward: zeros of the input's shape with every window's grad added back at its
    place (UnfoldBackwardBackward0 under create_graph, whose backward is unfold again)."""
    if ns.records_graph:
        out = _unfold_backward(g._data, in_shape, d, size, step, _numpy_ns())
        return record(
            Tensor._wrap(out),
            node_class("UnfoldBackwardBackward0", _unfold_backward_bw),
            (g,),
            ctx=(d, size, step),
            op="unfold_backward",
        )
    out = np.zeros(in_shape, dtype=g.dtype)
    if not in_shape:
        out[...] = g.reshape(())
        return out
    windows = g.shape[d]
    for w in range(windows):
        sl = [slice(None)] * len(in_shape)
        sl[d] = slice(w * step, w * step + size)
        out[tuple(sl)] += np.moveaxis(np.take(g, w, axis=d), -1, d)
    return out


def _numpy_ns():
    from ._ns import NUMPY

    return NUMPY


def _unfold_backward_bw(node, g, ns):
    d, size, step = node._ctx
    return (g.unfold(d, size, step) if ns.records_graph else _unfold_array(g, d, size, step).copy(),)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view with every window of ``size`` elements along ``dimension``, ``step`` apart, as a
    new last dim (UnfoldBackward0).

    >>> import gradlens_core as torch
    >>> torch.arange(5.0).unfold(0, 2, 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    from ._views import ViewStep, make_view

    d = self._wrap_dim(dimension) if self._data.ndim else 0
    n = self._data.shape[d] if self._data.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    in_shape = self._data.shape
    step_ = ViewStep(
        lambda a: _unfold_array(a, d, size, step),
        lambda g, ns: _unfold_backward(
            g, in_shape, d, size, step, ns, dimension
        ),  # (dimension: as given, for _saved_dimension)
    )
    out = make_view(self, _unfold_array(self._data, d, size, step), "UnfoldBackward0", step_, "unfold")
    return out


# ----------------------------------------------------------------------------- renorm
_register(
    "RenormBackward0",
    self=_Saved(0),
    p=lambda n: n._ctx[0],
    dim=lambda n: _unsigned(n._ctx[1]),
    maxnorm=lambda n: n._ctx[2],
)


def _vector_norm(x, p: float, axes, xp=np):
    """linalg_vector_norm over ``axes`` (kept as 1) on an array or a tensor."""
    if xp is np:
        a = np.abs(x)
        if p == np.inf:
            return a.max(axis=axes, keepdims=True)
        if p == 2:
            return np.sqrt((a * a).sum(axis=axes, keepdims=True))
        if p == 1:
            return a.sum(axis=axes, keepdims=True)
        return (a**p).sum(axis=axes, keepdims=True) ** (1.0 / p)
    a = x.abs()
    if p == np.inf:
        return a.amax(list(axes), keepdim=True)
    if p == 2:
        return (a * a).sum(list(axes), keepdim=True).sqrt()
    if p == 1:
        return a.sum(list(axes), keepdim=True)
    return (a**p).sum(list(axes), keepdim=True) ** (1.0 / p)


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to
    ``maxnorm / (norm + 1e-7)`` times itself (RenormBackward0).

    >>> import gradlens_core as torch
    >>> torch.tensor([[3.0, 4.0], [0.3, 0.4]]).renorm(2, 0, 1.0)
    tensor([[0.6000, 0.8000],
            [0.3000, 0.4000]])
    """
    if not float(p) > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if float(maxnorm) < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {float(maxnorm):g}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype._legacy}"
        )
    x = input._data
    d = input._wrap_dim(dim)
    axes = tuple(i for i in range(x.ndim) if i != d)
    ct = x.dtype.type
    norm = _vector_norm(x, float(p), axes).astype(x.dtype)
    # renorm_scale_factor in the input's dtype: norm > maxnorm ? maxnorm / (norm + eps) : 1
    factor = np.where(norm > ct(maxnorm), ct(maxnorm) / (norm + ct(1e-7)), ct(1)).astype(x.dtype)
    res = x * factor
    return record(
        Tensor._wrap(res), node_class("RenormBackward0"), (input,), (input,), ctx=(p, dim, maxnorm), op="renorm"
    )


@backward_formula("RenormBackward0")
def _renorm_bw(node, g, ns):
    # renorm_backward: where(norm > maxnorm, maxnorm * invnorm * (grad - invnorm * nb), grad), with
    # nb = norm_backward((self * grad).sum(reduce_dims, keepdim), self, p, norm) and
    # invnorm = 1 / (norm + 1e-7)
    (x,) = node.unpack(ns)
    p, dim, maxnorm = node._ctx
    p = float(p)
    rec = ns.records_graph
    nd = x.ndim
    d = dim % nd if nd else 0
    axes = tuple(i for i in range(nd) if i != d)
    xp = None if rec else np
    norm = _vector_norm(x, p, axes, xp or "tensor")
    go = (x * g).sum(list(axes), keepdim=True) if rec else (x * g).sum(axis=axes, keepdims=True)
    if p == 2:
        scale = go / norm
        nb = x * (scale.masked_fill(norm == 0, 0) if rec else np.where(norm == 0, 0, scale))
    elif p == 1:
        nb = (x.sgn() if rec else np.sign(x)) * go
    elif p == np.inf:
        ax = x.abs() if rec else np.abs(x)
        is_max = ax == norm
        count = is_max.sum(list(axes), keepdim=True) if rec else is_max.sum(axis=axes, keepdims=True)
        nb = (x.sgn() if rec else np.sign(x)) * is_max * go / count
    else:
        ax = x.abs() if rec else np.abs(x)
        sg = x.sgn() if rec else np.sign(x)
        nb = sg * ax ** (p - 1) * go / norm ** (p - 1)
        nb = nb.masked_fill(norm == 0, 0) if rec else np.where(norm == 0, 0, nb)
    invnorm = 1 / (norm + 1e-7)
    grad_norm = maxnorm * invnorm * (g - invnorm * nb)
    if rec:
        from ._ops import where

        return (where(norm > maxnorm, grad_norm.to(g.dtype), g),)
    return (np.where(norm > maxnorm, grad_norm, g).astype(g.dtype),)

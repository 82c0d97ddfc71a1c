"""Array namespaces for backward formulas.

Every formula is written once, with operators and ``ns.<function>``. On the fast path
``ns`` is :data:`NUMPY` and the formula computes raw numpy gradients; under
``create_graph=True`` it is :data:`TENSOR`, whose functions are differentiable
gradlens_core ops, so the formula itself is recorded as a graph.

>>> import numpy as np
>>> NUMPY.sum_to(np.ones((2, 3)), (3,))
array([2., 2., 2.])
"""

from __future__ import annotations

import numpy as np

__all__ = ["NUMPY", "TENSOR", "sum_to_axes"]


def sum_to_axes(shape, target):
    """Axes to sum over so that an array of ``shape`` reduces to ``target`` (None if it cannot)."""
    lead = len(shape) - len(target)
    if lead < 0:
        return None
    axes = list(range(lead))
    for i, n in enumerate(target):
        have = shape[lead + i]
        if n == 1 and have != 1:
            axes.append(lead + i)
        elif n != have:
            return None
    return tuple(axes)


def invalid_grad(shape, target, what: str = "Function returned an invalid gradient") -> RuntimeError:
    """PyTorch's validate_outputs error; ``what`` names the node and index when they are known."""
    return RuntimeError(f"{what} - got {list(shape)} but expected shape compatible with {list(target)}")


# True while a built-in formula runs under create_graph=True (the engine sets it). PyTorch's
# built-in formulas are C++, where the number in ``2 * t`` is a Scalar: the op records its
# Scalar overload (MulBackward1, AddBackward1 ...), and ``2 - t`` / ``2 / t`` are
# ``empty_like(t).fill_(2).sub_(t)`` / ``.div_(t)``. Python code (user ops, tensor hooks, a
# custom Function's backward) records the Tensor overload (MulBackward0) as always.
in_builtin_formula = [False]


# The versions of grad arrays in the backward passes running now (innermost last), by id:
# PyTorch builds some grads with in-place ops (zeros, then scatter_), and the tensor the
# user gets shows that version.
grad_versions: list = []


def reduced(a) -> np.ndarray:
    """A reduction's result laid out as PyTorch allocates it: C-contiguous (numpy's keeps the
    input's dim order).

    >>> reduced(np.ones((3, 3, 3)).transpose(2, 1, 0).sum(axis=0)).strides
    (24, 8)
    """
    a = np.asarray(a)
    return a if a.ndim < 2 or a.flags.c_contiguous else np.ascontiguousarray(a)


def accumulated(ufunc, a, axis: int) -> np.ndarray:
    """``ufunc.accumulate`` along ``axis`` as PyTorch's cumulative kernels run it: half is
    accumulated in float (its acc_type), then rounded back (numpy would accumulate in half).

    >>> float(accumulated(np.add, np.full(3000, 0.1, np.float16), 0)[-1])
    300.0
    """
    if a.dtype == np.float16:
        return ufunc.accumulate(a.astype(np.float32), axis=axis).astype(np.float16)
    return ufunc.accumulate(a, axis=axis)


def with_unit_dims(shape, dims) -> tuple:
    """``shape`` with a 1 inserted at each of ``dims`` (dims of the result, as a reduction's
    dims are of its input): the shape restore_reduced_dims and unsqueeze_multiple give.

    >>> with_unit_dims((2, 3), (0, -1))
    (1, 2, 3, 1)
    """
    out = list(shape)
    total = len(out) + len(dims)
    for d in sorted(d % total for d in dims):
        out.insert(d, 1)
    return tuple(out)


def sign_of(x):
    """PyTorch's sign: numpy's, except that the sign of nan is 0.

    >>> sign_of(np.array([np.nan, -2.0, 0.0]))
    array([ 0., -1.,  0.])
    """
    out = np.sign(x)
    if out.dtype.kind == "f":
        out = np.asarray(out)
        np.copyto(out, 0, where=np.isnan(out))
    return out


def _permuted_empty(x: np.ndarray, dims) -> np.ndarray:
    """The empty ``x`` with its dims reordered as ``dims``, with PyTorch's strides: numpy gives
    an empty array strides 0, so a transpose of one would read as contiguous where PyTorch's
    permutes its strides (a leaf's AccumulateGrad then copies it)."""
    from ._autograd import torch_strides
    from ._layout import restrided

    dims = [int(d) for d in dims]
    strides = torch_strides(x)
    return restrided(x.transpose(dims), tuple(strides[d] for d in dims))


class _Numpy:
    """Formulas on raw numpy arrays."""

    records_graph = False

    @staticmethod
    def made_in_place(g, edits: int):
        """Mark the fresh grad ``g`` as built by ``edits`` in-place ops in PyTorch's formula."""
        if grad_versions:
            grad_versions[-1][id(g)] = (g, [edits])
        return g

    @staticmethod
    def validate(g, shape, dtype):
        if type(g) is not np.ndarray:
            g = np.asarray(g)
        if g.shape != shape:
            g = _Numpy.sum_to(g, shape)
        if g.dtype != dtype:  # grad.to(dtype): a copy laid out as the grad (preserve_format)
            from ._layout import empty_preserving

            cast = empty_preserving(g, dtype)
            np.copyto(cast, g, casting="unsafe")
            g = cast
        return g

    @staticmethod
    def sum_to(g, shape):
        axes = sum_to_axes(g.shape, shape)
        if axes is None:
            raise invalid_grad(g.shape, shape)
        if not shape:  # at::sum_to's tensor.sum(): a fresh tensor the engine may add into
            return np.asarray(g.sum())
        if axes:
            g = reduced(g.sum(axis=axes, keepdims=True))
        # as at::sum_to: a view only when leading dims go (the sum itself is a fresh array)
        return g.reshape(shape) if g.ndim != len(shape) else g

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sign = staticmethod(sign_of)
    sgn = staticmethod(sign_of)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    reciprocal = staticmethod(np.reciprocal)
    matmul = staticmethod(np.matmul)
    bmm = staticmethod(np.matmul)
    outer = staticmethod(np.outer)

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def masked_fill(x, mask, value):
        """``x.masked_fill(mask, value)``, out of place (a number ``value`` keeps ``x``'s dtype)."""
        return np.where(mask, np.asarray(value, x.dtype), x)

    @staticmethod
    def masked_select(x, mask):
        return x[np.broadcast_to(mask, x.shape)]

    @staticmethod
    def floor_divide(a, b):
        """``a.div(b, rounding_mode="floor")`` of floats: numpy's floor_divide is CPython's
        algorithm, which PyTorch's div_floor_floating follows."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b)

    @staticmethod
    def trunc_divide(a, b):
        """``a.div(b, rounding_mode="trunc")`` of floats (div_trunc: ``trunc(a / b)``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trunc(np.true_divide(a, b))

    @staticmethod
    def grad_layout(res, first, *others):
        """The elementwise result ``res`` of a formula over ``first`` and ``others`` (in
        TensorIterator's operand order), laid out as TensorIterator lays it out: numpy agrees
        when ``res`` already has the first operand's strides (the common case, one
        comparison); a grad of another layout (e.g. permuted back by PermuteBackward0) leads
        where numpy would fall back to C order."""
        if res.__class__ is np.ndarray and res.ndim > 1 and res.strides != getattr(first, "strides", None):
            from ._layout import in_operands_layout

            return in_operands_layout(res, first, *others)
        return res

    @staticmethod
    def masked_fill_(x, mask, value):
        """``x`` (a fresh grad) with ``value`` written where ``mask`` holds, as an in-place edit."""
        if type(x) is not np.ndarray:
            x = np.array(x)  # numpy's 0-d arithmetic gives a scalar
        np.copyto(x, value, where=mask)
        return _Numpy.made_in_place(x, 1)

    @staticmethod
    def cast_like(x, like):
        return x if x.dtype == like.dtype else x.astype(like.dtype)

    @staticmethod
    def div_scalar(x, k):
        return x / k

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return reduced(np.sum(x, axis=axis, keepdims=keepdims))

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        total = np.sum(x, axis=axis, keepdims=keepdims)
        return reduced(total / (x.size // max(total.size, 1) if x.size else 0))

    @staticmethod
    def reshape(x, shape):
        out = np.reshape(x, shape)
        if 1 in out.shape and out.base is not None and out.size:
            # a view: numpy picks any stride for a size-1 dim, PyTorch's computeStride derives it
            # (0 in an expanded grad, which the gradient layout contract then refuses)
            strides = view_strides(x, out.shape)
            if strides != out.strides:
                out = np.lib.stride_tricks.as_strided(x, out.shape, strides, writeable=x.flags.writeable)
        return out

    @staticmethod
    def expand(x, shape):
        # a new view even of the same shape, writable as PyTorch's expand (a leaf may take
        # a 0-d or all-ones expanded grad as it is)
        x = np.asarray(x)
        strides = expand_strides(x, tuple(shape))
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=x.flags.writeable)

    @staticmethod
    def swapaxes(x, a, b):
        if not x.ndim:
            return x.view()
        if x.size:
            return np.swapaxes(x, a, b)
        dims = list(range(x.ndim))
        dims[a], dims[b] = dims[b], dims[a]
        return _permuted_empty(x, dims)

    @staticmethod
    def t(x):  # a new view, as PyTorch's t() of a 0-d or 1-d tensor
        return np.transpose(x) if x.size else _permuted_empty(x, range(x.ndim - 1, -1, -1))

    @staticmethod
    def squeeze(x, dim):
        return np.squeeze(x, dim)

    @staticmethod
    def unsqueeze(x, dim):
        return unsqueezed(x, dim)

    @staticmethod
    def mT(x):
        return _Numpy.swapaxes(x, -1, -2)

    @staticmethod
    def permute(x, dims):
        return np.transpose(x, dims) if x.size else _permuted_empty(x, dims)

    @staticmethod
    def zeros(shape, like):
        return np.zeros(shape, dtype=like.dtype)

    @staticmethod
    def zeros_like(x):
        # PyTorch's zeros_like keeps a dense tensor's strides (preserve_format): those of an
        # expanded grad's size-1 dims too, which the gradient layout contract then refuses
        if x.flags.c_contiguous and 0 not in x.strides:
            return np.zeros_like(x)
        from ._layout import empty_preserving

        out = empty_preserving(x)
        out[...] = 0
        return out

    @staticmethod
    def scatter(g, shape, key, name=None):
        """Zeros of ``shape`` with ``g`` written at ``key``: the backward of a view by a basic
        key (select_backward / slice_backward; ``name`` is the node the graph path records)."""
        out = np.zeros(shape, dtype=g.dtype)
        out[key] = g
        return out

    @staticmethod
    def index_add(g, shape, key, name=None, saved=()):
        """Zeros of ``shape`` with ``g`` added at the advanced index ``key`` (repeats add up):
        an in-place write into zeros (``name``: scatter_'s or _index_put_impl_'s node, which
        the graph path records with the values in ``saved``)."""
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, key, g)
        return out

    @staticmethod
    def narrow(g, dim, start, length):
        return g[(slice(None),) * dim + (slice(start, start + length),)]

    @staticmethod
    def unsqueeze_multiple(g, dims):
        """``g`` with a dim of size 1 at each of ``dims`` (FunctionsManual's unsqueeze_multiple;
        here one reshape, the same values)."""
        return _Numpy.reshape(g, with_unit_dims(g.shape, dims))

    @staticmethod
    def cat(parts, axis):
        return np.concatenate(parts, axis=axis)

    @staticmethod
    def stack(parts, axis):
        return np.stack(parts, axis=axis)

    @staticmethod
    def take(g, key):
        return g[key]

    @staticmethod
    def select(g, axis, index):
        return g[(slice(None),) * axis + (index, Ellipsis)]  # a view, as PyTorch's unbind

    @staticmethod
    def value(x):
        return x

    @staticmethod
    def exclusive_prod(x, axis):
        """Product of all other elements along ``axis`` (zero-safe), for prod's backward: the
        exclusive cumulative products from both ends, in PyTorch's order and C layout."""
        n = x.shape[axis]
        lead = (slice(None),) * axis
        ones = np.ones(x.shape[:axis] + (1,) + x.shape[axis + 1 :], dtype=x.dtype)
        left = accumulated(np.multiply, np.concatenate([ones, x[lead + (slice(0, n - 1),)]], axis=axis), axis)
        tail = np.flip(x[lead + (slice(1, n),)], axis)
        right = accumulated(np.multiply, np.concatenate([ones, tail], axis=axis), axis)
        return left * np.ascontiguousarray(np.flip(right, axis))  # torch's flip copies


class _Tensor:
    """Formulas on gradlens_core tensors: the gradient computation itself is recorded."""

    records_graph = True

    @staticmethod
    def made_in_place(g, edits: int):
        g._version_counter[0] += edits
        return g

    @staticmethod
    def validate(g, shape, dtype):
        from ._tensor import Tensor

        if not isinstance(g, Tensor):
            g = Tensor._wrap(np.asarray(g))
        if g._data.shape != shape:
            g = _Tensor.sum_to(g, shape)
        if g._data.dtype != dtype:
            from ._dtype import from_numpy_dtype

            g = g.to(from_numpy_dtype(dtype))
        return g

    @staticmethod
    def sum_to(g, shape):
        axes = sum_to_axes(g._data.shape, shape)
        if axes is None:
            raise invalid_grad(g._data.shape, shape)
        if not shape:  # at::sum_to's tensor.sum() (SumBackward0)
            return g.sum()
        if axes:
            g = g.sum(axes, keepdim=True)
        return g.reshape(shape) if g._data.shape != shape else g

    @staticmethod
    def _f(name):
        from . import _ops

        return getattr(_ops, name)

    def exp(self, x):
        return self._f("exp")(x)

    def log(self, x):
        return self._f("log")(x)

    def sin(self, x):
        return self._f("sin")(x)

    def cos(self, x):
        return self._f("cos")(x)

    def sign(self, x):
        return self._f("sign")(x)

    def sgn(self, x):
        return self._f("sgn")(x)

    def sqrt(self, x):
        return self._f("sqrt")(x)

    def reciprocal(self, x):
        return self._f("reciprocal")(x)

    def abs(self, x):
        return self._f("abs")(x)

    def matmul(self, a, b):
        return self._f("matmul")(a, b)

    def bmm(self, a, b):
        return self._f("bmm")(a, b)

    def outer(self, a, b):
        return self._f("outer")(a, b)

    def grad_layout(self, res, first, *others):
        return res  # the recorded ops lay their results out themselves

    def where(self, cond, a, b):
        return self._f("where")(cond, a, b)

    def floor_divide(self, a, b):
        return self._f("div")(a, b, rounding_mode="floor")

    def trunc_divide(self, a, b):
        return self._f("div")(a, b, rounding_mode="trunc")

    def masked_fill_(self, x, mask, value):
        return self._f("masked_fill_")(x, mask, value)

    def masked_fill(self, x, mask, value):
        return self._f("masked_fill")(x, mask, value)

    def masked_select(self, x, mask):
        from ._logic import masked_select

        return masked_select(x, mask)

    def cast_like(self, x, like):
        return x if x._data.dtype == like._data.dtype else x.to(like.dtype)

    def div_scalar(self, x, k):
        from .nn._loss_ops import div_scalar

        return div_scalar(x, k)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(axis, keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else x.mean(axis, keepdim=keepdims)

    def reshape(self, x, shape):
        return x.reshape(shape)

    def expand(self, x, shape):
        return x.expand(shape)

    def squeeze(self, x, dim):
        return x.squeeze(dim)

    def unsqueeze(self, x, dim):
        return x.unsqueeze(dim)

    def swapaxes(self, x, a, b):
        return x.transpose(a, b)

    def t(self, x):
        return x.t()

    def mT(self, x):
        return x.transpose(-1, -2)

    def permute(self, x, dims):
        return x.permute(dims)

    def zeros(self, shape, like):
        from ._tensor import Tensor

        return Tensor._wrap(np.zeros(shape, dtype=like._data.dtype))

    def zeros_like(self, x):
        from ._tensor import Tensor

        return Tensor._wrap(_Numpy.zeros_like(x._data))

    def scatter(self, g, shape, key, name):
        from ._views import place_into

        return place_into(g, shape, key, name, into_zeros=False)

    def index_add(self, g, shape, key, name, saved=()):
        from ._views import place_into

        return place_into(g, shape, key, name, into_zeros=True, saved=saved)

    def narrow(self, g, dim, start, length):
        return g.narrow(dim, start, length)

    def unsqueeze_multiple(self, g, dims):
        """FunctionsManual's unsqueeze_multiple: ``g.unsqueeze(d)`` for each of ``dims`` in order."""
        for d in sorted(dims):
            g = g.unsqueeze(d)
        return g

    def cat(self, parts, axis):
        return self._f("cat")(parts, axis)

    def stack(self, parts, axis):
        return self._f("stack")(parts, axis)

    def take(self, g, key):
        return g[key]

    def select(self, g, axis, index):
        return g.select(axis, index)

    def value(self, x):
        return x

    def exclusive_prod(self, x, axis):
        """prod_safe_zeros_backward's products, recorded as PyTorch records them (cat, cumprod, flip)."""
        from ._factories import ones
        from ._ops import cat

        n = x.shape[axis]
        ones_size = list(x.shape)
        ones_size[axis] = 1
        unit = ones(ones_size, dtype=x.dtype)
        left = cat([unit, x.narrow(axis, 0, n - 1)], axis).cumprod(axis)
        right = cat([unit, x.narrow(axis, 1, n - 1).flip([axis])], axis).cumprod(axis).flip([axis])
        return left * right


NUMPY = _Numpy()
TENSOR = _Tensor()


def expand_strides(x: np.ndarray, shape: tuple) -> tuple:
    """The strides PyTorch's expand gives (inferExpandGeometry): a dim keeps its stride unless it
    grows from 1 (then 0); a new leading dim of size 1 gets the next dim's extent, where numpy's
    broadcast_to would give 0 (which the gradient layout contract refuses)."""
    nd, off = len(shape), len(shape) - x.ndim
    strides = [0] * nd
    for i in range(nd - 1, -1, -1):
        d = i - off
        if d >= 0:
            strides[i] = x.strides[d] if x.shape[d] == shape[i] else 0
        else:
            inner = shape[i + 1] * strides[i + 1] if i + 1 < nd else 0  # a 0-d tensor's new dims: 0
            strides[i] = inner if shape[i] == 1 else 0
    return tuple(strides)


def unsqueezed(x: np.ndarray, dim: int) -> np.ndarray:
    """``x`` with a new dim of size 1 at ``dim``, strided as PyTorch's inferUnsqueezeGeometry
    (the next dim's extent, or 1 at the end; numpy's expand_dims may pick another stride, and
    0 for an expanded tensor's new dim is what the gradient layout contract refuses).

    >>> unsqueezed(np.broadcast_to(np.float32(1), (3,)), 0).strides
    (0, 0)
    """
    x = np.asarray(x)
    stride = x.shape[dim] * x.strides[dim] if dim < x.ndim else x.itemsize
    strides = x.strides[:dim] + (stride,) + x.strides[dim:]
    shape = x.shape[:dim] + (1,) + x.shape[dim:]
    if x.flags.c_contiguous:  # a reshape is a view here, usually strided as PyTorch's (and cheap)
        out = x.reshape(shape)
        if out.strides == strides:
            return out
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=x.flags.writeable)


def view_strides(x: np.ndarray, shape: tuple) -> tuple:
    """The (byte) strides PyTorch's view gives ``x`` reshaped to ``shape`` (computeStride),
    for a reshape numpy could make as a view; a 0-d tensor's view has strides 1."""
    item = x.itemsize
    if x.ndim == 0:
        return (item,) * len(shape)
    old_shape, old_strides = x.shape, x.strides
    strides = [0] * len(shape)
    view_d = len(shape) - 1
    base = old_strides[-1]  # the stride of the innermost dim of the current chunk
    tensor_numel = view_numel = 1
    for d in range(x.ndim - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                strides[view_d] = view_numel * base
                view_numel *= shape[view_d]
                view_d -= 1
            if d > 0:
                base = old_strides[d - 1]
                tensor_numel = view_numel = 1
    return tuple(strides)

"""View ops: results that share storage and version counter with their input.

Each view remembers the chain of steps from its base (the tensor that owns the memory),
so an in-place edit through the view can rebase the base's history (``CopySlices``) and
the view's own history can be regenerated (``AsStridedBackward0``), as PyTorch does.

>>> import gradlens_core as torch
>>> x = torch.arange(4.)
>>> v = x[1:3]
>>> v._base is x, v.data_ptr() - x.data_ptr()
(True, 4)
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings

import numpy as np

from . import _dtype, _events, _grad_mode
from ._argparse import refuse, refuse_given
from ._autograd import ERR_BACKWARD_TWICE, Node, node_class
from ._layout import empty_strided, restrided
from ._ns import unsqueezed
from ._tensor import (
    DEFAULT,
    ERR_INTERNAL_OVERLAP,
    MULTI_OUTPUT_NODE,
    NO_GRAD_MODE,
    Tensor,
    _Meta,
    _overlaps_itself,
    _root_array,
    autograd_first,
    int_arg,
    record,
    symint_arg,
)

__all__ = ["ViewStep", "make_view", "CopySlices", "AsStridedBackward0"]


class ViewStep:
    """One view op: ``forward(array)`` makes the view, ``backward(grad, ns)`` sends its grad back."""

    __slots__ = ("forward", "backward")

    def __init__(self, forward, backward) -> None:
        self.forward = forward
        self.backward = backward


def _view_formula(node, g, ns):
    return (node._ctx.backward(g, ns),)


def view_node(name: str) -> type:
    """The node class of a view op (its formula is the step's backward)."""
    return node_class(name, _view_formula)


def make_view(self: Tensor, data: np.ndarray, name: str, step: ViewStep, op: str) -> Tensor:
    """A tensor viewing ``self``'s memory through ``step`` (``data`` is ``step.forward(self._data)``)."""
    out = Tensor._wrap(data)
    _view_meta(out, self, step, DEFAULT)
    record(out, view_node(name), (self,), ctx=step, op=op)
    if _events.active:
        _events.emit("aliased", tensor=out, source=self, kind="view", op=op)
    return out


def _view_meta(out: Tensor, source: Tensor, step: ViewStep, creation: str) -> None:
    """Make ``out`` a view of ``source`` (through ``step``): the same version counter, the
    root base, the chain of steps from it, and how it was made (PyTorch's CreationMeta: a
    view made under no_grad, or of such a view, stays NO_GRAD_MODE)."""
    counter = source._version_counter
    if counter.__class__ is not list and isinstance(counter, _grad_mode.InferenceTensorCounter):
        # an inference tensor has no autograd meta: its views are not views to autograd (no
        # ``_base``), nor do they share a counter (there is none to share)
        out._version_counter = (
            counter if counter.__class__ is _grad_mode.InferenceCounter else _grad_mode.InferenceCounter([0])
        )
        return
    out._version_counter = counter
    meta = out._meta = _Meta()
    if not _grad_mode._state.enabled:
        creation = NO_GRAD_MODE
    src = source._meta
    if src is not None and src.base is not None:
        meta.base = src.base
        meta.view_steps = src.view_steps + (step,)
        if creation == DEFAULT:
            creation = src.creation
    else:
        meta.base = source
        meta.view_steps = (step,)
    meta.creation = creation
    meta.view_version = counter[0]


def _apply_steps(array, steps):
    for step in steps:
        array = step.forward(array)
    return array


def _view_grad_to_base(g, steps, ns):
    for step in reversed(steps):
        g = step.backward(g, ns)
    return g


def _element_index(a: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """For each element of ``a``, its position in ``owner``'s memory (elements, not bytes)."""
    size = a.itemsize
    offset = (a.__array_interface__["data"][0] - owner.__array_interface__["data"][0]) // size
    memory = np.arange(owner.size, dtype=np.intp)
    step = memory.itemsize
    return np.lib.stride_tricks.as_strided(
        memory[offset:], a.shape, tuple(st // size * step for st in a.strides), writeable=False
    )


def strided_step(view: np.ndarray, owner: np.ndarray) -> ViewStep:
    """The view step from ``owner`` (an array owning its memory) to ``view`` of its memory."""
    where = _element_index(view, owner)
    in_owner = _element_index(owner, owner)

    def forward(a):
        memory = np.empty(a.size, a.dtype)
        memory[in_owner] = a
        return memory[where]  # a copy: only for regenerating history, which reads values

    def backward(g, ns):
        if ns.records_graph:
            raise NotImplementedError("create_graph=True through a view of a computed gradient is not supported")
        memory = np.zeros(owner.size, g.dtype)
        np.add.at(memory, where, g)
        return memory[in_owner]

    return ViewStep(forward, backward)


def as_view_of_owner(out: Tensor, bases: dict | None = None) -> Tensor:
    """Make ``out`` (a tensor over a numpy view) a view of a tensor over the memory's owner,
    as PyTorch's backward formulas return views: made in backward's no_grad mode, so an edit
    while autograd watches is refused. ``bases`` (owner id -> base tensor) lets views of one
    owner share one base."""
    owner = _root_array(out._data)
    entry = bases.get(id(owner)) if bases is not None else None
    if entry is not None and entry._data is owner:
        base = entry
    else:
        base = Tensor._wrap(owner)
        base._version_counter = out._version_counter
        if bases is not None:
            bases[id(owner)] = base
    _view_meta(out, base, strided_step(out._data, owner), DEFAULT)
    return out


class AsStridedBackward0(Node):
    """The regenerated history of a view whose base was edited in place."""

    __slots__ = ()

    @staticmethod
    def _formula(node, g, ns):
        # PyTorch's as_strided_backward writes the grad into fresh zeros (one copy_) and
        # returns a view of them with the base's geometry: a fresh grad at version 1
        steps, shape, dtype = node._ctx[:3]
        if ns.records_graph:
            geometries = _steps_geometry(steps, shape, node._ctx[3], dtype)
            if geometries is not None:
                return (as_strided_backward(g, *geometries, ns),)
        out = _view_grad_to_base(g, steps, ns)
        if not ns.records_graph:
            if np.may_share_memory(out, g):
                out = out.copy(order="K")
            if out.base is None:  # a view of that storage: the engine never adds into it in place
                out = out[...]
        return (ns.made_in_place(out, 1),)


def _copy_slices_recorded(fn, g: Tensor, steps, shape, strides, ns) -> list:
    """CopySlices' backward under create_graph, as PyTorch's ops record it: the grad copied
    into a tensor of the base's geometry (CopyBackwards), the edited view's part read through
    ``as_strided`` (AsStridedBackward0) and cloned contiguous (CloneBackward0) for the edit's
    own formula ``fn``, whose grad for the view is then copied back into that part (CopySlices
    of the result: version 2)."""
    from ._ops import contiguous_clone, copy_

    result = Tensor._wrap(empty_strided(shape, strides, g._data.dtype))
    copy_(result, g)
    grad_slice = _strided_view(result, steps)
    fn_grads = list(fn.apply_formula([contiguous_clone(grad_slice)], ns))
    g0 = fn_grads[0]
    if g0 is None:  # as PyTorch: no grad from the edit, none for the base
        return [None] + fn_grads[1:]
    if _overlaps_itself(grad_slice._data):  # PyTorch's grad_slice.copy_ checks what it writes to
        raise RuntimeError(ERR_INTERNAL_OVERLAP)
    copy_(grad_slice, g0)
    return [result] + fn_grads[1:]


def _strided_view(base: Tensor, steps) -> Tensor:
    """``base.as_strided(...)`` with the geometry of the view ``steps`` lead to (CopySlices'
    grad slice, AsStridedBackward0)."""
    data = _apply_steps(base._data, steps)
    return _as_strided_view(base, data, _geometry(base._data, base._data), _geometry(data, base._data))


def as_strided_storage_view(storage: Tensor, geometry) -> Tensor:
    """``storage.as_strided(sizes, strides, offset)`` of a fresh 1-d ``storage``."""
    a = storage._data
    return _as_strided_view(storage, _strided_over(a, geometry), ((a.size,), (1,), 0), geometry)


def _strided_over(flat: np.ndarray, geometry) -> np.ndarray:
    """The view of the 1-d ``flat`` with ``geometry`` (sizes, element strides, element offset)."""
    sizes, strides, offset = geometry
    return np.lib.stride_tricks.as_strided(flat[offset:], sizes, tuple(st * flat.itemsize for st in strides))


def _as_strided_view(base: Tensor, data: np.ndarray, in_geometry, out_geometry) -> Tensor:
    """The view ``data`` of ``base`` as ``as_strided`` makes it (AsStridedBackward0, whose
    formula is as_strided_backward from ``out_geometry`` to ``in_geometry``)."""

    def forward(a):  # regenerating the view over ``base``'s values (a copy)
        flat = np.lib.stride_tricks.as_strided(a, (a.size,), (a.itemsize,)) if a.ndim != 1 else a
        return _strided_over(flat, out_geometry)

    step = ViewStep(forward, lambda g, ns: as_strided_backward(g, in_geometry, out_geometry, ns))
    return make_view(base, data, "AsStridedBackward0", step, "as_strided")


def _geometry(a: np.ndarray, start: np.ndarray) -> tuple:
    """(sizes, element strides, element offset from ``start``'s first element) of ``a``."""
    item = a.itemsize
    offset = (a.__array_interface__["data"][0] - start.__array_interface__["data"][0]) // item
    return a.shape, tuple(st // item for st in a.strides), offset


def _steps_geometry(steps, shape, strides, dtype):
    """(the base's geometry, the view's) for a view ``steps`` make of a base laid out as
    ``shape``/``strides``; None if a step copies (its geometry is not a strided view)."""
    base = empty_strided(shape, strides, dtype)
    view = _apply_steps(base, steps)
    if not np.shares_memory(view, base) and view.size:
        return None
    return _geometry(base, base), _geometry(view, base)


def _maybe_overlapping(sizes, strides) -> bool:
    """PyTorch's _maybe_overlapping_memory: dims by stride, each must step past the others."""
    reach = 0
    for stride, size in sorted(zip(strides, sizes)):
        if stride <= reach:
            return True
        reach += stride * (size - 1)
    return False


def _min_storage_size(sizes, strides, offset) -> int:
    if 0 in sizes:
        return offset
    return offset + 1 + sum((n - 1) * st for n, st in zip(sizes, strides))


def as_strided_backward(g, in_geometry, out_geometry, ns):
    """PyTorch's as_strided_backward: the grad, with size-1 dims squeezed and expanded dims
    summed, copied into zeros of the storage both geometries span through the output's
    geometry (CopySlices under create_graph), returned as a view of that storage with the
    input's geometry (AsStridedBackward0): a fresh grad at version 1."""
    in_sizes, in_strides, in_offset = in_geometry
    sizes, strides, offset = out_geometry
    if 0 in sizes:
        return ns.zeros(in_sizes, g)
    out_sizes, out_strides = [], []
    for i in range(len(sizes) - 1, -1, -1):
        if sizes[i] == 1:
            g = ns.squeeze(g, i)
        elif strides[i] == 0:
            g = g.sum(i) if ns.records_graph else g.sum(axis=i)
        else:
            out_sizes.insert(0, sizes[i])
            out_strides.insert(0, strides[i])
    kept = [(n, st) for n, st in zip(in_sizes, in_strides) if n != 1]
    if _maybe_overlapping([n for n, _ in kept], [st for _, st in kept]) or _maybe_overlapping(out_sizes, out_strides):
        raise NotImplementedError("as_strided_backward of overlapping geometries is not supported")
    shared = min(in_offset, offset)
    in_offset, offset = in_offset - shared, offset - shared
    size = max(
        _min_storage_size([n for n, _ in kept], [st for _, st in kept], in_offset),
        _min_storage_size(out_sizes, out_strides, offset),
    )
    dtype = g._data.dtype if ns.records_graph else g.dtype
    if ns.records_graph:
        from ._ops import copy_

        storage = Tensor._wrap(np.zeros(size, dtype))  # grad.new_zeros(size)
        copy_(as_strided_storage_view(storage, (tuple(out_sizes), tuple(out_strides), offset)), g)
        return as_strided_storage_view(storage, (tuple(in_sizes), tuple(in_strides), in_offset))
    storage = np.zeros(size, dtype)
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], out_sizes, tuple(st * item for st in out_strides))
    view[...] = g
    result = np.lib.stride_tricks.as_strided(storage[in_offset:], in_sizes, tuple(st * item for st in in_strides))
    return ns.made_in_place(result, 1)


class CopySlices(Node):
    """History of a base after an in-place edit through one of its views.

    The gradient of the base outside the view passes through; inside the view it goes
    through the edit's own backward ``fn``.
    """

    __slots__ = ("fn",)

    def name(self) -> str:
        return "torch::autograd::CopySlices"  # a C++ node, named with its namespace

    @staticmethod
    def _formula(node, g, ns):
        fn = node.fn
        if fn is None:  # released by a backward pass, saved values or not (PyTorch drops fn)
            raise RuntimeError(ERR_BACKWARD_TWICE)
        steps, shape, _, strides = node._ctx
        if ns.records_graph:
            return _copy_slices_recorded(fn, g, steps, shape, strides, ns)
        result = empty_strided(shape, strides, g.dtype)  # the base's geometry, as PyTorch's
        np.copyto(result, g)
        grad_slice = _apply_steps(result, steps)
        fn_grads = list(fn.apply_formula([grad_slice.copy()], ns))
        g0 = fn_grads[0]
        if g0 is None:  # as PyTorch: no grad from the edit, none for the base
            return [None] + fn_grads[1:]
        if _overlaps_itself(grad_slice):  # PyTorch's grad_slice.copy_ checks what it writes to
            raise RuntimeError(ERR_INTERNAL_OVERLAP)
        grad_slice[...] = g0
        # PyTorch's result: empty_strided, copy_(grad), then grad_slice.copy_ (a view of it)
        return [ns.made_in_place(result, 2)] + fn_grads[1:]

    def release(self) -> None:
        # PyTorch's CopySlices only lets go of ``fn``: its saved values go with it, unless a graph
        # still holds ``fn`` (a grad taken with create_graph through the edit's saved result),
        # which backwards through it later, or in the same pass
        self.fn = None

    def _all_saved(self) -> tuple:
        return () if self.fn is None else self.fn._held


# ----------------------------------------------------------------------------- the view ops


def _reshape_step(in_shape):
    return lambda g, ns: ns.reshape(g, in_shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(shape):
    """Sizes or dims given as ints or as one list of them (``view(2, 3)``, ``view([2, 3])``);
    anything but integers is refused (see ``int_arg``)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(s if s.__class__ is int else _size_element(s, i == 0) for i, s in enumerate(shape))


def _size_element(x, first: bool = False) -> int:
    """An element of an int list as PyTorch unpacks it: a bool and an integer tensor of one
    element count as ints, but for the ``first`` (the parser takes the list for one only if
    its first element is an int)."""
    if isinstance(x, Tensor) and x._data.size == 1 and x._data.dtype.kind in "iu":
        return int(x._data.reshape(()))
    if isinstance(x, bool) and not first:
        return int(x)
    return symint_arg(x, "size")


def view(self: Tensor, *shape) -> Tensor:
    """The same memory seen with another shape (ViewBackward0); refused if strides forbid it."""
    if len(shape) == 1 and hasattr(shape[0], "np"):
        raise RuntimeError("view(dtype) is not supported by gradlens_core")
    try:
        return _view(self, shape, "view")
    except TypeError:
        refuse(("view", True), (self, *shape))
        raise


@autograd_first
def _view(self: Tensor, shape, op: str) -> Tensor:
    new = _infer_shape(_shape_args(shape), self._data.size)
    data = _try_view(self._data, new)
    if data is None:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        )
    step = ViewStep(lambda a: a.reshape(new), _reshape_step(self._data.shape))
    return make_view(self, data, "ViewBackward0", step, op)


def _try_view(a: np.ndarray, shape):
    try:
        return np.reshape(a, shape, copy=False)
    except ValueError:
        return None


def reshape(self: Tensor, *shape, _call=("reshape", False)) -> Tensor:
    """``view`` of a contiguous tensor (ViewBackward0); of another tensor whose strides allow
    it, ``_reshape_alias`` (ReshapeAliasBackward0); else a copy (UnsafeViewBackward0 after a
    clone), as PyTorch's reshape. Only the view of a contiguous tensor enters autograd before
    the shape is checked (reshape is composite)."""
    try:
        if self._data.flags.c_contiguous:
            return _view(self, shape, "reshape")
        new = _infer_shape(_shape_args(shape), self._data.size)
    except TypeError:
        refuse(_call, (self, *shape))
        raise
    data = _try_view(self._data, new)
    if data is not None:
        step = ViewStep(lambda a: a.reshape(new), _reshape_step(self._data.shape))
        return make_view(self, data, "ReshapeAliasBackward0", step, "reshape")
    from ._autograd import node_class
    from ._ops import clone

    copy = clone(self)
    out = Tensor._wrap(copy._data.reshape(new))
    return record(out, node_class("UnsafeViewBackward0"), (copy,), ctx=copy._data.shape, op="reshape")


def torch_reshape(input: Tensor, shape) -> Tensor:
    """``torch.reshape``: ``shape`` is one list of ints (the function takes no ints as varargs
    and no single int, unlike ``Tensor.reshape``)."""
    if shape.__class__ is not tuple and not isinstance(shape, (tuple, list)):
        refuse(("reshape", False), (input, shape))
    return reshape(input, shape)


torch_reshape.__name__ = torch_reshape.__qualname__ = "reshape"


def view_as(self, other):
    return view(self, other.shape)


def reshape_as(self, other):
    return reshape(self, other.shape)


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1, *, _call=("flatten", False)) -> Tensor:
    try:
        if self._data.ndim == 0:
            int_arg(start_dim, "start_dim"), int_arg(end_dim, "end_dim")
            return reshape(self, 1)
        s = self._wrap_dim(start_dim)
        e = self._wrap_dim(end_dim)
    except TypeError:
        refuse_given(_call, (self, start_dim, end_dim), (("start_dim", 0), ("end_dim", -1)))
        raise
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return self
    shape = self._data.shape
    n = 1
    for k in shape[s : e + 1]:
        n *= k
    return reshape(self, shape[:s] + (n,) + shape[e + 1 :])


def unflatten(self, dim, sizes, *, _call=("unflatten", False)):
    """``dim`` split into ``sizes`` (a view). PyTorch's unflatten is composite: it checks the
    sizes before its view enters autograd. Tensor.unflatten is Python in PyTorch: it asks
    ``not sizes`` before its arguments are parsed."""
    if _call[1] and not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        if not isinstance(sizes, (tuple, list)):
            raise TypeError("unflatten(): argument 'sizes' must be tuple of ints")
        sizes = list(_shape_args((sizes,)))
        d = self._wrap_dim(dim)
    except TypeError:
        refuse(_call, (self, dim, sizes))
        raise
    shape = self._data.shape
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if -1 not in sizes and math.prod(sizes) != shape[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {d} ({shape[d]}) in the input "
            "tensor"
        )
    return view(self, shape[:d] + tuple(sizes) + shape[d + 1 :])


@autograd_first(call=("transpose", False))
def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (TransposeBackward0)."""
    n = max(self._data.ndim, 1)
    d0, d1 = self._wrap_dim(dim0, n), self._wrap_dim(dim1, n)
    if dim0.__class__ is not int or dim1.__class__ is not int:
        dim0, dim1 = d0, d1
    # the grad is a new view even when the dims are the same (a leaf may then take it); the
    # backward takes the dims as given, as PyTorch's formula (and ``_saved_dim0``) does
    step = ViewStep(lambda a: a.swapaxes(d0, d1) if a.ndim else a.view(), lambda g, ns: ns.swapaxes(g, dim0, dim1))
    return make_view(self, step.forward(self._data), "TransposeBackward0", step, "transpose")


_ALIAS = ViewStep(lambda a: a.view(), lambda g, ns: g)  # AliasBackward0 passes its grad on as it is
_T = ViewStep(lambda a: a.T, lambda g, ns: ns.t(g))


@autograd_first
def t(self: Tensor) -> Tensor:
    """Transpose a matrix (TBackward0); 0-d and 1-d tensors are returned as views unchanged."""
    if self._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
    return make_view(self, self._data.T, "TBackward0", _T, "t")


@autograd_first(call=("permute", False))
def permute(self: Tensor, *dims) -> Tensor:
    """Reorder dims (PermuteBackward0)."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_args(dims)
    if len(dims) != self._data.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {self._data.ndim} is not equal to len(dims) = {len(dims)}"
        )
    wrapped = tuple(self._wrap_dim(d) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    inverse = tuple(int(i) for i in np.argsort(wrapped))
    # the forward step keeps the dims as given (PyTorch's ``_saved_dims``; numpy takes them so)
    step = ViewStep(lambda a: a.transpose(dims), lambda g, ns: ns.permute(g, inverse))
    return make_view(self, self._data.transpose(wrapped), "PermuteBackward0", step, "permute")


def movedim(self: Tensor, source, destination) -> Tensor:
    """The dims at ``source`` moved to ``destination`` (ints or sequences), the others kept in
    order: ATen's movedim, a permute (PermuteBackward0, even when nothing moves).

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 3, 4).movedim(0, -1).shape
    torch.Size([3, 4, 2])
    """
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same number "
            f"of dims as destination ({dst} dims)"
        )
    n = self._data.ndim
    src = [self._wrap_dim(d) for d in src]
    dst = [self._wrap_dim(d) for d in dst]
    for name, dims, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    order = [-1] * n
    for s_, d_ in zip(src, dst):
        order[d_] = s_
    rest_src = [d for d in range(n) if d not in src]
    rest_dst = [d for d in range(n) if d not in dst]
    for s_, d_ in zip(rest_src, rest_dst):
        order[d_] = s_
    return permute(self, *order)


@autograd_first(call=("unsqueeze", False))
def unsqueeze(self: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 (UnsqueezeBackward0)."""
    d = self._wrap_dim(dim, self._data.ndim + 1)
    if dim.__class__ is not int:
        dim = d
    # grad.squeeze(dim), the dim as given (as PyTorch's formula and ``_saved_dim``)
    step = ViewStep(lambda a: unsqueezed(a, d), lambda g, ns: ns.squeeze(g, dim))
    return make_view(self, unsqueezed(self._data, d), "UnsqueezeBackward0", step, "unsqueeze")


_ALL_DIMS = object()  # squeeze() without dim (None is refused, as by PyTorch's parser)


@autograd_first(call=("squeeze", False))
def squeeze(self: Tensor, dim=_ALL_DIMS) -> Tensor:
    """Drop dims of size 1: all (SqueezeBackward0), one (SqueezeBackward1) or several (SqueezeBackward2)."""
    shape = self._data.shape
    if dim is _ALL_DIMS:
        squeezed = [i for i, s in enumerate(shape) if s == 1]
        name = "SqueezeBackward0"
    else:
        one = not isinstance(dim, (list, tuple)) and not (isinstance(dim, Tensor) and dim.ndim)
        dim = (dim if dim.__class__ is int else int_arg(dim, "dim")) if one else tuple(_shape_args((dim,)))
        wrapped = {self._wrap_dim(d, max(len(shape), 1)) for d in ((dim,) if one else dim)}
        squeezed = [i for i in sorted(wrapped) if i < len(shape) and shape[i] == 1]
        name = "SqueezeBackward1" if one else "SqueezeBackward2"
    new = tuple(s for i, s in enumerate(shape) if i not in squeezed)
    # the backward keeps ``dim`` as given too (PyTorch's ``_saved_dim``)
    step = ViewStep(lambda a: a.reshape(new), lambda g, ns: _unsqueeze_to(g, squeezed, ns, dim))
    data = self._data.reshape(new)
    if not data.size:  # the kept dims keep their strides (numpy's reshape of an empty array restrides it)
        data = restrided(data, tuple(st for i, st in enumerate(self._data.strides) if i not in squeezed))
    return make_view(self, data, name, step, "squeeze")


def _unsqueeze_to(g, dims, ns, given=None):
    """The backward of squeeze: ``grad.unsqueeze(d)`` for each squeezed dim, as PyTorch's
    unsqueeze_to. (``given``: squeeze's dim argument, kept for ``_saved_dim``.)"""
    for d in dims:
        g = ns.unsqueeze(g, d)
    return g


@autograd_first(call=("expand", False))
def expand(self: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying (ExpandBackward0); writing to it is refused."""
    sizes = _shape_args(sizes)
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(torch.{self.dtype._legacy}Tensor{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(shape)})"
        )
    target = _expanded_shape(shape, sizes)
    step = ViewStep(lambda a: _broadcast(a, target), lambda g, ns: ns.sum_to(g, shape))
    return make_view(self, _broadcast(self._data, target), "ExpandBackward0", step, "expand")


def _expanded_shape(shape, sizes) -> tuple:
    """PyTorch's inferExpandGeometry: -1 keeps an existing size; a 0-d tensor takes ``sizes`` as
    they are (so a -1 stays negative). A negative size fails when the result is made."""
    if not shape:
        target = tuple(sizes)
    else:
        target = _expand_dims(shape, sizes)
    if any(s < 0 for s in target):
        raise RuntimeError("numel: integer multiplication overflow")
    return target


def _expand_dims(shape, sizes) -> tuple:
    # from the last dim to the first, as PyTorch checks them (the first error met is reported)
    lead = len(sizes) - len(shape)
    target = []
    for i in range(len(sizes) - 1, -1, -1):
        s = sizes[i]
        have = shape[i - lead] if i >= lead else None
        if s == -1:
            if have is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i}"
                )
            s = have
        elif have is not None and have != s and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({have}) at non-singleton "
                f"dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    return tuple(reversed(target))


def _broadcast(a, shape):
    # as_strided keeps the writeable flag (np.broadcast_to would not): writes into the base
    # stay visible, and writes into the expanded tensor are refused by check_inplace.
    return np.lib.stride_tricks.as_strided(a, shape, _expanded_strides(a, shape), writeable=a.flags.writeable)


def _expanded_strides(a, shape) -> tuple:
    """PyTorch's inferExpandGeometry strides: a grown dim gets stride 0, a new dim of size 1 the
    stride that would make it contiguous with the next (numpy would give 0). The overlap checks
    of in-place ops compare strides, so a new dim of size 1 matters."""
    lead = len(shape) - a.ndim
    strides = [0] * len(shape)
    for i in range(len(shape) - 1, -1, -1):
        if i >= lead:
            have = a.shape[i - lead]
            strides[i] = a.strides[i - lead] if have == shape[i] else 0
        else:
            strides[i] = shape[i + 1] * strides[i + 1] if i + 1 < len(shape) and shape[i] == 1 else 0
    return tuple(strides)


def expand_as(self, other, *, _call=("expand_as", True)):
    if not isinstance(other, Tensor):  # (a numpy array too: the parser's)
        refuse(_call, (self, other))
    return expand(self, other.shape)


@autograd_first(call=("select", False))
def select(self: Tensor, dim: int, index: int) -> Tensor:
    """One slice at ``index`` along ``dim`` (SelectBackward0)."""
    if self._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = self._wrap_dim(dim)
    n = self._data.shape[d]
    if index.__class__ is not int:
        index = symint_arg(index, "index")
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(self._data.shape)} at dimension {d}"
        )
    return _select(self, d, int(index), dim)


def _select(self: Tensor, d: int, index: int, dim=None) -> Tensor:
    return _key_view(self, _dim_key(d if dim is None else dim, d, index), "SelectBackward0", "select")


def _dim_key(dim, d: int, item) -> tuple:
    """The basic key applying ``item`` along dim ``d``, counted from the end when ``dim`` was
    given negative: the view's node keeps the dim as given (PyTorch's ``_saved_dim``)."""
    if dim.__class__ is int and dim < 0:
        return (Ellipsis, item) + (slice(None),) * (-dim - 1)
    return (slice(None),) * d + (item,)


def narrow(self: Tensor, dim: int, start: int, length: int, *, _call=("narrow", False)) -> Tensor:
    """``length`` elements from ``start`` along ``dim`` (SliceBackward0). PyTorch's narrow is
    composite: it checks its arguments before its slice enters autograd."""
    if dim.__class__ is not int or start.__class__ is not int or length.__class__ is not int:
        try:
            dim, start, length = int_arg(dim, "dim"), symint_arg(start, "start"), symint_arg(length, "length")
        except TypeError:
            refuse(_call, (self, dim, start, length))
            if isinstance(start, Tensor):  # the overload taking a tensor start
                raise RuntimeError("start must be an 0-dim integral Tensor.") from None
            raise
    if self._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = self._wrap_dim(dim)
    n = self._data.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if start > n - length:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _key_view(self, _dim_key(dim, d, slice(start, start + length)), "SliceBackward0", "narrow")


def _key_view(self, key, name, op):
    if key[0] is not Ellipsis:  # an Ellipsis keeps a 0-d result an array view, not a numpy scalar
        key = key + (Ellipsis,)
    in_shape = self._data.shape
    # select_backward / slice_backward (SelectBackwardBackward0 ... under create_graph)
    backward_op = name.replace("Backward0", "BackwardBackward0")
    step = ViewStep(lambda a: a[key], lambda g, ns: ns.scatter(g, in_shape, key, backward_op))
    return make_view(self, self._data[key], name, step, op)


class MultiViewNode(Node):
    """One node for several views of the same input (SplitBackward0, UnbindBackward0, ...)."""

    __slots__ = ("_n_outputs",)

    @staticmethod
    def _formula(node, grads, ns):
        in_shape, dim, sizes = node._ctx[:3]
        like = next(g for g in grads if g is not None)
        if sizes is None:
            # unbind_backward: stack(grads, dim), zeros({}).expand(sizes) for a missing grad
            return (ns.stack([ns.expand(ns.zeros((), like), like.shape) if g is None else g for g in grads], dim),)
        # split_with_sizes_backward: cat(grads, dim), zeros of the piece's size for a missing grad
        parts = []
        for g, size in zip(grads, sizes):
            if g is None:
                g = ns.zeros(in_shape[:dim] + (size,) + in_shape[dim + 1 :], like)
            parts.append(g)
        return (ns.cat(parts, dim),)

    def apply_formula(self, grads, ns):
        return self._formula(self, grads, ns)


def _multi_view(self: Tensor, keys, name: str, op: str, dim: int, sizes, given) -> tuple:
    """Views ``self[key]`` for each key, made by one node as PyTorch's split/unbind do: the
    pieces' ``sizes`` along ``dim`` (split), or None (unbind, whose keys select). ``given``:
    the dim and split size as given (PyTorch's ``_saved_dim``, ``_saved_split_size``)."""
    from ._tensor import check_differentiable, needs_grad

    keys = [k + (Ellipsis,) for k in keys]
    in_shape = self._data.shape
    node = None
    if needs_grad(self):
        cls = node_class(name, base=MultiViewNode)
        node = cls((self._edge(),), (), (in_shape, dim, sizes, given), [(in_shape, self._data.dtype)])
        node._n_outputs = len(keys)
    # each view's own step back to ``self``: select_backward or slice_backward
    backward_op = "SelectBackwardBackward0" if sizes is None else "SliceBackwardBackward0"
    outs = []
    for i, key in enumerate(keys):
        out = Tensor._wrap(self._data[key])
        step = ViewStep(
            (lambda k: lambda a: a[k])(key), (lambda k: lambda g, ns: ns.scatter(g, in_shape, k, backward_op))(key)
        )
        _view_meta(out, self, step, MULTI_OUTPUT_NODE)
        if node is not None:
            check_differentiable(out)
            out._grad_fn = node
            out._output_nr = i
        if _events.active:
            _events.emit("created", tensor=out, grad_fn=node, inputs=(self,), op=op)
            _events.emit("aliased", tensor=out, source=self, kind="view", op=op)
        outs.append(out)
    return tuple(outs)


@autograd_first(call=("unbind", False))
def unbind(self: Tensor, dim: int = 0):
    """The slices along ``dim`` (UnbindBackward0)."""
    d = self._wrap_dim(dim)
    keys = [(slice(None),) * d + (i,) for i in range(self._data.shape[d])]
    return _multi_view(self, keys, "UnbindBackward0", "unbind", d, None, (dim,))


@autograd_first
def split(self: Tensor, split_size, dim: int = 0):
    """Pieces along ``dim``: of ``split_size`` each (SplitBackward0) or of the given sizes (SplitWithSizesBackward0)."""
    if isinstance(split_size, Tensor):  # Tensor.split takes int(split_size) when it can
        try:
            split_size = int(split_size)
        except (ValueError, RuntimeError):
            pass
    try:
        return _split(self, split_size, dim)
    except TypeError:  # Tensor.split calls split or split_with_sizes, dim by position
        refuse(("split" if isinstance(split_size, int) else "split_with_sizes", False), (self, split_size, dim))
        raise


def _split(self: Tensor, split_size, dim: int):
    if split_size.__class__ is bool:
        raise TypeError("split(): argument 'split_size' must be int, not bool")
    d = self._wrap_dim(dim)
    n = self._data.shape[d]
    if isinstance(split_size, int):
        if split_size <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(split_size, n - i) for i in range(0, n, split_size)] if n else [0]
        name = "SplitBackward0"
    else:
        if not isinstance(split_size, (list, tuple)):
            raise TypeError("split_with_sizes(): argument 'split_sizes' must be tuple of ints")
        sizes = list(_shape_args((split_size,)))
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), "
                f"but got split_sizes={sizes}"
            )
        name = "SplitWithSizesBackward0"
    keys, start = [], 0
    for size in sizes:
        keys.append((slice(None),) * d + (slice(start, start + size),))
        start += size
    return _multi_view(self, keys, name, "split", d, sizes, (dim, split_size))


def chunk(self: Tensor, chunks: int, dim: int = 0, *, _call=("chunk", False)):
    """``chunks`` pieces along ``dim`` (the last may be smaller; SplitBackward0)."""
    if chunks.__class__ is not int or dim.__class__ is not int:
        try:
            chunks, dim = int_arg(chunks, "chunks"), int_arg(dim, "dim")
        except TypeError:
            refuse_given(_call, (self, chunks, dim), (("dim", 0),))
            raise
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = self._wrap_dim(dim)
    n = self._data.shape[d]
    size = -(-n // chunks) if n else 0
    if size == 0:
        return split(self, [0] * chunks if not n else [n], dim)
    return split(self, size, dim)


# ----------------------------------------------------------------------------- indexing


_INVALID_INDEX = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"
_SEQUENCE_AS_TUPLE = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in pytorch 2.9; "
    "use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as tensor index, "
    "x[torch.tensor(seq)], which will result either in an error or a different result"
)
_UINT8_INDEX = "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead."


def _is_sequence(x) -> bool:
    """Python's PySequence_Check, which PyTorch's indexing asks: a list, tuple, range, string or
    numpy array (even a 0-d one), any object with ``__getitem__`` that is no mapping; not a
    tensor or a numpy scalar."""
    return not isinstance(x, (Tensor, dict, np.generic)) and hasattr(type(x), "__getitem__")


def _key_items(key) -> tuple:
    """The items of an index key as PyTorch reads them (its wrapTuple): a tuple's; a short
    non-tuple sequence holding a tensor, a sequence, a slice, None or Ellipsis (``x[[0, [1, 2]]]``)
    is read as a tuple too, with PyTorch's deprecation warning; anything else is one item (a
    list of numbers is one index, a numpy array too).

    >>> _key_items([0, 1]), _key_items((0, [1]))
    (([0, 1],), (0, [1]))
    """
    if isinstance(key, tuple):
        return key
    if type(key) is np.ndarray or not _is_sequence(key):
        return (key,)
    try:
        n = len(key)
    except TypeError:
        return (key,)
    if n >= 32:  # numpy's heuristic, which PyTorch follows: a long sequence is an index
        return (key,)
    for item in key:
        if isinstance(item, (Tensor, slice)) or item is None or item is Ellipsis or _is_sequence(item):
            warnings.warn(_SEQUENCE_AS_TUPLE, UserWarning, stacklevel=3)
            return tuple(key)
    return (key,)


def _count_specified(items) -> int:
    """How many dims of the tensor a key's items consume, counted as PyTorch counts them before
    it reads them (count_specified_dimensions): a bool or uint8 tensor its dims, None, Ellipsis
    and Python bools none, anything else one (a nested list of bools too)."""
    n = 0
    for item in items:
        if isinstance(item, Tensor):
            n += item._data.ndim if item._data.dtype in (np.bool_, np.uint8) else 1
        elif not (item is None or item is Ellipsis or item is True or item is False):
            n += 1
    return n


def _to_index(item):
    """A key item as PyTorch's applySlicing reads it: None, Ellipsis, slices and Python bools
    stay, integers (numpy's too) become ints; a tensor, or a sequence (a list, a numpy array,
    even a 0-d one) made an index tensor, becomes an index array -- int64, or a bool or uint8
    mask -- or, with no dims, an int (a select) or a Python bool; anything else must have
    ``__index__``."""
    if item is None or item is Ellipsis or isinstance(item, (bool, slice)):
        return item
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, Tensor):
        d = _tensor_index(item)
    elif _is_sequence(item):
        d = _sequence_index(item)
    else:
        try:
            return operator.index(item)
        except TypeError:
            raise IndexError(f"{_INVALID_INDEX} (got {_type_name(item)})") from None
    if d.ndim:
        return d
    return bool(d) if d.dtype in (np.bool_, np.uint8) else int(d)


def _tensor_index(t: Tensor) -> np.ndarray:
    d = t._data
    if d.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return d


def _sequence_index(seq) -> np.ndarray:
    """PyTorch's indexing_tensor_from_data: a sequence as an index tensor, bool or uint8 if its
    values are, else int64 (floats truncated)."""
    if isinstance(seq, (str, bytes)):  # torch.tensor of it is refused
        raise TypeError(f"new(): invalid data type '{type(seq).__name__}'")
    d = np.asarray(_numbers_of(seq))
    if d.dtype.kind in "US":
        raise TypeError(f"new(): invalid data type '{'str' if d.dtype.kind == 'U' else 'bytes'}'")
    if d.dtype == object:  # a long list holding a slice, ...
        odd = next(v for v in d.flat if not isinstance(v, (numbers.Number, Tensor)))
        raise RuntimeError(f"Could not infer dtype of {type(odd).__name__}")
    return d if d.dtype in (np.bool_, np.uint8) else d.astype(np.int64)


def _numbers_of(seq):
    """A nested list with its tensors as the numbers PyTorch stores for them: a bool tensor's
    value, another's ``__index__`` (a tensor of one integer; a float one is refused)."""
    if isinstance(seq, Tensor):
        return bool(seq._data) if seq._data.dtype == np.bool_ and seq._data.size == 1 else operator.index(seq)
    if isinstance(seq, (list, tuple)) and any(isinstance(v, (Tensor, list, tuple)) for v in seq):
        return [_numbers_of(v) for v in seq]
    return seq


def _uint8_masks(indices: dict) -> int:
    return sum(index.dtype == np.uint8 for index in indices.values())


def _warn_uint8(masks: int, stacklevel: int = 3) -> None:
    """PyTorch's warning for each of ``masks`` uint8 masks, each time it expands the indices (in
    index and index_put_, and again in their backward, which index with them)."""
    for _ in range(masks):
        warnings.warn(_UINT8_INDEX, UserWarning, stacklevel=stacklevel)


def getitem(self: Tensor, key) -> Tensor:
    """Basic indexing makes views (SliceBackward0, SelectBackward0, ...); advanced indexing copies (IndexBackward0)."""
    if isinstance(key, slice) and self._data.ndim:
        # a lone slice is always applied (PyTorch skips full slices only inside a tuple key)
        start, stop, step = key.indices(self._data.shape[0])
        if step <= 0:
            raise ValueError("step must be greater than zero")
        return _key_view(self, (_as_given(key),), "SliceBackward0", "slice")
    if self._data.ndim == 0 and isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        # a lone int on a 0-d tensor is a select of a missing dim (PyTorch's applySelect)
        if key == 0:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
                "convert a 0-dim tensor to a number"
            )
        raise IndexError(f"index {key} is out of bounds for dimension 0 with size 0")
    out, indices = _apply_slicing(self, _key_items(key))
    if indices:
        _warn_uint8(_uint8_masks(indices))
        return _advanced_index(out, indices)
    if out is self:  # reading: a fresh tensor, as PyTorch's getitem (not setitem)
        return make_view(self, self._data.view(), "AliasBackward0", _ALIAS, "alias")
    return out


def _apply_slicing(self: Tensor, items):
    """PyTorch's applySlicing: the key is applied one item at a time, so the history reads as
    PyTorch's (full slices are skipped; ints select; None unsqueezes), and the index arrays
    are collected by the dim of the result they index.

    Returns ``(view, {dim: index array})``.
    """
    n_specified = _count_specified(items)
    if n_specified > self._data.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self._data.ndim}")
    out = self
    indices = IndexArrays()
    dim = 0  # position in ``out``
    for position, item in enumerate(items):
        given = item
        item = _to_index(item)
        if item is Ellipsis:
            dim += self._data.ndim - n_specified
        elif item is None:
            out = unsqueeze(out, dim)
            dim += 1
        elif isinstance(item, bool):
            # a new dim of size 1, kept (index [0]) or emptied (index [])
            out = unsqueeze(out, dim)
            indices[dim] = np.zeros(1 if item else 0, dtype=np.int64)
            dim += 1
        elif isinstance(item, np.ndarray):
            indices[dim] = item
            if item is getattr(given, "_data", None):  # an index tensor: the node saves it itself
                indices.passed[dim] = given
            dim += item.ndim if item.dtype in (np.bool_, np.uint8) else 1
        elif isinstance(item, slice):
            size = out._data.shape[dim]
            start, stop, step = item.indices(size)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            if not _is_full_slice(item, size):
                key = (slice(None),) * dim + (_as_given(item),)
                out = _key_view(out, key, "SliceBackward0", "slice")
            dim += 1
        else:
            size = out._data.shape[dim]
            if not -size <= item < size:
                # PyTorch names the dimension by the index's position in the key
                raise IndexError(f"index {item} is out of bounds for dimension {position} with size {size}")
            out = _select(out, dim, item)
    return out, indices


_INT64_MAX = (1 << 63) - 1


def _as_given(item: slice) -> slice:
    """The slice as PyTorch's slice op takes it (and its node keeps it: ``_saved_start``,
    ``_saved_end``): its ints as written, a missing start 0, stop INT64_MAX, step 1. numpy
    selects the same elements with it as with the normalised slice."""
    start = 0 if item.start is None else operator.index(item.start)
    stop = _INT64_MAX if item.stop is None else operator.index(item.stop)
    return slice(start, stop, 1 if item.step is None else operator.index(item.step))


def _is_full_slice(item: slice, size: int) -> bool:
    """Whether PyTorch skips this slice: it compares the slice as written (``-n:`` is not
    skipped, ``0:n+5`` is), not the normalised one."""
    start = 0 if item.start is None else int(item.start)
    stop = size if item.stop is None else int(item.stop)
    step = 1 if item.step is None else int(item.step)
    return start == 0 and stop >= size and step == 1


def _index_key(shape, indices) -> tuple:
    """``(numpy key, result shape)`` of PyTorch's ``index(t, indices)`` for ``t`` of ``shape``,
    after the checks PyTorch makes before it reads anything (with its errors).

    Bool masks become the index arrays of their True elements; the arrays broadcast together.
    """
    arrays = {}
    for dim, idx in sorted(indices.items()):
        if not _is_mask(idx):
            arrays[dim] = idx
            continue
        _check_mask_shape(idx, shape, dim)
        for j, nz in enumerate(np.nonzero(idx)):
            arrays[dim + j] = nz
    dims = sorted(arrays)
    try:
        joint = tuple(np.broadcast_shapes(*(arrays[d].shape for d in dims)))
    except ValueError:
        shapes = ", ".join(str(list(arrays[d].shape)) for d in dims)
        raise IndexError(
            f"shape mismatch: indexing tensors could not be broadcast together with shapes {shapes}"
        ) from None
    if any(shape[d] == 0 for d in dims) and 0 not in joint:
        raise IndexError("index is out of bounds for dimension with size 0")
    if dims == list(range(dims[0], dims[-1] + 1)):  # adjacent: the result dims replace them in place
        result = tuple(shape[: dims[0]]) + joint + tuple(shape[dims[-1] + 1 :])
    else:  # else they go first
        result = joint + tuple(n for d, n in enumerate(shape) if d not in arrays)
    key = tuple(arrays.get(d, slice(None)) for d in range(dims[-1] + 1))
    return key, result


class IndexArrays(dict):
    """The index arrays of an advanced index, by the dim they start at; ``passed`` keeps the
    index tensors among them that were given as tensors (PyTorch's node saves those objects:
    ``_saved_indices[0] is index``)."""

    __slots__ = ("passed",)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.passed = {}


def _is_mask(index: np.ndarray) -> bool:
    return index.dtype == np.bool_ or index.dtype == np.uint8  # (uint8: a deprecated mask)


def _check_mask_shape(mask: np.ndarray, shape, dim: int) -> None:
    """A mask indexing the dims from ``dim`` on must have their sizes."""
    for j in range(mask.ndim):
        if mask.shape[j] != shape[dim + j]:
            raise IndexError(
                f"The shape of the mask {list(mask.shape)} at index {j} does not match the shape of the indexed "
                f"tensor {list(shape)} at index {dim + j}"
            )


def _check_bounds(shape, key, result_shape) -> None:
    """PyTorch's kernel checks each index it reads: the first out of range (in the order the
    result is written) is reported, by its position among the index arrays. An empty result
    reads nothing."""
    if 0 in result_shape:
        return
    dims = [d for d, k in enumerate(key) if isinstance(k, np.ndarray)]
    arrays = np.broadcast_arrays(*(key[d] for d in dims))
    bad = [(a < -shape[d]) | (a >= shape[d]) for a, d in zip(arrays, dims)]
    where = np.flatnonzero(np.logical_or.reduce(bad))
    if not where.size:
        return
    first = where[0]
    for j, (a, d, b) in enumerate(zip(arrays, dims, bad)):
        if b.flat[first]:
            raise IndexError(f"index {a.flat[first]} is out of bounds for dimension {j} with size {shape[d]}")


@autograd_first
def _advanced_index(self: Tensor, indices) -> Tensor:
    from ._autograd import node_class

    key, result_shape = _index_key(self._data.shape, indices)
    _check_bounds(self._data.shape, key, result_shape)
    # an empty result reads nothing (numpy would still check the indices)
    data = np.zeros(result_shape, self._data.dtype) if 0 in result_shape else np.ascontiguousarray(self._data[key])
    out = Tensor._wrap(data)
    # the indices are saved for backward (and freed by it, as PyTorch's saved indices are); the
    # index arrays as given (by dim) are kept for ``_saved_indices``
    ctx = (self._data.shape, indices, _uint8_masks(indices))
    return record(out, node_class("IndexBackward0", _index_bw), (self,), (key,), ctx=ctx, op="index")


def index_select(self: Tensor, dim: int, index, *, _call=("index_select", False)) -> Tensor:
    """The entries at ``index`` (a vector or a 0-d tensor of int64 or int32) along ``dim``, a
    copy (IndexSelectBackward0: the grad added into zeros at the index, repeats adding up).

    >>> import gradlens_core as torch
    >>> torch.index_select(torch.tensor([[1, 2, 3]]), 1, torch.tensor([2, 0]))
    tensor([[3, 1]])
    """
    try:
        if not isinstance(index, Tensor):
            raise TypeError("index_select(): argument 'index' must be Tensor")
        d = self._wrap_dim(dim)
    except Exception:
        refuse(_call, (self, dim, index))
        raise
    return _index_select(self, d, index, dim if dim.__class__ is int else d)


@autograd_first
def _index_select(self: Tensor, d: int, index: Tensor, dim: int) -> Tensor:
    from ._autograd import node_class

    idx = index._data
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    data = self._data
    idx = idx.reshape(-1).astype(np.int64)
    if data.ndim == 0:
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
        n = 1
    else:
        n = data.shape[d]
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={idx[bad.argmax()]} axis_dim={n}")
    if data.ndim == 0:
        res = data.copy()
    else:
        res = np.ascontiguousarray(np.take(data, idx, axis=d))
    # saved: the index tensor itself, as PyTorch's (its version is checked); ``dim`` as given
    return record(
        Tensor._wrap(res),
        node_class("IndexSelectBackward0", _index_select_bw),
        (self,),
        (index,),
        ctx=(data.shape, d, dim),
        op="index_select",
    )


def _index_select_bw(node, g, ns):
    # index_select_backward: zeros(self.sizes()).index_add_(dim, index, grad)
    (shape, d, dim), index = node._ctx, node.saved_value(0, ns)
    idx = (index._data if ns.records_graph else index).reshape(-1).astype(np.int64)
    key = (slice(None),) * d + (idx,) if shape else ()
    return (ns.made_in_place(ns.index_add(g, shape, key, "IndexAddBackward0", (index, g, dim)), 1),)


def _index_bw(node, g, ns):
    shape, key = node._ctx[0], node.saved_value(0, ns)
    # PyTorch's index_backward: _index_put_impl_(grad.new_zeros(shape), indices, grad, accumulate=True),
    # whose node saves the same index tensors
    _warn_uint8(node._ctx[2])
    saved = ()
    if ns.records_graph:
        from ._saved_attrs import index_tensors

        saved = (index_tensors(node),)
    return (ns.made_in_place(ns.index_add(g, shape, key, "IndexPutImplBackward0", saved), 1),)


def _index_put_bw(node, g, ns):
    (key,) = node.unpack(ns)  # saved (as PyTorch saves the indices): gone after a backward
    value_shape, accumulate, _, uint8_masks = node._ctx
    # each grad indexes with the indices: self's (unless accumulate) with index_put, values' with index
    _warn_uint8(uint8_masks * ((node.needs(0) and not accumulate) + node.needs(1)))
    if ns.records_graph:
        # derivatives.yaml: self: accumulate ? grad : grad.index_put(indices, zeros_like(values),
        # false); values: grad.index(indices) (self's first, as the generated node computes them)
        gself = gvalues = None
        if node.needs(0):
            gself = g if accumulate else _index_put_zeros(g, key, value_shape, uint8_masks)
        if node.needs(1):
            gvalues = ns.take(g, key)
        return gself, gvalues
    if accumulate:
        return g, ns.take(g, key)
    gself = g.copy()
    gself[key] = 0
    return gself, ns.take(g, key)


def _index_put_zeros(g: Tensor, key, value_shape, uint8_masks: int) -> Tensor:
    """``g.index_put(indices, zeros(value_shape), false)``: a copy of ``g`` with zeros at
    ``key`` (IndexPutBackward0 over ``g``; the zeros have no history)."""
    out = Tensor._wrap(np.array(g._data, copy=True))
    out._data[key] = 0
    zeros = Tensor._wrap(np.zeros(value_shape, g._data.dtype))
    node = node_class("IndexPutBackward0", _index_put_bw)
    return record(out, node, (g, zeros), (key,), ctx=(value_shape, False, None, uint8_masks), op="index_put")


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value`` as PyTorch's THPVariable_setitem: basic keys copy into the view
    they select (CopySlices on the base; no view when they select the whole tensor),
    advanced keys go to index_put_ on the view the key's basic items make."""
    value = _value_to_tensor(self, value)
    if key is False:
        return  # a lone False selects nothing: not even the version moves
    target, indices = _apply_slicing(self, _key_items(None if key is True else key))  # a lone True unsqueezes
    if not indices:
        copy_to(target, value)
        return
    _index_put(target, indices, _without_leading_ones(value), False)


def _value_to_tensor(self: Tensor, value) -> Tensor:
    """A tensor, or a Python number as a 0-d tensor of ``self``'s dtype (PyTorch's valueToTensor)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.integer)):  # np.float64 is a float
        if not isinstance(value, float) and not -(2**63) <= value < 2**63:
            raise ValueError("Overflow when unpacking long long")  # an int is read as int64
        return Tensor._wrap(np.asarray(_dtype.scalar_tensor_value(value, self.dtype)))
    if isinstance(value, complex):
        return Tensor._wrap(np.asarray(value).astype(self._data.dtype))
    raise TypeError(f"can't assign a {_type_name(value)} to a {self.type()}")


def _type_name(value) -> str:
    """A type's name as PyTorch's errors print it (a C type's tp_name: ``numpy.ndarray``)."""
    cls = type(value)
    if isinstance(value, Tensor):
        return "Tensor"
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _without_leading_ones(value: Tensor) -> Tensor:
    """``value`` viewed without its leading dims of size 1 (PyTorch's slicePrefix1sSize)."""
    n = _leading_ones(value._data.shape)
    return view(value, value._data.shape[n:]) if n else value


def copy_to(dst: Tensor, src: Tensor) -> None:
    """Write ``src`` into ``dst`` as PyTorch's indexing copy_to: copy_ of the same shape, fill_
    with a 0-d source, else the source without leading 1s (a view), expanded to ``dst``."""
    from ._ops import copy_, fill_

    if dst._data.shape == src._data.shape:
        copy_(dst, src)
    elif src._data.ndim == 0:
        fill_(dst, src)
    else:
        src = view(src, src._data.shape[_leading_ones(src._data.shape) :])
        if src._data.shape != dst._data.shape:
            src = expand(src, dst._data.shape)
        copy_(dst, src)


def _leading_ones(shape) -> int:
    n = 0
    while n < len(shape) and shape[n] == 1:
        n += 1
    return n


def index_put_(self: Tensor, indices, values, accumulate=False) -> Tensor:
    """``self[indices] = values`` (or ``+=`` with ``accumulate``) for a tuple of index tensors (IndexPutBackward0)."""
    # PyTorch's parser takes tensors only (a list, a number, a numpy array, None are refused)
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put_(): argument 'indices' (position 1) must be tuple of Tensors, not {_type_name(indices)}"
        )
    for position, index in enumerate(indices):
        if not isinstance(index, Tensor):
            raise TypeError(f"expected Tensor as element {position} in argument 0, but got {_type_name(index)}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put_(): argument 'values' (position 2) must be Tensor, not {_type_name(values)}")
    if len(indices) > self._data.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self._data.ndim} (got {len(indices)})")
    arrays = IndexArrays({d: _tensor_index(i) for d, i in enumerate(indices)})
    arrays.passed = dict(enumerate(indices))
    return _index_put(self, arrays, values, accumulate)


def _index_put(self: Tensor, indices: dict, value: Tensor, accumulate: bool) -> Tensor:
    """PyTorch's _index_put_impl_, its checks in its order: the expanded-self warning, the
    dispatch of one value through one mask to masked_fill_, memory overlap of the value and
    the indices, the indices, the value's shape and dtype, then the bounds as it writes."""
    from ._autograd import node_class
    from ._ops import check_no_overlap, raise_not_a_bool_mask
    from ._tensor import check_inplace, finish_inplace

    check_inplace(self, "index_put_", (value,), overlap="warn")
    masked = not accumulate and _as_masked_fill(self, indices, value)
    if masked:
        (mask,) = indices.values()
        if mask.dtype != np.bool_:
            raise_not_a_bool_mask(_dtype.uint8)
        check_inplace(self, "masked_fill_", overlap="warn")
    else:
        for other in (value, *indices.values()):
            check_no_overlap(self, other if isinstance(other, Tensor) else Tensor._wrap(other))
        _warn_uint8(_uint8_masks(indices), stacklevel=4)  # (setitem and index_put_ call this from the user's line)
    shape = self._data.shape
    key, result_shape = _index_key(shape, indices)
    if not masked:
        if not _expandable(value._data.shape, result_shape):
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(value._data.shape)} cannot be broadcast to indexing "
                f"result of shape {list(result_shape)}"
            )
        if value.dtype is not self.dtype:
            raise RuntimeError(
                f"Index put requires the source and destination dtypes match, got {self.dtype._legacy} for the "
                f"destination and {value.dtype._legacy} for the source."
            )
    _check_bounds(shape, key, result_shape)
    vd = value._data.astype(self._data.dtype, copy=False)
    if 0 in result_shape:
        pass  # nothing is written (numpy would still check the indices)
    elif accumulate:
        np.add.at(self._data, key, vd)
    else:
        self._data[key] = vd
    node = node_class("IndexPutBackward0", _index_put_bw)
    # and the index arrays as given (``_saved_indices``)
    ctx = (value._data.shape, accumulate, indices, 0 if masked else _uint8_masks(indices))
    return finish_inplace(self, "index_put_", node, (self, value), (key,), ctx=ctx)


def _expandable(shape, target) -> bool:
    """``at::is_expandable_to``: ``shape`` broadcasts to ``target`` without growing it."""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


def _as_masked_fill(self: Tensor, indices: dict, value: Tensor) -> bool:
    """Whether PyTorch's index_put_ runs as masked_fill_ (canDispatchToMaskedFill): one value,
    and one mask (bool, or uint8, which masked_fill_ then refuses) as the only index; the mask
    must fit the tensor's shape."""
    if value._data.size != 1 or len(indices) != 1:
        return False
    ((dim, index),) = indices.items()
    if not _is_mask(index):
        return False
    _check_mask_shape(index, self._data.shape, dim)
    return True


# ----------------------------------------------------------------------------- scatter (double backward)


def _placed_bw(node, gg, ns):
    """The backward of placing a grad at ``key``: the grad read back there. select_backward's
    is ``grad.select(dim, index)``, slice_backward's ``grad.slice(dim, start, end, step)`` and
    _index_put_impl_'s ``grad.index(indices)`` (read by indexing here; scatter_'s gathers:
    ``_gathered_bw``). The zeros written into have no history: no grad."""
    key = node._ctx
    return (None,) * (len(node.next_functions) - 1) + (ns.take(gg, key),)


def _gathered_bw(node, gg, ns):
    """ScatterBackward0/1's and ScatterAddBackward0's formula (derivatives.yaml): self:
    ``grad.scatter(dim, index, 0)`` (scatter_add's: ``grad``); src: ``grad.gather(dim, index)``,
    the grad read back at ``key``. Into the zeros a backward formula scatters into, there is
    no self edge (the zeros have no history)."""
    key = node._ctx
    held = node.unpack(ns)  # (index, dim): their versions are checked
    n = len(node.next_functions)
    gself = None
    if node.needs(0):
        if type(node).__name__ == "ScatterAddBackward0":
            gself = gg
        elif ns.records_graph:
            gself = gg.scatter(held[1], held[0], 0)
        else:
            gself = gg.copy()
            gself[key] = 0
    if n == 1:  # scatter of a value: self alone
        return (gself,)
    gsrc = None
    if node.needs(n - 1):
        if ns.records_graph and len(held) == 2 and held[0] is not None and held[0]._data.ndim:
            from ._scatter import gather as gather_op

            gsrc = gather_op(gg, held[1], held[0])
        else:
            gsrc = gather(gg, key, ns)
    return (gself, gsrc)


def gather(g, key, ns):
    """``g.gather(dim, index)`` for the advanced-index ``key`` that scatter used (a copy;
    GatherBackward0 under create_graph)."""
    if not ns.records_graph:
        return g[key]
    out = Tensor._wrap(np.array(g._data[key], copy=True))
    return record(out, node_class("GatherBackward0", _gather_bw), (g,), ctx=(g._data.shape, key), op="gather")


def _gather_bw(node, g, ns):
    """gather_backward: ``grad.new_zeros(sizes).scatter_add_(dim, index, grad)`` (version 1;
    ScatterAddBackward0 under create_graph). torch.gather's node saved self (checked here)
    and index."""
    shape, key = node._ctx[:2]
    held = node.unpack(ns)
    saved = (held[1], held[2]) if held else ()
    res = ns.made_in_place(ns.index_add(g, shape, key, "ScatterAddBackward0", saved), 1)
    return (res if len(node._ctx) == 2 else ns.reshape(res, node._ctx[2]),)  # (a 0-d self: as 1-d)


# the nodes of scatter_ and scatter_add_, whose backward gathers (the others index)
_SCATTERS = ("ScatterBackward0", "ScatterAddBackward0")


def place_into(g: Tensor, shape, key, name: str, into_zeros: bool, saved=()) -> Tensor:
    """Zeros of ``shape`` with ``g`` placed at ``key``, recorded as the op PyTorch's formula
    calls (``name``): select_backward / slice_backward take the grad alone; scatter_ and
    _index_put_impl_ (``into_zeros``, adding up repeats) write into fresh zeros, their first
    input, which records an empty edge. ``saved``: what PyTorch's node saves besides the key
    (scatter_'s index tensor and dim, ...), for its ``_saved_*`` attributes."""
    out = np.zeros(shape, dtype=g._data.dtype)
    if into_zeros:
        np.add.at(out, key, g._data)
    else:
        out[key] = g._data
    inputs = (None, g) if into_zeros else (g,)
    formula = _gathered_bw if name in _SCATTERS else _placed_bw
    return record(Tensor._wrap(out), node_class(name, formula), inputs, saved, ctx=key, op=name)

"""The Tensor: a numpy array plus PyTorch's autograd metadata.

A tensor's values live in ``_data``, a numpy array that may be a view of another
tensor's array (storage sharing). ``_version_counter`` is a one-element list shared by
views and ``detach()`` results; in-place ops bump it. Rarely used autograd state
(``.grad``, hooks, view bookkeeping) sits in ``_meta``, created on demand.

>>> import gradlens_core as torch
>>> a = torch.tensor([1., 2., 3.], requires_grad=True)
>>> a.sigmoid()
tensor([0.7311, 0.8808, 0.9526], grad_fn=<SigmoidBackward0>)
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import _dtype, _events, _grad_mode
from ._autograd import (
    CUSTOM_GRAD_DTYPES,
    NOT_SAVED,
    AccumulateGrad,
    SavedTensor,
    torch_strided_empty,
    warn_unless_layout_contract,
)
from ._grad_mode import InferenceAliasCounter, InferenceCounter, InferenceTensorCounter, detached_counter
from ._handles import HookDict, add_hook
from ._warn import warn_once

__all__ = ["Tensor", "Size", "record", "check_inplace", "finish_inplace"]


class Size(tuple):
    """A tensor shape; prints as ``torch.Size([2, 3])``.

    Slicing, ``+`` and ``*`` give a Size again, as PyTorch's do:

    >>> Size([2, 3, 4])[1:] + (1,)
    torch.Size([3, 4, 1])
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = []
        for i, s in enumerate(sizes):
            try:  # ints, numpy integers, and integer tensors of one element (__index__)
                items.append(s.__index__())
            except (AttributeError, TypeError, RuntimeError):
                raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')") from None
        return tuple.__new__(cls, items)

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return tuple.__new__(Size, out) if isinstance(key, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            # PyTorch's message names the type bare: "(not list)"
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to torch.Size")
        return tuple.__new__(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(other, self))

    def __mul__(self, n):
        out = tuple.__mul__(self, n)
        return out if out is NotImplemented else tuple.__new__(Size, out)

    __rmul__ = __mul__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


# How a view was made (PyTorch's CreationMeta). Views made under no_grad, or by an op that
# returns several views (split, unbind, chunk), may not be edited in place while autograd
# watches, nor have their history regenerated after their base was edited.
DEFAULT, NO_GRAD_MODE, MULTI_OUTPUT_NODE = "default", "no_grad", "multi_output"
OWN_DTYPE = "own"  # a leaf's grad_dtype by default: its own dtype
IN_CUSTOM_FUNCTION = "in_custom_function"  # a view a custom Function's forward returned


class _Meta:
    """Autograd state most tensors never need (PyTorch's AutogradMeta)."""

    __slots__ = (
        "grad",
        "retains_grad",
        "hooks",
        "accumulator",
        "base",
        "view_steps",
        "view_version",
        "creation",
        "grad_meta",
        "grad_dtype",
        "post_acc_hooks",
    )

    def __init__(self) -> None:
        self.creation = DEFAULT
        self.grad_meta = None  # (shape, dtype) its grad_fn was made for, once ``.data`` changed them
        self.grad = None
        self.retains_grad = False
        self.hooks = None
        self.accumulator = None
        self.base = None
        self.view_steps = ()
        self.view_version = 0
        self.grad_dtype = OWN_DTYPE  # what .grad must be (None: any dtype); see Tensor.grad_dtype
        self.post_acc_hooks = None  # register_post_accumulate_grad_hook's HookDict


_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field to "
    "be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access "
    "the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information."
)

_new = object.__new__


def int_arg(x, name: str) -> int:
    """``x`` where PyTorch's parser takes an int (a Python or numpy integer, a 0-d integer
    tensor; not a bool, a float or anything else): as an int, or a TypeError, which the ops that
    replay the parser (``_argparse``) replace with PyTorch's text."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        if isinstance(x, Tensor) and x._data.ndim == 0 and x._data.dtype.kind in "iu":
            return int(x._data)
        raise TypeError(f"argument '{name}' must be int, not {type(x).__name__}")
    return int(x)


def symint_arg(x, name: str) -> int:
    """``x`` where PyTorch's parser takes a SymInt (``select``'s index, a size): as ``int_arg``,
    and also what ``__index__`` reads as an int, such as a 0-d integer numpy array."""
    if x.__class__ is np.ndarray and x.ndim == 0 and x.dtype.kind in "iu":
        return int(x)
    return int_arg(x, name)


class Tensor:
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = ("_data", "_grad_fn", "_output_nr", "_requires_grad", "_version_counter", "_meta", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __new__(cls, *args, **kwargs):
        from ._factories import legacy_new

        return legacy_new(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs) -> None:
        pass

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A new leaf tensor over ``data`` (no copy)."""
        t = _new(cls)
        if not data.size:  # numpy zeroes the strides of an empty array it makes
            data = torch_strided_empty(data)
        t._data = data
        t._grad_fn = None
        t._output_nr = 0
        t._requires_grad = requires_grad
        # made under inference_mode: an inference tensor (its views share the counter's type)
        t._version_counter = InferenceCounter([0]) if _state.inference else [0]
        t._meta = None
        return t

    def is_inference(self) -> bool:
        """Whether this tensor (or the tensor it views) was made under ``inference_mode``."""
        return isinstance(self._version_counter, InferenceTensorCounter)

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype._BY_NP[self._data.dtype]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def ndimension(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def nelement(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def device(self) -> str:
        from ._factories import device

        return device("cpu")

    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "torch.strided"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def type(self, dtype=None, non_blocking=False):
        """The legacy type name (``'torch.FloatTensor'``), or this tensor cast to a dtype, a
        legacy class (``torch.LongTensor``) or a legacy name; itself if it has that type.

        >>> import gradlens_core as torch
        >>> torch.tensor([1.5]).type(torch.LongTensor)
        tensor([1])
        """
        if dtype is None:
            return f"torch.{self.dtype._legacy}Tensor"
        if isinstance(dtype, str):
            if dtype.startswith("torch.cuda."):  # a CPU-only build, as gradlens_core is
                raise RuntimeError("Cannot initialize CUDA without ATen_cuda library.")
            if dtype not in _dtype.LEGACY_TENSOR_NAMES:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = _dtype.LEGACY_TENSOR_NAMES[dtype]
        elif isinstance(getattr(dtype, "_dtype", None), _dtype.dtype):  # a legacy class
            dtype = dtype._dtype
        elif not isinstance(dtype, _dtype.dtype):
            raise TypeError("dtype must be a type, str, or dtype object")
        return self if dtype is self.dtype else self.to(dtype)

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[self._wrap_dim(dim)]

    def storage_offset(self) -> int:
        root = _root_array(self._data)
        return (self.data_ptr() - root.__array_interface__["data"][0]) // self._data.itemsize

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def _storage_key(self) -> int:
        """An identity for the memory this tensor's values live in (shared by all aliases)."""
        return id(_root_array(self._data))

    def _wrap_dim(self, dim: int, ndim: int | None = None) -> int:
        n = self._data.ndim if ndim is None else ndim
        if dim.__class__ is int and -n <= dim < n:  # the common case
            return dim % n
        dim = int_arg(dim, "dim")
        lo, hi = (-n, n - 1) if n else (-1, 0)
        if not lo <= dim <= hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
        return dim % n if n else 0

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        if self._requires_grad or self._grad_fn is not None:
            return True
        meta = self._meta  # a view requires grad while its base does, as in PyTorch
        return meta is not None and meta.base is not None and meta.base.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._set_requires_grad(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` of a leaf in place and return it."""
        self._set_requires_grad(requires_grad, method=True)
        return self

    def _set_requires_grad(self, value, method=False) -> None:
        value = bool(value)
        if self._grad_fn is not None and value and method:
            return  # requires_grad_() on a non-leaf: PyTorch treats this as a no-op (not the setter)
        if self._grad_fn is not None:
            msg = "you can only change requires_grad flags of leaf variables."
            if not value:
                msg += (
                    " If you want to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach()."
                )
            raise RuntimeError(msg)
        if value and isinstance(self._version_counter, InferenceTensorCounter) and not _state.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        if value and self._data.dtype.kind != "f":
            kinds = "floating point" if method else "floating point and complex"
            raise RuntimeError(f"only Tensors of {kinds} dtype can require gradients")
        if value != self._requires_grad:
            self._requires_grad = value
            if _events.active:
                _events.emit("flag_changed", tensor=self, flag="requires_grad", value=value)

    @property
    def is_leaf(self) -> bool:
        if self._meta is not None and self._meta.base is not None:
            return self._view_grad_fn() is None
        return self._grad_fn is None

    @property
    def grad_fn(self):
        meta = self._meta
        if meta is not None and meta.base is not None:
            return self._view_grad_fn()
        return self._grad_fn

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _base(self):
        return None if self._meta is None else self._meta.base

    def _is_view(self) -> bool:
        return self._meta is not None and self._meta.base is not None

    @property
    def _version(self) -> int:
        counter = self._version_counter
        if counter.__class__ is InferenceCounter:
            raise RuntimeError("Inference tensors do not track version counter.")
        return counter[0]

    def _get_meta(self) -> _Meta:
        meta = self._meta
        if meta is None:
            meta = self._meta = _Meta()
        return meta

    @property
    def grad(self):
        meta = self._meta
        if self._grad_fn is not None and (meta is None or not meta.retains_grad):
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return None if meta is None else meta.grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
            want = self._grad_dtype()
            if want is not None and value.dtype is not want:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype._cpp}'"
                    f" to a tensor with grad_dtype '{want._legacy}'. The gradient must match the tensor's grad_dtype "
                    "(defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific "
                    "dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor "
                    "and its gradient may break downstream systems that assume they match."
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size"
                )
        meta = self._get_meta()
        if meta.grad is None and value is None:
            return
        meta.grad = value
        if _events.active:
            _events.emit("accumulated", tensor=self, grad=value, how="set")

    def _grad_dtype(self):
        """The dtype ``.grad`` must have (None: any), as ``grad_dtype`` without its leaf check."""
        meta = self._meta
        want = OWN_DTYPE if meta is None else meta.grad_dtype
        return self.dtype if want is OWN_DTYPE else want

    @property
    def grad_dtype(self):
        """The dtype a leaf's ``.grad`` must have: its own unless set (None allows any; backward
        casts what it accumulates to it).

        >>> import gradlens_core as torch
        >>> a = torch.tensor([1.0], requires_grad=True)
        >>> a.grad_dtype = torch.float64
        >>> (a * 2).sum().backward(); a.grad
        tensor([2.], dtype=torch.float64)
        """
        if self._grad_fn is not None:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        return self._grad_dtype()

    @grad_dtype.setter
    def grad_dtype(self, value) -> None:
        if self._grad_fn is not None:
            if self._meta is None or not self._meta.retains_grad:  # PyTorch's setter reads .grad first
                warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        if value is not None and not isinstance(value, _dtype.dtype):
            raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got {type(value).__name__}")
        meta = self._get_meta()
        grad = meta.grad
        if grad is not None and value is not None and grad.dtype is not value:
            raise RuntimeError(
                f"Cannot set grad_dtype to '{value._legacy}' because there is already a gradient with dtype "
                f"'{grad.dtype._cpp}'. Please clear the gradient (.grad = None) "
                "before changing grad_dtype, or ensure the new grad_dtype matches the existing gradient's dtype."
            )
        meta.grad_dtype = value
        CUSTOM_GRAD_DTYPES[0] += 1

    @grad.deleter
    def grad(self) -> None:
        self.grad = None

    def retain_grad(self) -> None:
        """Keep ``.grad`` of this non-leaf after backward (a no-op on leaves)."""
        if self._grad_fn is None:
            # a view of a leaf requires grad with its base, even one made under no_grad
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        meta = self._get_meta()
        if meta.retains_grad:
            return
        node = self.grad_fn  # a stale no_grad view refuses here, before the flag is set
        meta.retains_grad = True
        if node._retain is None:
            node._retain = {}
        node._retain[self._output_nr] = weakref.ref(self)
        if _events.active:
            _events.emit("flag_changed", tensor=self, flag="retain_grad", value=True)

    @property
    def retains_grad(self) -> bool:
        return self._meta is not None and self._meta.retains_grad

    def _retain_grad_update(self, g) -> None:
        meta = self._get_meta()
        if isinstance(g, Tensor):  # create_graph: PyTorch's retain_grad hook records its clone and sum
            if meta.grad is None:
                from ._ops import contiguous_clone

                meta.grad = contiguous_clone(g)
            else:
                meta.grad = meta.grad + g
        elif meta.grad is None:
            meta.grad = Tensor._wrap(np.array(g, copy=True))
        else:
            meta.grad = Tensor._wrap(meta.grad._data + g)
        if _events.active:
            _events.emit("accumulated", tensor=self, grad=meta.grad, how="retain")

    def _accumulate(self, g, create_graph: bool, fresh: bool = False, counter: list | None = None) -> None:
        """AccumulateGrad: the first grad is stored, later ones are added (in place unless create_graph).

        A ``fresh`` array (referenced nowhere else, with this tensor's layout) is taken as it
        is, with its version ``counter`` (shared with other views of its buffer); anything
        else is copied into a new buffer laid out as this tensor, which PyTorch's copy_
        leaves at version 1.
        """
        meta = self._get_meta()
        old = meta.grad
        if old is None:
            if fresh and not create_graph:
                meta.grad = Tensor._wrap(g)
                if counter is not None:
                    meta.grad._version_counter = counter
            elif create_graph and isinstance(g, Tensor):
                from ._ops import _clone_of, copy_

                buffer = self._contract_buffer(g._data)
                if buffer is None:  # clone(contiguous_format): CloneBackward0
                    meta.grad = _clone_of(g, np.array(g._data, order="C"))
                else:  # copied into a fresh buffer (CopyBackwards keeps it differentiable)
                    meta.grad = copy_(Tensor._wrap(buffer), g)
            else:
                data = g._data if isinstance(g, Tensor) else g
                buffer = self._contract_buffer(data)
                if buffer is None:  # new_grad.clone(contiguous_format): a fresh tensor, version 0
                    meta.grad = Tensor._wrap(np.array(data, order="C"))
                else:  # new_empty_strided(...).copy_(new_grad): version 1
                    np.copyto(buffer, data, casting="unsafe")
                    meta.grad = Tensor._wrap(buffer)
                    meta.grad._version_counter[0] = 1
        elif create_graph:
            meta.grad = old + g
            warn_unless_layout_contract(meta.grad._data, self._data)
        else:
            from ._ops import check_out_shape

            data = g._data if isinstance(g, Tensor) else g
            check_out_shape(old._data.shape, data.shape)
            np.add(old._data, data, out=old._data, casting="unsafe")
            old._version_counter[0] += 1
            warn_unless_layout_contract(old._data, self._data)
        if _events.active:
            _events.emit("accumulated", tensor=self, grad=meta.grad, how="backward")

    def _contract_buffer(self, g: np.ndarray):
        """Where AccumulateGrad copies a grad it may not take (PyTorch's clone_obey_contract):
        an empty array laid out as this tensor, in the grad's dtype, if it is dense; else None
        (the grad is cloned contiguous)."""
        from ._autograd import non_overlapping_and_dense
        from ._layout import empty_strided
        from ._ops import check_out_shape

        d = self._data
        if non_overlapping_and_dense(d):
            check_out_shape(d.shape, g.shape)  # ``.data =`` may have changed the shape
            # new_empty_strided(sizes, strides): the strides exactly, a size-1 dim's (even 0, which
            # the contract then refuses) and an empty tensor's too (numpy's empty_like sets its own)
            if g.dtype == d.dtype:
                return empty_strided(d.shape, d.strides, d.dtype)
            # a grad_dtype other than the tensor's: its layout, in the grad's dtype
            return empty_strided(d.shape, tuple(s // d.itemsize * g.itemsize for s in d.strides), g.dtype)
        return None

    def _edge(self):
        """(node, output_nr) through which gradient reaches this tensor, or (None, 0)."""
        meta = self._meta
        if meta is not None and meta.base is not None:
            node = self._view_grad_fn()
        else:
            node = self._grad_fn
        if node is not None:
            return node, self._output_nr
        if not self._requires_grad:  # e.g. a view made under no_grad: it has no accumulator
            return None, 0
        return self._grad_accumulator(), 0

    def _grad_accumulator(self) -> AccumulateGrad:
        meta = self._get_meta()
        acc = meta.accumulator() if meta.accumulator is not None else None
        if acc is None:
            acc = AccumulateGrad(self)
            meta.grad_meta = None  # a new accumulator is made for the tensor as it is now
            if meta.hooks is not None:
                acc._tensor_pre_hooks = meta.hooks
            meta.accumulator = weakref.ref(acc)
        return acc

    def _view_grad_fn(self):
        """The grad_fn of a view, as PyTorch's VariableHooks::grad_fn computes it.

        A view whose storage was edited in place since its history was set gets a fresh
        AsStridedBackward0 pointing at its base's current history; a view that never had
        history and whose base does not require grad stays a leaf (its version is not read).
        """
        meta = self._meta
        if self._grad_fn is None and not meta.base.requires_grad:
            return None
        version = self._version_counter[0]
        if meta.view_version != version:
            check_view_edit(self, indirect=True)
            old = self._grad_fn
            self._grad_fn = _as_strided_node(meta.base, meta.view_steps, self)
            self._output_nr = 0
            meta.view_version = version
            _move_retain_grad(self, old, 0)
        return self._grad_fn

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        grad_fn = self.grad_fn  # as PyTorch's: a view's grad_fn is regenerated (or refused) here
        if grad_fn is not None:
            return grad_fn._register_tensor_hook(self._output_nr, hook)
        meta = self._get_meta()
        if meta.hooks is None:
            meta.hooks = HookDict()
            acc = meta.accumulator() if meta.accumulator is not None else None
            if acc is not None:
                acc._tensor_pre_hooks = meta.hooks
        return add_hook(meta.hooks, (0, hook))

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward accumulated into this leaf's ``.grad``; it must return None.

        >>> import gradlens_core as torch
        >>> w = torch.ones(2, requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (w * 3).sum().backward()
        tensor([3., 3.])
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        meta = self._get_meta()
        if meta.post_acc_hooks is None:
            meta.post_acc_hooks = HookDict()
        return add_hook(meta.post_acc_hooks, hook)

    @property
    def _post_accumulate_grad_hooks(self):
        meta = self._meta
        return None if meta is None else meta.post_acc_hooks

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute the gradient of this tensor w.r.t. graph leaves (see ``autograd.backward``)."""
        __tracebackhide__ = True  # IPython: the traceback ends at the user's line
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------------ detaching and aliasing
    def detach(self) -> Tensor:
        """A new tensor sharing storage and version counter, cut from the graph."""
        out = Tensor._wrap(self._data)
        out._version_counter = detached_counter(self._version_counter)
        if _events.active:
            _events.emit("aliased", tensor=out, source=self, kind="detach", op="detach")
        return out

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place, making it a leaf (refused on views)."""
        if self._is_view():
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
                "True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
                "these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
                "function in torch/optim/optimizer.py as the solution."
            )
        old = self._grad_fn
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        if _events.active:
            _events.emit("detached_in_place", tensor=self, old_grad_fn=old)
        return self

    @property
    def data(self) -> Tensor:
        """The same storage with a fresh version counter and no history: edits are invisible to autograd."""
        out = Tensor._wrap(self._data)
        if self._version_counter.__class__ is not list and not _state.inference:
            out._version_counter = InferenceAliasCounter([0])  # .data of an inference tensor is one
        if _events.active:
            _events.emit("aliased", tensor=out, source=self, kind="data", op="data")
        return out

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if self.requires_grad and value._data.dtype.kind != "f":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        meta = self._meta
        if self._grad_fn is None and meta is not None and value._data.dtype != self._data.dtype:
            # PyTorch's set_data forgets a leaf's grad accumulator when the type changes: a new
            # one is made for the tensor as it is now (the graph keeps the old one)
            meta.accumulator = None
            meta.grad_meta = None
        elif self._grad_fn is not None or (meta is not None and meta.accumulator is not None):
            self._keep_grad_meta()
        self._data = value._data
        if _events.active:
            _events.emit("aliased", tensor=self, source=value, kind="data", op="data=")

    def _keep_grad_meta(self) -> None:
        """Before ``.data`` replaces the values of a non-leaf, or of a leaf whose AccumulateGrad
        is alive: that node keeps the shape and dtype it recorded, and the engine sums and
        casts grads to them (PyTorch's input metadata), whatever the tensor now holds."""
        meta = self._get_meta()
        if self._grad_fn is None and meta.accumulator() is None:
            return
        if meta.grad_meta is None:
            meta.grad_meta = (self._data.shape, self._data.dtype)

    def _grad_meta(self) -> tuple:
        """The (shape, dtype) a grad flowing into this tensor's grad_fn must have."""
        meta = self._meta
        if meta is not None and meta.grad_meta is not None:
            return meta.grad_meta
        return self._data.shape, self._data.dtype

    def _alias_with_grad_fn(self, node, data: np.ndarray) -> Tensor:
        """A saved output (its values ``data``, as saved) unpacked for a differentiable
        backward: this tensor's version counter, history ``node``."""
        out = Tensor._wrap(data)
        out._version_counter = self._version_counter
        out._grad_fn = node
        out._output_nr = self._output_nr
        return out

    # ------------------------------------------------------------------ leaving the tensor world
    def _escaped(self, how: str) -> None:
        if _events.active and self.requires_grad:
            _events.emit("value_escaped", tensor=self, how=how)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a numpy array sharing memory (refused while the tensor requires grad)."""
        if self.requires_grad and _grad_mode._state.enabled and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        arr = self._data.view()
        if _events.active:
            self._escaped("numpy")
            _events.emit("aliased", tensor=self, source=self, kind="numpy", op="numpy", array=arr)
        return arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        self._escaped("item")
        return self._data.reshape(()).item()

    def tolist(self):
        self._escaped("tolist")
        return self._data.tolist()

    def __float__(self) -> float:
        if _grad_mode._state.enabled and self.requires_grad:
            warn_once(
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                "Consider using tensor.detach() first."
            )
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        self._escaped("float")
        return float(self._data.reshape(()))

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        self._escaped("int")
        return int(self._data.reshape(()))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            many = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {many} is ambiguous")
        self._escaped("bool")
        return bool(self._data.reshape(()))

    def __array__(self, dtype=None):
        """``np.asarray(t)``: ``t.numpy()`` (refused while ``t`` requires grad in grad mode), cast to
        ``dtype``. PyTorch's signature has no ``copy``: numpy 2 then warns, and copies itself."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __array_wrap__(self, array):
        """A numpy ufunc's result over this tensor, as a tensor over it (PyTorch's: bools become
        uint8). Numpy also computes ``t + array``, which the tensor's operator refuses.

        Its signature is PyTorch's, which numpy 2 calls with a DeprecationWarning.

        >>> import numpy as np, gradlens_core as torch, warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     torch.tensor([1, 2]) + np.array([0.5, 1.0])
        tensor([1.5000, 3.0000], dtype=torch.float64)
        """
        from ._factories import from_numpy

        if array.dtype == bool:
            array = array.astype("uint8")
        return from_numpy(array)

    def __len__(self) -> int:
        if not self._data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if not self._data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._str import tensor_repr

        node = self.grad_fn
        return tensor_repr(
            self._data,
            self.dtype.name,
            grad_fn_name=None if node is None else type(node).__name__,
            requires_grad=self._requires_grad,
            default_dtype=_dtype.default_float.name,  # (set_default_dtype's: its name is not printed)
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its item (``f"{t}"`` is ``2.5``), others as ``object`` does:
        ``str(t)`` for an empty spec, a TypeError for any other."""
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data.copy(), self._requires_grad))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment."
            )
        out = type(self)._wrap(self._data.copy(), self._requires_grad)
        if self._meta is not None and self._meta.grad is not None:
            out.grad = Tensor._wrap(self._meta.grad._data.copy())
        memo[id(self)] = out
        return out


def _rebuild(data, requires_grad):
    return Tensor._wrap(data, requires_grad)


def _root_array(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``a`` views (through as_strided's holder objects too)."""
    while True:
        base = a.base
        if base is None:
            return a
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # np.lib.stride_tricks.as_strided keeps a holder
            if not isinstance(base, np.ndarray):
                return a
        a = base


# ----------------------------------------------------------------------------- recording


_state = _grad_mode._state  # thread-local grad mode, read by every op
_NO_META = (None, None)
_NO_EDGE = (None, 0)


def record(out, node_cls, inputs, saved=(), ctx=None, save_output=False, op=None, grad_edges_only=False):
    """Attach history to the fresh result ``out`` of an op over ``inputs``; returns ``out``.

    ``saved`` lists what the formula needs: tensors (saved with their version) or Python
    scalars. Nothing is recorded when grad mode is off or no input requires grad.
    ``grad_edges_only``: the node has edges only to the inputs that require grad (PyTorch's
    NotImplemented node).
    """
    if _state.enabled:
        for t in inputs:
            if isinstance(t, Tensor) and (
                t._requires_grad or t._grad_fn is not None or (t._meta is not None and t.requires_grad)
            ):
                edges = tuple(x for x in inputs if _requires_grad(x)) if grad_edges_only else inputs
                node = _make_node(node_cls, edges, saved, ctx)
                if out._data.dtype.kind not in "fc":
                    check_differentiable(out)
                out._grad_fn = node
                if save_output:
                    _save_output(node, out)
                break
    if _events.active:
        _events.emit("created", tensor=out, grad_fn=out._grad_fn, inputs=tuple(inputs), op=op or node_cls.__name__)
    return out


def check_differentiable(out) -> None:
    """PyTorch's set_history: an op that records history (its kernel has run) refuses an
    output whose dtype autograd does not support (only floating and complex ones)."""
    if out._data.dtype.kind not in "fc":
        raise RuntimeError(f"Autograd not support dtype: {out.dtype._legacy}")


def _make_node(node_cls, inputs, saved, ctx):
    # tuples, built without lists for the common one or two inputs (fewer objects for the collector)
    if len(inputs) == 1:
        edges, meta = _edge_and_meta(inputs[0])
        edges, meta = (edges,), (meta,)
    elif len(inputs) == 2:
        e0, m0 = _edge_and_meta(inputs[0])
        e1, m1 = _edge_and_meta(inputs[1])
        edges, meta = (e0, e1), (m0, m1)
    else:
        pairs = [_edge_and_meta(t) for t in inputs]
        edges = tuple([p[0] for p in pairs])
        meta = tuple([p[1] for p in pairs])
    saved_list = ()
    if saved:  # a loop, not a comprehension: cheaper for the one or two values ops save
        saved_list = []
        for s in saved:
            if s is None:
                saved_list.append(NOT_SAVED)
            elif isinstance(s, Tensor):
                saved_list.append(SavedTensor(s))
            else:
                saved_list.append(SavedTensor(None, s))
    node = node_cls(edges, saved_list, ctx, meta)
    if _events.active:
        for s in saved_list:
            if s.tensor is not None:
                _events.emit("saved", node=node, tensor=s.tensor, version=s.version, is_output=False, saved=s)
    return node


def _edge_and_meta(t):
    """(the edge to ``t``'s history, the (shape, dtype) its grad must have) of one op input."""
    if isinstance(t, Tensor):
        node = t._grad_fn
        if node is not None and t._meta is None:  # inline of t._edge(): no view bookkeeping
            d = t._data
            return (node, t._output_nr), (d.shape, d.dtype)
        return t._edge(), t._grad_meta()
    return _NO_EDGE, _NO_META


def _save_output(node, out) -> None:
    s = SavedTensor(out, is_output=True)
    node._held = [*node._held, s]
    if _events.active and not s.hooked:  # (packed by hooks: nothing backward checks)
        _events.emit("saved", node=node, tensor=out, version=s.version, is_output=True, saved=s)


def needs_grad(*inputs) -> bool:
    """Whether an op over ``inputs`` records history right now."""
    if not _state.enabled:
        return False
    for t in inputs:
        if isinstance(t, Tensor) and (
            t._requires_grad or t._grad_fn is not None or (t._meta is not None and t.requires_grad)
        ):
            return True
    return False


# ----------------------------------------------------------------------------- in-place edits


def check_inplace(
    self: Tensor, op: str = "in-place op", others=(), overlap: str = "error", tracked: bool = True
) -> None:
    """Refuse in-place edits PyTorch refuses (VariableTypeUtils.h check_inplace).

    While grad mode is on and ``self`` or one of ``others`` (the op's other inputs) requires
    grad: edits of views made under no_grad or by multi-output ops, of leaves that require
    grad and of their views. Always: writing through a tensor whose elements overlap in
    memory (``expand``), unless ``overlap`` is "ok" (fill_, zero_) or "warn"
    (masked_fill_, index_put_: a deprecation warning). An edit that is not ``tracked``
    (copy_ into a non-differentiable dtype) gets only the overlap check.
    """
    if tracked and _grad_mode._state.enabled and (self.requires_grad or any(_requires_grad(o) for o in others)):
        meta = self._meta
        if meta is not None and meta.base is not None:
            check_view_edit(self, op=op)
            if self.requires_grad and meta.base.is_leaf:
                _refuse(
                    self, op, "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
        if self.requires_grad and self.is_leaf:
            _refuse(self, op, "a leaf Variable that requires grad is being used in an in-place operation.")
    check_internal_overlap(self, op, overlap, stacklevel=5)


ERR_INTERNAL_OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)


def check_internal_overlap(self: Tensor, op: str, overlap: str = "error", stacklevel: int = 4) -> None:
    """TensorIterator's refusal to write through a tensor whose elements overlap in memory
    (see ``check_inplace``; an op whose kernel checks its operands first calls it after them)."""
    if overlap != "ok" and _overlaps_itself(self._data):
        if overlap == "warn":
            warnings.warn(
                f"Use of {op} on expanded tensors is deprecated. Please clone() the tensor before performing this "
                f"operation. This also applies to advanced indexing e.g. {_EXPANDED_HINT.get(op, '')}",
                UserWarning,
                stacklevel=stacklevel,
            )
            return
        _refuse(
            self,
            op,
            ERR_INTERNAL_OVERLAP,
        )


_EXPANDED_HINT = {"index_put_": "tensor[indices] = tensor", "masked_fill_": "tensor[mask] = scalar"}


def _requires_grad(x) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


def _overlaps_itself(a: np.ndarray) -> bool:
    """Whether two elements of ``a`` share one memory location (a stride 0 over a dim of size > 1).
    An empty array has no elements to overlap (numpy may give it zero strides)."""
    strides = a.strides
    return 0 in strides and a.size > 0 and any(st == 0 and n > 1 for st, n in zip(strides, a.shape))


def refuse_stale_view(t) -> None:
    """PyTorch's autograd layer collects a differentiable op's input edges before its kernel
    checks the arguments: a view made under no_grad whose base changed refuses there first.
    Called where such an op is about to refuse its arguments (no cost otherwise)."""
    if isinstance(t, Tensor) and t._meta is not None and t._meta.base is not None and _state.enabled:
        if t.requires_grad:
            t._edge()


def refuse_stale_views(args) -> None:
    """``refuse_stale_view`` for each of a differentiable op's arguments (the tensors of a list
    argument, as cat's and stack's, included)."""
    for x in args:
        if isinstance(x, (list, tuple)):
            for y in x:
                refuse_stale_view(y)
        else:
            refuse_stale_view(x)


def stale_views_first(fn, args=(), kwargs=None, inputs=None, call=None):
    """``fn(*args, **kwargs)``: a differentiable op, or its kernel's argument check. Should it
    refuse its arguments (an IndexError or RuntimeError), a stale no_grad view among
    ``inputs`` (default: the arguments) refuses first, as PyTorch's autograd layer collects
    the input edges before the kernel runs. Neither an error torch raises before autograd (a
    TypeError of its argument parser) nor a NotImplementedError of an unsupported case is
    preceded. With ``call`` (torch's name, whether a Tensor method), a failed call is first
    replayed through PyTorch's argument parser (``_argparse``), whose TypeError comes before
    anything else. Nothing is checked unless ``fn`` refuses."""
    kwargs = kwargs or {}
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised below unless the parser refuses first
        failure = exc
    # outside the ``except``: the traceback shows only the error raised
    try:
        if call is not None:
            from ._argparse import parser_error

            name, method = call
            given = {k: v for k, v in kwargs.items() if not k.startswith("_")}  # not the ops' hidden ones
            refused = parser_error(name, args[1:] if method else args, given, method)
            if refused is not None:
                raise refused from None
        # (a NotImplementedError is gradlens_core's unsupported case, unless a kernel of PyTorch's
        # raises it after autograd: ``kernel_not_implemented``)
        unsupported = isinstance(failure, NotImplementedError) and not getattr(failure, "from_kernel", False)
        if isinstance(failure, (IndexError, RuntimeError)) and not unsupported:
            if inputs is None:
                refuse_stale_views(args)
                refuse_stale_views(kwargs.values())
            else:
                refuse_stale_views(inputs)
        raise failure
    finally:
        del failure  # no error -> traceback -> frame -> error cycle keeping the inputs alive


def kernel_not_implemented(kernel: str, dtype) -> NotImplementedError:
    """PyTorch's error for a kernel without a ``dtype`` version (``"bitwise_and_cpu" not
    implemented for 'Float'``): raised after autograd, so a stale view refuses first."""
    error = NotImplementedError(f"\"{kernel}\" not implemented for '{dtype._legacy}'")
    error.from_kernel = True
    return error


def autograd_first(op=None, *, call=None):
    """Decorate a differentiable op whose kernel checks its own arguments (``stale_views_first``).
    A composite op (narrow, unflatten, matmul, ...) checks its own arguments before the ops it
    calls enter autograd, so it is not decorated. The untraced hot path pays only the call.
    ``call``: (torch's name, whether a Tensor method), to replay PyTorch's argument parser over
    a failed call (``_argparse.entry`` makes the method's twin)."""
    if op is None:
        return lambda op: autograd_first(op, call=call)

    def entering_autograd(*args, **kwargs):
        return stale_views_first(op, args, kwargs, call=call)

    entering_autograd.__name__ = op.__name__
    entering_autograd.__qualname__ = op.__qualname__
    entering_autograd.__doc__ = op.__doc__
    entering_autograd.__module__ = op.__module__
    entering_autograd.__wrapped__ = op
    entering_autograd._call = call  # (``_out`` makes the namespace's wrapper of ``op``, with out=)
    return entering_autograd


def check_view_edit(self: Tensor, indirect: bool = False, op: str = "in-place op") -> None:
    """Refuse the edit of a view made under no_grad or by a multi-output op (PyTorch's
    handle_view_on_rebase). ``indirect``: its base or another view was edited, and its
    history is being regenerated."""
    meta = self._meta
    creation = meta.creation
    if creation == DEFAULT:
        return
    from ._autograd import short_name

    node = self._grad_fn
    modified = "its base or another view of its base has been" if indirect else "is being"
    if creation == NO_GRAD_MODE or node is None:
        if node is not None:
            prefix = f"Output {self._output_nr} of {short_name(node)} is a view of a view which was created in"
        else:
            prefix = "A view was created in"
        msg = f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        msg = f"Output {self._output_nr} of {short_name(node)} is a view and {modified} modified inplace."
    if creation == IN_CUSTOM_FUNCTION:
        msg += (
            " This view was created inside a custom Function (or because an input was returned as-is) and the "
            "autograd logic to handle view+inplace would override the custom backward associated with the custom "
            "Function, leading to incorrect gradients. This behavior is forbidden. You can fix this by cloning the "
            "output of the custom Function."
        )
    elif creation == MULTI_OUTPUT_NODE:
        msg += (
            " This view is the output of a function that returns multiple views. Such functions do not allow the "
            "output views to be modified inplace. You should replace the inplace operation by an out-of-place one."
        )
    else:
        msg += (
            " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by "
            "moving both the view and the inplace either both inside the no_grad block (if you don't want the "
            "inplace to be tracked) or both outside (if you want the inplace to be tracked)."
        )
    if indirect:
        raise RuntimeError(msg)
    _refuse(self, op, msg)


def _refuse(self: Tensor, op: str, message: str):
    error = RuntimeError(message)
    if _events.active:
        _events.emit("inplace_refused", tensor=self, op=op, error=error)
    try:
        raise error
    finally:
        # no error -> traceback -> this frame -> error cycle: the refused tensor (and any
        # grad accumulator its history holds) goes as soon as the error does, as in PyTorch
        del error


def finish_inplace(
    self: Tensor, op: str, node_cls, inputs, saved=(), ctx=None, save_output=False, node_inputs=None
) -> Tensor:
    """After the values of ``self`` were overwritten: bump the version and rebase the history.

    ``inputs[0]`` is ``self``. As in PyTorch, the node (its edges and saved inputs) is made
    before the version moves: the edges read the histories the inputs had, and a saved input
    that shares ``self``'s version counter is stale from the start (backward refuses it).
    ``node_cls`` None records no history. As PyTorch's generated in-place kernels, an integer
    ``self`` gets history too when another input requires grad (``fill_`` with such a value).
    ``node_inputs``: the node's edges, when they are not ``inputs``'.
    """
    counter = self._version_counter
    old_version = counter[0]
    # the node saves its inputs before the version moves, as PyTorch's autograd kernel does: an
    # input that is ``self`` (or a view of it) is then stale for backward
    if node_cls is None or not needs_grad(*inputs):
        node = None
    else:
        node = _make_node(node_cls, inputs if node_inputs is None else node_inputs, saved, ctx)
    if node is not None and saved and _ORIGINAL_SELF_CLONES:
        _sequence_original_self(saved)
    if counter.__class__ is list or _inference_edit(counter):
        counter[0] = old_version + 1
    if node is not None:
        _set_history(self, node)
        if save_output:
            _save_output(node, self)
    if _events.active:
        _events.emit(
            "mutated", tensor=self, op=op, old_version=old_version, new_version=counter[0], inputs=tuple(inputs[1:])
        )
    return self


def _inference_edit(counter) -> bool:
    """Whether an in-place edit of an inference tensor counts (or raises PyTorch's error)."""
    if counter.__class__ is InferenceCounter and not _state.inference:
        # PyTorch refuses when it bumps the version, after the kernel wrote the values
        raise RuntimeError(
            "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a "
            "normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details."
        )
    # inside the mode an inference tensor's alias with a counter does not count the edit
    return counter.__class__ is not InferenceAliasCounter or not _state.inference


# the CloneBackward0 nodes of ``self.clone()``, which an in-place op saves for its formula
# (``_ops._snapshot``): they must come after the op's node in the engine's order
_ORIGINAL_SELF_CLONES: weakref.WeakSet = weakref.WeakSet()


def mark_original_self(t: Tensor) -> None:
    """``t`` is the clone of ``self`` an in-place op is about to save."""
    _ORIGINAL_SELF_CLONES.add(t._grad_fn)


def _sequence_original_self(saved) -> None:
    """PyTorch's in-place kernel makes its grad_fn, then clones the original self: that
    CloneBackward0 has the later sequence number, so the engine runs it first."""
    from ._autograd import _seq

    for t in saved:
        node = t._grad_fn if isinstance(t, Tensor) else None
        if node is not None and node in _ORIGINAL_SELF_CLONES:
            _ORIGINAL_SELF_CLONES.discard(node)
            node._seq = next(_seq)


def _set_history(self: Tensor, node) -> None:
    meta = self._meta
    if meta is None or meta.base is None:
        old, old_nr = self._grad_fn, self._output_nr
        self._grad_fn = node
        self._output_nr = 0
        _move_retain_grad(self, old, old_nr)
        return
    # In-place on a view: the base's history becomes CopySlices(base history, op), and the
    # view's history is regenerated from the base (PyTorch's rebase_history).
    base = meta.base
    copy_slices = _copy_slices_node(base, meta.view_steps, node)
    old, old_nr = base._grad_fn, base._output_nr
    base._grad_fn = copy_slices
    base._output_nr = 0
    _move_retain_grad(base, old, old_nr)
    old, old_nr = self._grad_fn, self._output_nr
    self._grad_fn = _as_strided_node(base, meta.view_steps, self)
    self._output_nr = 0
    meta.view_version = self._version_counter[0]
    _move_retain_grad(self, old, old_nr)


def _move_retain_grad(self: Tensor, old, old_nr: int) -> None:
    """A tensor that retains grad keeps doing so through its new grad_fn (PyTorch's
    update_tensor_hooks_on_new_gradfn); hooks registered earlier stay with the old node."""
    meta = self._meta
    if meta is None or not meta.retains_grad or old is None or not old._retain:
        return
    ref = old._retain.pop(old_nr, None)
    if ref is None:
        return
    new = self._grad_fn
    if new._retain is None:
        new._retain = {}
    new._retain[self._output_nr] = ref


def _copy_slices_node(base, steps, fn):
    from ._views import CopySlices

    edges = (base._edge(),) + fn.next_functions[1:]
    meta = [(base._data.shape, base._data.dtype), *fn._input_meta[1:]]
    node = CopySlices(edges, (), (steps, base._data.shape, base._data.dtype, base._data.strides), meta)
    node.fn = fn
    return node


def _as_strided_node(base, steps, view):
    from ._views import AsStridedBackward0

    d = base._data
    return AsStridedBackward0((base._edge(),), (), (steps, d.shape, d.dtype, d.strides), [(d.shape, d.dtype)])

"""Custom differentiable functions: ``class F(torch.autograd.Function)`` with ``forward``/``backward``.

>>> import gradlens_core as torch
>>> class Square(torch.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> y = Square.apply(torch.tensor([3.], requires_grad=True))
>>> type(y.grad_fn).__name__
'SquareBackward'
"""

from __future__ import annotations

import numpy as np

from .. import _events, _grad_mode
from .._autograd import ERR_BACKWARD_TWICE, Node, SavedTensor
from .._tensor import IN_CUSTOM_FUNCTION, Tensor, _set_history, needs_grad

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` can tell ``backward``: saved tensors, dirty and non-differentiable outputs."""

    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        pass

    def mark_dirty(self, *tensors) -> None:
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple:
        saved = getattr(self, "_packed", None)  # (not ``_saved_*``: PyTorch's nodes name their values so)
        if saved is None:
            return tuple(getattr(self, "to_save", ()))
        return tuple(None if s is None else s.unpack(self, _grad_mode_ns()) for s in saved)

    @property
    def _raw_saved_tensors(self) -> tuple:
        """The SavedTensor of each tensor ``save_for_backward`` saved (PyTorch's; freed by backward)."""
        saved = getattr(self, "_packed", None) or ()
        if any(s is not None and s.released for s in saved):
            raise RuntimeError(ERR_BACKWARD_TWICE)
        return tuple(SavedTensor() if s is None else s for s in saved)


def _grad_mode_ns():
    from .. import _ns

    return _ns.TENSOR


class BackwardCFunction(FunctionCtx, Node):
    """The node of a custom Function; it is also the ``ctx`` that forward and backward receive."""

    _function = None
    builtin_formula = False  # its backward is Python code: ``2 * g`` records MulBackward0

    def __init__(self) -> None:
        Node.__init__(self)

    def __repr__(self) -> str:
        # PyTorch makes these classes in torch/autograd/function.py, which names their module
        return f"<torch.autograd.function.{type(self).__name__} object at {id(self):#x}>"

    @staticmethod
    def _formula(node, grads, ns):
        fn = node._function
        outs = grads if isinstance(grads, list) else [grads]
        wrapped = []
        for i, g in enumerate(outs):
            if g is None and getattr(node, "materialize_grads", True):
                shape, dt = node._output_meta[i]
                g = np.zeros(shape, dtype=dt)
            wrapped.append(None if g is None else (g if isinstance(g, Tensor) else Tensor._wrap(g)))
        result = fn.backward(node, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(node.next_functions)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(
                    f"function {node.name()} returned an incorrect number of gradients (expected {n}, got {len(result)})"
                )
        if ns.records_graph:
            return result
        return tuple(None if r is None else (r._data if isinstance(r, Tensor) else np.asarray(r)) for r in result)

    def apply_formula(self, grads, ns):
        return self._formula(self, grads, ns)

    def release(self) -> None:
        for s in getattr(self, "_packed", None) or ():
            if s is not None:
                s.release()

    def _all_saved(self) -> tuple:
        return tuple(s for s in getattr(self, "_packed", None) or () if s is not None)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs) -> None:
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_function": cls})


class Function(metaclass=_FunctionMeta):
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        node = cls._backward_cls()
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = needs_grad(*args)
        edges = tuple(a._edge() if isinstance(a, Tensor) else (None, 0) for a in args) if record else ()
        with _grad_mode.no_grad():
            outputs = cls.forward(node, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        aliases = ()
        if record:
            outs, aliases = _inputs_as_views(node, args, outs)
            outputs = outs[0] if single else outs
        tensor_outs = [o for o in outs if isinstance(o, Tensor)]
        if record:
            node.next_functions = edges
            node._input_meta = tuple(
                (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else (None, None) for a in args
            )
            node._n_outputs = len(tensor_outs)
            node._output_meta = [(o._data.shape, o._data.dtype) for o in tensor_outs]
            dirty = {id(t) for t in getattr(node, "dirty_tensors", ())}
            non_diff = {id(t) for t in getattr(node, "non_differentiable", ())}
            for i, o in enumerate(tensor_outs):
                if id(o) in non_diff:
                    continue
                if id(o) in dirty:
                    o._version_counter[0] += 1
                    _set_history(o, node)
                    o._output_nr = i
                else:  # a new output, or an input returned as is: it now comes from this node
                    o._grad_fn, o._output_nr = node, i
                    if o._meta is not None and o._meta.base is not None:
                        # PyTorch refuses in-place edits of a view made in forward (CreationMeta)
                        o._meta.creation = IN_CUSTOM_FUNCTION
            node._packed = tuple(_save(node, t, tensor_outs) for t in getattr(node, "to_save", ()))
            if single:
                outputs = tensor_outs[0] if tensor_outs else outputs
        elif getattr(node, "dirty_tensors", ()):
            for t in node.dirty_tensors:
                t._version_counter[0] += 1
        if _events.active:
            for o in tensor_outs:
                _events.emit(
                    "created",
                    tensor=o,
                    grad_fn=o._grad_fn,
                    inputs=tuple(a for a in args if isinstance(a, Tensor)),
                    op=cls.__name__,
                )
            for view, source, kind in aliases:  # reported once the view has its history
                _events.emit("aliased", tensor=view, source=source, kind=kind, op=cls.__name__)
        return outputs


def _inputs_as_views(node, args, outs) -> tuple:
    """PyTorch's _wrap_outputs: an input that forward returned as is (and did not mark dirty)
    comes out as a new view of it, so that the caller's tensor keeps its own history (one
    marked non-differentiable that requires grad: as a detached alias). Returns the outputs
    and the (view, input, kind) aliases to report."""
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    dirty = {id(t) for t in getattr(node, "dirty_tensors", ())}
    if not any(isinstance(o, Tensor) and id(o) in inputs and id(o) not in dirty for o in outs):
        return outs, ()
    non_diff = list(getattr(node, "non_differentiable", ()))
    new, aliases = [], []
    for o in outs:
        if isinstance(o, Tensor) and id(o) in inputs and id(o) not in dirty:
            marked = any(t is o for t in non_diff)
            # made without events: a view made under no_grad would read as a cut to listeners
            with _events.muted(), _grad_mode.no_grad():
                if marked and o.requires_grad:  # a detached alias, rather than a change of its flag
                    view, kind = o.detach(), "detach"
                else:
                    view, kind = o.view_as(o), "view"
            if marked:
                non_diff.append(view)
            aliases.append((view, o, kind))
            o = view
        new.append(o)
    node.non_differentiable = tuple(non_diff)
    return tuple(new), aliases


def _save(node, t, outputs):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"save_for_backward can only save variables, but argument 0 is of type {type(t).__name__}")
    is_output = any(t is o for o in outputs)
    if is_output:
        s = SavedTensor(t, is_output=True)
    else:
        s = SavedTensor(t)
    if _events.active and not s.hooked:  # (packed by hooks: nothing backward checks)
        _events.emit("saved", node=node, tensor=t, version=s.version, is_output=is_output, saved=s)
    return s


def once_differentiable(fn):
    return fn

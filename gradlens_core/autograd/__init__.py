"""``torch.autograd``: backward, grad, custom Functions and anomaly detection.

>>> import gradlens_core as torch
>>> x = torch.tensor([1., 2.], requires_grad=True)
>>> torch.autograd.grad((x * x).sum(), x)
(tensor([2., 4.]),)
"""

from __future__ import annotations

import warnings

from .._autograd import BackwardEvents, Node, run_backward
from .._grad_mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .._tensor import Tensor
from . import functional, graph  # noqa: F401  (submodules, as torch.autograd.functional and .graph)
from .function import Function, FunctionCtx

__all__ = [
    "backward",
    "grad",
    "Function",
    "FunctionCtx",
    "Node",
    "set_detect_anomaly",
    "detect_anomaly",
    "is_anomaly_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "Variable",
    "graph",
]

Variable = Tensor


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grads, create_graph):
    import numpy as np

    result = []
    for i, out in enumerate(outputs):
        g = grads[i] if grads is not None and i < len(grads) else None
        if g is None:
            if not out.requires_grad:
                result.append(None)
                continue
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind != "f":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {out.dtype}")
            g_arr = np.ones_like(out._data)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape of "
                    f"{out.shape}."
                )
            g_arr = g._data
        result.append(
            Tensor._wrap(g_arr) if create_graph and not isinstance(g, Tensor) else (g if create_graph else g_arr)
        )
    return result


def _check_types(outputs) -> None:
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"tensors must be Tensors, got {type(out).__name__}")


def _check_roots(outputs) -> None:
    """The engine's check, after the seeds were made (so a non-scalar root that requires grad
    through its base, as a view made under no_grad, first fails on its implicit seed)."""
    for i, out in enumerate(outputs):
        if not out.requires_grad or out._edge()[0] is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    __tracebackhide__ = True
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph and inputs is None:
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the parameter and its "
            "gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to "
            "avoid this. If you have to use this function, make sure to reset the .grad fields of your parameters "
            "to None after use to break the cycle and avoid the leak.",
            UserWarning,
            stacklevel=3,
        )
    with BackwardEvents(tensors, inputs, retain_graph, create_graph) as current:
        _check_types(tensors)
        seeds = _make_grads(tensors, grads, create_graph)
        _check_roots(tensors)
        for t in inputs or ():
            t.retain_grad()  # as PyTorch: a non-leaf input gets its .grad through retain_grad
        run_backward(
            tensors,
            seeds,
            retain_graph,
            create_graph,
            inputs=inputs,
            accumulate=True,
            current=current,
            seed_tensors=grads or (),
        )


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned as a tuple (``.grad`` is not touched)."""
    __tracebackhide__ = True
    outputs = _as_tuple(outputs)
    inputs_t = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    with BackwardEvents(outputs, inputs_t, retain_graph, create_graph) as current:
        _check_types(outputs)
        seeds = _make_grads(outputs, _as_tuple(grad_outputs), create_graph)
        _check_roots(outputs)
        for t in inputs_t:
            if not isinstance(t, Tensor):
                raise TypeError(f"grad requires Tensor inputs, got {type(t).__name__}")
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
        result = run_backward(
            outputs,
            seeds,
            retain_graph,
            create_graph,
            inputs=inputs_t,
            allow_unused=allow_unused,
            accumulate=False,
            current=current,
            seed_tensors=_as_tuple(grad_outputs) or (),
        )
    if materialize_grads:
        from .._factories import zeros_like

        result = tuple(zeros_like(t) if g is None else g for t, g in zip(inputs_t, result))
    return result

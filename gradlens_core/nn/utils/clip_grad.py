"""``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm`` and ``clip_grads_with_norm_``.

Ported from ``torch/nn/utils/clip_grad.py`` (2.13). On the CPU PyTorch's foreach kernels fall
back to one op per tensor, which is what runs here, so ``foreach`` changes nothing (as there).

>>> import gradlens_core as torch
>>> w = torch.nn.Parameter(torch.tensor([3., -4.]))
>>> w.grad = torch.tensor([3., -4.])
>>> torch.nn.utils.clip_grad_value_([w], 2.0)
>>> w.grad
tensor([ 2., -2.])
"""

from __future__ import annotations

import functools
import types
import warnings

from ... import _factories, _grad_mode, _ops
from ..._tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _no_grad(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _grad_mode.no_grad():
            return func(*args, **kwargs)

    return wrapper


@_no_grad
def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if they were one vector.

    >>> import gradlens_core as torch
    >>> torch.nn.utils.get_total_norm([torch.tensor([3.]), torch.tensor([4.])])
    tensor(5.)
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return _factories.tensor(0.0)
    if foreach is not False and norm_type == float("inf") and any(t.numel() == 0 for t in tensors):
        # the foreach path (the default) refuses in _foreach_norm's words, linalg.vector_norm in its own
        raise RuntimeError(
            "_foreach_norm cannot compute the infinity norm on an empty tensor because the operation "
            "does not have an identity"
        )
    norms = [_ops.norm(t, norm_type) for t in tensors]
    total_norm = _ops.norm(_ops.stack(norms), norm_type)
    if error_if_nonfinite and (total_norm.isnan() | total_norm.isinf()).item():
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable "
            "this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`"
        )
    return total_norm


@_no_grad
def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale every grad by ``min(max_norm / (total_norm + 1e-6), 1)``, in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if len(grads) == 0:
        return
    # PyTorch multiplies even by a coefficient clamped to 1 (no branch on the value): the
    # grads' versions move either way
    clip_coef_clamped = _ops.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(clip_coef_clamped)


@_no_grad
def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale the grads of ``parameters`` in place so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor).

    >>> import gradlens_core as torch
    >>> w = torch.nn.Parameter(torch.ones(4))
    >>> w.grad = torch.ones(4)
    >>> torch.nn.utils.clip_grad_norm_(w, 1.0, norm_type=float("inf"))
    tensor(1.)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)  # a generator is read once
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_` (warns as PyTorch does)."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@_no_grad
def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every grad of ``parameters`` into ``[-clip_value, clip_value]``, in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    # PyTorch's foreach path on the CPU: clamp_min_ then clamp_max_ (two version bumps per grad)
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_min_(-clip_value)
            p.grad.clamp_max_(clip_value)

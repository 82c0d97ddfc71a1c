"""``parameters_to_vector`` and ``vector_to_parameters``.

>>> import gradlens_core as torch
>>> torch.nn.utils.parameters_to_vector([torch.ones(2, 2), torch.zeros(1)])
tensor([1., 1., 1., 1., 0.])
"""

from __future__ import annotations

from ... import _ops
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All ``parameters`` flattened and concatenated into one vector (recorded, as in PyTorch)."""
    return _ops.cat([param.view(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Make each parameter's ``.data`` the next slice of ``vec`` (viewed to its shape)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer : pointer + num_param].view_as(param).data
        pointer += num_param

"""``nn.Dropout`` and ``nn.LayerNorm``.

>>> import gradlens_core as torch
>>> torch.nn.Dropout(0.2), torch.nn.LayerNorm(3)
(Dropout(p=0.2, inplace=False), LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True))
"""

from __future__ import annotations

import numbers

from .. import _factories
from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = ["Dropout", "LayerNorm"]


class Dropout(Module):
    """``F.dropout`` in training mode; the identity (the input itself) in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims; weight starts at ones
    and bias at zeros when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:  # fmt: skip
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_factories.ones(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(_factories.zeros(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )

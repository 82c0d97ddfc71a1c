"""``nn.Conv1d`` and ``nn.Conv2d``.

Initialised as PyTorch's (kaiming-uniform with ``a=sqrt(5)``, then the bias uniform in
``±1/sqrt(fan_in)``), drawn from the default generator: after the same ``manual_seed`` the
weights are PyTorch's.

>>> import gradlens_core as torch
>>> torch.nn.Conv2d(1, 8, 3)
Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))
"""

from __future__ import annotations

import math

from .. import _factories
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d"]


def _ntuple(v, n: int) -> tuple:
    """torch.nn.modules.utils._single / _pair: an iterable as a tuple, else ``v`` repeated."""
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) * n


class _ConvNd(Module):
    _dims = 0
    _functional = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None) -> None:  # fmt: skip
        super().__init__()
        n = self._dims
        kernel_size, stride, dilation = _ntuple(kernel_size, n), _ntuple(stride, n), _ntuple(dilation, n)
        padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            valid = {"same", "valid"}
            if padding not in valid:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {valid}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in modes:
            raise ValueError(f"padding_mode must be one of {modes}, but got padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = False
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(
            _factories.empty(out_channels, in_channels // groups, *kernel_size, dtype=dtype, device=device)
        )
        if bias:
            self.bias = Parameter(_factories.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _reversed_padding_repeated_twice(self) -> tuple:
        """F.pad's pads for ``padding`` (last dim first, each side), as PyTorch's _ConvNd keeps
        them: 'same' puts the odd one of an even kernel's padding on the right."""
        if self.padding == "valid":
            return (0, 0) * len(self.kernel_size)
        if self.padding == "same":
            pads = []
            for d, k in zip(reversed(self.dilation), reversed(self.kernel_size)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def forward(self, input):
        if self.padding_mode != "zeros":  # padded by F.pad first, then convolved unpadded
            padded = F.pad(input, self._reversed_padding_repeated_twice(), mode=self.padding_mode)
            return type(self)._functional(
                padded, self.weight, self.bias, self.stride, (0,) * self._dims, self.dilation, self.groups
            )
        return type(self)._functional(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution over (N, C, L) inputs (``F.conv1d``)."""

    _dims = 1
    _functional = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) inputs (``F.conv2d``)."""

    _dims = 2
    _functional = staticmethod(F.conv2d)

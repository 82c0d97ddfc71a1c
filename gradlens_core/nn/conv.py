"""``nn.Conv1d`` and ``nn.Conv2d``.

Initialised as PyTorch's (kaiming-uniform with ``a=sqrt(5)``, then the bias uniform in
``±1/sqrt(fan_in)``), drawn from the default generator: after the same ``manual_seed`` the
weights are PyTorch's.

>>> import gradlens_core as torch
>>> torch.nn.Conv2d(1, 8, 3)
Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))
"""

from __future__ import annotations

from .. import _factories
from . import functional as F
from . import init
from ._conv_ops import int_tuple
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    _dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None) -> None:  # fmt: skip
        super().__init__()
        n = self._dims
        # torch.nn.modules.utils._pair: no type checks here, the op's parser makes them
        kernel_size, stride, dilation = int_tuple(kernel_size, n), int_tuple(stride, n), int_tuple(dilation, n)
        padding = padding if isinstance(padding, str) else int_tuple(padding, n)
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
        init._reset_weight_and_bias(self.weight, self.bias)

    def _reversed_padding_repeated_twice(self) -> tuple:
        """F.pad's pads for ``padding`` (last dim first, each side), as PyTorch's _ConvNd keeps
        them: 'same' puts the odd one of an even kernel's padding on the right."""
        if self.padding == "valid":
            return (0, 0) * len(self.kernel_size)
        if self.padding == "same":
            return tuple(v for pair in reversed(F.same_padding(self.kernel_size, self.dilation)) for v in pair)
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def forward(self, input):
        if self.padding_mode != "zeros":  # padded by F.pad first, then convolved unpadded
            padded = F.pad(input, self._reversed_padding_repeated_twice(), mode=self.padding_mode)
            return self._conv(padded, (0,) * self._dims)
        return self._conv(input, self.padding)

    def _conv(self, input, padding):
        # every argument by position, as PyTorch's module passes them (its parser errors list them so)
        n = self._dims
        return F._conv(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups, n,
                       f"conv{n}d", positional=True)  # fmt: skip

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


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) inputs (``F.conv2d``)."""

    _dims = 2

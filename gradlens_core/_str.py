"""The printed form of tensors, matching ``repr(torch.Tensor)`` exactly.

This is a port of PyTorch's ``torch/_tensor_str.py`` (2.13), reduced to what
a numpy-backed, CPU-only, dense tensor needs: no complex, sparse, quantized,
nested, meta or device handling.  The structure (a ``_Formatter`` that scans
the values once to pick a common width, then a recursive walk that joins rows
with newlines) and its quirks are kept on purpose, because users compare the
output character for character with real PyTorch.

Public API:

* ``PRINT_OPTIONS`` -- the mutable options object (like ``torch``'s
  ``PRINT_OPTS``).
* ``set_printoptions`` / ``get_printoptions`` / ``printoptions`` -- the same
  behaviour as the ``torch`` functions of those names.
* ``tensor_repr`` -- the string ``repr(t)`` gives for a tensor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "PRINT_OPTIONS",
    "PrintOptions",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
    "tensor_repr",
]


@dataclasses.dataclass
class PrintOptions:
    """Options read by every call to :func:`tensor_repr`."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTIONS = PrintOptions()

# Values applied by ``set_printoptions(profile=...)``; sci_mode is not part of
# a profile, exactly as in torch.
_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set printing options, like ``torch.set_printoptions``.

    ``profile`` ("default", "short" or "full") is applied first and the other
    arguments override it.  Unknown profile names are ignored, as in torch.
    """
    if profile is not None:
        for name, value in _PROFILES.get(profile, {}).items():
            setattr(PRINT_OPTIONS, name, value)
    if precision is not None:
        PRINT_OPTIONS.precision = precision
    if threshold is not None:
        PRINT_OPTIONS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTIONS.linewidth = linewidth
    # torch always assigns sci_mode, so omitting it restores the automatic
    # choice; keep that surprising-but-real behaviour.
    PRINT_OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current options as keyword arguments for set_printoptions."""
    return dataclasses.asdict(PRINT_OPTIONS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options (same arguments as set_printoptions)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses one format (and one width) for every element of a tensor.

    ``values`` are the elements that will be printed (already summarised);
    only their multiset matters, not their shape or order.
    """

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not floating:
            # Integers and bools print as str(); only the width is needed.
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
            return
        # Zeros, nans and infs do not take part in choosing the mode or the
        # width (so e.g. ``nan`` may be wider than the others).
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        self.sci_mode = self._choose_sci_mode(finite)
        self.max_width = max(self.max_width, self._widest(finite.tolist()))

    @staticmethod
    def _choose_sci_mode(finite: np.ndarray) -> bool:
        """Scientific notation when magnitudes are too spread, big or small."""
        if PRINT_OPTIONS.sci_mode is not None:
            return PRINT_OPTIONS.sci_mode
        # torch does this in double precision (half would overflow at 1e8);
        # Python float division yields inf instead of raising or warning.
        magnitudes = np.abs(finite.astype(np.float64))
        vmax, vmin = float(magnitudes.max()), float(magnitudes.min())
        return vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4

    def _widest(self, values: list[float]) -> int:
        """Width of the widest nonzero finite value in the chosen mode."""
        precision = PRINT_OPTIONS.precision
        if self.sci_mode:
            spec, extra = f".{precision}e", 0
        elif self.int_mode:
            # Integer-valued floats get a trailing "." to show they are floats.
            spec, extra = ".0f", 1
        else:
            spec, extra = f".{precision}f", 0
        return max(len(format(value, spec)) for value in values) + extra

    def format(self, value: float) -> str:
        """Format one Python scalar (float, int or bool), right-aligned."""
        precision = PRINT_OPTIONS.precision
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = format(value, f"{self.max_width}.{precision}e")
        elif self.int_mode:
            text = format(value, ".0f")
            if math.isfinite(value):
                text += "."
        else:
            text = format(value, f".{precision}f")
        return text.rjust(self.max_width)


def _edge_indices(size: int) -> list[int] | slice:
    """Indices kept along one axis when summarising."""
    edge = PRINT_OPTIONS.edgeitems
    if size > 2 * edge:
        return list(range(edge)) + list(range(size - edge, size))
    return slice(None)


def _summarized_data(array: np.ndarray) -> np.ndarray:
    """The elements that a summarised print shows (what torch's
    ``get_summarized_data`` returns, up to order)."""
    if array.ndim == 0:
        return array
    if array.ndim == 1 and not PRINT_OPTIONS.edgeitems:
        # torch slices ``t[-0:]`` here, which is the whole vector.
        return array
    picks = [_edge_indices(size) for size in array.shape]
    for axis, pick in enumerate(picks):
        if isinstance(pick, list):
            array = np.take(array, pick, axis=axis)
    return array


def _vector_str(vector: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """Format a 1-d array, wrapping lines at ``linewidth``."""
    opts = PRINT_OPTIONS
    edge = opts.edgeitems
    # Each element costs its width plus ", ".
    element_length = formatter.max_width + 2
    per_line = max(1, math.floor((opts.linewidth - indent) / element_length))
    if summarize and not edge:
        data = ["..."]
    elif summarize and vector.shape[0] > 2 * edge:
        head = [formatter.format(v) for v in vector[:edge].tolist()]
        tail = [formatter.format(v) for v in vector[-edge:].tolist()]
        data = [*head, " ...", *tail]
    else:
        data = [formatter.format(v) for v in vector.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(array: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """Recursively format ``array``; ``indent`` is the column of its "["."""
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, formatter)
    size, edge = array.shape[0], PRINT_OPTIONS.edgeitems
    if summarize and size > 2 * edge:
        rows: list[int | None] = [*range(edge), None, *range(size - edge, size)]
    else:
        rows = list(range(size))
    slices = [
        "..." if row is None else _tensor_str_with_formatter(array[row], indent + 1, summarize, formatter)
        for row in rows
    ]
    # Higher dimensions are separated by more blank lines, as in numpy.
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(slices) + "]"


def _tensor_str(array: np.ndarray, indent: int, floating: bool) -> str:
    """Format the contents of a non-empty tensor (without prefix/suffixes)."""
    summarize = array.size > PRINT_OPTIONS.threshold
    shown = _summarized_data(array) if summarize else array
    formatter = _Formatter(shown, floating)
    return _tensor_str_with_formatter(array, indent, summarize, formatter)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` items, moving one to a new line if it would not fit."""
    parts = [tensor_str]
    # Ported as is: torch over-counts the last line by one or two characters.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _is_floating(array: np.ndarray, dtype_name: str) -> bool:
    """Whether elements print as floats (trusting the torch dtype name)."""
    return array.dtype.kind == "f" or "float" in dtype_name


def tensor_repr(
    array: np.ndarray,
    dtype_name: str,
    *,
    grad_fn_name: str | None = None,
    requires_grad: bool = False,
    prefix: str = "tensor(",
    default_dtype: str = "float32",
) -> str:
    """Return exactly what torch prints for ``repr(t)``.

    Args:
        array: the tensor's values, any shape (0-d and empty included).
        dtype_name: the torch dtype name without ``torch.``, e.g. "float64".
        grad_fn_name: e.g. "SigmoidBackward0" adds ``grad_fn=<SigmoidBackward0>``.
        requires_grad: adds ``requires_grad=True`` (only if grad_fn_name is None).
        prefix: the opening text; continuation lines are indented to its length.
        default_dtype: the current default float dtype (torch.get_default_dtype()),
            whose name is not printed.
    """
    array = np.asarray(array)
    dtype_name = dtype_name.removeprefix("torch.")
    floating = _is_floating(array, dtype_name)
    if floating and array.dtype.kind != "f":
        array = array.astype(np.float64)
    indent = len(prefix)
    suffixes = []
    default_complex = "complex128" if default_dtype == "float64" else "complex64"
    has_default_dtype = dtype_name in (default_dtype, default_complex, "int64", "bool")
    if array.size == 0:
        # Match numpy: the shape is shown unless it is (0,).  With no elements
        # the dtype cannot be guessed, so even int64/bool are named.
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype_name != default_dtype:
            suffixes.append(f"dtype=torch.{dtype_name}")
        tensor_str = "[]"
    else:
        if not PRINT_OPTIONS.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if not has_default_dtype:
            suffixes.append(f"dtype=torch.{dtype_name}")
        tensor_str = _tensor_str(array, indent, floating)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)

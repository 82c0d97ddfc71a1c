"""Loss reductions: names, their legacy ``size_average``/``reduce`` spelling (``torch.nn._reduction``).

>>> get_enum("sum")
2
"""

from __future__ import annotations

import warnings

__all__ = ["NONE", "MEAN", "SUM", "get_enum", "legacy_get_string"]

NONE, MEAN, SUM = 0, 1, 2
_ENUMS = {"none": NONE, "mean": MEAN, "sum": SUM}


def get_enum(reduction: str) -> int:
    """The integer code of ``reduction`` ('none' | 'mean' | 'sum'); PyTorch's ValueError otherwise."""
    try:
        return _ENUMS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"{reduction} is not a valid value for reduction") from None


def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
    """Translate the deprecated ``size_average``/``reduce`` flags into a reduction name."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
            stacklevel=3,
        )
    return ret

"""``torch.multinomial``: draws of category indices, PyTorch's CPU kernels replayed on its
generator (after ``manual_seed`` the same indices as PyTorch's on a CPU that is not Intel's;
there PyTorch draws the exponentials of the no-replacement path with MKL).

>>> import gradlens_core as torch
>>> _ = torch.manual_seed(0)
>>> torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 2)
tensor([2, 1])
"""

from __future__ import annotations

import math

import numpy as np

from . import _random
from ._ops import _nondiff
from ._tensor import Tensor

__all__ = ["multinomial"]


def _exponential(gen, shape, dtype: np.dtype) -> np.ndarray:
    """``empty(shape).exponential_(1)``'s default CPU kernel: one double uniform per element,
    in C order, ``-1 / lambda * log1p(-u)`` in double, cast to ``dtype``."""
    n = int(np.prod(shape))
    u = _random.uniform(gen, n, np.dtype(np.float64))
    # libm's log1p (math's), not numpy's own: numpy's differs in the last bit of some doubles
    e = np.fromiter((-math.log1p(-x) for x in u.tolist()), dtype=np.float64, count=n)
    return e.astype(dtype).reshape(shape)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """``num_samples`` indices per row of the (unnormalised) probabilities ``input`` (int64).

    Without replacement, or for one sample, PyTorch takes the top ``num_samples`` of
    ``p / q`` with ``q ~ Exp(1)``; with replacement it searches a double uniform per sample
    in the row's normalised cumulative sums.
    """
    p = input._data
    if not (1 <= p.ndim <= 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype._legacy}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = p.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if n_categories > 2**24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    out_shape = (num_samples,) if p.ndim == 1 else (p.shape[0], num_samples)
    if int(np.prod(out_shape)) == 0:
        return Tensor._wrap(np.zeros(out_shape, dtype=np.int64))
    gen = _random.generator_or_default(generator)
    if not replacement or num_samples == 1:
        if not (p.max() < np.inf and p.min() >= 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        sums = p.sum(-1)
        if (sums == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = p / _exponential(gen, p.shape, p.dtype)
        if num_samples == 1:
            return _nondiff(np.argmax(q, axis=-1).reshape(out_shape).astype(np.int64), (input,), "multinomial")
        from ._ops import topk

        return _nondiff(topk(Tensor._wrap(q), num_samples)[1]._data, (input,), "multinomial")
    rows = p.reshape(-1, n_categories)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        if (row < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if not np.isfinite(row).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
        cum = np.cumsum(row, dtype=row.dtype)  # sequential, in the row's dtype
        total = cum[-1]
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cum = cum / total
        cum[-1] = 1
        u = _random.uniform(gen, num_samples, np.dtype(np.float64))
        # the kernel's binary search: the first slot whose cumulative probability is >= u
        out[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    return _nondiff(out.reshape(out_shape), (input,), "multinomial")

"""``torch.linalg``: the functions of PyTorch's linear algebra namespace gradlens_core has.

>>> import gradlens_core as torch
>>> torch.linalg.cross(torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.]))
tensor([0., 0., 1.])
>>> torch.linalg.norm(torch.tensor([[1., 2.], [3., 4.]]))
tensor(5.4772)
"""

from __future__ import annotations

from . import _ops
from ._math_ops import linalg_cross as cross

__all__ = ["cross", "norm", "vector_norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ``ord``-norm of ``x`` over ``dim`` (all dims if None) taken as a vector
    (LinalgVectorNormBackward0), as ``Tensor.norm``."""
    return _ops.norm(x, ord, dim, keepdim, dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``linalg.norm``: with ``ord`` None the 2-norm of ``A`` flattened (or over ``dim``); a
    number ``ord`` over one dim (or a 1-D ``A``) is ``vector_norm``'s; ``'fro'`` over two dims
    (the last two by default) is the vector 2-norm of them. The other matrix norms (``'nuc'``,
    a number over two dims: singular values) are not implemented in gradlens_core."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    matrix = (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2)
    if isinstance(ord, str) or matrix:
        if ord == "fro":
            return vector_norm(A, 2, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
        raise NotImplementedError(f"gradlens_core: linalg.norm's matrix norm ord={ord!r} is not implemented")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)

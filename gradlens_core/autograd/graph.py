"""``torch.autograd.graph``: the ``Node`` class every ``grad_fn`` is an instance of.

>>> import gradlens_core as torch
>>> x = torch.ones(2, requires_grad=True)
>>> isinstance((x * 2).grad_fn, torch.autograd.graph.Node)
True
"""

from .._autograd import Node

__all__ = ["Node"]

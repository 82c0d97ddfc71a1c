"""The seam between the recorder and an autograd engine.

The recorder reads tensors and nodes only through an adapter, so a torch adapter that
produces the same events from real PyTorch can reuse every explanation.

>>> import gradlens_core as torch
>>> CORE.describe(torch.ones(2))["shape"]
(2,)
"""

from __future__ import annotations

import numpy as np

__all__ = ["CoreAdapter", "CORE"]


class CoreAdapter:
    """Reads gradlens_core tensors and backward nodes."""

    def __init__(self) -> None:
        import gradlens_core

        self.core = gradlens_core
        self.Tensor = gradlens_core.Tensor
        self._module_type = None
        from gradlens_core._autograd import AccumulateGrad
        from gradlens_core._views import CopySlices

        self.AccumulateGrad = AccumulateGrad
        self.CopySlices = CopySlices
        from gradlens_core._dtype import _BY_NP

        # numpy's dtype.name is a slow Python property; this is the tracing hot path
        self._dtype_names = {np_dtype: d.name for np_dtype, d in _BY_NP.items()}

    def subscribe(self, listener):
        return self.core.subscribe(listener)

    def is_tensor(self, obj) -> bool:
        return isinstance(obj, self.Tensor)

    def module_type(self):
        """gradlens_core's ``nn.Module`` (None while its nn package is not loaded yet)."""
        if self._module_type is None:
            self._module_type = getattr(getattr(self.core, "nn", None), "Module", None)
        return self._module_type

    def describe(self, t) -> dict:
        node = t._grad_fn
        return {
            "shape": tuple(t._data.shape),
            "dtype": t.dtype.name,
            "requires_grad": t.requires_grad,
            "is_leaf": node is None,
            "grad_fn": None if node is None else type(node).__name__,
            "version": t._version_counter[0],
        }

    def fill(self, rec, t) -> None:
        """Copy what the recorder keeps about ``t`` into ``rec`` (the hot path of tracing)."""
        data = t._data
        node = t._grad_fn
        rec.shape = data.shape
        rec.dtype = self._dtype_names[data.dtype]
        counter = t._version_counter
        rec.version = counter[0]
        rec.requires_grad = t._requires_grad or node is not None
        rec.is_leaf = node is None
        rec.counter = id(counter)
        rec.storage = t._storage_key()
        rec.is_param = type(t).__name__ == "Parameter"

    def grad_fn(self, t):
        try:
            return t.grad_fn
        except RuntimeError:  # a no_grad view whose base changed: PyTorch refuses to answer
            return t._grad_fn

    def grad(self, t):
        meta = t._meta
        return None if meta is None else meta.grad

    def requires_grad(self, t) -> bool:
        return t.requires_grad

    def is_leaf(self, t) -> bool:
        return t._grad_fn is None

    def is_parameter(self, t) -> bool:
        return type(t).__name__ == "Parameter"

    def version(self, t) -> int:
        return t._version_counter[0]

    def counter_key(self, t) -> int:
        return id(t._version_counter)

    def storage_key(self, t) -> int:
        return t._storage_key()

    def storage_key_of_array(self, a) -> int:
        from gradlens_core._tensor import _root_array

        return id(_root_array(a))

    def shares_memory(self, t, other) -> bool:
        a = t._data if self.is_tensor(t) else t
        b = other._data if self.is_tensor(other) else other
        return bool(np.shares_memory(a, b))

    def node_name(self, node) -> str:
        """The node's class name, as PyTorch shows it in ``grad_fn=<...>`` (``name()`` of some
        nodes carries a C++ namespace: ``torch::autograd::AccumulateGrad``)."""
        return type(node).__name__

    def next_functions(self, node):
        return node.next_functions

    def is_accumulate(self, node) -> bool:
        return isinstance(node, self.AccumulateGrad)

    def accumulate_variable(self, node):
        return node.variable

    def saved_entries(self, node):
        return node._all_saved()

    def saver(self, node):
        """The node that saved what ``saved_entries(node)`` lists: an in-place edit of a view
        (``CopySlices``) lists its edit's own node's."""
        if type(node) is self.CopySlices and node.fn is not None:
            return node.fn
        return node

    def saved_live(self, saved) -> bool:
        return not saved.released

    def saved_tensor(self, saved):
        return saved.tensor

    def saved_version(self, saved) -> int:
        return saved.version

    def saved_is_output(self, saved) -> bool:
        return saved.is_output

    def saved_values(self, saved):
        """The values backward will read: a saved output's own (kept as saved), else the tensor's."""
        t = saved.tensor
        if t is None:
            return None
        return saved.data if saved.is_output else t._data

    def is_grad_enabled(self) -> bool:
        return self.core.is_grad_enabled()

    def named_parameters(self, module):
        return module.named_parameters()


CORE = CoreAdapter()

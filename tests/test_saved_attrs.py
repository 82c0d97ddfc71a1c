"""What a backward node saved, read as PyTorch's ``_saved_*`` attributes, next to PyTorch.

``y.grad_fn._saved_self`` is the input itself, ``_saved_result`` a new tensor of the node,
``_saved_dim`` the dim as given (an int64 shown unsigned), and a saved tensor raises what
backward would raise: after the graph was freed, or after an in-place edit. Every node class
is compared by ``scripts/saved_attrs_survey.py`` (``test_every_node_class_saves_as_torch``).
"""

from __future__ import annotations

import os
import sys

import pytest

import gradlens_core

torch = pytest.importorskip("torch")

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def saved_names(node) -> list:
    return [a for a in dir(node) if a.startswith(("_saved", "_raw_saved"))]


def _both(program):
    """``program(mod)`` under torch and under gradlens_core."""
    return program(torch), program(gradlens_core)


def _error(fn) -> str | None:
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    return None


def test_saved_input_is_the_input_and_saved_result_a_new_tensor_of_the_node():
    def program(mod):
        a = mod.tensor([1.0, 2.0], requires_grad=True)
        s = a.sin()
        e = a.exp()
        r = e.grad_fn._saved_result
        return (
            saved_names(s.grad_fn),
            saved_names(e.grad_fn),
            s.grad_fn._saved_self is a,
            r is e,
            r.grad_fn is e.grad_fn,
            r.requires_grad,
            r.tolist() == e.tolist(),
            r._version,
        )

    ref, got = _both(program)
    assert got == ref
    assert ref[:2] == (["_raw_saved_self", "_saved_self"], ["_raw_saved_result", "_saved_result"])


def test_non_tensor_values_named_and_typed_as_torch():
    def program(mod):
        x = mod.ones(2, 3, dtype=mod.float64, requires_grad=True)
        nodes = [
            x.sum(-1).grad_fn,  # dim (a tuple of int64, shown unsigned), keepdim, self_sym_sizes
            x.pow(2).grad_fn,  # exponent: the int as given
            (x**2.5).grad_fn,
            x.transpose(0, -1).grad_fn,
            x[:, 1:].grad_fn,  # end: INT64_MAX for a missing stop
            x.var().grad_fn,  # correction: None when not given
            x.var(0).grad_fn,  # ... 1 for the overload taking unbiased
            x.norm().grad_fn,  # dim: None when not given
            x.max(1).values.grad_fn,
            x.clamp(min=0.5).grad_fn,  # max: an optional Scalar, None
            x.add(x, alpha=2).grad_fn,
        ]
        out = []
        for node in nodes:
            values = {}
            for name in saved_names(node):
                v = getattr(node, name)
                if isinstance(v, mod.Tensor):
                    v = ("tensor", tuple(v.shape), str(v.dtype))
                elif name.startswith("_raw"):
                    v = type(v).__name__
                values[name] = (type(v).__name__, v)
            out.append((type(node).__name__, values))
        return out

    ref, got = _both(program)
    assert got == ref


def test_a_python_number_operand_is_saved_as_a_wrapped_number_tensor():
    def program(mod):
        x = mod.ones(2, requires_grad=True)
        node = (x * 2).grad_fn
        other = node._saved_other
        return node._saved_self, str(other.dtype), other.item(), other.requires_grad, other is node._saved_other

    ref, got = _both(program)
    assert got == ref
    assert ref[:2] == (None, "torch.int64")


def test_saved_tensors_raise_after_backward_but_other_values_stay():
    def program(mod):
        x = mod.tensor([1.0, 2.0], requires_grad=True)
        y = x.pow(3)
        i = x[mod.tensor([1, 0])]
        e = x.exp()
        (y.sum() + i.sum() + e.sum()).backward()
        return (
            _error(lambda: y.grad_fn._saved_self),
            _error(lambda: e.grad_fn._saved_result),
            _error(lambda: i.grad_fn._saved_indices),
            y.grad_fn._saved_exponent,
            i.grad_fn._saved_self_sym_sizes,
        )

    ref, got = _both(program)
    assert got == ref
    assert ref[0].startswith("Trying to backward through the graph a second time")


def test_saved_tensors_kept_by_retain_graph():
    def program(mod):
        x = mod.tensor([1.0, 2.0], requires_grad=True)
        y = x.sin()
        y.sum().backward(retain_graph=True)
        return y.grad_fn._saved_self is x

    ref, got = _both(program)
    assert got == ref == True  # noqa: E712


@pytest.mark.parametrize("what", ["leaf", "output_of_mul", "result", "detached_in_place"])
def test_saved_tensor_modified_in_place_raises_torchs_error(what):
    def program(mod):
        a = mod.tensor([1.0, 2.0], requires_grad=True)
        if what == "leaf":
            y = a.sin()
            with mod.no_grad():
                a.mul_(2)
            return _error(lambda: y.grad_fn._saved_self)
        if what == "output_of_mul":
            z = a * 2
            y = z.sin()
            z.add_(1)
            return _error(lambda: y.grad_fn._saved_self)
        if what == "result":
            y = a.exp()
            y.add_(1)
            return _error(lambda: y.grad_fn.next_functions[0][0]._saved_result)
        z = a * 2
        y = z.sin()
        z.detach_()  # the getter hands the tensor out (it unpacks for the node); backward refuses it
        return y.grad_fn._saved_self is z, _error(lambda: y.sum().backward())

    ref, got = _both(program)
    assert got == ref
    assert ref is not None


def test_dir_lists_the_saved_names_and_accumulate_grad_none():
    def program(mod):
        a = mod.ones(2, 2, requires_grad=True)
        b = mod.ones(2, 2, requires_grad=True)
        nodes = [(a @ b).grad_fn, (a * b).grad_fn, a.t().grad_fn, a.softmax(-1).grad_fn]
        y = (a * b).sum()
        accumulate = y.grad_fn.next_functions[0][0].next_functions[0][0]
        return [saved_names(n) for n in nodes], saved_names(accumulate)

    ref, got = _both(program)
    assert got == ref


def test_raw_saved_is_one_saved_tensor_object():
    def program(mod):
        a = mod.ones(2, requires_grad=True)
        node = a.sin().grad_fn
        raw = node._raw_saved_self
        return type(raw).__name__, raw is node._raw_saved_self

    ref, got = _both(program)
    assert got == ref


def test_custom_function_raw_saved_tensors():
    def program(mod):
        class Square(mod.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = mod.ones(2, requires_grad=True)
        y = Square.apply(x)
        node = y.grad_fn
        before = saved_names(node), [type(s).__name__ for s in node._raw_saved_tensors]
        y.sum().backward()
        return before, _error(lambda: node._raw_saved_tensors)

    ref, got = _both(program)
    assert got == ref


# classes whose values are known to differ (the survey lists the difference): none
KNOWN_DIFFERENT: set = set()


def test_every_node_class_saves_as_torch():
    sys.path.insert(0, SCRIPTS)
    try:
        import saved_attrs_survey
    finally:
        sys.path.remove(SCRIPTS)
    results = saved_attrs_survey.survey()
    assert len(results) > 140
    differing = {cls: next(d for _, d in r if d) for cls, r in results.items() if any(d for _, d in r)}
    assert set(differing) <= KNOWN_DIFFERENT, differing


def test_addmm_applies_alpha_and_beta():
    # found by the survey: addmm's node saves alpha and beta, which gradlens_core ignored
    def program(mod):
        b = mod.tensor([1.0, float("nan")], dtype=mod.float64, requires_grad=True)
        x = mod.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=mod.float64, requires_grad=True)
        w = mod.tensor([[1.0, 0.5], [2.0, 1.0], [0.0, 3.0]], dtype=mod.float64, requires_grad=True)
        out = []
        for beta, alpha in [(0.5, 2), (0, 1), (2, 0.5)]:
            y = mod.addmm(b, x, w, beta=beta, alpha=alpha)
            grads = mod.autograd.grad(y.sum(), (b, x, w))
            out.append((y.tolist(), [g.tolist() for g in grads], y.grad_fn._saved_alpha, y.grad_fn._saved_beta))
        return repr(out)

    ref, got = _both(program)
    assert got == ref

"""``out=``: the torch.* functions that take it write their result into a given tensor.

``torch.add(a, b, out=o)`` computes ``a + b`` into ``o`` and returns ``o`` itself. As in
PyTorch 2.13: ``o`` is resized when its shape differs (with a deprecation warning unless it
had no elements), the result is cast to ``o``'s dtype where the op allows it, ``o``'s version
moves, and autograd refuses the call while an argument requires grad. ``OUT`` lists the
functions that take ``out=`` and how each checks it (measured against torch, see
tests/test_out.py); ``install`` puts one wrapper per function into the gradlens_core
namespace. The wrapper runs the ordinary op under no_grad, its events muted (in this thread
only), and copies the result into ``out`` as an in-place edit: listeners see one "mutated"
event (op ``"add(out=)"``), as for ``add_``. Tensor methods and operators take no ``out=`` in PyTorch and
are not wrapped.

>>> import gradlens_core as torch
>>> o = torch.empty(0)
>>> torch.add(torch.ones(2), 1, out=o) is o, o
(True, tensor([2., 2.]))
"""

from __future__ import annotations

import inspect
import os
from typing import NamedTuple

import numpy as np

from . import _argparse, _dtype, _events, _grad_mode, _warn
from ._autograd import NotImplementedNode
from ._layout import empty_preserving
from ._tensor import Tensor, _root_array, check_internal_overlap, finish_inplace

__all__ = ["OUT", "Rule", "install", "write"]


class Rule(NamedTuple):
    """How one function treats ``out`` (each field as PyTorch's kernel for it does).

    ``aten``: the ATen op autograd's refusal names (``torch.subtract`` is ``sub``).
    ``dtype``: the check of out's dtype (see ``_dtype_error``); "reduce" and "factory" compute
    in out's dtype instead (``torch.sum(x, 0, out=long_tensor)`` sums in int64).
    ``overlap``: "pointwise" (TensorIterator: no element of ``out`` written twice, no partial
    overlap with an input; checked first), "internal" (only the first), "any" (no overlap at
    all with an input: cat, stack, cross) or "none" (reductions, which do not check).
    ``grad``: "error" (refuses any argument that requires grad), "inputs" (only an input),
    "fallback" (PyTorch's autograd-not-implemented kernel: refuses an ``out`` that requires
    grad, gives ``out`` a NotImplemented node when an input does), "copy" (a composite op copies
    its recorded result into ``out``: tensordot) or "none" (non-differentiable
    ops check nothing).
    ``resize``: "warn" (TensorIterator's deprecation warning), "silent" (factories), "arange"
    (its own warning), "keepdim" (kthvalue's: out is resized to the keepdim shape), or
    "dispatch" (``resize_`` called through the dispatcher: it bumps the version and refuses an
    ``out`` that requires grad).
    ``fill``: "values" (the result is copied in), "memory" (random draws: PyTorch fills ``out``
    itself, in its memory order), "unversioned" (written through an ``_unsafe_view`` of out, whose
    version does not move: kron) or "none" (``empty`` writes nothing).
    ``temporary``: TensorIterator computes a result of another dtype than out's into a
    temporary and resizes ``out`` again when it copies it in (the warning comes twice).
    """

    aten: str
    dtype: str = "cast"
    overlap: str = "pointwise"
    grad: str = "error"
    resize: str = "warn"
    fill: str = "values"
    temporary: bool = False


def _pointwise(aten, dtype="cast", grad="error", temporary=True):
    return Rule(aten, dtype, "pointwise", grad, temporary=dtype == "cast" and temporary)


def _factory(aten, overlap="none", resize="silent", fill="values"):
    return Rule(aten, "factory", overlap, "fallback", resize, fill)


# Every gradlens_core torch.* function that takes ``out=`` in PyTorch 2.13 (the others refuse it
# as PyTorch does; tests/test_out.py checks both against torch).
OUT: dict = {
    # elementwise (TensorIterator): the result is cast to out's dtype where c10::canCast allows
    **{n: _pointwise(n) for n in ("add", "sub", "mul", "div", "fmod", "remainder", "pow", "atan2", "hypot", "lerp")},
    **{n: _pointwise(n) for n in ("maximum", "minimum", "addcmul", "addcdiv")},
    "bernoulli": Rule("bernoulli", "any", resize="silent"),
    **{n: _pointwise(n) for n in ("exp", "log", "log1p", "expm1", "erf", "sqrt", "sin", "cos", "tanh", "sigmoid")},
    "reciprocal": _pointwise("reciprocal"),
    **{n: _pointwise(n) for n in ("log2", "log10", "atan", "rsqrt")},
    "arctan": _pointwise("atan"),
    "subtract": _pointwise("sub"),
    "multiply": _pointwise("mul"),
    "divide": _pointwise("div"),
    "true_divide": _pointwise("div"),
    "arctan2": _pointwise("atan2"),
    "square": _pointwise("pow"),
    "outer": _pointwise("mul"),
    "floor_divide": _pointwise("floor_divide", grad="fallback", temporary=False),
    **{
        n: _pointwise(n, grad="fallback")
        for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift")
    },
    **{n: _pointwise(n, grad="none") for n in ("eq", "ne", "lt", "le", "gt", "ge")},
    **{n: _pointwise(n, grad="none") for n in ("less", "less_equal", "greater", "greater_equal")},
    **{n: _pointwise(n, grad="none", temporary=False) for n in ("logical_and", "logical_or", "logical_not")},
    # elementwise ops whose out must have the result's dtype ("Found dtype Double but expected Float")
    **{n: _pointwise(n, "same") for n in ("abs", "ceil", "floor", "trunc", "round", "sign", "neg")},
    **{n: _pointwise(n, "same") for n in ("clamp", "clamp_min", "clamp_max")},
    "absolute": _pointwise("abs", "same"),
    "clip": _pointwise("clamp", "same"),
    "bitwise_not": _pointwise("bitwise_not", "same", grad="fallback"),
    "where": _pointwise("where", "where"),
    "index_select": _pointwise("index_select", "select"),
    "masked_select": _pointwise("masked_select", "select"),
    "cumsum": _pointwise("cumsum", "reduce"),
    "cumprod": _pointwise("cumprod", "reduce"),
    # reductions
    "sum": Rule("sum", "reduce", "none"),
    "prod": Rule("prod", "reduce", "none"),
    "mean": Rule("mean", "mean", "internal"),
    "std": Rule("std", "cast", "none"),
    "var": Rule("var", "cast", "none"),
    "logsumexp": Rule("logsumexp", "logsumexp", "internal"),
    "norm": Rule("linalg_vector_norm", "exact", "none"),
    "amax": Rule("amax", "amax", "none"),
    "amin": Rule("amin", "amax", "none"),
    "argmax": Rule("argmax", "exact", "none", "none"),
    "argsort": Rule("sort", "exact", "internal", "inputs"),  # (out= only with stable=: sort's indices)
    "argmin": Rule("argmin", "exact", "none", "none"),
    "all": Rule("all", "bool", "none", "none"),
    "any": Rule("any", "bool", "none", "none"),
    "nonzero": Rule("nonzero", "nonzero", "internal", "none"),
    # max(x) / max(x, dim) / max(x, y) (see _rule_for)
    "max": Rule("max", "can_cast", "none"),
    "min": Rule("min", "can_cast", "none"),
    # (values, indices)
    **{n: Rule(n, "values", "internal") for n in ("sort", "topk")},
    "kthvalue": Rule("kthvalue", "kthvalue", "internal", resize="keepdim"),
    "median": Rule("median", "median", "internal"),
    # products, joins and the rest
    **{n: Rule(n, "exact", "internal") for n in ("mm", "matmul")},
    "addmm": Rule("addmm", "exact"),  # (input is copied into out first: copy_ checks the overlap)
    "bmm": Rule("bmm", "exact", "none"),
    "mv": Rule("mv", "mv", "none"),
    "dot": Rule("dot", "dot", "none"),
    "cat": Rule("cat", "cat", "any"),
    "concat": Rule("cat", "cat", "any"),
    "stack": Rule("stack", "cat", "any"),
    "cross": Rule("linalg_cross", "exact", "any"),
    "softmax": Rule("softmax", "exact", "internal", "fallback"),
    "log_softmax": Rule("log_softmax", "exact", "internal", "fallback"),
    "tril": Rule("tril", "exact", "none"),
    "triu": Rule("triu", "exact", "none"),
    "diag": Rule("diagonal_copy", "exact", "internal", "fallback"),
    **{n: Rule(n, "exact", "pointwise") for n in ("gather", "scatter", "scatter_add", "index_add")},
    # factories: the result takes out's dtype
    **{n: _factory(n) for n in ("zeros", "ones", "full", "eye", "randperm")},
    "linspace": _factory("linspace", "internal"),
    "rand": _factory("rand", "internal", fill="memory"),
    "randint": _factory("randint", "internal", fill="memory"),
    "arange": _factory("arange", "internal", "arange"),
    "randn": _factory("randn", "internal", "dispatch", fill="memory"),
    "empty": _factory("empty", resize="dispatch", fill="none"),
    # (_more_functions)
    **{n: _pointwise(n) for n in ("sinh", "cosh", "asin", "acos", "tan", "exp2", "logit")},
    "logical_xor": _pointwise("logical_xor", grad="none", temporary=False),
    "nan_to_num": _pointwise("nan_to_num", "nan_to_num"),
    "frac": _pointwise("frac", "same"),
    "float_power": _pointwise("pow", "float_power"),
    **{n: Rule("cat", "cat", "any") for n in ("vstack", "hstack", "dstack", "column_stack")},
    "kron": Rule("mul", "cast", "pointwise", fill="unversioned"),  # (mul_out into an _unsafe_view)
    "tensordot": Rule("tensordot", "tensordot", "internal", "copy"),
    "diff": _pointwise("sub"),
    "baddbmm": Rule("baddbmm", "exact"),
    "addmv": Rule("addmv", "exact"),
    **{n: Rule(n, "scan", "internal") for n in ("cummax", "cummin")},
    "aminmax": Rule("aminmax", "values", "internal"),
    "normal": _factory("normal", "internal", fill="memory"),
}

# overloads with rules of their own: "all" without dim, "dim" with one, "other" with a second
# tensor (max(x, dim) returns (values, indices), max(x, y) is maximum)
_OVERLOADS = {
    "max": {"dim": Rule("max", "values", "internal"), "other": _pointwise("maximum")},
    "min": {"dim": Rule("min", "values", "internal"), "other": _pointwise("minimum")},
    "mean": {"all": Rule("mean", "mean_all", "internal")},
}

_CLAMPS = frozenset(("clamp", "clip", "clamp_min", "clamp_max"))

# where PyTorch's parser error for ``out`` comes from another op (torch.norm is Python code)
_PARSER_NAME = {"norm": "linalg_vector_norm"}

_TUPLE = frozenset(("values", "kthvalue", "median", "scan"))  # dtype rules of (values, indices) results


def install(namespace: dict) -> None:
    """Replace each function of ``OUT`` in ``namespace`` (gradlens_core's) by its wrapper."""
    for name in OUT:
        op = namespace[name]
        if hasattr(op, "_call"):  # an autograd_first op: its own wrapper takes ``out`` too
            namespace[name] = _entering_autograd(name, op)
        else:
            namespace[name] = _wrapper(name, op)


def _entering_autograd(name: str, op):
    """``_tensor.autograd_first``'s wrapper of ``op``, with ``out``: the same one Python call
    as before when ``out`` is not given. It sees the call as given, for the parser's texts
    (named as called: torch.clip's are clip's, though clip is clamp)."""
    from ._tensor import stale_views_first

    inner, call = op.__wrapped__, op._call
    if name in _argparse._SIGNATURES:  # its failures (an unknown keyword too) replay the parser: no cost until then
        call = (name, False)
    with_out = _wrapper(name, inner)

    def entering_autograd(*args, out=_NO_OUT, **kwargs):
        if out is _NO_OUT:
            return stale_views_first(inner, args, kwargs, call=call)
        return stale_views_first(with_out, args, {**kwargs, "out": out}, call=call)

    entering_autograd.__name__ = entering_autograd.__qualname__ = name
    entering_autograd.__doc__ = inner.__doc__
    entering_autograd.__module__ = "gradlens_core"
    entering_autograd.__wrapped__ = with_out
    return entering_autograd


# The wrapper has the op's own signature plus ``out``, so a call without ``out`` costs one
# Python call (20-120 ns) and no packing of arguments; Tensor methods, operators and nn
# call the ops themselves. It is compiled under a name in this package, so gradlens's search
# for the user's line skips it as it skips the ops.
_WRAPPER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "<out=>")
_PARAMS: dict = {}  # name -> the wrapped op's parameters (name, kind, default)

# ``out`` not given (``out=None`` is given: PyTorch's parser refuses it where the overload has no out)
_NO_OUT = type("_NoOut", (), {"__repr__": lambda self: "None", "__slots__": ()})()


def _wrapper(name: str, op):
    """``op`` with PyTorch's ``out=``: for ``add(input, other, *, alpha=1)`` it generates

    def add(input, other, *, alpha=_d2, out=_NO_OUT):
        if out is _NO_OUT:
            return _op(input, other) if alpha is _d2 else _op(input, other, alpha=alpha)
        return _write('add', _op, (input, other), {'alpha': alpha}, out)

    (parameters whose names start with ``_`` are the op's hidden ones and are left out)."""
    params = [p for p in inspect.signature(op).parameters.values() if not p.name.startswith("_") and p.name != "out"]
    env = {"_op": op, "_write": write, "_NO_OUT": _NO_OUT}
    decl, positional, keywords, catch_all = [], [], [], ""
    for i, p in enumerate(params):
        default = ""
        if p.default is not p.empty:
            env[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind is p.VAR_KEYWORD:  # (the op's ``**unknown``, for the parser's texts)
            catch_all = p.name
        elif p.kind is p.VAR_POSITIONAL:
            decl.append(f"*{p.name}")
            positional.append(f"*{p.name}")
        elif p.kind is p.KEYWORD_ONLY:
            if not any(d.startswith("*") for d in decl):
                decl.append("*")
            decl.append(p.name + default)
            keywords.append((p.name, f"_d{i}"))
        else:
            decl.append(p.name + default)
            positional.append(p.name)
    if not any(d.startswith("*") for d in decl):
        decl.append("*")
    decl.append("out=_NO_OUT")
    if catch_all:
        decl.append(f"**{catch_all}")
    args = ", ".join(positional)
    more = f", **{catch_all}" if args and catch_all else f"**{catch_all}" if catch_all else ""
    plain = f"_op({args}{more})"
    if keywords:  # keyword arguments only when given: a positional call is the cheaper one
        given = " and ".join(f"{k} is {d}" for k, d in keywords)
        full = f"_op({args}{', ' if args else ''}{', '.join(f'{k}={k}' for k, _ in keywords)}{', ' if catch_all else ''}{more.lstrip(', ')})"
        plain = f"{plain} if {given} else {full}"
    kwargs = "{" + ", ".join([f"{k!r}: {k}" for k, _ in keywords] + ([f"**{catch_all}"] if catch_all else [])) + "}"
    source = (
        f"def {name}({', '.join(decl)}):\n"
        f"    if out is _NO_OUT:\n"
        f"        return {plain}\n"
        f"    return _write({name!r}, _op, ({args}{',' if args else ''}), {kwargs}, out)\n"
    )
    exec(compile(source, _WRAPPER_FILE, "exec"), env)  # noqa: S102 - source built above from a signature
    fn = env[name]
    fn.__doc__ = op.__doc__
    fn.__module__ = "gradlens_core"
    fn.__qualname__ = name
    _PARAMS[name] = [(p.name, p.kind, p.default) for p in params]
    return fn


# ----------------------------------------------------------------------------- the write


def write(name: str, op, args: tuple, kwargs: dict, out):
    """``op(*args, **kwargs)`` into ``out`` (a tensor, or a pair for (values, indices)), as
    ``torch.<name>(*args, **kwargs, out=out)``; returns ``out``."""
    if _argparse.MISSING in args:  # an argument left out: PyTorch's parser refuses the call
        _refuse_missing(name, op, args, kwargs, out)
    rule = _rule_for(name, args, kwargs)
    outs = _checked_outs(name, rule, args, kwargs, out)
    if not outs:  # out=None: an ordinary call
        return op(*args, **kwargs)
    inputs = _tensors(args) + _tensors(kwargs.values())
    if rule.grad == "copy":
        return _copied(name, rule, op(*args, **kwargs), outs[0], args)
    _check_autograd(rule, inputs, outs)
    if rule.overlap == "pointwise":  # TensorIterator checks memory before shapes and dtypes
        _check_overlap(name, rule, inputs, outs)
    result = _computed(name, rule, op, args, kwargs, outs, inputs)
    results = tuple(result) if isinstance(result, tuple) else (result,)
    error = _dtype_error(name, rule, [r.dtype for r in results], [o.dtype for o in outs], inputs)
    if error is not None:
        raise error
    resized = [_resize(name, rule, o, r._data, args) for o, r in zip(outs, results)]
    if rule.overlap != "pointwise":
        _check_overlap(name, rule, inputs, outs)
    for o, r, grew in zip(outs, results, resized):
        _store(name, rule, o, r._data, grew, inputs)
    if rule.dtype == "factory" and (kwargs.get("requires_grad") or outs[0].is_leaf):
        # a factory sets out's flag to its own requires_grad argument (False by default), even
        # on a leaf that required grad (under no_grad: it is refused otherwise)
        outs[0].requires_grad_(bool(kwargs.get("requires_grad")))
    if rule.dtype in _TUPLE:
        return _return_type(name)(*outs)
    return outs[0]


def _copied(name, rule, result: Tensor, out: Tensor, args) -> Tensor:
    """A composite op's ``out=`` (tensordot's): its ordinary result, recorded, then resized into
    and ``out.copy_(result)`` (CopyBackwards when the inputs require grad, as in PyTorch)."""
    error = _dtype_error(name, rule, [result.dtype], [out.dtype], ())
    if error is not None:
        raise error
    if out._data.shape != result._data.shape:
        _resize(name, rule, out, result._data, args)
    return out.copy_(result)


def _refuse_missing(name, op, args, kwargs, out):
    """PyTorch's parser error for a call with ``out`` that left an argument out (``MISSING``:
    the positional ones end there, those after it came by keyword), ``out`` among the keywords."""
    params = [p[0] for p in _PARAMS[name] if p[1] is not inspect.Parameter.KEYWORD_ONLY]
    positional, keywords, ended = [], {}, False
    for pname, value in zip(params, args):
        ended = ended or value is _argparse.MISSING
        if not ended:
            positional.append(value)
        elif value is not _argparse.MISSING:
            keywords[pname] = value
    keywords.update((k, v) for k, v in kwargs.items() if not _at_default(name, k, v))
    error = _argparse.parser_error(name, tuple(positional), {**keywords, "out": out})
    if error is not None:
        raise error
    op(*args, **kwargs)  # (the op's own refusal)
    raise TypeError(f"{name}() missing arguments")


def _rule_for(name, args, kwargs) -> Rule:
    if name == "matmul" and all(isinstance(a, Tensor) and a.ndim == 1 for a in args):
        return Rule("matmul", "dot", "none")  # matmul of two vectors is dot
    if name in _CLAMPS and any(isinstance(v, Tensor) for v in (*args[1:], *kwargs.values())):
        return _pointwise(OUT[name].aten)  # clamp.Tensor casts to out's dtype (clamp.Scalar does not)
    overloads = _OVERLOADS.get(name, {})
    if overloads:
        if isinstance(args[1] if len(args) > 1 else kwargs.get("other"), Tensor) and "other" in overloads:
            return overloads["other"]
        kind = "dim" if len(args) > 1 and args[1] is not _PARAMS[name][1][2] else "all"
        return overloads.get(kind, OUT[name])
    return OUT[name]


def _given(name, args, kwargs):
    """The call as PyTorch's parser would see it: an argument left at its default counts as
    not given (``_argparse.refuse_given``'s rule: the first one ends the positional ones)."""
    positional, keywords, ended = [], {}, False
    params = [p for p in _PARAMS[name] if p[1] is not inspect.Parameter.KEYWORD_ONLY]
    if params and params[-1][1] is inspect.Parameter.VAR_POSITIONAL:
        return args, {k: v for k, v in kwargs.items() if not _at_default(name, k, v)}
    for (pname, _, default), value in zip(params, args):
        if _argparse._at_default(value, default):
            ended = True
        elif ended:
            keywords[pname] = value
        else:
            positional.append(value)
    keywords.update((k, v) for k, v in kwargs.items() if not _at_default(name, k, v))
    return tuple(positional), keywords


def _at_default(name, key, value) -> bool:
    default = next(p[2] for p in _PARAMS[name] if p[0] == key)
    return _argparse._at_default(value, default)


def _checked_outs(name, rule, args, kwargs, out) -> tuple:
    """``out`` as a tuple of tensors, after PyTorch's parser checked its type."""
    pair = rule.dtype in _TUPLE
    parser_name = _PARSER_NAME.get(name, name)
    if parser_name == name and name in _argparse._SIGNATURES:
        given_args, given_kwargs = _given(name, args, kwargs)
        error = _argparse.parser_error(name, given_args, {**given_kwargs, "out": out})
    elif out is not None and not (isinstance(out, (list, tuple)) if pair else isinstance(out, Tensor)):
        kind = "tuple of Tensors" if pair else "Tensor"
        error = TypeError(f"{parser_name}(): argument 'out' must be {kind}, not {_argparse._type_name(out)}")
    else:
        error = None
    if error is not None:
        raise error
    if out is None:
        return ()
    if not pair:
        if not isinstance(out, Tensor):  # a number, where the op takes numbers as tensors
            out = Tensor._wrap(np.asarray(out, np.float64 if isinstance(out, float) else None))
        return (out,)
    if len(out) != 2:
        raise TypeError(f"expected tuple of 2 elements but got {len(out)}")
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            position = _argparse.param_index(name, *_given(name, args, kwargs), "out")
            raise TypeError(f"expected Tensor as element {i} in argument {position}, but got {type(t).__name__}")
    return tuple(out)


def _tensors(values) -> list:
    found = []
    for v in values:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(t for t in v if isinstance(t, Tensor))
    return found


_NO_AUTOGRAD = (
    "functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad."
)


def _check_autograd(rule, inputs, outs) -> None:
    if rule.resize == "dispatch" and any(o.requires_grad for o in outs):
        raise RuntimeError("cannot resize variables that require grad")
    if not _grad_mode._state.enabled or rule.grad == "none":
        return
    if rule.grad != "inputs" and any(o.requires_grad for o in outs):
        prefix = "aten::" if rule.grad == "fallback" else ""
        raise RuntimeError(f"{prefix}{rule.aten}(): {_NO_AUTOGRAD}")
    if rule.grad in ("error", "inputs") and any(t.requires_grad for t in inputs):
        raise RuntimeError(f"{rule.aten}(): {_NO_AUTOGRAD}")


def _check_overlap(name, rule, inputs, outs) -> None:
    from ._ops import check_no_overlap, check_no_partial_overlap

    for o in outs:
        if rule.overlap != "none":
            check_internal_overlap(o, f"{name}(out=)")
        if rule.overlap == "pointwise":
            for t in inputs:
                check_no_partial_overlap(o, t)
        elif rule.overlap == "any":
            for t in inputs:
                check_no_overlap(o, t)


def _computed(name, rule, op, args, kwargs, outs, inputs):
    """The op's ordinary result, computed under no_grad with listeners muted (the temporary is
    no tensor of the user's program: the write into ``out`` is reported instead). Reductions
    of ``_IN_OUT_DTYPE`` and factories compute in out's dtype, as PyTorch's kernels do."""
    in_out_dtype = rule.dtype in _IN_OUT_DTYPE
    if in_out_dtype:
        wanted, have = kwargs.get("dtype"), outs[0].dtype
        if wanted is not None and wanted is not have:
            if rule.dtype == "factory":
                raise RuntimeError(f"dtype {wanted._legacy} does not match dtype of out parameter ({have._legacy})")
            raise RuntimeError(f"Expected out tensor to have dtype {wanted._cpp}, but got {have._cpp} instead")
    # (both per thread: another thread's ops record and are reported meanwhile)
    grad = _grad_mode._state.enabled
    _grad_mode._state.enabled = False
    try:
        with _events.muted():
            if not in_out_dtype:
                return op(*args, **kwargs)
            if rule.dtype in ("mean", "mean_all"):  # checked against its own result's dtype first
                error = _dtype_error(name, rule, [op(*args, **kwargs).dtype], [outs[0].dtype], inputs)
                if error is not None:
                    raise error
            return op(*args, **{**kwargs, "dtype": outs[0].dtype})
    finally:
        _grad_mode._state.enabled = grad


# dtype rules whose op computes in out's dtype (``op(..., dtype=out.dtype)``)
_IN_OUT_DTYPE = frozenset(("reduce", "factory", "mean", "mean_all"))


def _cast_error(result, out) -> RuntimeError:
    return RuntimeError(f"result type {result._legacy} can't be cast to the desired output type {out._legacy}")


_CAN_CAST_TEXT = (
    "Expected canCast( typeMetaToScalarType(self.dtype()), typeMetaToScalarType(out.dtype())) to be true, but got "
    "false.  (Could this error message be improved?  If so, please report an enhancement request to PyTorch.)"
)


# dtype rules under which out must have the result's dtype: PyTorch's text for each
_MUST_MATCH = {
    "same": "Found dtype {o._legacy} but expected {r._legacy}",
    "exact": "Expected out tensor to have dtype {r._cpp}, but got {o._cpp} instead",
    "where": "Expected out type to be {r._legacy} but got {o._legacy}",
    "select": "{name}(): self and result must have the same scalar type",
    "amax": "Expected the dtype for input and out to match, but got {r._legacy} for input's dtype and "
    "{o._legacy} for out's dtype.",
    "dot": "result dtype {o._legacy} does not match input dtype {r._legacy}",
    "tensordot": "tensordot: Expected the output tensor to have dtype {r._legacy}, but got an output tensor with "
    "dtype {o._legacy}",
    "nan_to_num": "nan_to_num: dtype of out: {o._legacy} should be same as input: {r._legacy}",
    "float_power": "the output given to float_power has dtype {o._legacy} but the operation's result requires dtype "
    "{r._legacy}",
    "mv": "addmv input tensors must have the same dtype, but got {o._legacy}, {r._legacy}, and {r._legacy}",
}


def _dtype_error(name, rule, results, outs, inputs):
    """What PyTorch's kernel says of an ``out`` of the wrong dtype (None if it is right)."""
    kind, r, o = rule.dtype, results[0], outs[0]
    long = _dtype.int64
    if kind in ("cast", "mean") and not _dtype.can_cast(r, o):
        return _cast_error(r, o)
    text = _MUST_MATCH.get(kind)
    if text is not None:  # out must have the result's very dtype
        return None if o is r else RuntimeError(text.format(o=o, r=r, name=name))
    if kind == "bool" and o is not _dtype.bool_ and o is not _dtype.uint8:
        return RuntimeError(f"{name} only supports bool tensor for result, got: {o._legacy}")
    if kind == "nonzero" and o is not long:
        return RuntimeError(f"nonzero: Expected out tensor to have scalar type Long but got scalar type{o._legacy}")
    if kind == "logsumexp":
        if not o.is_floating_point:
            return RuntimeError(f"logsumexp(): Expected floating point type for result tensor, but got: {o._legacy}")
        return None if _dtype.can_cast(r, o) else _cast_error(r, o)
    if kind == "mean_all" and not _dtype.can_cast(r, o):
        return RuntimeError(f"mean.dtype_out(): input types can't be cast to the desired output type {o._legacy}")
    if kind == "can_cast" and not _dtype.can_cast(r, o):
        return RuntimeError(_CAN_CAST_TEXT)
    if kind == "cat" and not _dtype.can_cast(r, o):
        return TypeError(f"torch.cat(): input types can't be cast to the desired output type {o._legacy}")
    if kind == "values":
        for want, have in zip(results, outs):
            if have is not want:
                return RuntimeError(f"Expected out tensor to have dtype {want._cpp}, but got {have._cpp} instead")
    if kind == "scan":
        for want, have in zip(results, outs):
            if have is not want:
                return RuntimeError(f"expected scalar_type {want._legacy} but found {have._legacy}")
    if kind == "kthvalue":
        if o is not r:
            return RuntimeError("output values must be of same type as input")
        if outs[1] is not long:
            return RuntimeError("output indices must be of scalar type Long")
    if kind == "median":
        if outs[1] is not long:
            got = "CPUBoolType" if outs[1] is _dtype.bool_ else f"torch.{outs[1]._legacy}Tensor"
            return RuntimeError(
                f"Expected tensor for argument #1 'indices' to have scalar type Long; but got {got} instead "
                "(while checking arguments for median)"
            )
        if o is not r:
            return RuntimeError(
                f"Expected tensor for 'values' to have the same type as tensor for argument #2 'self'; but type "
                f"torch.{o._legacy}Tensor does not equal torch.{r._legacy}Tensor (while checking arguments for median)"
            )
    return None


def _resize(name, rule, out: Tensor, res: np.ndarray, args) -> bool:
    """Give ``out`` the result's shape if it has another one (PyTorch's resize_output), with
    its warning; True if it was resized."""
    data = out._data
    if data.shape == res.shape:
        return False
    if rule.resize == "warn" and data.size:
        for _ in range(2 if rule.temporary and data.dtype != res.dtype else 1):
            _warn_resized(_RESIZED.format(list(data.shape), list(res.shape)))
    elif rule.resize == "keepdim" and data.size:
        _warn_kthvalue_resize(data.shape, res.shape, args)
    elif rule.resize == "arange" and data.size and data.size != res.size:
        _warn_resized(
            f"The number of elements in the out tensor of shape {list(data.shape)} is {data.size} which does not "
            f"match the computed number of elements {res.size}. Note that this may occur as a result of rounding "
            f"error. The out tensor will be resized to a tensor of shape ({res.size},)."
        )
    out._data = _resized(data, res)
    return True


_RESIZED = (
    "An output with one or more elements was resized since it had shape {}, which does not match the required "
    "output shape {}. This behavior is deprecated, and in a future PyTorch release outputs will not be resized "
    "unless they have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
    "elements with t.resize_(0)."
)


def _warn_kthvalue_resize(shape, result_shape, args) -> None:
    """kthvalue resizes ``out`` to the keepdim shape (an ``out`` with the reduced dim left out
    gets it back first) and squeezes it after; the warning shows the shapes in between."""
    input, _, dim, keepdim = args
    dim = dim % input.ndim if input.ndim else 0
    kept = list(result_shape) if keepdim or not input.ndim else [*result_shape[:dim], 1, *result_shape[dim:]]
    had = list(shape)
    if not keepdim and len(had) == input.ndim - 1:
        had.insert(dim, 1)
    if had != kept:
        _warn_resized(_RESIZED.format(had, kept))


def _warn_resized(message: str) -> None:
    import warnings

    warnings.warn(message, UserWarning, stacklevel=_warn.user_stacklevel())


def _resized(data: np.ndarray, res: np.ndarray) -> np.ndarray:
    """An array of ``res``'s shape and layout, in ``data``'s dtype, over ``data``'s memory when
    its storage has room from where ``data`` starts (PyTorch's resize_ keeps the storage then,
    so a view of the old tensor sees the write), else over fresh memory."""
    fresh = empty_preserving(res, data.dtype)
    root = _root_array(data)
    start = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if not (res.size and root.flags.c_contiguous and root.flags.writeable):
        return fresh
    if start + fresh.size * fresh.itemsize > root.nbytes or fresh.base is not None:
        return fresh
    return np.ndarray(res.shape, data.dtype, buffer=root, offset=start, strides=fresh.strides)


def _store(name, rule, out: Tensor, res: np.ndarray, resized: bool, inputs) -> None:
    """Write ``res`` into ``out`` and report it as an in-place edit."""
    bumps = 0
    if rule.resize == "dispatch" and resized:  # resize_ through the dispatcher is an edit of its own
        bumps += 1
    if rule.fill == "unversioned":  # written through another version counter: no edit to report
        np.copyto(out._data, res, casting="unsafe")
        return
    if rule.fill != "none":
        into = out._data
        if rule.fill == "memory":  # the draws go into out's elements in memory order
            into = into.transpose(_memory_order(into))
            res = res.reshape(into.shape)
        np.copyto(into, res, casting="unsafe")
        bumps += 1
    if not bumps:
        return
    out._version_counter[0] += bumps - 1
    rg_inputs = [t for t in inputs if t.requires_grad]
    if rule.grad == "fallback" and rg_inputs and _grad_mode._state.enabled:
        node_inputs = tuple(rg_inputs)
        finish_inplace(
            out, f"{name}(out=)", NotImplementedNode, (out, *inputs), ctx=f"aten::{rule.aten}", node_inputs=node_inputs
        )
    else:
        finish_inplace(out, f"{name}(out=)", None, (out, *inputs))


def _memory_order(a: np.ndarray) -> list:
    """The dims of ``a`` from the outermost in memory to the innermost (for a dense ``a``)."""
    return sorted(range(a.ndim), key=lambda d: (-abs(a.strides[d]), d))


def _return_type(name: str):
    from . import _ops

    cls = _RETURN_TYPES.get(name)
    if cls is None:
        cls = _RETURN_TYPES[name] = _ops._return_type(f"{name}_out")
    return cls


_RETURN_TYPES: dict = {}

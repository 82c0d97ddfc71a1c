"""``out=`` of the torch.* functions, compared with PyTorch 2.13.

Every function of gradlens_core's namespace has a sample call below. The table
``gradlens_core._out.OUT`` must list exactly those that take ``out=`` in torch; for each of
them the same program runs under gradlens_core and torch with outs of every kind (empty,
the right shape, another shape, each dtype, non-contiguous, requiring grad, aliasing an
input, of a wrong type) and what the user sees must agree: the returned object, values,
dtype, shape, strides, ``_version``, ``requires_grad``, ``grad_fn``, the warnings and the
errors (class and message).
"""

from __future__ import annotations

import io
import os
import tempfile
import types
import warnings

import numpy as np
import pytest

import gradlens_core
from gradlens_core import _out

torch = pytest.importorskip("torch")

# ----------------------------------------------------------------------------- sample calls

_rng = np.random.default_rng(0)
_F23 = _rng.random((2, 3)).astype(np.float32)
_G23 = (_rng.random((2, 3)) + 0.5).astype(np.float32)
_H23 = _rng.random((2, 3)).astype(np.float32)
_F33 = _rng.random((3, 3)).astype(np.float32)
_G33 = _rng.random((3, 3)).astype(np.float32)
_F3 = _rng.random(3).astype(np.float32)
_G3 = _rng.random(3).astype(np.float32)
_F223 = _rng.random((2, 2, 3)).astype(np.float32)
_F232 = _rng.random((2, 3, 2)).astype(np.float32)
_I23 = np.array([[1, 2, 3], [4, 5, 6]])
_J23 = np.array([[3, 1, 2], [1, 0, 2]])
_B23 = np.array([[True, False, True], [False, True, True]])
_C23 = np.array([[False, False, True], [True, True, False]])


def _samples(t) -> dict:
    """name -> (args, kwargs) of a valid call of ``t.<name>`` (``t``: gradlens_core or torch)."""

    def T(a):
        return t.tensor(a)

    f, g, h = T(_F23), T(_G23), T(_H23)
    m, n = T(_F33), T(_G33)
    v, w = T(_F3), T(_G3)
    i, j = T(_I23), T(_J23)
    b, c = T(_B23), T(_C23)
    unary = {k: ((f,), {}) for k in ("abs", "absolute", "ceil", "cos", "erf", "exp", "expm1", "floor", "log")}
    unary.update({k: ((f,), {}) for k in ("log1p", "neg", "reciprocal", "relu", "round", "sigmoid", "sign", "sin")})
    unary.update({k: ((f,), {}) for k in ("sqrt", "square", "tanh", "trunc", "isnan", "isinf", "isfinite")})
    binary = {k: ((f, g), {}) for k in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide")}
    binary.update({k: ((f, g), {}) for k in ("floor_divide", "fmod", "remainder", "atan2", "arctan2", "hypot")})
    binary.update({k: ((f, g), {}) for k in ("maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "less")})
    binary.update({k: ((f, g), {}) for k in ("less_equal", "greater", "greater_equal", "rsub", "allclose", "equal")})
    binary.update({k: ((f, g), {}) for k in ("isclose",)})
    bitwise = {k: ((i, j), {}) for k in ("bitwise_and", "bitwise_or", "bitwise_xor")}
    bitwise.update({k: ((i, j), {}) for k in ("bitwise_left_shift", "bitwise_right_shift")})
    return {
        **unary,
        **binary,
        **bitwise,
        "bitwise_not": ((i,), {}),
        "logical_and": ((b, c), {}),
        "logical_or": ((b, c), {}),
        "logical_not": ((b,), {}),
        "pow": ((f, 2), {}),
        "lerp": ((f, g, 0.25), {}),
        "addcmul": ((f, g, h), {"value": 0.5}),
        "addcdiv": ((f, g, h), {}),
        "clamp": ((f, 0.2, 0.6), {}),
        "clip": ((f, 0.2, 0.6), {}),
        "clamp_min": ((f, 0.4), {}),
        "clamp_max": ((f, 0.4), {}),
        "where": ((b, f, g), {}),
        "masked_fill": ((f, b, 1.5), {}),
        "masked_select": ((f, b), {}),
        "index_select": ((f, 1, t.tensor([2, 0])), {}),
        "bernoulli": ((f,), {}),
        # reductions
        "sum": ((f, 1), {}),
        "mean": ((f, 1), {}),
        "prod": ((g, 1), {}),
        "std": ((f, 1), {}),
        "var": ((f, 1), {}),
        "logsumexp": ((f, 1), {}),
        "norm": ((f,), {"dim": 1}),
        "amax": ((f, 1), {}),
        "amin": ((f, 1), {}),
        "argmax": ((f, 1), {}),
        "argmin": ((f, 1), {}),
        "all": ((b, 1), {}),
        "any": ((b, 1), {}),
        "max": ((f, 1), {}),
        "min": ((f, 1), {}),
        "median": ((f, 1), {}),
        "kthvalue": ((f, 2), {}),
        "sort": ((f,), {}),
        "argsort": ((f,), {"stable": True}),
        "topk": ((f, 2), {}),
        "cumsum": ((f, 1), {}),
        "cumprod": ((g, 1), {}),
        "nonzero": ((b,), {}),
        "argwhere": ((b,), {}),
        # products, joins, shapes
        "mm": ((m, n), {}),
        "matmul": ((m, n), {}),
        "addmm": ((m, m, n), {}),
        "bmm": ((T(_F223), T(_F232)), {}),
        "mv": ((m, v), {}),
        "dot": ((v, w), {}),
        "outer": ((v, w), {}),
        "cross": ((f, g, 1), {}),
        "cat": (([f, g],), {}),
        "concat": (([f, g],), {}),
        "stack": (([f, g],), {}),
        "softmax": ((f, 1), {}),
        "log_softmax": ((f, 1), {}),
        "tril": ((m,), {}),
        "triu": ((m,), {}),
        "diag": ((m,), {}),
        "flip": ((f, [0]), {}),
        "roll": ((f, 1), {}),
        "tile": ((f, (2,)), {}),
        "reshape": ((f, (3, 2)), {}),
        "flatten": ((f,), {}),
        "unflatten": ((f, 1, (3, 1)), {}),
        "permute": ((f, (1, 0)), {}),
        "transpose": ((f, 0, 1), {}),
        "t": ((f,), {}),
        "squeeze": ((f,), {}),
        "unsqueeze": ((f, 0), {}),
        "select": ((f, 0, 1), {}),
        "narrow": ((f, 1, 0, 2), {}),
        "chunk": ((f, 2), {}),
        "split": ((f, 1), {}),
        "unbind": ((f,), {}),
        "clone": ((f,), {}),
        "detach": ((f,), {}),
        # factories
        "zeros": ((2, 3), {}),
        "ones": ((2, 3), {}),
        "empty": ((2, 3), {}),
        "full": (((2, 3), 1.5), {}),
        "arange": ((5,), {}),
        "linspace": ((0, 1, 5), {}),
        "eye": ((3,), {}),
        "rand": ((2, 3), {}),
        "randn": ((2, 3), {}),
        "randint": ((5, (2, 3)), {}),
        "randperm": ((4,), {}),
        "zeros_like": ((f,), {}),
        "ones_like": ((f,), {}),
        "empty_like": ((f,), {}),
        "full_like": ((f, 1.5), {}),
        "rand_like": ((f,), {}),
        "randn_like": ((f,), {}),
        "tensor": (([1.0, 2.0],), {}),
        "as_tensor": (([1.0, 2.0],), {}),
        "from_numpy": ((np.ones(2),), {}),
        # the rest of the namespace
        "numel": ((f,), {}),
        "is_tensor": ((f,), {}),
        "is_floating_point": ((f,), {}),
        "promote_types": ((t.float32, t.int64), {}),
        "result_type": ((f, g), {}),
        "get_default_dtype": ((), {}),
        "is_grad_enabled": ((), {}),
        "is_anomaly_enabled": ((), {}),
        "manual_seed": ((0,), {}),
        "seed": ((), {}),
        "initial_seed": ((), {}),
        "get_rng_state": ((), {}),
        "set_rng_state": ((t.get_rng_state(),), {}),
        "set_printoptions": ((), {}),
        "set_warn_always": ((False,), {}),
        "is_warn_always_enabled": ((), {}),
        "is_inference_mode_enabled": ((), {}),
        # torch's function forms of in-place ops (none takes out=)
        **{k: ((f,), {}) for k in ("abs_", "ceil_", "cos_", "detach_", "erf_", "exp_", "expm1_", "floor_", "log_")},
        **{k: ((f,), {}) for k in ("neg_", "relu_", "round_", "sigmoid_", "sin_", "sqrt_", "tanh_", "zero_")},
        "clamp_": ((f, 0.2, 0.6), {}),
        "clip_": ((f, 0.2, 0.6), {}),
        "clamp_min_": ((f, 0.4), {}),
        "clamp_max_": ((f, 0.4), {}),
        "fill": ((f, 1.5), {}),
        "fill_": ((f, 1.5), {}),
        "index_put_": ((f, (t.tensor([0]),), t.tensor(1.5)), {}),
        # _more_functions
        **{k: ((f,), {}) for k in ("sinh", "cosh", "asin", "acos", "tan", "exp2", "frac", "logit", "nan_to_num")},
        **{k: ((f,), {}) for k in ("atleast_1d", "atleast_2d", "atleast_3d", "rot90", "diff", "count_nonzero")},
        **{k: ((f,), {}) for k in ("sinh_", "cosh_", "asin_", "acos_", "arcsin_", "arccos_", "tan_", "exp2_")},
        **{k: ((f,), {}) for k in ("frac_", "logit_", "nan_to_num_", "reciprocal_", "square_")},
        "float_power": ((f, 2), {}),
        "logical_xor": ((b, c), {}),
        "can_cast": ((t.float32, t.int64), {}),
        "set_default_dtype": ((t.float32,), {}),
        "normal": ((2.0, 3.0, (2, 3)), {}),
        "broadcast_to": ((v, (2, 3)), {}),
        "broadcast_tensors": ((f, v), {}),
        **{k: (([f, g],), {}) for k in ("vstack", "hstack", "dstack", "column_stack")},
        "swapaxes": ((f, 0, 1), {}),
        "swapdims": ((f, 0, 1), {}),
        "tensor_split": ((f, 2), {}),
        "split_with_sizes": ((f, [1, 1]), {}),
        "kron": ((f, g), {}),
        "tensordot": ((f, g.t()), {"dims": 1}),
        "std_mean": ((f, 1), {}),
        "var_mean": ((f, 1), {}),
        "aminmax": ((f,), {"dim": 1}),
        "cummax": ((f, 1), {}),
        "cummin": ((f, 1), {}),
        "baddbmm": ((T(_F223[:, :, :2]), T(_F223), T(_F232)), {}),
        "addmv": ((T(_F3), m, v), {}),
        "is_nonzero": ((T([1.5]),), {}),
        # index ops and composites (tests/test_autograd_extras.py)
        "take": ((f, t.tensor([0, 4])), {}),
        "put": ((f, t.tensor([0, 4]), t.tensor([1.0, 2.0])), {}),
        "index_fill": ((f, 1, t.tensor([0]), 1.5), {}),
        "index_copy": ((f, 1, t.tensor([0]), t.tensor([[1.0], [2.0]])), {}),
        "masked_scatter": ((f, b, g), {}),
        "block_diag": ((f, g), {}),
        "bucketize": ((f, t.tensor([0.2, 0.5])), {}),
        "searchsorted": ((t.tensor([0.2, 0.5]), f), {}),
        "cartesian_prod": ((v, w), {}),
        "combinations": ((v,), {}),
        "histc": ((f,), {"bins": 4}),
        "msort": ((f,), {}),
        "renorm": ((f, 2, 0, 0.5), {}),
        "trapezoid": ((f,), {}),
        "trapz": ((f,), {}),
        "multinomial": ((T(_F23).abs() + 0.1, 2), {}),
        "save": ((f, io.BytesIO()), {}),
        "load": ((_saved_file(t),), {}),
        **{k: ((f,), {}) for k in ("log2", "log10", "atan", "rsqrt", "log2_", "log10_", "atan_", "rsqrt_")},
        **{k: ((f,), {}) for k in ("arctan", "arctan_")},
        "gather": ((f, 1, t.tensor([[2, 0], [1, 1]])), {}),
        "scatter": ((f, 1, t.tensor([[2, 0], [1, 1]]), g), {}),
        "scatter_add": ((f, 1, t.tensor([[2, 0], [1, 1]]), g), {}),
        "index_add": ((f, 1, t.tensor([2, 0]), g[:, :2]), {}),
        "diagonal": ((m,), {}),
        "movedim": ((f, 0, 1), {}),
        "moveaxis": ((f, 0, 1), {}),
        "meshgrid": ((v, w), {"indexing": "ij"}),
        "unique": ((i,), {}),
        "bincount": ((t.tensor([0, 2, 2]),), {}),
        "einsum": (("ij,kj->ik", f, g), {}),
    }


def _saved_file(t) -> str:
    """A file ``t.save`` wrote (a path: each call of ``load`` reads it afresh)."""
    path = os.path.join(tempfile.gettempdir(), f"test_out_load_{t.__name__}_{os.getpid()}.pt")
    t.save(t.ones(2), path)
    return path


# the functions with a second sample: other overloads of the same name
_OVERLOADS = {
    "sum:all": ("sum", lambda t: ((t.tensor(_F23),), {})),
    "mean:all": ("mean", lambda t: ((t.tensor(_F23),), {})),
    "prod:all": ("prod", lambda t: ((t.tensor(_F23),), {})),
    "max:all": ("max", lambda t: ((t.tensor(_F23),), {})),
    "max:other": ("max", lambda t: ((t.tensor(_F23), t.tensor(_G23)), {})),
    "min:other": ("min", lambda t: ((t.tensor(_F23), t.tensor(_G23)), {})),
    "median:all": ("median", lambda t: ((t.tensor(_F23),), {})),
    "argsort:unstable": ("argsort", lambda t: ((t.tensor(_F23),), {})),
    "argmax:all": ("argmax", lambda t: ((t.tensor(_F23),), {})),
    "std:all": ("std", lambda t: ((t.tensor(_F23),), {})),
    "div:floor": ("div", lambda t: ((t.tensor(_F23), 0.3), {"rounding_mode": "floor"})),
    "round:decimals": ("round", lambda t: ((t.tensor(_F23),), {"decimals": 1})),
    "matmul:1d": ("matmul", lambda t: ((t.tensor(_F3), t.tensor(_G3)), {})),
    "matmul:batched": ("matmul", lambda t: ((t.tensor(_F223), t.tensor(_F33)), {})),
    "where:scalar": ("where", lambda t: ((t.tensor(_B23), t.tensor(_F23), t.tensor(_G23)), {})),
    "add:number": ("add", lambda t: ((2, t.tensor(_F23)), {"alpha": 3})),
    "add:int": ("add", lambda t: ((t.tensor(_I23), t.tensor(_J23)), {})),
    "exp:int": ("exp", lambda t: ((t.tensor(_I23),), {})),
    "sum:int": ("sum", lambda t: ((t.tensor(_I23), 0), {})),
    "cumsum:int": ("cumsum", lambda t: ((t.tensor(_I23), 0), {})),
    "mean:dtype": ("mean", lambda t: ((t.tensor(_F23), 1), {"dtype": t.float64})),
    "zeros:dtype": ("zeros", lambda t: ((3,), {"dtype": t.float64})),
    "arange:float": ("arange", lambda t: ((0.5, 3), {})),
    "full:int": ("full", lambda t: (((2,), 7), {})),
    "clamp:tensor": ("clamp", lambda t: ((t.tensor(_F23), t.tensor(_H23)), {})),
}

_NOT_IN_TORCH = {"subscribe"}
# functions that take no out= whose refusal PyTorch's parser words itself (it lists their
# signatures); gradlens_core's function refuses the keyword as Python does
_PARSER_WORDED = {
    "narrow",
    "rand_like",
    "randn_like",
    "result_type",
    "rsub",
    "count_nonzero",
    "std_mean",
    "var_mean",
    "tensor_split",
    "index_fill",
    "trapezoid",
    "trapz",
}
_RANDOM = {"rand", "randn", "randint", "randperm", "bernoulli"}


def _namespace() -> list:
    """The public functions of gradlens_core's namespace."""
    found = []
    for name in dir(gradlens_core):
        obj = getattr(gradlens_core, name)
        if name.startswith("_") or not callable(obj) or isinstance(obj, (type, types.ModuleType)):
            continue
        found.append(name)
    return sorted(found)


def _cases() -> list:
    return sorted(_out.OUT) + sorted(_OVERLOADS)


def _sample(name: str):
    if name in _OVERLOADS:
        return _OVERLOADS[name]
    return name, lambda t: _samples(t)[name]


# ----------------------------------------------------------------------------- what a user sees


def _seen(t, x):
    """What a print of ``x`` shows (plus the metadata the tests compare), module-neutral."""
    if isinstance(x, t.Tensor):
        values = x.detach().numpy().copy()
        return {
            "dtype": str(x.dtype),
            "shape": tuple(x.shape),
            "stride": tuple(x.stride()),
            "values": values,
            "version": x._version,
            "requires_grad": x.requires_grad,
            "grad_fn": None if x.grad_fn is None else type(x.grad_fn).__name__,
        }
    if isinstance(x, tuple):
        return {"type": type(x).__name__, "items": [_seen(t, e) for e in x]}
    return repr(x)


def _run(t, program):
    """(outcome, warnings) of ``program(t)``: its return value as seen, or its error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = ("ok", _seen(t, program(t)))
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            outcome = ("error", type(e).__name__, str(e))
    # (a ResourceWarning is the collector finalising some earlier test's socket, not the program's)
    said = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    return outcome, [(w.category.__name__, str(w.message).split(" (Triggered internally")[0]) for w in said]


def _assert_same(a, b, where=""):
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: {a.keys()} != {b.keys()}"
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for k, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a!r} != {b!r}"
        # (the last bits of a float may differ: a reduction into a half out is partly computed
        # in half by PyTorch, see the README's known differences)
        tol = 1e-3 if a.dtype == np.float16 else 1e-6
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol / 10, equal_nan=True, err_msg=where)
    else:
        assert a == b, f"{where}: gradlens_core {a!r} != torch {b!r}"


def _compare(program, values=True):
    """Run ``program`` under gradlens_core and torch: same outcome, same warnings (and the
    same values unless ``values`` is False: ``empty``'s are whatever was in memory)."""
    gradlens_core.manual_seed(0)
    got = _run(gradlens_core, program)
    torch.manual_seed(0)
    want = _run(torch, program)
    if not values:
        got, want = _without_values(got), _without_values(want)
    _assert_same(got, want, "outcome")


def _without_values(x):
    if isinstance(x, dict):
        return {k: _without_values(v) for k, v in x.items() if k != "values"}
    if isinstance(x, (list, tuple)):
        return type(x)(_without_values(v) for v in x)
    return x


def _result_of(name, sample):
    """torch's ordinary result of the sample call (for the outs' shapes and dtypes)."""
    args, kwargs = sample(torch)
    torch.manual_seed(0)
    return getattr(torch, name)(*args, **kwargs)


def _outs(t, result, dtype=None, shape=None, requires_grad=False, layout=None):
    """Fresh outs for ``result`` (a tensor or a pair) in module ``t``: its dtype and shape unless given."""

    def one(r, first):
        dt = getattr(t, str(dtype or r.dtype).split(".")[-1])
        size = tuple(r.shape) if shape is None else shape
        if layout == "transposed" and len(size) == 2:
            return t.zeros(size[::-1], dtype=dt).t()
        o = t.zeros(size, dtype=dt)
        return o.requires_grad_() if requires_grad and first else o

    if isinstance(result, tuple):
        return tuple(one(r, k == 0) for k, r in enumerate(result))
    return one(result, True)


# ----------------------------------------------------------------------------- the table


def test_every_function_has_a_sample():
    assert set(_namespace()) - _NOT_IN_TORCH <= set(_samples(gradlens_core))


# functions PyTorch gives out= that gradlens_core does not take it for yet (README: known gaps)
_OUT_MISSING = {"take", "index_copy", "msort", "renorm", "searchsorted", "bucketize", "histc", "multinomial"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="out= not taken yet")) if n in _OUT_MISSING else n
        for n in sorted(set(_namespace()) - _NOT_IN_TORCH)
    ],
)
def test_table_lists_the_functions_torch_gives_out(name):
    """``OUT`` holds exactly the functions whose sample call torch takes with ``out=``; the
    others refuse it as torch does."""
    args, kwargs = _samples(torch)[name]
    result = getattr(torch, name)(*args, **kwargs)
    try:
        out = _outs(torch, result) if isinstance(result, (torch.Tensor, tuple)) else torch.zeros(0)
        getattr(torch, name)(*args, **kwargs, out=out)
        takes_out = True
    except TypeError as e:
        takes_out = False
        refusal = str(e)
    assert (name in _out.OUT) == takes_out
    if not takes_out:
        g_args, g_kwargs = _samples(gradlens_core)[name]
        with pytest.raises(TypeError) as info:
            getattr(gradlens_core, name)(*g_args, **g_kwargs, out=gradlens_core.zeros(0))
        got = str(info.value)
        if name in _PARSER_WORDED:
            assert refusal.startswith(f"{name}() received an invalid combination of arguments")
            assert got == f"{name}() got an unexpected keyword argument 'out'"
        elif "takes no keyword arguments" not in refusal:  # (a C function of torch's: no Python text)
            # (the parser's "didn't match because ..." notes under each signature are not replayed)
            assert got.splitlines()[0] == refusal.splitlines()[0]


# ----------------------------------------------------------------------------- the writes


_DTYPES = ("float32", "float64", "float16", "int64", "int32", "uint8", "bool")


@pytest.mark.parametrize("case", _cases())
def test_out_of_each_kind(case):
    """Empty, right-shaped, wrongly shaped (a warning), non-contiguous outs and each dtype."""
    name, sample = _sample(case)
    result = _result_of(name, sample)
    kinds = [{}, {"shape": (0,)}, {"shape": (7,)}, {"layout": "transposed"}] + [{"dtype": d} for d in _DTYPES]
    if name == "bernoulli":  # (its draws go in C order, PyTorch's in the order of out's memory)
        kinds.remove({"layout": "transposed"})
    for kind in kinds:

        def program(t, kind=kind):
            args, kwargs = sample(t)
            out = _outs(t, result, **kind)
            got = getattr(t, name)(*args, **kwargs, out=out)
            same = all(x is y for x, y in zip(got, out)) if isinstance(out, tuple) else got is out
            return (same, out, got)

        _compare(program, values=name != "empty")


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("who", ["input", "out", "both_no_grad", "input_no_grad"])
def test_autograd_refuses_out(case, who):
    """An argument that requires grad: refused (with the op's name as torch gives it), or a
    NotImplemented node for ops without an autograd kernel; nothing under no_grad."""
    name, sample = _sample(case)
    result = _result_of(name, sample)

    def program(t):
        args, kwargs = sample(t)
        if who != "out":
            args = tuple(_requiring_grad(t, a) for a in args)
        out = _outs(t, result, requires_grad=who in ("out", "both_no_grad"), dtype=_float_first(t, result, who))
        if who.endswith("no_grad"):
            with t.no_grad():
                got = getattr(t, name)(*args, **kwargs, out=out)
        else:
            got = getattr(t, name)(*args, **kwargs, out=out)
        return (got, out)

    _compare(program)


def _requiring_grad(t, a):
    if isinstance(a, t.Tensor) and a.is_floating_point():
        return a.detach().requires_grad_()
    if isinstance(a, list):
        return [_requiring_grad(t, x) for x in a]
    return a


def _float_first(t, result, who):
    """An out that must require grad must be of a float dtype."""
    first = result[0] if isinstance(result, tuple) else result
    if who in ("out", "both_no_grad") and not first.is_floating_point():
        return "float32" if not isinstance(result, tuple) else None
    return None


def _aliasing_cases() -> list:
    """(case, alias) pairs that can alias: a result with elements to overlap (expanded), and for
    "full" and "partial" one shaped and typed as the first input (chosen when collected, so
    nothing is skipped)."""
    pairs = []
    for case in _cases():
        name, sample = _sample(case)
        result = _result_of(name, sample)
        if isinstance(result, tuple) or result.dim() == 0:
            continue
        args0, _ = sample(torch)
        first = args0[0][0] if isinstance(args0[0], list) else args0[0]
        like_first = isinstance(first, torch.Tensor) and first.shape == result.shape and first.dtype == result.dtype
        pairs += [(case, alias) for alias in ("expanded", "full", "partial") if alias == "expanded" or like_first]
    return pairs


@pytest.mark.parametrize(("case", "alias"), _aliasing_cases())
def test_out_sharing_memory(case, alias):
    """An out whose elements overlap (expanded), that is an input, or that partly overlaps one."""
    name, sample = _sample(case)
    result = _result_of(name, sample)

    def program(t):
        args, kwargs = sample(t)
        head = args[0][0] if isinstance(args[0], list) else args[0]
        if alias == "expanded":
            out = t.zeros(1, dtype=getattr(t, str(result.dtype).split(".")[-1])).expand(tuple(result.shape))
            new = args
        elif alias == "full":
            out = head.clone()
            new = _replace_first(args, out)
        else:
            storage = t.zeros(head.numel() + 1, dtype=head.dtype)
            storage[:-1] = head.flatten()
            new = _replace_first(args, storage[:-1].view(head.shape))
            out = storage[1:].view(head.shape)
        got = getattr(t, name)(*new, **kwargs, out=out)
        return (got, out)

    _compare(program, values=case not in _UNSPECIFIED[alias])


# Where PyTorch writes what its kernel happens to leave, not the op's result (the same errors,
# versions and shapes are still compared): a kernel that reads an input while writing the out
# it aliases, and a reduction into an expanded out, which TensorIterator reduces over the
# expanded dims too (it reads stride 0 as a reduced dim). gradlens_core writes the op's result.
_READS_WHAT_IT_WROTE = {
    "mm",
    "matmul",
    "addmm",
    "bmm",
    "matmul:batched",
    "bernoulli",
    "tril",
    "triu",
    "softmax",
    "log_softmax",
}
_UNSPECIFIED = {
    "expanded": {"sum", "sum:int", "prod", "std", "var", "norm", "argmax", "argmin", "tril", "triu", "randperm"},
    "full": _READS_WHAT_IT_WROTE,
    "partial": _READS_WHAT_IT_WROTE,
}


def _replace_first(args, new):
    if isinstance(args[0], list):
        return ([new, *args[0][1:]], *args[1:])
    return (new, *args[1:])


_WRONG_OUTS = {
    "int": lambda t, r: 3,
    "float": lambda t, r: 3.5,
    "bool": lambda t, r: True,
    "str": lambda t, r: "out",
    "list": lambda t, r: [_outs(t, r)] if not isinstance(r, tuple) else list(_outs(t, r)),
    "one": lambda t, r: (_outs(t, r[0] if isinstance(r, tuple) else r),),
    "three": lambda t, r: (t.zeros(0),) * 3,
    "number_element": lambda t, r: (t.zeros(0), 3),
    "tensor_for_pair": lambda t, r: t.zeros(0),
    "none": lambda t, r: None,
}


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("wrong", sorted(_WRONG_OUTS))
def test_wrong_out_types(case, wrong):
    """PyTorch's argument parser and its checks of a tuple ``out``: the same TypeError."""
    name, sample = _sample(case)
    result = _result_of(name, sample)

    def program(t):
        args, kwargs = sample(t)
        return getattr(t, name)(*args, **kwargs, out=_WRONG_OUTS[wrong](t, result))

    _compare(program, values=name != "empty")


# ----------------------------------------------------------------------------- semantics, one by one


def test_views_of_out_see_the_write_and_share_its_version():
    def program(t):
        base = t.zeros(2, 3)
        view = base[1]
        t.mul(t.ones(3), 2, out=view)
        return base, view, base._version

    _compare(program)


def test_resized_view_keeps_its_storage():
    """A resize within the storage keeps it: the base sees the write (with the warning)."""

    def program(t):
        base = t.zeros(6)
        view = base[1:5]
        t.add(t.ones(3), 1, out=view)
        return base, view

    _compare(program)


def test_out_equal_to_none_is_an_ordinary_call():
    def program(t):
        return t.add(t.ones(2), 1, out=None)

    _compare(program)


_MISSING_WITH_OUT = {
    "add": lambda t: t.add(t.ones(2), out=t.ones(2)),
    "add_other_by_keyword": lambda t: t.add(other=t.ones(2), out=t.ones(2)),
    "addcmul": lambda t: t.addcmul(t.ones(2), t.ones(2), out=t.ones(2)),
    "div_rounding": lambda t: t.div(t.ones(2), rounding_mode="floor", out=t.ones(2)),
    "round": lambda t: t.round(out=t.ones(2)),
    "exp": lambda t: t.exp(out=t.ones(2)),
    "clamp": lambda t: t.clamp(out=t.ones(2)),
}


@pytest.mark.parametrize("case", sorted(_MISSING_WITH_OUT))
def test_a_missing_argument_with_out_gets_the_parsers_text(case):
    """A call with ``out=`` that leaves an argument out is refused as PyTorch's parser
    refuses it (``out`` among the keywords it lists)."""
    program = _MISSING_WITH_OUT[case]
    with pytest.raises(TypeError) as expected:
        program(torch)
    with pytest.raises(TypeError) as got:
        program(gradlens_core)
    assert str(got.value) == str(expected.value)


def test_tensor_methods_take_no_out():
    x = gradlens_core.ones(2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
        x.add(x, out=gradlens_core.zeros(0))


def test_the_warning_names_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlens_core.add(gradlens_core.ones(3), 1, out=gradlens_core.zeros(2))  # this line
    (w,) = caught
    assert w.filename == __file__ and w.category is UserWarning


def test_warnings_of_wrapped_ops_name_the_callers_line():
    """The wrapper is one more frame between the user and an op that warns (PyTorch's C++
    warnings name the Python line that called torch)."""
    from gradlens_core import _warn

    given = set(_warn._given)  # (cross's warning is given once per process: the others' count)
    gradlens_core.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gradlens_core.var(gradlens_core.ones(1))
            gradlens_core.ones(1).var()
            gradlens_core.cross(gradlens_core.ones(3), gradlens_core.ones(3))
    finally:
        gradlens_core.set_warn_always(False)
        _warn._given.intersection_update(given)
    assert [w.filename for w in caught] == [__file__] * 3
    assert caught[0].lineno + 1 == caught[1].lineno == caught[2].lineno - 1


def test_out_is_reported_as_an_in_place_edit():
    """Listeners see the write as a mutation of ``out`` by its inputs, and nothing of the
    temporary result."""
    seen = []
    a, b, o = gradlens_core.ones(3), gradlens_core.ones(3), gradlens_core.zeros(3)
    with gradlens_core.subscribe(lambda kind, payload: seen.append((kind, payload))):
        gradlens_core.add(a, b, out=o)
    ((kind, payload),) = seen
    assert kind == "mutated" and payload["tensor"] is o and payload["op"] == "add(out=)"
    assert (payload["old_version"], payload["new_version"]) == (0, 1)
    assert payload["inputs"] == (a, b)


def test_out_mutes_only_its_own_thread():
    """The temporary result's events are muted in the writing thread alone (``_events.muted``):
    another thread's ops are reported meanwhile, and the thread's own afterwards."""
    import threading

    from gradlens_core import _events

    seen = []
    with gradlens_core.subscribe(lambda kind, payload: seen.append((kind, payload["tensor"].shape))):
        with _events.muted():
            gradlens_core.ones(2)
            other = threading.Thread(target=gradlens_core.ones, args=(3,))
            other.start()
            other.join()
        gradlens_core.ones(4)
    assert seen == [("created", (3,)), ("created", (4,))]


def test_gradlens_sees_an_out_that_breaks_backward():
    import gradlens

    with gradlens.trace() as tr:
        w = gradlens_core.ones(3, requires_grad=True)
        y = w.exp()  # saves its result
        with gradlens_core.no_grad():
            gradlens_core.add(w, 1, out=y)
    (hazard,) = tr.hazards()
    assert hazard.kind == "breaks_backward" and "out=y" in hazard.message


def test_gradlens_sees_an_out_through_data():
    import gradlens

    with gradlens.trace() as tr:
        w = gradlens_core.ones(3, requires_grad=True)
        y = w.exp()
        gradlens_core.mul(w.detach(), 2, out=y.data)
    (hazard,) = tr.hazards()
    assert hazard.kind == "silent_wrong_grad"


def test_calls_without_out_do_not_pay_for_it():
    """The wrapper of a function without ``out`` calls the op with the same arguments."""
    import dis

    code = gradlens_core.add.__code__
    assert code.co_filename.endswith("<out=>")
    calls = [i for i in dis.get_instructions(code) if i.opname in ("CALL", "CALL_FUNCTION_EX", "CALL_FUNCTION_KW")]
    assert len(calls) == 3  # the op without keywords, the op with them, and the write

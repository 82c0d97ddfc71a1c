"""Calls Python could not bind, against real PyTorch: the in-place methods and torch's functions
of them called with no argument, too many, an unknown keyword or the tensor as ``input=``
give PyTorch's argument-parser texts (or CPython's METH_NOARGS ones for a method of the tensor
alone), and torch's function forms of in-place ops exist where torch has them.
"""

from __future__ import annotations

import warnings

import pytest

import gradlens_core

# every in-place method of gradlens_core's Tensor
INPLACE = sorted(n for n in dir(gradlens_core.Tensor) if n.endswith("_") and not n.startswith("_"))
# the ones defined on the Tensor class itself (not yet made to replay the parser)
INPLACE_LEFT = {"detach_", "requires_grad_"}


def _x(t):
    return t.tensor([0.5, 1.5])


def _outcome(call, *args):
    """``call(*args)``'s error, class and whole message ("ok" if it ran)."""
    try:
        call(*args)
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return f"{type(e).__name__}: {e}"
    return "ok"


BAD_METHOD_CALLS = {
    "none": lambda t, f: f(),
    "four": lambda t, f: f(_x(t), _x(t), _x(t), _x(t)),
    "five": lambda t, f: f(_x(t), _x(t), _x(t), _x(t), _x(t)),
    "keyword": lambda t, f: f(foo=1),
    "tensor_keyword": lambda t, f: f(_x(t), foo=1),
    "number_keyword": lambda t, f: f(1, foo=1),
    "two_numbers": lambda t, f: f(1, 2),  # add_(alpha, other), a deprecated overload
}


@pytest.mark.parametrize("name", sorted(set(INPLACE) - INPLACE_LEFT))
def test_inplace_method_bad_calls_match_torch(name, torch):
    def outcomes(t):
        return {k: _outcome(call, t, getattr(_x(t), name)) for k, call in BAD_METHOD_CALLS.items()}

    assert outcomes(gradlens_core) == outcomes(torch)


def test_torch_has_the_function_forms_torch_has():
    torch = pytest.importorskip("torch")
    assert [n for n in INPLACE if hasattr(torch, n) != hasattr(gradlens_core, n)] == []


FUNCTIONS = [n for n in INPLACE if hasattr(gradlens_core, n)]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_inplace_function_forms_work_as_the_methods(name, torch):
    args = {"clamp_": (0.6,), "clip_": (0.6, 1.0), "clamp_min_": (0.6,), "clamp_max_": (0.6,), "fill_": (2.0,)}
    args["round_"] = ()

    def run(t, function):
        x = t.tensor([0.5, -1.5, 2.25], requires_grad=True) * 1
        extra = args.get(name, ())
        if name == "index_put_":
            extra = ((t.tensor([0, 2]),), t.tensor(4.0))
        r = getattr(t, name)(x, *extra) if function else getattr(x, name)(*extra)
        values = [round(v, 5) for v in x.tolist()]  # (exp's, tanh's last bits are MKL's in torch)
        return [r is x, repr(values), str(x.dtype), x._version, None if x.grad_fn is None else type(x.grad_fn).__name__]

    assert run(gradlens_core, True) == run(torch, True)
    assert run(gradlens_core, True) == run(gradlens_core, False)


BAD_FUNCTION_CALLS = {
    "none": lambda t, f: f(),
    "input_keyword": lambda t, f: f(input=_x(t)),
    "self_keyword": lambda t, f: f(self=_x(t)),
    "extra": lambda t, f: f(_x(t), 1, 2, 3),
    "keyword": lambda t, f: f(_x(t), foo=1),
    "list": lambda t, f: f([1.0]),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_inplace_function_bad_calls_match_torch(name, torch):
    def outcomes(t):
        return {k: _outcome(call, t, getattr(t, name)) for k, call in BAD_FUNCTION_CALLS.items()}

    assert outcomes(gradlens_core) == outcomes(torch)


KEYWORD_CALLS = {
    "clamp_min_": lambda t: t.clamp_min_(input=_x(t), min=1.0),
    "clamp_max_": lambda t: t.clamp_max_(input=_x(t), max=1.0),
    "fill_": lambda t: t.fill_(input=_x(t), value=3.0),
    "fill_value_keyword_first": lambda t: t.fill_(value=3.0, input=_x(t)),
    "clamp_": lambda t: t.clamp_(input=_x(t), min=1.0, max=1.2),
    "round_decimals": lambda t: t.round_(input=_x(t), decimals=1),
    "index_put_": lambda t: t.index_put_(input=_x(t), indices=(t.tensor([1]),), values=t.tensor(2.0)),
    "index_put_accumulate": lambda t: _x(t).index_put_((t.tensor([1]),), t.tensor(2.0), accumulate=True),
    "index_put_accumulate_int": lambda t: _x(t).index_put_((t.tensor([1]),), t.tensor(2.0), 1),
    "index_put_values_float": lambda t: _x(t).index_put_((t.tensor([1]),), 2.0),
    "copy_number": lambda t: _x(t).copy_(2),
    "copy_list": lambda t: _x(t).copy_([2.0, 3.0]),
    "copy_non_blocking_int": lambda t: _x(t).copy_(_x(t), 1),
    "copy_keyword_non_blocking_int": lambda t: _x(t).copy_(_x(t), non_blocking=1),
    "uniform_from_keyword": lambda t: _x(t).uniform_(**{"from": 2.0, "to": 3.0}).shape,
    "uniform_tensor": lambda t: _x(t).uniform_(_x(t)),
    "normal_generator_int": lambda t: _x(t).normal_(generator=1),
    "bernoulli_list": lambda t: _x(t).bernoulli_([0.5]),
    "mul_missing_keyword_first": lambda t: _x(t).masked_fill_(value=1.0),
    "addcmul_tensor2_keyword": lambda t: _x(t).addcmul_(tensor2=_x(t)),
}


@pytest.mark.parametrize("name", KEYWORD_CALLS)
def test_keyword_calls_match_torch(name, torch):
    def run(t):
        try:
            r = KEYWORD_CALLS[name](t)
        except Exception as e:  # noqa: BLE001 - compared with torch's
            return f"{type(e).__name__}: {e}"
        return repr(r.tolist() if hasattr(r, "tolist") else r)

    assert run(gradlens_core) == run(torch)


DEPRECATED = {
    "add_": lambda x, y: x.add_(2, y),
    "sub_": lambda x, y: x.sub_(2, y),
    "add__numbers": lambda x, y: x.add_(2, 3),
    "addcmul_": lambda x, y: x.addcmul_(2, y, y),
    "addcdiv_": lambda x, y: x.addcdiv_(0.5, y, y),
}


@pytest.mark.parametrize("name", DEPRECATED)
def test_deprecated_overloads_run_and_warn_as_torch(name, torch):
    def run(t):
        t.set_warn_always(True)  # (the warning is given once per process otherwise)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                x = t.tensor([1.0, 2.0], requires_grad=True) * 1
                DEPRECATED[name](x, t.tensor([3.0, 4.0]))
        finally:
            t.set_warn_always(False)
        messages = [str(w.message).split(" (Triggered internally")[0] for w in caught]
        return x.tolist(), x._version, type(x.grad_fn).__name__, messages

    assert run(gradlens_core) == run(torch)


def _m(t):
    return t.tensor([[0.5, -1.5], [2.0, 3.0]])


# torch's functions called with their tensor as ``input=`` (and the rest by keyword too)
INPUT_KEYWORD = {
    "add": lambda t: t.add(input=_m(t), other=_m(t)),
    "sum": lambda t: t.sum(input=_m(t), dim=0),
    "abs": lambda t: t.abs(input=_m(t)),
    "clamp": lambda t: t.clamp(input=_m(t), min=0.0),
    "chunk": lambda t: t.chunk(input=_m(t), chunks=2),
    "dot": lambda t: t.dot(input=t.ones(2), tensor=t.ones(2)),
    "flatten": lambda t: t.flatten(input=_m(t)),
    "index_select": lambda t: t.index_select(input=_m(t), dim=0, index=t.tensor([1])),
    "narrow": lambda t: t.narrow(input=_m(t), dim=0, start=0, length=1),
    "permute": lambda t: t.permute(input=_m(t), dims=(1, 0)),
    "select": lambda t: t.select(input=_m(t), dim=0, index=1),
    "squeeze": lambda t: t.squeeze(input=_m(t)),
    "t": lambda t: t.t(input=_m(t)),
    "tile": lambda t: t.tile(input=_m(t), dims=(2,)),
    "transpose": lambda t: t.transpose(input=_m(t), dim0=0, dim1=1),
    "unbind": lambda t: t.unbind(input=_m(t)),
    "unflatten": lambda t: t.unflatten(input=_m(t), dim=0, sizes=(2, 1)),
    "unsqueeze": lambda t: t.unsqueeze(input=_m(t), dim=0),
    "split": lambda t: t.split(tensor=_m(t), split_size_or_sections=1),
    "split_input": lambda t: t.split(input=_m(t), split_size_or_sections=1),
    "permute_ints": lambda t: t.permute(_m(t), 1, 0),
    "tile_int": lambda t: t.tile(_m(t), 2),
    "exp_list": lambda t: t.exp([1.0]),
    "exp_none": lambda t: t.exp(),
    "exp_two": lambda t: t.exp(_m(t), _m(t)),
    "neg_two": lambda t: t.neg(_m(t), 1),
    "clip_none": lambda t: t.clip(),
    "round_three": lambda t: t.round(_m(t), 1, 2),
    "mul_none": lambda t: t.mul(_m(t)),
    "add_alpha_first": lambda t: t.add(_m(t), 2, _m(t)),
    "fmod_three": lambda t: t.fmod(_m(t), 1, 2),
    "hypot_none": lambda t: t.hypot(),
    "method_exp_args": lambda t: _m(t).exp(1, 2),  # CPython names x.exp's class TensorBase
    "method_exp__keyword": lambda t: _m(t).exp_(foo=1),
    "bound_method_exp_": lambda t: (lambda f: f(1))(_m(t).exp_),  # a bound method: self's type
    "method_round_args": lambda t: _m(t).round(1),
    "method_add_keyword": lambda t: _m(t).add(_m(t), foo=1),
    "method_div_none": lambda t: _m(t).div(),
    "method_remainder_three": lambda t: _m(t).remainder(1, 2, 3),
    "method_addcmul_value_first": lambda t: _m(t).addcmul(2, _m(t), _m(t)),
}


@pytest.mark.filterwarnings("ignore:This overload")
@pytest.mark.parametrize("name", INPUT_KEYWORD)
def test_function_calls_by_keyword_and_bad_calls_match_torch(name, torch):
    def run(t):
        try:
            r = INPUT_KEYWORD[name](t)
        except Exception as e:  # noqa: BLE001 - compared with torch's
            return f"{type(e).__name__}: {e}"
        return repr([x.tolist() for x in r] if isinstance(r, (tuple, list)) else r.tolist())

    assert run(gradlens_core) == run(torch)

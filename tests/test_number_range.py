"""A Python number written into a tensor of a dtype that cannot hold it, against real PyTorch.

PyTorch converts a Scalar argument with c10::checked_convert: ``fill_``, ``full``,
``masked_fill``, clamp's bounds, add's ``alpha``, ``where``'s number, ``x[i] = v``,
``torch.tensor(v, dtype=...)``, ``pow``'s exponent, ... refuse a number out of the dtype's
range ("value cannot be converted to type int8_t without overflow"), while the wrapped number
of a binary op (``x + 300``) wraps. Each op runs over the same numbers near every dtype's
limits; its result (values and dtype) or its error (class and first sentence) must be torch's.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
NUMBERS = [
    *(True, 2, -1, 127, 128, -129, 255, 256, -255, -256, 32768, 2**31, -(2**31) - 1, 65504, 65505),
    *(2**63 - 1, 2**63, -(2**63), 2**64, -(2**63) - 1),
    *(2.5, -0.5, -1.0, 127.9, 255.5, 65504.0, 65519.0, 65520.0, 3.4028234663852886e38, 3.5e38, -3.5e38),
    *(9.3e18, 2.0**63, float("inf"), float("-inf"), float("nan"), 1e300, np.int64(300), np.float64(1e39)),
]


def _mask(t):
    return t.tensor([True, False])


def _setitem(key):
    def program(t, x, v):
        x[key(t) if callable(key) else key] = v
        return x

    return program


OPS = {
    "fill_": lambda t, x, v: x.fill_(v),
    "torch.fill_": lambda t, x, v: t.fill_(x, v),
    "torch.fill": lambda t, x, v: t.fill(x, v),
    "masked_fill": lambda t, x, v: x.masked_fill(_mask(t), v),
    "masked_fill_": lambda t, x, v: x.masked_fill_(_mask(t), v),
    "full": lambda t, x, v: t.full((2,), v, dtype=x.dtype),
    "full_default_dtype": lambda t, x, v: t.full((2,), v),
    "full_like": lambda t, x, v: t.full_like(x, v),
    "new_full": lambda t, x, v: x.new_full((2,), v),
    "clamp_min_number": lambda t, x, v: x.clamp(v),
    "clamp_max_number": lambda t, x, v: x.clamp(max=v),
    "clamp_both": lambda t, x, v: t.clamp(x, 0, v),
    "clamp_": lambda t, x, v: x.clamp_(v),
    "clamp_min": lambda t, x, v: x.clamp_min(v),
    "clamp_min_": lambda t, x, v: x.clamp_min_(v),
    "clamp_max_": lambda t, x, v: x.clamp_max_(v),
    "add_alpha": lambda t, x, v: x.add(t.ones_like(x), alpha=v),
    "add__alpha": lambda t, x, v: x.add_(t.ones_like(x), alpha=v),
    "sub_alpha": lambda t, x, v: t.sub(x, t.ones_like(x), alpha=v),  # ATen negates alpha first
    "add_wraps": lambda t, x, v: x + v,
    "setitem_int": _setitem(0),
    "setitem_mask": _setitem(_mask),
    "setitem_list": _setitem([0]),
    "tensor": lambda t, x, v: t.tensor(v, dtype=x.dtype),
    "tensor_list": lambda t, x, v: t.tensor([[v], [1]], dtype=x.dtype),
    "where_other": lambda t, x, v: t.where(_mask(t), x, v),
    "where_input": lambda t, x, v: t.where(_mask(t), v, x),
    "pow": lambda t, x, v: x.pow(v),
    "lerp": lambda t, x, v: x.lerp(t.ones_like(x), v),
    "addcmul_value": lambda t, x, v: x.addcmul(x, x, value=v),
    "addcmul__value": lambda t, x, v: x.addcmul_(x, x, value=v),
    "addcdiv_value": lambda t, x, v: x.addcdiv(x, x, value=v),
    "linspace": lambda t, x, v: t.linspace(0, v, 3, dtype=x.dtype),
    "linspace_one_step": lambda t, x, v: t.linspace(v, 0, 1, dtype=x.dtype),
}

# torch's known answers that gradlens_core does not imitate: a number in [2**63, 2**64) is a
# uint64 Scalar, which PyTorch refuses to promote with a bool tensor or another number; the
# parser's refusal of an int beyond [-2**63, 2**64) comes before every other check;
# torch.tensor refuses a numpy float32 for an integer dtype
KNOWN = {
    ("clamp_min_number", "bool", 2**63),
    ("clamp_max_number", "bool", 2**63),
    ("clamp_min", "bool", 2**63),
    ("clamp_both", "*", 2**63),
    ("where_other", "bool", 2**63),
    ("where_input", "bool", 2**63),
    ("add_wraps", "bool", 2**63),
    ("add_wraps", "float*", 2**64),
    ("add_wraps", "float*", -(2**63) - 1),
    ("clamp_", "bool", 2**63),
    ("clamp_min_", "bool", 2**63),
    ("clamp_max_", "bool", 2**63),
    ("clamp_", "bool", 2**64),
    ("clamp_", "bool", -(2**63) - 1),
    ("clamp_min_", "bool", 2**64),
    ("clamp_min_", "bool", -(2**63) - 1),
    ("clamp_max_", "bool", 2**64),
    ("clamp_max_", "bool", -(2**63) - 1),
    ("sub_alpha", "bool", 2**64),
    ("sub_alpha", "bool", -(2**63) - 1),
}


def _known(op, dtype, value) -> bool:
    for k_op, k_dtype, k_value in KNOWN:
        same_dtype = k_dtype == dtype or (k_dtype.endswith("*") and dtype.startswith(k_dtype[:-1]))
        if k_op == op and same_dtype and type(value) is int and value == k_value:
            return True
    return False


def _outcome(t, program, *args):
    """``program(t, *args)``'s values and dtype, or its error's class and first sentence."""
    try:
        r = program(t, *args)
        return repr((r.tolist(), str(r.dtype)))  # repr: nan equals nan, -0.0 differs from 0.0
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return f"{type(e).__name__}: {first_sentence(str(e))}"


def _on_zeros(t, program, dtype, value):
    return program(t, t.zeros(2, dtype=getattr(t, dtype)), value)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("op", OPS)
def test_numbers_near_dtype_limits_match_torch(op, torch):
    program = OPS[op]
    wrong = []
    for dtype in DTYPES:
        for value in NUMBERS:
            if _known(op, dtype, value):
                continue
            ours = _outcome(gradlens_core, _on_zeros, program, dtype, value)
            theirs = _outcome(torch, _on_zeros, program, dtype, value)
            if ours != theirs:
                wrong.append(f"{dtype} {value!r}: {ours} (torch: {theirs})")
    assert not wrong, f"{len(wrong)} differ:\n" + "\n".join(wrong[:20])


def test_checked_number_error_comes_where_torch_checks_it(torch):
    # after autograd's refusal of the edit and the shape checks, before the kernel writes
    programs = [
        lambda t: t.zeros(2, requires_grad=True).fill_(1e39),
        lambda t: t.zeros(2, dtype=t.int8).masked_fill_(t.tensor([True] * 3), 300),
        lambda t: t.zeros(2, dtype=t.int8).masked_fill(t.tensor([True] * 3), 300),
        lambda t: t.zeros(2, dtype=t.int8).masked_fill(t.tensor([1, 0]), 300),
        lambda t: t.zeros(2, dtype=t.int8).clamp_(2.5),
        lambda t: t.where(t.tensor([1, 0]), t.zeros(2, dtype=t.int8), 300),  # where's number first
        lambda t: t.where(t.tensor([True, False, True]), t.zeros(2, dtype=t.int8), 300),
        lambda t: t.full((2,), t.tensor(300), dtype=t.int8),  # a 0-d tensor Scalar: its item()
        lambda t: t.zeros(2, dtype=t.int8).masked_fill(t.tensor([True, False]), t.tensor(300)),
        lambda t: t.zeros(2).fill_(t.tensor(1e39, dtype=t.float64)),  # a tensor value is cast
        lambda t: t.tensor([1.5, 300], dtype=t.int8),
        lambda t: t.tensor([-1, 2], dtype=t.uint8),
        lambda t: t.tensor([1, 2**63]),
        lambda t: t.tensor([1.0, 2**64]),
        lambda t: t.tensor([1.5, 2**64], dtype=t.int64),
        lambda t: t.ones(2, dtype=t.int8).pow(-300),
        lambda t: t.ones(2, dtype=t.int8) ** 2**63,
        lambda t: t.linspace(-1, 200, 5, dtype=t.uint8),
        lambda t: t.linspace(0.5, 10.7, 4, dtype=t.int32),
        lambda t: t.linspace(True, False, 3, dtype=t.bool),
        lambda t: t.tensor([True, False]).clamp(True, False),
        lambda t: t.tensor([True, False]).clamp(t.tensor(True), t.tensor(False)),
    ]
    for program in programs:
        assert _outcome(gradlens_core, program) == _outcome(torch, program)

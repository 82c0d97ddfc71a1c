"""Every backward formula against float64 central differences (no torch needed).

The op table lives in ``helpers.py`` and is shared with ``test_vs_torch.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import gradcheck, op_cases, second_order_cases

OPS = op_cases()
SECOND = second_order_cases()


@pytest.mark.parametrize("case", OPS, ids=[c.id for c in OPS])
def test_gradcheck(case):
    gradcheck(case.fn, *case.inputs, **case.gradcheck_kw)


@pytest.mark.parametrize("case", SECOND, ids=[c.id for c in SECOND])
def test_second_derivative(case):
    gradcheck(case.fn, *case.inputs, **case.gradcheck_kw)


# ----------------------------------------------------------------------------- the checker itself can fail


def _wrong_exp(scale: float):
    import gradlens_core

    class WrongExp(gradlens_core.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y * scale

    return lambda t, x: WrongExp.apply(x)


def test_gradcheck_accepts_a_correct_custom_function():
    gradcheck(_wrong_exp(1.0), np.array([0.1, -0.3, 0.7]))


def test_gradcheck_rejects_a_wrong_backward():
    with pytest.raises(AssertionError, match="central differences"):
        gradcheck(_wrong_exp(1.01), np.array([0.1, -0.3, 0.7]))


def test_gradcheck_rejects_a_missing_gradient():
    with pytest.raises(AssertionError):
        gradcheck(lambda t, x, y: x * y.detach(), np.array([0.5, 1.5]), np.array([2.0, 3.0]))


def test_gradcheck_refuses_vacuous_checks():
    with pytest.raises(AssertionError, match="vacuous"):
        gradcheck(lambda t, x: x.round(), np.array([0.2, 1.3]))

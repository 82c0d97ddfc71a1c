"""Every backward formula against float64 central differences (no torch needed).

The op table lives in ``helpers.py`` and is shared with ``test_vs_torch.py``.
"""

from __future__ import annotations

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

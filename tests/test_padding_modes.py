"""``F.pad``'s circular mode and the convolutions' ``padding_mode`` (reflect, replicate,
circular), against torch: values, grads, the nodes recorded and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core


def _chain(node, depth=4):
    names = []
    while node is not None and len(names) < depth:
        names.append(node.name())
        nxt = [n for n, _ in node.next_functions if n is not None]
        node = nxt[0] if nxt else None
    return names


def _pad_outcome(t, shape, pad):
    x = t.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7, requires_grad=True)
    try:
        y = t.nn.functional.pad(x, pad, mode="circular")
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return ("raises", type(e).__name__, first_sentence(str(e)))
    w = t.tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(tuple(y.shape)))
    (y * w).sum().backward()
    return (y.detach().numpy().tolist(), _chain(y.grad_fn), x.grad.numpy().tolist())


PAD_CASES = [
    ((1, 2, 5), (1, 2)),
    ((2, 5), (3, 0)),
    ((1, 1, 3, 4), (1, 1, 2, 1)),
    ((1, 1, 3, 4), (-1, 2, 0, 1)),
    ((1, 2, 2, 3, 3), (1, 0, 0, 1, 1, 1)),
    ((1, 2, 3), (4, 0)),  # wraps around more than once
    ((1, 2, 3), (-3, -1)),  # an empty dim
    ((3,), (1, 1)),  # too few dims
    ((1, 2, 3), (1,)),
]


@pytest.mark.parametrize("shape, pad", PAD_CASES, ids=[f"{s}-{p}" for s, p in PAD_CASES])
def test_circular_pad_matches_torch(shape, pad):
    torch = pytest.importorskip("torch")
    assert _pad_outcome(gradlens_core, shape, pad) == _pad_outcome(torch, shape, pad)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (1, 2), "same", "valid"], ids=str)
def test_conv2d_padding_mode_matches_torch(mode, padding):
    torch = pytest.importorskip("torch")
    outcomes = []
    for t in (gradlens_core, torch):
        t.manual_seed(0)
        conv = t.nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode)
        x = t.randn(1, 2, 5, 6, requires_grad=True)
        y = conv(x)
        y.sum().backward()
        outcomes.append((repr(conv), tuple(y.shape), _chain(y.grad_fn, 2), y.detach().numpy(), x.grad.numpy()))
    ours, theirs = outcomes
    assert ours[:3] == theirs[:3]
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours[4], theirs[4], rtol=1e-5, atol=1e-5)


def test_conv1d_reflect_matches_torch():
    torch = pytest.importorskip("torch")
    got = []
    for t in (gradlens_core, torch):
        t.manual_seed(1)
        conv = t.nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect")
        got.append(conv(t.randn(1, 2, 7)).detach().numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5, atol=1e-5)

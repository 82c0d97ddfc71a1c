"""ATen's fused and special-cased elementwise kernels, bit for bit against PyTorch: add/sub
with alpha (vec::fmadd), addcmul (fmadd of value * t1 and t2), lerp, pow's 3, -2 and -0.5,
and SGD / Adam steps built on them (skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlens_core as gl

torch = pytest.importorskip("torch")


def _same(want, got):
    want, got = want.detach().numpy(), got.detach().numpy()
    assert want.dtype == got.dtype and want.shape == got.shape
    assert want.tobytes() == got.tobytes(), (want, got)


def test_the_reported_values():
    assert gl.tensor([0.36]).add(gl.tensor([-2.93]), alpha=-0.03).item() == 0.44790002703666687
    assert (gl.tensor([2.58]) ** 3).item() == 17.173511505126953
    assert (gl.tensor([0.05]) ** -2).item() == 399.9999694824219


_ALPHA_CALLS = (
    lambda t, a, b, alpha: t.add(t.tensor(a), t.tensor(b), alpha=alpha),
    lambda t, a, b, alpha: t.sub(t.tensor(a), t.tensor(b), alpha=alpha),
    lambda t, a, b, alpha: t.tensor(a).add_(t.tensor(b), alpha=alpha),
    lambda t, a, b, alpha: t.tensor(a).sub_(t.tensor(b), alpha=alpha),
    lambda t, a, b, alpha: t.rsub(t.tensor(a), float(b.flat[0]), alpha=alpha),
    lambda t, a, b, alpha: t.tensor(a).add(float(b.flat[0]), alpha=alpha),
)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [((37,), (37,)), ((6, 9), (1, 9)), ((6, 9), (6, 1)), ((45,), (1,)), ((3, 4), ())])
def test_add_sub_with_alpha(dtype, shapes):
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.normal(size=shapes[0]).astype(dtype)
        b = rng.normal(size=shapes[1]).astype(dtype)
        alpha = float(rng.normal())
        for call in _ALPHA_CALLS:
            _same(call(torch, a, b, alpha), call(gl, a, b, alpha))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_alpha_with_a_constant_other_over_column_major_self(dtype):
    """ATen's unfused tail for an other constant along the inner loop follows self's layout."""
    rng = np.random.default_rng(7)
    for shape in ((4, 9), (9, 1), (8, 6), (3, 21)):
        a = np.asfortranarray(rng.normal(size=shape).astype(dtype))
        for b in (
            float(rng.normal()),
            rng.normal(size=(shape[0], 1)).astype(dtype),
            rng.normal(size=shape[1:]).astype(dtype),
        ):
            for t_b in ((torch.tensor(b), gl.tensor(b)) if isinstance(b, np.ndarray) else (b, b),):
                _same(torch.tensor(a).add(t_b[0], alpha=0.37), gl.tensor(a).add(t_b[1], alpha=0.37))
                _same(torch.tensor(a).sub_(t_b[0], alpha=-1.3), gl.tensor(a).sub_(t_b[1], alpha=-1.3))


def test_add_alpha_transposed_and_under_autograd():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 7)).astype("float32")
    b = rng.normal(size=(7, 5)).astype("float32")
    outs = []
    for t in (torch, gl):
        x = t.tensor(a, requires_grad=True)
        y = t.tensor(b, requires_grad=True)
        out = x.add(y.T, alpha=-0.37)
        out.backward(t.ones_like(out) * 1.3)
        outs.append((out, x.grad, y.grad))
    for want, got in zip(*outs):
        _same(want, got)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_addcmul_and_lerp(dtype):
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(size=(4, 33)).astype(dtype) for _ in range(3))
    for value in (0.1, -0.999, 3):
        _same(
            torch.addcmul(*map(torch.tensor, (a, b, c)), value=value),
            gl.addcmul(*map(gl.tensor, (a, b, c)), value=value),
        )
        _same(
            torch.tensor(a).addcmul_(torch.tensor(b), torch.tensor(c), value=value),
            gl.tensor(a).addcmul_(gl.tensor(b), gl.tensor(c), value=value),
        )
    for w in (0.1, 0.3, 0.7, 1.2):
        _same(torch.lerp(torch.tensor(a), torch.tensor(b), w), gl.lerp(gl.tensor(a), gl.tensor(b), w))


def test_lerp_half_in_float32():
    rng = np.random.default_rng(4)
    a, b = (rng.normal(size=50).astype("float16") for _ in range(2))
    for w in (0.1, 0.3, 0.7):
        _same(torch.lerp(torch.tensor(a), torch.tensor(b), w), gl.lerp(gl.tensor(a), gl.tensor(b), w))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [2, 3, -1, -2, -0.5, 3.0, -2.0])
def test_pow_special_exponents(dtype, exponent):
    a = np.abs(np.random.default_rng(5).normal(size=300) * 3).astype(dtype)
    a[:3] = (0, np.inf, np.nan)
    with np.errstate(all="ignore"):
        _same(torch.tensor(a) ** exponent, gl.tensor(a) ** exponent)
        _same(torch.tensor(a).pow_(exponent), gl.tensor(a).pow_(exponent))


def test_fma_rounds_once():
    from gradlens_core._ops import fma

    # exactly 1 + 2**-24 + 2**-70: rounded to float64 it is the float32 tie 1 + 2**-24, which
    # rounds to even (1); rounded once it is 1 + 2**-23, as torch's kernel gives
    x, y, z = np.float32(1 + 2**-23), np.float32(-(2**-24) * (1 - 2**-23)), np.float32(1 + 2**-23)
    assert np.float32(float(x) * float(y) + float(z)) == 1
    assert fma(x, y, z) == np.float32(1 + 2**-23)
    assert gl.tensor([float(z)] * 20).add(gl.tensor([float(x)] * 20), alpha=float(y))[3].item() == 1 + 2**-23
    # float64: 0.1 * 10 - 1 is 2**-54 exactly (unfused: 0)
    assert fma(np.float64(0.1), 10.0, np.float64(-1)) == 2.0**-54


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0.05)),
        ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
        ("Adam", dict(lr=0.01)),
        ("Adam", dict(lr=0.01, weight_decay=0.01, amsgrad=True)),
    ],
)
def test_optimizer_steps_bit_for_bit(name, kwargs):
    """Both optimizers get the same gradients (float64: its sqrt rounds as numpy's here)."""
    rng = np.random.default_rng(6)
    dtype = "float64" if name == "Adam" else "float32"
    w = rng.normal(size=(3, 13)).astype(dtype)
    params = [torch.nn.Parameter(torch.tensor(w)), gl.nn.Parameter(gl.tensor(w))]
    opts = [getattr(torch.optim, name)([params[0]], **kwargs), getattr(gl.optim, name)([params[1]], **kwargs)]
    for _ in range(5):
        g = rng.normal(size=w.shape).astype(dtype)
        params[0].grad, params[1].grad = torch.tensor(g), gl.tensor(g)
        for opt in opts:
            opt.step()
        _same(*params)

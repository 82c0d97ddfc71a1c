"""Tests for ``gradlens_core.optim``: Optimizer bookkeeping, SGD and Adam update math.

Hand-computed expectations need no torch; ``*_vs_torch`` tests feed the same gradient
sequence to both libraries' optimizers and compare the parameters (skipped without torch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlens_core as gl
from gradlens_core import nn, optim


def _param(values):
    return nn.Parameter(gl.tensor(values))


def _step_with_grad(opt, p, grad):
    p.grad = gl.tensor(grad)
    opt.step()


# ----------------------------------------------------------------------------- SGD math


def test_sgd_plain_step_and_version():
    p = _param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    _step_with_grad(opt, p, [0.5, 1.0])
    assert np.allclose(p.tolist(), [0.95, -2.1])
    assert p._version == 1  # one in-place add_
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    assert len(opt.state) == 0  # no momentum, no state


def test_sgd_momentum_dampening_weight_decay():
    p = _param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    w, buf = 1.0, None
    for g in (2.0, -1.0, 0.5):
        _step_with_grad(opt, p, [g])
        d = g + 0.1 * w
        buf = d if buf is None else 0.9 * buf + 0.5 * d  # the first buffer is the grad itself
        w -= 0.1 * buf
        assert p.item() == pytest.approx(w, rel=1e-6)
        assert opt.state[p]["momentum_buffer"].item() == pytest.approx(buf, rel=1e-6)


def test_sgd_nesterov_and_maximize():
    p = _param([0.0])
    opt = optim.SGD([p], lr=1.0, momentum=0.5, nesterov=True)
    _step_with_grad(opt, p, [1.0])  # buf = 1, step = g + 0.5 * buf = 1.5
    _step_with_grad(opt, p, [1.0])  # buf = 1.5, step = 1 + 0.75
    assert p.item() == pytest.approx(-(1.5 + 1.75))
    q = _param([0.0])
    opt = optim.SGD([q], lr=0.5, maximize=True)
    _step_with_grad(opt, q, [2.0])
    assert q.item() == pytest.approx(1.0)


def test_sgd_skips_params_without_grad():
    a, b = _param([1.0]), _param([2.0])
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    (a * 3).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.7) and b.item() == 2.0
    assert b._version == 0 and b not in opt.state and a in opt.state


def test_step_runs_without_recording():
    p = _param([1.0, 2.0])
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.grad_fn is None and p.is_leaf
    assert gl.is_grad_enabled()


def test_step_with_closure():
    p = _param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    calls = []

    def closure():
        calls.append(gl.is_grad_enabled())
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert calls == [True] and loss.item() == pytest.approx(5.0)
    assert np.allclose(p.tolist(), [0.8, -1.6])


# ----------------------------------------------------------------------------- Adam math


def _adam_reference(w, grads, lr, b1, b2, eps, wd=0.0, amsgrad=False):
    w = np.array(w, dtype=np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    vmax = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, dtype=np.float64) + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2**t) + eps
        w = w - lr / (1 - b1**t) * m / denom
    return w


@pytest.mark.parametrize(
    "kw", [{}, {"betas": (0.5, 0.9), "eps": 1e-3}, {"weight_decay": 0.1}, {"amsgrad": True, "betas": (0.3, 0.4)}]
)
def test_adam_matches_reference(kw):
    grads = [[0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [-1.0, 0.0, 0.7]]
    p = _param([1.0, 2.0, -3.0])
    opt = optim.Adam([p], lr=0.05, **kw)
    for g in grads:
        _step_with_grad(opt, p, g)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    ref = _adam_reference(
        [1.0, 2.0, -3.0],
        grads,
        0.05,
        b1,
        b2,
        kw.get("eps", 1e-8),
        kw.get("weight_decay", 0.0),
        kw.get("amsgrad", False),
    )
    np.testing.assert_allclose(p.tolist(), ref, rtol=1e-5, atol=1e-6)
    state = opt.state[p]
    assert state["step"].item() == 3.0 and state["step"].dtype is gl.float32
    assert sorted(state) == sorted(
        ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if kw.get("amsgrad") else [])
    )


def test_adam_first_step_moves_by_lr():
    p = _param([1.0, -1.0])
    opt = optim.Adam([p], lr=0.1)
    _step_with_grad(opt, p, [3.0, -0.002])  # bias-corrected m / sqrt(v) = sign(g)
    np.testing.assert_allclose(p.tolist(), [0.9, -0.9], rtol=1e-5)
    assert p._version == 1


def test_adam_decoupled_weight_decay_and_maximize():
    p = _param([2.0])
    opt = optim.Adam([p], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True, maximize=True)
    _step_with_grad(opt, p, [1.0])
    # param *= 1 - lr * wd, then a step of lr in the direction of +grad (maximize)
    assert p.item() == pytest.approx(2.0 * (1 - 0.05) + 0.1, rel=1e-5)


# ----------------------------------------------------------------------------- bookkeeping


def test_param_groups_and_defaults():
    a, b = _param([1.0]), _param([2.0])
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": b}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    assert opt.param_groups[1]["params"] == [b]
    c = _param([3.0])
    opt.add_param_group({"params": c, "lr": 3})
    assert opt.param_groups[2]["lr"] == 3 and opt.param_groups[2]["params"][0] is c
    named = optim.SGD(nn.Linear(1, 1).named_parameters(), lr=0.1)
    assert named.param_groups[0]["param_names"] == ["weight", "bias"]


def test_optimizer_errors():
    p = _param([1.0])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got torch.FloatTensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        optim.SGD([1], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="optimizer parameters need to be organized in ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(NotImplementedError):
        optim.Optimizer([p], {}).step()


def test_zero_grad_both_modes():
    p = _param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_repr_matches_pytorch():
    p = _param([1.0])
    assert repr(optim.SGD([p], lr=0.1)) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n    fused: None\n"
        "    lr: 0.1\n    maximize: False\n    momentum: 0\n    nesterov: False\n    weight_decay: 0\n)"
    )
    assert repr(optim.Adam([p])) == (
        "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n"
        "    decoupled_weight_decay: False\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n"
        "    fused: None\n    lr: 0.001\n    maximize: False\n    weight_decay: 0\n)"
    )


def test_state_dict_round_trip_resumes_identically():
    grads = [[0.5, -1.0], [0.2, 0.4], [-0.3, 0.9], [1.0, 1.0]]
    straight = _param([1.0, 2.0])
    opt = optim.Adam([straight], lr=0.1)
    for g in grads:
        _step_with_grad(opt, straight, g)

    first = _param([1.0, 2.0])
    opt1 = optim.Adam([first], lr=0.1)
    for g in grads[:2]:
        _step_with_grad(opt1, first, g)
    sd = opt1.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    resumed = _param(first.tolist())
    opt2 = optim.Adam([resumed], lr=0.5)  # lr comes back from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["params"] == [resumed]
    for g in grads[2:]:
        _step_with_grad(opt2, resumed, g)
    assert resumed.tolist() == straight.tolist()
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        optim.Adam([{"params": [_param([1.0])]}, {"params": [_param([1.0])]}]).load_state_dict(sd)


# ----------------------------------------------------------------------------- against real PyTorch


@pytest.mark.parametrize(
    "name, kw",
    [
        ("SGD", {"lr": 0.1}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
        ("Adam", {"lr": 0.01}),
        ("Adam", {"lr": 0.01, "betas": (0.3, 0.4), "amsgrad": True, "weight_decay": 0.1}),
        ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ],
)
def test_optimizers_match_torch(torch, name, kw):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(6)]
    results = []
    for lib in (gl, torch):
        p = lib.nn.Parameter(lib.tensor(w0.copy()))
        opt = getattr(lib.optim, name)([p], **kw)
        for g in grads:
            p.grad = lib.tensor(g.copy())
            opt.step()
        results.append((p.detach().numpy().copy(), p._version, repr(opt)))
    (w_ours, v_ours, r_ours), (w_torch, v_torch, r_torch) = results
    np.testing.assert_allclose(w_ours, w_torch, rtol=1e-6, atol=1e-6)
    assert v_ours == v_torch
    assert r_ours == r_torch

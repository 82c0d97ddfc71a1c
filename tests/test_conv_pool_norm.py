"""Convolutions, pooling and batch norm against PyTorch 2.13 (skipped without torch).

Values and grads are compared with ``compare_with_torch`` (allclose: the convolution's
sums run in numpy's order, not mkldnn's), node names, saved values, module reprs,
parameter init after ``manual_seed`` (bit for bit), running statistics, errors (class
and first sentence), double backward, and a small CNN trained a few SGD steps.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlens_core as gl
from tests.helpers import compare_with_torch, first_sentence, gradcheck

torch = pytest.importorskip("torch")


def _f(t):
    return t.nn.functional


# ----------------------------------------------------------------------------- convolution

CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(padding=(2, 0), dilation=2),
    dict(groups=2),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2), groups=4),
    dict(padding="same"),
    dict(padding="valid"),
    dict(stride=[3], padding=[1]),
]


@pytest.mark.parametrize("kw", CONV2D_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(kw, bias):
    g = kw.get("groups", 1)
    shapes = [(2, 4, 9, 8), (8, 4 // g, 3, 3)] + ([(8,)] if bias else [])
    compare_with_torch(lambda t, x, w, *b: _f(t).conv2d(x, w, *b, **kw), *shapes)


def test_conv2d_same_even_kernel_pads_the_input():
    """An even kernel with padding='same': constant_pad_nd, then the convolution."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, ref, _, _ = compare_with_torch(
            lambda t, x, w: _f(t).conv2d(x, w, padding="same"), (2, 3, 6, 7), (4, 3, 2, 4)
        )
    node, ref_node = out.grad_fn.next_functions[0][0], ref.grad_fn.next_functions[0][0]
    assert node.name() == ref_node.name()
    assert node._saved_pad == ref_node._saved_pad


def test_conv2d_unbatched_and_conv1d():
    compare_with_torch(lambda t, x, w, b: _f(t).conv2d(x, w, b, padding=1), (3, 5, 5), (2, 3, 3, 3), (2,))
    compare_with_torch(
        lambda t, x, w, b: _f(t).conv1d(x, w, b, stride=2, padding=1, dilation=2), (2, 4, 11), (6, 4, 3), (6,)
    )
    compare_with_torch(lambda t, x, w: _f(t).conv1d(x, w, groups=2), (4, 10), (6, 2, 4))
    compare_with_torch(lambda t, x, w: _f(t).conv1d(x, w, padding="same"), (2, 3, 10), (2, 3, 5))


def test_conv_float64_gradcheck():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 2, 3, 2)), rng.standard_normal(4)
    gradcheck(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), x, w, b)


# ----------------------------------------------------------------------------- pooling

POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=[3, 2], stride=[1, 2], padding=[1, 0]),
]


@pytest.mark.parametrize("kw", POOL_CASES, ids=str)
def test_max_pool2d(kw):
    out, ref, _, _ = compare_with_torch(lambda t, x: _f(t).max_pool2d(x, return_indices=True, **kw), (2, 3, 9, 8))
    np.testing.assert_array_equal(out[1].numpy(), ref[1].numpy())
    compare_with_torch(lambda t, x: _f(t).max_pool2d(x, dilation=2, **kw), (2, 3, 9, 8))
    compare_with_torch(lambda t, x: _f(t).max_pool2d(x, **kw), (3, 7, 8))  # unbatched


def test_max_pool2d_indices_of_nan_and_inf():
    """ATen's loop takes each NaN it meets: a window's last NaN is its maximum."""
    a = np.random.default_rng(4).standard_normal((2, 2, 6, 6)).astype(np.float32)
    a[0, 0, 0, 0] = a[0, 0, 1, 1] = a[1, 1, 3, 2] = np.nan
    a[0, 1, 0, 1] = np.inf
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        mine = gl.nn.functional.max_pool2d(gl.tensor(a), return_indices=True, **kw)
        ref = torch.nn.functional.max_pool2d(torch.tensor(a), return_indices=True, **kw)
        np.testing.assert_array_equal(mine[1].numpy(), ref[1].numpy())
        np.testing.assert_array_equal(mine[0].numpy(), ref[0].numpy())


def test_traced_cnn_reports_no_cutoff_for_hidden_indices():
    """max_pool2d's indices are reported as created only when returned to the user."""
    import gradlens

    nn = gl.nn
    with gradlens.trace() as tr:
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.MaxPool2d(2), nn.Flatten())
        model(gl.randn(2, 1, 6, 6)).sum().backward()
        _, idx = nn.functional.max_pool2d(gl.randn(1, 1, 4, 4, requires_grad=True), 2, return_indices=True)
    kinds = [c.kind for c in tr.cutoffs()]
    assert kinds == ["non_differentiable"]
    assert model[0].weight.grad is not None


@pytest.mark.parametrize("kw", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(kw, count_include_pad):
    compare_with_torch(lambda t, x: _f(t).avg_pool2d(x, count_include_pad=count_include_pad, **kw), (2, 3, 9, 8))


def test_integer_pooling():
    """max and avg pooling take integers (avg divides as C++ does, toward zero)."""
    a = np.random.default_rng(5).integers(-50, 50, (2, 3, 7, 6))
    compare_with_torch(lambda t, x: _f(t).max_pool2d(x, 3, 2, 1, return_indices=True), a, grad=False)
    compare_with_torch(lambda t, x: _f(t).avg_pool2d(x, 3, 2, 1, ceil_mode=True), a, grad=False)
    compare_with_torch(lambda t, x: _f(t).avg_pool2d(x, 2, count_include_pad=False, padding=1), a, grad=False)


def test_float64_values():
    compare_with_torch(lambda t, x, w: _f(t).conv2d(x, w, padding=1), (2, 3, 5, 5), (4, 3, 3, 3), dtype="float64")
    compare_with_torch(lambda t, x: _f(t).avg_pool2d(x, 2), (2, 3, 5, 5), dtype="float64")


def test_avg_pool2d_divisor_override():
    compare_with_torch(lambda t, x: _f(t).avg_pool2d(x, 3, 2, 1, divisor_override=5), (2, 3, 7, 7))


@pytest.mark.parametrize("size", [(3, 3), (4, 5), 1, (2, None), 7, (1, 1), (9, 8)], ids=str)
def test_adaptive_avg_pool2d(size):
    compare_with_torch(lambda t, x: _f(t).adaptive_avg_pool2d(x, size), (2, 3, 9, 8))


def test_pool1d():
    compare_with_torch(lambda t, x: _f(t).max_pool1d(x, 3, 2, 1), (2, 4, 11))
    compare_with_torch(lambda t, x: _f(t).max_pool1d(x, 2, return_indices=True, ceil_mode=True), (4, 11))
    compare_with_torch(lambda t, x: _f(t).avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 4, 11))
    compare_with_torch(lambda t, x: _f(t).adaptive_avg_pool1d(x, 4), (2, 4, 11))
    compare_with_torch(lambda t, x: _f(t).adaptive_avg_pool1d(x, 1), (2, 4, 11))


def test_pool_float64_gradcheck():
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 6))
    gradcheck(lambda t, x: t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    gradcheck(lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (3, 4)), x)
    gradcheck(lambda t, x: t.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True), x)


# ----------------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 5)], ids=str)
def test_batch_norm_functional(training, shape):
    rng = np.random.default_rng(2)
    rm, rv = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    stats = {}

    def fn(t, x, w, b):
        m, v = t.tensor(rm), t.tensor(rv)
        stats[t.__name__] = (m, v)
        return _f(t).batch_norm(x, m, v, w, b, training=training, momentum=0.3, eps=1e-3)

    compare_with_torch(fn, shape, (4,), (4,))
    for mine, ref in zip(stats["gradlens_core"], stats["torch"]):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)
        assert mine._version == ref._version


def test_batch_norm_without_stats_or_affine():
    compare_with_torch(lambda t, x: _f(t).batch_norm(x, None, None, training=True), (5, 3, 4))


def _bn_program(t):
    nn = t.nn
    t.manual_seed(3)
    out = []
    for bn, shape in ((nn.BatchNorm2d(3), (4, 3, 5, 5)), (nn.BatchNorm1d(3, momentum=None), (6, 3))):
        x = t.randn(*shape)
        y = bn(x)
        bn(x * 2 + 1)
        out.append((repr(bn), list(bn.state_dict()), y.sum().item(), bn.running_mean.tolist(), bn.running_var.tolist()))
        out.append((int(bn.num_batches_tracked), bn.num_batches_tracked._version, bn.running_mean._version))
        bn.eval()
        out.append(bn(x).sum().item())
    for bn in (nn.BatchNorm1d(3, affine=False, track_running_stats=False), nn.BatchNorm2d(2, bias=False)):
        out.append((repr(bn), list(bn.state_dict()), [n for n, _ in bn.named_parameters()]))
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    bn.eval()
    out.append(bn(t.arange(12.0).reshape(4, 3)).sum().item())
    return out


def test_batch_norm_modules():
    mine, ref = _bn_program(gl), _bn_program(torch)
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        if isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-5, abs=1e-5)
        elif len(a) == 5:
            assert a[:2] == b[:2]
            np.testing.assert_allclose([a[2], *a[3], *a[4]], [b[2], *b[3], *b[4]], rtol=1e-5, atol=1e-5)
        else:
            assert a == b


# ----------------------------------------------------------------------------- modules


def _reprs(t):
    nn = t.nn
    return [
        repr(m)
        for m in (
            nn.Conv2d(1, 8, 3),
            nn.Conv2d(3, 4, (3, 5), stride=2, padding=1, dilation=2, bias=False),
            nn.Conv2d(4, 4, 3, padding="same", groups=2),
            nn.Conv2d(4, 4, 3, padding="valid"),
            nn.Conv1d(2, 3, 4),
            nn.Conv1d(2, 4, 3, stride=2, padding=1, groups=2),
            nn.MaxPool2d(2),
            nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=1, ceil_mode=True),
            nn.MaxPool1d(3),
            nn.AvgPool2d(2),
            nn.AvgPool2d(3, 1, 1, count_include_pad=False),
            nn.AvgPool1d(3),
            nn.AdaptiveAvgPool2d((3, 3)),
            nn.AdaptiveAvgPool2d(1),
            nn.AdaptiveAvgPool1d(5),
            nn.BatchNorm2d(8),
            nn.BatchNorm1d(3, eps=1e-3, momentum=None, affine=False),
            nn.Flatten(),
            nn.Unflatten(1, (2, 3)),
        )
    ]


def test_module_reprs():
    assert _reprs(gl) == _reprs(torch)


def _init(t):
    t.manual_seed(5)
    mods = [t.nn.Conv2d(3, 8, 3), t.nn.Conv2d(4, 6, (2, 3), groups=2, bias=False), t.nn.Conv1d(2, 5, 4)]
    return [p.detach().numpy().copy() for m in mods for p in m.parameters()]


def test_conv_init_is_pytorchs_after_manual_seed():
    for a, b in zip(_init(gl), _init(torch), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unflatten_module():
    compare_with_torch(lambda t, x: t.nn.Unflatten(1, (2, 3))(x), (4, 6, 2))


# ----------------------------------------------------------------------------- saved values


def _saved(t):
    F = _f(t)
    x = t.randn(2, 2, 5, 5, requires_grad=True)
    w = t.randn(3, 2, 3, 3, requires_grad=True)
    b = t.randn(3, requires_grad=True)
    rows = []
    for y in (F.conv2d(x, w, b, stride=2, padding=1), F.conv2d(x, w), F.conv1d(x[:, :, 0], w[:, :, 0], dilation=2)):
        g = y.grad_fn
        rows.append((g.name(), g._saved_stride, g._saved_padding, g._saved_dilation, g._saved_groups))
        rows.append((g._saved_transposed, g._saved_output_padding, g._saved_bias_sym_sizes_opt))
        rows.append((g._saved_input is x, g._saved_weight is w))
    for y in (F.max_pool2d(x, 2, ceil_mode=True), F.max_pool2d(x, (2, 1), 1, 0, 1), F.max_pool2d(x, [3], [2], 1)):
        g = y.grad_fn
        rows.append((g.name(), g._saved_kernel_size, g._saved_stride, g._saved_padding, g._saved_dilation))
        rows.append((g._saved_ceil_mode, g._saved_self is x, str(g._saved_result1.dtype), g._saved_result1.tolist()))
    y = F.avg_pool2d(x, 2, divisor_override=3)
    g = y.grad_fn
    rows.append((g.name(), g._saved_kernel_size, g._saved_stride, g._saved_padding, g._saved_ceil_mode))
    rows.append((g._saved_count_include_pad, g._saved_divisor_override, g._saved_self is x))
    rows.append((F.adaptive_avg_pool2d(x, 3).grad_fn._saved_self is x,))
    rm, rv = t.zeros(2), t.ones(2)
    for training in (True, False):
        g = F.batch_norm(x, rm, rv, w[0, :, 0, 0], None, training=training).grad_fn
        rows.append((g.name(), g._saved_training, g._saved_eps, g._saved_input is x, g._saved_running_mean is rm))
        rows.append((g._saved_running_var is rv, tuple(g._saved_result1.shape), tuple(g._saved_result2.shape)))
    return rows


def test_saved_values():
    assert _saved(gl) == _saved(torch)


# ----------------------------------------------------------------------------- errors


def _error_cases(t):
    F, nn = _f(t), t.nn
    w = t.ones(4, 3, 3, 3)
    return [
        lambda: F.conv2d(t.ones(3, 8), w),
        lambda: F.conv2d(t.ones(2, 5, 8, 8), w),
        lambda: F.conv2d(t.ones(2, 3, 2, 2), w),
        lambda: F.conv2d(t.ones(2, 3, 2, 2), w, padding=1, dilation=2),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), t.ones(4, 3, 3)),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), w, t.ones(5)),
        lambda: F.conv2d(t.ones(2, 4, 8, 8), t.ones(4, 2, 3, 3), groups=3),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), w, stride=2, padding="same"),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), w, padding="foo"),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), w, padding=-1),
        lambda: F.conv2d(t.ones(2, 3, 8, 8), w, stride=0),
        lambda: F.conv1d(t.ones(2, 3, 8, 8), t.ones(4, 3, 3)),
        lambda: F.conv1d(t.ones(2, 3, 2), t.ones(4, 3, 3)),
        lambda: nn.Conv2d(3, 4, 3)(t.ones(3, 8)),
        lambda: nn.Conv2d(3, 4, 3, groups=2),
        lambda: nn.Conv2d(4, 3, 3, groups=2),
        lambda: nn.Conv2d(3, 4, 3, padding="full"),
        lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"),
        lambda: F.max_pool2d(t.ones(8), 2),
        lambda: F.max_pool2d(t.ones(2, 3, 1, 1), 2),
        lambda: F.max_pool2d(t.ones(2, 3, 4, 4), 2, padding=2),
        lambda: F.max_pool2d(t.ones(2, 3, 4, 4), 0),
        lambda: F.max_pool2d(t.ones(2, 3, 4, 4), 2, 0),
        lambda: F.avg_pool2d(t.ones(2, 3, 1, 1), 2),
        lambda: F.avg_pool2d(t.ones(2, 3, 4, 4), 2, padding=2),
        lambda: F.adaptive_avg_pool2d(t.ones(8), 2),
        lambda: F.adaptive_avg_pool2d(t.ones(2, 3, 4, 4), (2, 2, 2)),
        lambda: F.max_pool1d(t.ones(2, 3, 4, 4), 2),
        lambda: F.max_pool1d(t.ones(2, 3, 4), 2, padding=2),
        lambda: F.max_pool1d(t.ones(2, 3, 1), 2),
        lambda: F.adaptive_avg_pool1d(t.ones(2, 3, 4, 4), 2),
        lambda: nn.BatchNorm2d(3)(t.ones(2, 3, 4)),
        lambda: nn.BatchNorm1d(3)(t.ones(2, 3, 4, 5)),
        lambda: nn.BatchNorm1d(3)(t.ones(2, 4)),
        lambda: nn.BatchNorm1d(3)(t.ones(1, 3)),
        lambda: F.batch_norm(t.ones(2, 3), t.zeros(4), t.ones(4), training=True),
        lambda: F.batch_norm(t.ones(2, 3), None, None),
        lambda: F.batch_norm(t.ones(2, 3), None, None, t.ones(2), training=True),
        lambda: F.batch_norm(t.ones(4, 3, dtype=t.float64), t.zeros(3), t.ones(3), training=True),
        lambda: F.batch_norm(t.ones(4, 3), t.zeros(3), t.ones(3), t.ones(3, dtype=t.float64), training=True),
        lambda: F.batch_norm(t.ones(4, 3, dtype=t.int64), t.zeros(3), t.ones(3), training=True),
        lambda: F.conv2d(t.ones(1, 3, 5, 5), t.ones(2, 3, 3, 3, dtype=t.float64)),
        lambda: F.conv2d(t.ones(1, 3, 5, 5), t.ones(2, 3, 3, 3), t.ones(2, dtype=t.float64)),
        lambda: F.adaptive_avg_pool2d(t.ones(1, 3, 5, 5, dtype=t.int64), 2),
    ]


@pytest.mark.parametrize("i", range(len(_error_cases(gl))))
def test_errors(i):
    def outcome(t):
        try:
            _error_cases(t)[i]()
        except Exception as e:
            return type(e).__name__, first_sentence(str(e))
        return None

    assert outcome(gl) == outcome(torch)


def test_padding_mode_error():
    """The valid modes are a set in PyTorch's text: its order depends on the hash seed."""
    for t in (gl, torch):
        with pytest.raises(ValueError, match=r"^padding_mode must be one of \{.*\}, but got padding_mode='mirror'$"):
            t.nn.Conv2d(3, 4, 3, padding_mode="mirror")


# ----------------------------------------------------------------------------- double backward


def _double(t, op):
    t.manual_seed(7)
    x = t.randn(2, 2, 6, 5, requires_grad=True)
    w = t.randn(3, 2, 3, 3, requires_grad=True)
    b = t.randn(3, requires_grad=True)
    F = _f(t)
    ops = {
        "conv": lambda: F.conv2d(x, w, b, padding=1, stride=2),
        "max": lambda: F.max_pool2d(x, 2, ceil_mode=True),
        "avg": lambda: F.avg_pool2d(x, 3, 2, 1),
        "adaptive": lambda: F.adaptive_avg_pool2d(x, (4, 3)),
        "bn": lambda: F.batch_norm(x, None, None, w[:, 0, 0, 0][:2], b[:2], training=True),
        "bn_eval": lambda: F.batch_norm(x, t.zeros(2) + 0.5, t.ones(2) * 2, w[:, 0, 0, 0][:2], b[:2]),
    }
    y = ops[op]()
    leaves = (x, w, b)
    grads = t.autograd.grad((y**3).sum(), leaves, create_graph=True, allow_unused=True)
    names = [None if g is None or g.grad_fn is None else g.grad_fn.name() for g in grads]
    total = sum((g * g).sum() for g in grads if g is not None)
    total.backward()
    return names, [None if p.grad is None else p.grad.detach().numpy() for p in leaves]


@pytest.mark.parametrize("op", ["conv", "max", "avg", "adaptive", "bn", "bn_eval"])
def test_double_backward(op):
    names, grads = _double(gl, op)
    ref_names, ref_grads = _double(torch, op)
    if op in ("bn", "bn_eval"):
        names, ref_names = [n is None for n in names], [n is None for n in ref_names]  # composite graph here
    assert names == ref_names
    for a, b in zip(grads, ref_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-3)


# ----------------------------------------------------------------------------- a small CNN


def _train(t, steps=5):
    nn = t.nn
    t.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10)
    )
    opt = t.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = t.randn(16, 1, 8, 8), t.randint(0, 10, (16,))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return repr(model), losses


def test_small_cnn_trains_as_torch():
    (r, losses), (ref_r, ref_losses) = _train(gl), _train(torch)
    assert r == ref_r
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)


def _hazards_and_third_order(t):
    F = t.nn.functional
    t.manual_seed(0)
    out = []
    conv = t.nn.Conv2d(2, 3, 3)
    x = t.randn(2, 2, 5, 5, requires_grad=True)
    for make, edit in (
        (lambda: conv(x), lambda: conv.weight.add_(1)),
        (lambda: F.max_pool2d(x, 2), lambda: x.detach().mul_(2)),
        (lambda: F.batch_norm(x, None, None, training=True), lambda: x.detach().add_(1)),
    ):
        y = make()
        with t.no_grad():
            edit()
        try:
            y.sum().backward()
            out.append(None)
        except RuntimeError as e:
            out.append(first_sentence(str(e)))
    x = t.randn(1, 1, 5, 5, requires_grad=True)
    w = t.randn(1, 1, 3, 3, requires_grad=True)
    (gx,) = t.autograd.grad((F.conv2d(x, w) ** 2).sum(), x, create_graph=True)
    (gw,) = t.autograd.grad((gx**2).sum(), w, create_graph=True)
    gw.sum().backward()
    out.append((gw.grad_fn.name(), round(x.grad.sum().item(), 1), round(w.grad.sum().item(), 1)))
    return out


def test_inplace_errors_and_third_order():
    assert _hazards_and_third_order(gl) == _hazards_and_third_order(torch)

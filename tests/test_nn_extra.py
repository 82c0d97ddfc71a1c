"""nn modules and functionals beyond the basics, against PyTorch: the activations GELU,
LeakyReLU, SiLU, ELU/SELU/CELU, Hardtanh/ReLU6; the BCE, SmoothL1 and Huber losses;
Embedding; ModuleDict/ParameterList; full backward hooks. Each case runs the same program
under both and compares values, grads (first and second order), grad_fn names, what the
nodes saved, reprs and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlens_core as gc

torch = pytest.importorskip("torch")


def _np(t):
    if t is None:
        return None
    try:
        return t.detach().numpy()
    except RuntimeError:  # torch's ZeroTensor (a grad known to be zero)
        return t.detach().numpy(force=True)


def _saved(node) -> dict:
    """A node's ``_saved_*`` values: numbers as they are, tensors as numpy arrays."""
    out = {}
    for name in dir(node):
        if name.startswith("_saved_"):
            v = getattr(node, name)
            out[name] = _np(v) if hasattr(v, "detach") else v
    return out


def _same_saved(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        if isinstance(a[k], np.ndarray) or isinstance(b[k], np.ndarray):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6, err_msg=k)
        else:
            assert a[k] == b[k] and type(a[k]) is type(b[k]), k


def _run(lib, program, data, dtype, double):
    """``program(lib, *tensors)`` on leaves made from ``data``; returns the result, its first
    grads (with create_graph) and, with ``double``, the grads of their sum."""
    dt = getattr(lib, dtype)
    leaves = [lib.tensor(d, dtype=dt, requires_grad=True) for d in data]
    out = program(lib, *leaves)
    out_saved = _saved(out.grad_fn)
    grads = lib.autograd.grad(out.sum(), leaves, create_graph=double, allow_unused=True)
    # what the first grads' nodes saved, read before the second backward frees it
    saved = [_saved(g.grad_fn) if g is not None and g.grad_fn is not None else None for g in grads]
    second = None
    if double:
        total = sum(g.sum() for g in grads if g is not None and g.requires_grad)
        if not isinstance(total, int):
            second = lib.autograd.grad(total, leaves, allow_unused=True)
    return (out, out_saved), (grads, saved), second


def check(program, *data, dtype="float64", double=True, rtol=1e-6, atol=1e-7):
    """Run ``program`` under gradlens_core and torch and compare everything observable."""
    ours = _run(gc, program, data, dtype, double)
    theirs = _run(torch, program, data, dtype, double)
    ((o, o_saved), (og, osaved), o2), ((t, t_saved), (tg, tsaved), t2) = ours, theirs
    assert str(o.dtype) == str(t.dtype) and tuple(o.shape) == tuple(t.shape)
    np.testing.assert_allclose(_np(o), _np(t), rtol=rtol, atol=atol)
    assert type(o.grad_fn).__name__ == type(t.grad_fn).__name__
    _same_saved(o_saved, t_saved)
    for a, b, sa, sb in zip(og, tg, osaved, tsaved):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)
            if double:
                assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
                if type(b.grad_fn).__name__.endswith("BackwardBackward0"):
                    _same_saved(sa, sb)
    if o2 is not None or t2 is not None:
        for a, b in zip(o2, t2):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)
    return ours, theirs


def refused(program):
    """(exception class name, first line) of ``program(lib)`` under both."""
    res = []
    for lib in (gc, torch):
        with pytest.raises(Exception) as info:
            program(lib)
        res.append((type(info.value).__name__, str(info.value).split("\n")[0]))
    assert res[0] == res[1]


_X = [-3.0, -1.5, -0.5, -0.0, 0.0, 0.25, 1.0, 2.5, 7.0]

# ----------------------------------------------------------------------------- activations

ACTIVATIONS = {
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "gelu_tanh": lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2),
    "leaky_relu_default": lambda lib, x: lib.nn.functional.leaky_relu(x),
    "leaky_relu_": lambda lib, x: lib.nn.functional.leaky_relu(x * 1, 0.3, inplace=True),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "silu_": lambda lib, x: lib.nn.functional.silu(x * 1, inplace=True),
    "elu": lambda lib, x: lib.nn.functional.elu(x, 0.7),
    "elu_": lambda lib, x: lib.nn.functional.elu(x * 1, inplace=True),
    "selu": lambda lib, x: lib.nn.functional.selu(x),
    "selu_": lambda lib, x: lib.nn.functional.selu(x * 1, True),
    "celu": lambda lib, x: lib.nn.functional.celu(x, 0.5),
    "celu_": lambda lib, x: lib.nn.functional.celu(x * 1, 2.0, True),
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x, -2.0, 1.0),
    "hardtanh_": lambda lib, x: lib.nn.functional.hardtanh(x * 1, inplace=True),
    "relu6": lambda lib, x: lib.nn.functional.relu6(x * 3),
    "module_gelu": lambda lib, x: lib.nn.GELU()(x),
    "module_leaky": lambda lib, x: lib.nn.LeakyReLU(0.05)(x),
    "module_silu": lambda lib, x: lib.nn.SiLU()(x),
    "module_elu": lambda lib, x: lib.nn.ELU()(x),
    "module_relu6_": lambda lib, x: lib.nn.ReLU6(inplace=True)(x * 3),
    "module_hardtanh": lambda lib, x: lib.nn.Hardtanh(-0.5, 0.5)(x),
    "logsigmoid": lambda lib, x: lib.nn.functional.logsigmoid(x),
    "mish": lambda lib, x: lib.nn.Mish()(x),
    "mish_": lambda lib, x: lib.nn.functional.mish(x * 1, inplace=True),
    "hardswish": lambda lib, x: lib.nn.Hardswish()(x * 2),
    "hardswish_": lambda lib, x: lib.nn.functional.hardswish(x * 2, inplace=True),
    "softsign": lambda lib, x: lib.nn.Softsign()(x),
    "tanhshrink": lambda lib, x: lib.nn.Tanhshrink()(x),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_vs_torch(name, dtype):
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (2e-6, 1e-7)
    if "gelu" in name and dtype == "float32":
        atol = 1e-6  # PyTorch's float32 erf/tanh are vectorised approximations (README)
    check(ACTIVATIONS[name], _X, dtype=dtype, rtol=rtol, atol=atol)


@pytest.mark.parametrize("inplace", [False, True])
def test_hardsigmoid_double_backward_not_implemented(inplace):
    check(lambda lib, x: lib.nn.Hardsigmoid(inplace)(x * 2), _X, double=False)

    def program(lib):
        x = lib.tensor(_X, requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.hardsigmoid(x * 2, inplace).sum(), x, create_graph=True)
        assert type(g.grad_fn).__name__ == "NotImplemented"
        lib.autograd.grad(g.sum(), x)

    refused(program)


def test_activation_random_values():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5)) * 4).tolist()
    for name in ("gelu", "gelu_tanh", "silu", "elu", "celu", "selu"):
        check(ACTIVATIONS[name], x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.nn.functional.gelu(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.leaky_relu(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.silu(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.mish(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.logsigmoid(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.hardswish(lib.tensor([1, 2])),
        lambda lib: lib.nn.functional.elu(lib.tensor([1, 2]), inplace=True),
        lambda lib: lib.nn.functional.hardtanh(lib.tensor([True])),
        lambda lib: lib.nn.functional.gelu(lib.tensor([1.0]), approximate="fast"),
        lambda lib: lib.nn.functional.hardtanh(lib.tensor([1.0]), 2.0, 1.0),
        lambda lib: lib.nn.Hardtanh(2, 1),
        lambda lib: (
            lib.nn.functional.leaky_relu(lib.tensor([1.0], requires_grad=True) * 1, -0.5, True).sum().backward()
        ),
        lambda lib: lib.nn.functional.elu(lib.tensor([-1.0], requires_grad=True) * 1, -0.5, True).sum().backward(),
    ],
)
def test_activation_errors(program):
    refused(program)


def test_activation_on_leaf_in_place_refused():
    refused(lambda lib: lib.nn.functional.leaky_relu(lib.tensor([1.0], requires_grad=True), inplace=True))


def test_hardtanh_of_integers():
    for lib_out in (gc.nn.functional.hardtanh(gc.tensor([3, -2, 0])), torch.nn.functional.relu6(torch.tensor([9, -2]))):
        assert not lib_out.dtype.is_floating_point
    assert gc.nn.functional.hardtanh(gc.tensor([3, -2, 0])).tolist() == [1, -1, 0]


def test_in_place_activation_versions():
    for lib in (gc, torch):
        x = lib.tensor([-1.0, 2.0], requires_grad=True)
        y = x * 1
        lib.nn.functional.silu(y, inplace=True)
        z = x * 1
        lib.nn.functional.leaky_relu(z, inplace=True)
        assert (y._version, z._version) == (1, 1)
    # a later edit of the result breaks LeakyReluBackward1 (it saved the result), not SiluBackward0
    res = []
    for lib in (gc, torch):
        x = lib.tensor([-1.0, 2.0], requires_grad=True)
        y = lib.nn.functional.leaky_relu(x * 1, inplace=True)
        y.add_(1)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        res.append(str(info.value).split(";")[0])
    assert res[0] == res[1]


def test_activation_module_reprs():
    def modules(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.GELU(),
            nn.GELU(approximate="tanh"),
            nn.LeakyReLU(),
            nn.LeakyReLU(0.1, inplace=True),
            nn.SiLU(),
            nn.SiLU(True),
            nn.ELU(),
            nn.ELU(0.5, True),
            nn.SELU(),
            nn.CELU(0.3, True),
            nn.Hardtanh(),
            nn.Hardtanh(-2, 2, True),
            nn.ReLU6(),
            nn.ReLU6(True),
            nn.Softplus(2, 10),
            nn.LogSigmoid(),
            nn.Mish(),
            nn.Mish(True),
            nn.Hardswish(True),
            nn.Hardsigmoid(),
            nn.Softsign(),
            nn.Tanhshrink(),
        )

    assert repr(modules(gc)) == repr(modules(torch))


# ----------------------------------------------------------------------------- losses

_P = [0.1, 0.5, 0.999, 0.3, 0.0, 1.0]
_T = [0.0, 1.0, 1.0, 0.25, 0.0, 1.0]
_LOGITS = [-3.0, 0.0, 2.0, 0.5, -0.25, 40.0]


def _w(lib, values):
    return lib.tensor(values, dtype=lib.float64)


LOSSES = {
    "bce_mean": (lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x, t), [_P[:4], _T[:4]]),
    "bce_edges": (lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x, t, reduction="sum"), [_P, _T]),
    "bce_none_w": (
        lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x, t, _w(lib, [1.0, 2, 3, 4]), reduction="none"),
        [_P[:4], _T[:4]],
    ),
    "bce_module": (lambda lib, x, t: lib.nn.BCELoss(weight=_w(lib, [2.0]))(x, t), [_P[:4], _T[:4]]),
    "bce_logits": (lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(x, t), [_LOGITS, _T]),
    "bce_logits_pw": (
        lambda lib, x, t: lib.nn.BCEWithLogitsLoss(pos_weight=_w(lib, [1.0, 2, 3, 0.5, 1, 2]), reduction="sum")(x, t),
        [_LOGITS, _T],
    ),
    "bce_logits_w_pw": (
        lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=_w(lib, [[1.0], [3.0]]), pos_weight=_w(lib, [2.0, 1, 0.5]), reduction="none"
        ),
        [[_LOGITS[:3], _LOGITS[3:]], [_T[:3], _T[3:]]],
    ),
    "smooth_l1": (lambda lib, x, t: lib.nn.functional.smooth_l1_loss(x, t), [_LOGITS, _T]),
    "smooth_l1_beta": (lambda lib, x, t: lib.nn.SmoothL1Loss(reduction="sum", beta=0.5)(x, t), [_LOGITS, _T]),
    "smooth_l1_beta0": (lambda lib, x, t: lib.nn.functional.smooth_l1_loss(x, t, beta=0.0), [_LOGITS, _T]),
    "huber": (lambda lib, x, t: lib.nn.functional.huber_loss(x, t, delta=0.5), [_LOGITS, _T]),
    "huber_none": (lambda lib, x, t: lib.nn.HuberLoss(reduction="none", delta=2.0)(x, t), [_LOGITS, _T]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_vs_torch(name):
    program, data = LOSSES[name]
    check(program, *data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["bce_mean", "bce_logits_pw", "smooth_l1", "huber"])
def test_loss_float32(name):
    program, data = LOSSES[name]
    check(program, *data, dtype="float32", double=False, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor([-0.1, 0.5]), lib.tensor([1.0, 0.0])),
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor([0.5]), lib.tensor([1.0, 1.0])),
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([1, 1])),
        lambda lib: lib.nn.functional.binary_cross_entropy(
            lib.tensor([0.5, 0.5]), lib.tensor([1.0, 1.0]), weight=lib.ones(3)
        ),
        lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(lib.tensor([0.5]), lib.tensor([1.0, 1.0])),
        lambda lib: lib.nn.functional.binary_cross_entropy(
            lib.tensor([0.5]), lib.tensor([1.0]), weight=lib.ones(1, requires_grad=True)
        ),
        lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
            lib.tensor([0.5]), lib.tensor([1.0]), pos_weight=lib.ones(1, requires_grad=True)
        ),
        lambda lib: lib.nn.functional.smooth_l1_loss(lib.tensor([0.5]), lib.tensor([1.0]), beta=-1.0),
        lambda lib: lib.nn.functional.huber_loss(lib.tensor([0.5]), lib.tensor([1.0]), delta=0.0),
    ],
)
def test_loss_errors(program):
    refused(program)


def test_loss_size_warning():
    texts = []
    for lib in (gc, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.functional.smooth_l1_loss(lib.tensor([[0.5], [2.0]]), lib.tensor([1.0, 0.0]))
        texts.append((round(out.item(), 6), [str(w.message) for w in caught]))
    assert texts[0] == texts[1] and texts[0][1]


def test_loss_module_reprs_and_buffers():
    def build(lib):
        nn = lib.nn
        mods = [nn.BCELoss(), nn.BCEWithLogitsLoss(pos_weight=lib.ones(2)), nn.SmoothL1Loss(beta=0.5), nn.HuberLoss()]
        return [repr(m) for m in mods], list(mods[1].state_dict())

    assert build(gc) == build(torch)


def test_bce_training_step_matches():
    """A small logistic regression: the loss and the grads after a seeded init."""
    res = []
    for lib in (gc, torch):
        lib.manual_seed(3)
        model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.GELU(), lib.nn.Linear(3, 1))
        x = lib.rand(8, 4)
        y = (lib.rand(8, 1) > 0.5).float()
        loss = lib.nn.BCEWithLogitsLoss()(model(x), y)
        loss.backward()
        res.append((loss.item(), [_np(p.grad) for p in model.parameters()]))
    assert res[0][0] == pytest.approx(res[1][0], rel=1e-6)
    for a, b in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- embedding


def test_embedding_init_is_pytorchs():
    for kwargs in ({}, {"padding_idx": 2}, {"padding_idx": -1}):
        gc.manual_seed(5)
        torch.manual_seed(5)
        a, b = gc.nn.Embedding(7, 4, **kwargs), torch.nn.Embedding(7, 4, **kwargs)
        assert repr(a) == repr(b) and str(a.weight) == str(b.weight)
        assert np.array_equal(_np(a.weight), _np(b.weight))
        assert a.padding_idx == b.padding_idx


def test_embedding_forward_backward():
    for kwargs in ({}, {"padding_idx": 1}, {"scale_grad_by_freq": True}, {"padding_idx": 0, "max_norm": 1.0}):
        res = []
        for lib in (gc, torch):
            lib.manual_seed(0)
            emb = lib.nn.Embedding(5, 3, **kwargs)
            idx = lib.tensor([[0, 1, 1], [4, 1, 0]])
            y = emb(idx)
            saved = _saved(y.grad_fn)
            (y * lib.arange(18.0).view(2, 3, 3)).sum().backward()
            res.append((_np(y), _np(emb.weight.grad), _np(emb.weight), emb.weight._version, saved, str(y)))
        (a, b) = res
        for i in range(3):
            np.testing.assert_allclose(a[i], b[i], rtol=1e-6)
        assert a[3] == b[3] and a[5] == b[5]
        _same_saved(a[4], b[4])


def test_embedding_functional_and_double_backward():
    def program(lib, w, g):
        idx = lib.tensor([2, 0, 2])
        y = lib.nn.functional.embedding(idx, w, padding_idx=0)
        (gw,) = lib.autograd.grad((y * g).sum(), w, create_graph=True)
        return gw

    res = []
    for lib in (gc, torch):
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        g = lib.tensor([[1.0, -1.0], [2.0, 0.5], [3.0, 1.0]], requires_grad=True)
        gw = program(lib, w, g)
        saved = _saved(gw.grad_fn)
        (gg,) = lib.autograd.grad((gw * lib.arange(6.0).view(3, 2)).sum(), g)
        res.append((_np(gw), type(gw.grad_fn).__name__, saved, _np(gg)))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    assert res[0][1] == res[1][1]
    _same_saved(res[0][2], res[1][2])
    np.testing.assert_array_equal(res[0][3], res[1][3])


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])),
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([-1])),
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([1.0])),
        lambda lib: lib.nn.Embedding(3, 2, padding_idx=3),
        lambda lib: lib.nn.Embedding(3, 2, padding_idx=-4),
        lambda lib: lib.nn.functional.embedding(lib.tensor([0]), lib.ones(3)),
    ],
)
def test_embedding_errors(program):
    refused(program)


def test_embedding_reprs_and_from_pretrained():
    def build(lib):
        nn = lib.nn
        pre = nn.Embedding.from_pretrained(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        mods = [
            nn.Embedding(10, 3, max_norm=1.0),
            nn.Embedding(10, 3, norm_type=1.0, scale_grad_by_freq=True),
            nn.Embedding(10, 3, sparse=True),
            pre,
        ]
        return [repr(m) for m in mods], pre.weight.requires_grad, pre(lib.tensor([1])).tolist()

    assert build(gc) == build(torch)


# ----------------------------------------------------------------------------- containers


def test_module_dict_and_parameter_containers():
    def build(lib):
        nn = lib.nn
        d = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
        d["c"] = nn.Tanh()
        d.update([("e", nn.GELU())])
        pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3, 2)])
        pl.append(lib.ones(1, dtype=lib.float64))
        pd = nn.ParameterDict({"w": nn.Parameter(lib.ones(2)), "b": lib.zeros(3)})
        holder = nn.Module()
        holder.ps, holder.md = pl, d
        return (
            repr(d),
            list(d),
            "a" in d,
            repr(pl),
            len(pl),
            type(pl[1]).__name__,
            pl[1].requires_grad,
            repr(pd),
            list(pd.keys()),
            [n for n, _ in holder.named_parameters()],
            list(holder.state_dict()),
            repr(nn.ParameterList()),
        )

    assert build(gc) == build(torch)
    refused(lambda lib: lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1))])[3])
    refused(lambda lib: lib.nn.ParameterList()(1))


# ----------------------------------------------------------------------------- backward hooks


def _hook_program(lib):
    """A Linear and a ReLU with full backward (pre-)hooks; returns everything they saw."""
    nn = lib.nn
    lib.manual_seed(0)
    lin = nn.Linear(3, 2)
    log = []

    def as_lists(gs):
        return [None if g is None else g.tolist() for g in gs]

    def full(m, gi, go):
        log.append(("full", type(m).__name__, as_lists(gi), as_lists(go)))

    lin.register_full_backward_hook(full)
    lin.register_full_backward_pre_hook(lambda m, go: log.append(("pre", as_lists(go))))
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = lin(x)
    graph = (
        repr(y.grad_fn).split(" at ")[0],
        [type(n).__name__ for n, _ in y.grad_fn.next_functions],
        [type(n).__name__ for n, _ in y.grad_fn.next_functions[0][0].next_functions],
        x.is_leaf,
        x.grad_fn,
    )
    (y * lib.tensor([[1.0, 2.0]])).sum().backward()
    relu = nn.ReLU()
    relu.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
    relu.register_full_backward_hook(full)
    z = lib.tensor([-1.0, 2.0], requires_grad=True)
    relu(z).sum().backward()
    return graph, log, x.grad.tolist(), z.grad.tolist()


def test_full_backward_hooks_vs_torch():
    assert _hook_program(gc) == _hook_program(torch)


def test_full_backward_hook_inputs_without_grad():
    def program(lib):
        nn = lib.nn
        log = []

        class Two(nn.Module):
            def forward(self, a, k, b):
                return a * k, b + 1

        two = Two()
        two.register_full_backward_hook(
            lambda m, gi, go: log.append(([None if g is None else g.tolist() for g in gi], go[1]))
        )
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        p, q = two(a, 3, lib.tensor([3.0]))
        p.sum().backward()
        lin = nn.Linear(2, 1)
        lin.register_full_backward_hook(lambda m, gi, go: log.append(gi))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lin(lib.ones(1, 2)).sum().backward()
        return log, q.requires_grad, q.grad_fn, [str(w.message) for w in caught]

    ours, theirs = program(gc), program(torch)
    assert ours == theirs and ours[3]


def test_full_backward_hook_errors():
    def wrong_count(lib):
        relu = lib.nn.ReLU()
        relu.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        relu(lib.tensor([1.0], requires_grad=True)).sum().backward()

    refused(wrong_count)


def test_custom_function_hook_sees_returned_grads():
    def program(lib):
        class Mul(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b

            @staticmethod
            def backward(ctx, g):
                return g * 2, g * 3

        seen = []
        y = Mul.apply(lib.tensor([1.0, 1.0], requires_grad=True), lib.ones(2))
        y.grad_fn.register_hook(lambda gi, go: seen.append([None if g is None else g.tolist() for g in gi]))
        y.sum().backward()
        return seen, repr(y.grad_fn).split(" at ")[0]

    assert program(gc) == program(torch)


def test_custom_function_returns_inputs_as_views():
    def program(lib):
        class Same(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                ctx.mark_non_differentiable(y)
                return x, y

            @staticmethod
            def backward(ctx, g, h):
                return g * 2, None

        x = lib.ones(2, requires_grad=True)
        w = lib.ones(2, requires_grad=True)
        a, b = Same.apply(x, w)
        facts = (x.is_leaf, a.is_leaf, a._base is x, b.requires_grad, b._base is w, a._version)
        (a * 3).sum().backward()
        return facts, x.grad.tolist()

    assert program(gc) == program(torch)


@pytest.mark.parametrize("through_hook", [False, True])
def test_in_place_edit_of_custom_function_view_refused(through_hook):
    def program(lib):
        if through_hook:
            lin = lib.nn.Linear(2, 2)
            lin.register_full_backward_hook(lambda m, gi, go: None)
            y = lin(lib.ones(1, 2, requires_grad=True))
        else:

            class View(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x.view_as(x)

                @staticmethod
                def backward(ctx, g):
                    return g

            y = View.apply(lib.ones(2, requires_grad=True) * 1)
        y.relu_()

    refused(program)


def test_backward_hook_views_are_not_cutoffs_for_gradlens():
    """The views a backward hook puts around a module's inputs and outputs carry history:
    gradlens must not report them as cut off."""
    import gradlens

    with gradlens.trace() as tr:
        lin = gc.nn.Linear(2, 1)
        lin.register_full_backward_hook(lambda m, gi, go: None)
        x = gc.ones(1, 2, requires_grad=True)
        lin(gc.nn.functional.gelu(x)).sum().backward()
    assert tr.cutoffs() == []
    assert x.grad is not None

"""AdamW, RMSprop, Adagrad, lr_scheduler, grad clipping, torch.utils.data and save/load, against torch.

Every test runs one program under gradlens_core and under PyTorch 2.13 and compares what
they give: parameters after several steps, reprs, state dicts, warnings and errors, the order
of shuffled batches and the random numbers after them, and files saved by one library and
loaded by the other.
"""

from __future__ import annotations

import collections
import io
import warnings

import numpy as np
import pytest

import gradlens_core as gl

torch = pytest.importorskip("torch")


def _both(program):
    return program(gl), program(torch)


def _arr(t):
    return t.detach().numpy().copy()


# ----------------------------------------------------------------------------- optimizers

OPTIMIZER_CASES = [
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"maximize": True, "betas": (0.8, 0.9)}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "alpha": 0.9, "eps": 1e-6, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05}),
    ("Adagrad", {"maximize": True, "eps": 1e-6}),
]


def _run_optimizer(lib, name, kwargs, dtype, steps=12):
    rng = np.random.default_rng(0)
    p = lib.nn.Parameter(lib.tensor(rng.standard_normal((5, 17)).astype(dtype)))
    q = lib.nn.Parameter(lib.tensor(rng.standard_normal(3).astype(dtype)))
    opt = getattr(lib.optim, name)([{"params": [p]}, {"params": [q], "lr": 0.05}], **kwargs)
    for _ in range(steps):
        p.grad = lib.tensor(rng.standard_normal((5, 17)).astype(dtype))
        q.grad = lib.tensor(rng.standard_normal(3).astype(dtype))
        opt.step()
    return p, q, opt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", OPTIMIZER_CASES)
def test_optimizer_steps_state_and_repr_match_torch(name, kwargs, dtype):
    (p, q, opt), (tp, tq, topt) = _both(lambda lib: _run_optimizer(lib, name, kwargs, dtype))
    # PyTorch's float sqrt is MKL's (not always correctly rounded): close, not always bit-equal
    tol = 2e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(_arr(p), _arr(tp), rtol=tol, atol=tol)
    np.testing.assert_allclose(_arr(q), _arr(tq), rtol=tol, atol=tol)
    assert (p._version, q._version) == (tp._version, tq._version)
    assert str(opt) == str(topt)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    for i in (0, 1):
        assert list(sd["state"][i]) == list(tsd["state"][i])
        for key, value in sd["state"][i].items():
            tvalue = tsd["state"][i][key]
            assert str(value.dtype) == str(tvalue.dtype) and tuple(value.shape) == tuple(tvalue.shape)
            np.testing.assert_allclose(_arr(value), _arr(tvalue), rtol=tol, atol=1e-30)


def test_adagrad_is_bit_identical_where_sqrt_is_exact():
    # the running sums of squares are perfect squares (9, 25, 169, 7225), so sqrt is exact in
    # both libraries and every other rounding (fused addcmul/addcdiv, lr_decay) must agree
    grads = [3.0, 4.0, 12.0, 84.0]

    def program(lib):
        p = lib.nn.Parameter(lib.tensor([0.3, -1.7, 2.9, 1e-3], dtype=lib.float32))
        opt = lib.optim.Adagrad([p], lr=0.37, lr_decay=0.013, weight_decay=0.0)
        out = []
        for g in grads:
            p.grad = lib.tensor([g, -g * 2, g / 4, g * 8], dtype=lib.float32)
            opt.step()
            out.append(_arr(p))
        return out

    ours, theirs = _both(program)
    for a, b in zip(ours, theirs):
        assert a.tobytes() == b.tobytes()


def test_adamw_is_adam_with_decoupled_decay_and_refuses_bad_arguments():
    def program(lib):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.AdamW([p])
        out = [
            opt.defaults["weight_decay"],
            opt.param_groups[0]["decoupled_weight_decay"],
            isinstance(opt, lib.optim.Adam),
        ]
        for bad in ({"lr": -1.0}, {"betas": (1.0, 0.9)}, {"eps": -1.0}):
            with pytest.raises(ValueError) as e:
                lib.optim.AdamW([p], **bad)
            out.append(str(e.value))
        for cls, bad in (("RMSprop", {"alpha": -1.0}), ("RMSprop", {"momentum": -1.0}), ("Adagrad", {"lr_decay": -1})):
            with pytest.raises(ValueError) as e:
                getattr(lib.optim, cls)([p], **bad)
            out.append(str(e.value))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


def test_adagrad_state_exists_from_construction_and_round_trips():
    def program(lib):
        p = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.Adagrad([p], initial_accumulator_value=0.5)
        sd = opt.state_dict()
        out = [sorted(sd["state"][0]), repr(sd["state"][0]["sum"]), repr(sd["state"][0]["step"])]
        p.grad = lib.full((3,), 2.0)
        opt.step()
        other = lib.optim.Adagrad([lib.nn.Parameter(lib.ones(3))])
        other.load_state_dict(opt.state_dict())
        out.append(repr(other.state_dict()["state"][0]["sum"]))
        out.append(other.param_groups[0]["initial_accumulator_value"])
        return out

    ours, theirs = _both(program)
    assert ours == theirs


# ----------------------------------------------------------------------------- grad clipping


def _grads_program(lib, norm_type, max_norm, foreach=None):
    rng = np.random.default_rng(1)
    ps = []
    for shape in [(5, 3), (7,), (2, 2, 2)]:
        p = lib.nn.Parameter(lib.tensor(rng.standard_normal(shape).astype("float32")))
        p.grad = lib.tensor(rng.standard_normal(shape).astype("float32") * 3)
        ps.append(p)
    total = lib.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type, foreach=foreach)
    return total, ps


@pytest.mark.parametrize(
    "norm_type,max_norm", [(2.0, 1.0), (1, 0.5), (float("inf"), 0.3), (3.0, 1000.0), (0.5, 2.0), ("inf", 1.0)]
)
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    (total, ps), (ttotal, tps) = _both(lambda lib: _grads_program(lib, norm_type, max_norm))
    assert repr(total) == repr(ttotal)
    assert str(total.dtype) == str(ttotal.dtype) and total.requires_grad == ttotal.requires_grad
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(_arr(p.grad), _arr(tp.grad), rtol=1e-6)
        assert p.grad._version == tp.grad._version  # multiplied even when the coefficient is 1


def test_clip_grad_norm_edge_cases_match_torch():
    def program(lib):
        out = []
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        p.grad = lib.tensor([1.0, float("inf")])
        with pytest.raises(RuntimeError) as e:
            lib.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
        out.append(str(e.value))
        out.append(repr(lib.nn.utils.clip_grad_norm_(p, 1.0)))
        out.append(repr(p.grad))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out.append(repr(lib.nn.utils.clip_grad_norm_((q for q in []), 1.0)))
        out.append([str(x.message) for x in w])
        q = lib.nn.Parameter(lib.ones(2))  # no grad: skipped
        out.append(repr(lib.nn.utils.clip_grad_norm_([q], 1.0)))
        d = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))
        d.grad = lib.full((3,), 4.0, dtype=lib.float64)
        out.append(repr(lib.nn.utils.clip_grad_norm_(d.grad, 2.0)))
        out.append(repr(d.grad))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


def test_clip_grad_value_and_parameters_to_vector_match_torch():
    def program(lib):
        ps = [lib.nn.Parameter(lib.tensor([[0.5, -3.0], [2.0, 0.1]])), lib.nn.Parameter(lib.tensor([-0.7, 9.0]))]
        for p in ps:
            p.grad = p.detach() * 2
        out = [lib.nn.utils.clip_grad_value_(ps, 1.5)]
        out += [repr(p.grad) for p in ps] + [p.grad._version for p in ps]
        v = lib.nn.utils.parameters_to_vector(ps)
        out += [repr(v), type(v.grad_fn).__name__]
        lib.nn.utils.vector_to_parameters(v.detach() * 3, ps)
        out += [repr(p) for p in ps]
        return out

    ours, theirs = _both(program)
    assert ours == theirs


# ----------------------------------------------------------------------------- data


def test_dataloader_order_collate_and_rng_match_torch():
    def program(lib):
        out = []
        lib.manual_seed(5)
        ds = lib.utils.data.TensorDataset(lib.randn(10, 3), lib.arange(10))
        for kwargs in (
            {"batch_size": 4, "shuffle": True},
            {"batch_size": 3, "shuffle": True, "drop_last": True},
            {"batch_size": 4},
            {"batch_size": None, "shuffle": True},
        ):
            loader = lib.utils.data.DataLoader(ds, **kwargs)
            out.append(len(loader))
            for _ in range(2):
                out += [repr(b) for b in loader]
            out.append(repr(lib.rand(2)))  # the loops drew from the default generator as torch does
        g = lib.Generator().manual_seed(3)
        out.append([repr(y) for _, y in lib.utils.data.DataLoader(ds, batch_size=4, shuffle=True, generator=g)])
        sampler = lib.utils.data.RandomSampler(range(100), replacement=True, num_samples=40)
        out.append([repr(b) for b in lib.utils.data.DataLoader(list(range(100)), batch_size=7, sampler=sampler)])
        out.append(repr(lib.rand(1)))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


def test_default_collate_and_random_split_match_torch():
    point = collections.namedtuple("point", "x y")

    def program(lib):
        collate = lib.utils.data.default_collate
        out = [
            repr(collate([1.5, 2.5])),
            repr(collate([(1, "a", np.float32(2)), (2, "b", np.float32(3))])),
            repr(collate([{"a": np.ones(2), "b": [1, 2]}, {"a": np.zeros(2), "b": [3, 4]}])),
            repr(collate([point(1, 2.0), point(3, 4.0)])),
            repr(collate([True, False])),
            repr(collate([lib.ones(2, dtype=lib.int32), lib.zeros(2, dtype=lib.int32)])),
            repr(lib.utils.data.default_convert([np.ones(2), (1, np.int32(3))])),
        ]
        lib.manual_seed(2)
        a, b = lib.utils.data.random_split(range(10), [0.6, 0.4])
        out.append((list(a), list(b)))
        parts = lib.utils.data.random_split(range(10), [3, 3, 4], generator=lib.Generator().manual_seed(1))
        out.append([p.indices for p in parts])
        out.append(repr(lib.rand(1)))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


def test_data_errors_and_iterable_datasets_match_torch():
    def program(lib):
        data = lib.utils.data
        ds = data.TensorDataset(lib.arange(6.0), lib.arange(6))
        out = []
        for bad in (
            lambda: data.DataLoader(ds, sampler=[1], shuffle=True),
            lambda: data.DataLoader(ds, batch_sampler=[[1]], batch_size=2),
            lambda: data.DataLoader(ds, batch_size=None, drop_last=True),
            lambda: data.TensorDataset(lib.ones(3), lib.ones(2)),
            lambda: data.default_collate([object()]),
            lambda: data.random_split(ds, [3, 4]),
            lambda: data.BatchSampler(range(3), 0, False),
        ):
            with pytest.raises(Exception) as e:
                bad()
            out.append((type(e.value).__name__, str(e.value).split(";")[0]))

        class Numbers(data.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        out.append([repr(b) for b in data.DataLoader(Numbers(), batch_size=3)])
        out.append([repr(b) for b in data.DataLoader(Numbers(), batch_size=3, drop_last=True)])
        out.append(repr((ds + ds)[8]))
        out.append(repr(data.Subset(ds, [5, 0])[0]))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


# ----------------------------------------------------------------------------- lr_scheduler

SCHEDULERS = [
    ("StepLR", (3,), {"gamma": 0.3}),
    ("MultiStepLR", ([2, 5, 6],), {"gamma": 0.1}),
    ("ExponentialLR", (0.9,), {}),
    ("CosineAnnealingLR", (), {"T_max": 5, "eta_min": 0.001}),
    ("LambdaLR", (lambda e: 0.95**e,), {}),
    ("LinearLR", (), {"start_factor": 0.2, "total_iters": 4}),
    ("OneCycleLR", (), {"max_lr": 1.0, "total_steps": 12}),
    ("CosineAnnealingWarmRestarts", (), {"T_0": 3, "T_mult": 2}),
    ("PolynomialLR", (), {"total_iters": 5, "power": 2.0}),
]


@pytest.mark.parametrize("name,args,kwargs", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_lr_schedulers_match_torch(name, args, kwargs):
    def program(lib):
        p, q = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.1, momentum=0.9)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, *args, **kwargs)
        out = [sched.get_last_lr()]
        for _ in range(12):
            p.grad, q.grad = lib.ones(2), lib.ones(1)
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        out.append(repr(p))
        out.append(str(opt))
        state = sched.state_dict()
        out.append(sorted(k for k in state if k not in ("lr_lambdas", "_scale_fn_ref", "_anneal_func")))
        return out

    ours, theirs = _both(program)
    assert ours == theirs


def test_reduce_lr_on_plateau_and_scheduler_warnings_match_torch():
    def program(lib):
        out = []
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.Adam([p], lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, threshold=0.01, cooldown=1)
        for v in [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6]:
            p.grad = lib.ones(2)
            opt.step()
            sched.step(lib.tensor(v))
            out.append((sched.get_last_lr(), sched.num_bad_epochs))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            q = lib.nn.Parameter(lib.ones(2))
            opt = lib.optim.SGD([q], lr=0.1)
            sched = lib.optim.lr_scheduler.StepLR(opt, 1)
            sched.step()  # before any optimizer.step()
            sched.get_lr()
        out.append([(x.category.__name__, str(x.message).split(". ")[0]) for x in w])
        with pytest.raises(TypeError) as e:
            lib.optim.lr_scheduler.StepLR(object(), 1)
        out.append(str(e.value))
        return out

    ours, theirs = _both(program)
    assert ours == theirs
    assert any("Detected call of `lr_scheduler.step()` before `optimizer.step()`" in m for _, m in ours[-2])


# ----------------------------------------------------------------------------- save / load


def _checkpoint(lib):
    x = lib.arange(6.0).view(2, 3)
    return {
        "x": x,
        "row": x[1],
        "xt": x.t(),
        "p": lib.nn.Parameter(lib.ones(2)),
        "g": lib.ones(2, requires_grad=True),
        "i": lib.tensor([1, 2]),
        "h": lib.ones(2, 3, dtype=lib.float16).t(),
        "b": lib.tensor([True, False]),
        "u8": lib.tensor([1, 255], dtype=lib.uint8),
        "scalar": lib.tensor(2.5),
        "empty": lib.zeros(0),
        "nested": [x, (x, 1.5)],
        "shape": x.shape,
        "dtype": lib.float64,
        "n": 3,
        "od": collections.OrderedDict(z=1),
    }


def _describe(d):
    out = {}
    for k, v in d.items():
        if hasattr(v, "stride"):
            out[k] = (
                type(v).__name__,
                repr(v),
                str(v.dtype),
                v.stride(),
                v.storage_offset(),
                v.requires_grad,
                v._version,
            )
        else:
            out[k] = repr(v)
    return out


@pytest.mark.parametrize("saver,loader", [("gl", "torch"), ("torch", "gl"), ("gl", "gl")])
def test_save_load_interchange_with_torch(saver, loader):
    libs = {"gl": gl, "torch": torch}
    saver, loader = libs[saver], libs[loader]
    buf = io.BytesIO()
    saver.save(_checkpoint(saver), buf)
    loaded = loader.load(io.BytesIO(buf.getvalue()))
    ref_buf = io.BytesIO()
    torch.save(_checkpoint(torch), ref_buf)
    ref = torch.load(io.BytesIO(ref_buf.getvalue()))
    assert _describe(loaded) == _describe(ref)
    # memory shared at save time is shared after load (separate version counters, as in torch)
    loaded["row"].add_(10)
    assert loaded["x"][1, 0].item() == 13.0 and loaded["xt"][0, 1].item() == 13.0
    assert loaded["nested"][0] is loaded["x"]
    assert (loaded["x"]._version, loaded["row"]._version) == (1, 2)


def test_save_load_training_checkpoint_both_ways(tmp_path):
    def train(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 1))
        opt = lib.optim.AdamW(model.parameters(), lr=0.01)
        for _ in range(3):
            opt.zero_grad()
            model(lib.ones(2, 3)).sum().backward()
            opt.step()
        return model, opt

    for saver, loader in ((gl, torch), (torch, gl)):
        model, opt = train(saver)
        path = tmp_path / f"{saver.__name__}.pt"
        saver.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, path)
        ck = loader.load(path)
        model2, opt2 = train(loader)
        model2.load_state_dict(ck["model"])
        opt2.load_state_dict(ck["opt"])
        assert repr(model2(loader.ones(1, 3))) == repr(model(saver.ones(1, 3)))
        assert ck["epoch"] == 3 and repr(opt2.state_dict()["state"][0]["step"]) == "tensor(3.)"


def test_load_weights_only_refuses_modules_as_torch_does():
    for lib in (gl, torch):
        buf = io.BytesIO()
        lib.save(lib.nn.Linear(2, 1), buf)
        with pytest.raises(Exception) as e:
            lib.load(io.BytesIO(buf.getvalue()))
        assert type(e.value).__name__ == "UnpicklingError"
        assert str(e.value).startswith("Weights only load failed. This file can still be loaded")
        model = lib.load(io.BytesIO(buf.getvalue()), weights_only=False)
        assert type(model).__name__ == "Linear" and tuple(model.weight.shape) == (1, 2)
    buf = io.BytesIO()
    gl.save({"a": np.ones(2)}, buf)
    with pytest.raises(Exception) as e:
        torch.load(io.BytesIO(buf.getvalue()))
    with pytest.raises(Exception) as ours:
        gl.load(io.BytesIO(buf.getvalue()))
    assert str(ours.value) == str(e.value)


# ----------------------------------------------------------------------------- all together


def test_training_loop_with_everything_prints_what_torch_prints():
    def program(lib):
        lines = []
        lib.manual_seed(0)
        x = lib.randn(64, 4)
        ds = lib.utils.data.TensorDataset(x, (x.sum(1) > 0).long())
        train, _ = lib.utils.data.random_split(ds, [48, 16])
        loader = lib.utils.data.DataLoader(train, batch_size=16, shuffle=True)
        model = lib.nn.Sequential(lib.nn.Linear(4, 16), lib.nn.ReLU(), lib.nn.Linear(16, 2))
        for name in ("AdamW", "RMSprop", "Adagrad"):
            opt = getattr(lib.optim, name)(model.parameters(), lr=0.01)
            sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
            for epoch in range(3):
                for xb, yb in loader:
                    opt.zero_grad()
                    loss = lib.nn.functional.cross_entropy(model(xb), yb)
                    loss.backward()
                    norm = lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                    opt.step()
                sched.step()
                lines.append(f"{name} {epoch} {loss.item():.4f} {norm.item():.4f} {sched.get_last_lr()}")
        buf = io.BytesIO()
        lib.save(model.state_dict(), buf)
        buf.seek(0)
        lines.append(repr(lib.load(buf)["0.bias"][:3]))
        return lines

    ours, theirs = _both(program)
    assert ours == theirs

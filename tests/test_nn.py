"""Tests for ``gradlens_core.nn``: modules, parameters, functional ops and losses.

* expected strings and messages were recorded from PyTorch 2.13, so these tests need no torch;
* ``test_grad_*`` check backward formulas against float64 central differences;
* ``*_vs_torch`` tests train the same small models in both libraries (skipped without torch).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import gradlens_core as gl
import gradlens_core.nn.functional as F
from gradlens_core import nn

# ----------------------------------------------------------------------------- helpers


def _set_weights(model, seed: int = 0):
    """Deterministic parameters, written in place (also returned as numpy arrays)."""
    rng = np.random.default_rng(seed)
    arrays = []
    with gl.no_grad():
        for p in model.parameters():
            a = rng.uniform(-0.5, 0.5, size=tuple(p.shape)).astype(np.float32)
            p.copy_(gl.tensor(a))
            arrays.append(a)
    return arrays


def _central_diff_check(fn, arrays, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Compare the backward of ``fn(*float64 leaves)`` with central differences of ``sum(w * fn)``."""
    leaves = [gl.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    w = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(gl.tensor(w))

    def loss(arrs):
        # leaves require grad: fn may itself call autograd.grad
        return float((fn(*[gl.tensor(a, requires_grad=True) for a in arrs]).detach().numpy() * w).sum())

    nonzero = False
    for i, (a, leaf) in enumerate(zip(arrays, leaves)):
        numeric = np.zeros_like(a)
        for j in range(a.size):
            plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
            plus[i].flat[j] += eps
            minus[i].flat[j] -= eps
            numeric.flat[j] = (loss(plus) - loss(minus)) / (2 * eps)
        analytic = np.zeros_like(a) if leaf.grad is None else leaf.grad.numpy()
        assert analytic.dtype == np.float64
        np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=rtol, err_msg=f"input {i}")
        nonzero = nonzero or bool(np.any(numeric != 0))
    assert nonzero, "all numerical gradients are zero: the check would be vacuous"


def _rand(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ----------------------------------------------------------------------------- reprs


def test_sequential_repr_matches_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=True)\n"
        "  (3): Sigmoid()\n"
        ")"
    )


def test_nested_and_leaf_module_reprs():
    nested = nn.Sequential(nn.Sequential(nn.Linear(1, 2)), nn.Tanh())
    assert repr(nested) == (
        "Sequential(\n  (0): Sequential(\n    (0): Linear(in_features=1, out_features=2, bias=True)\n  )\n  (1): Tanh()\n)"
    )
    assert [repr(m) for m in (nn.Tanh(), nn.MSELoss(), nn.CrossEntropyLoss(), nn.NLLLoss(), nn.L1Loss())] == [
        "Tanh()",
        "MSELoss()",
        "CrossEntropyLoss()",
        "NLLLoss()",
        "L1Loss()",
    ]
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.LogSoftmax()) == "LogSoftmax(dim=None)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Identity(3, a=1)) == "Identity()"
    assert repr(nn.Sequential()) == "Sequential()"
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_module_list_repr_folds_repeats():
    ml = nn.ModuleList([nn.Linear(2, 3), nn.Linear(2, 3), nn.ReLU()])
    assert repr(ml) == "ModuleList(\n  (0-1): 2 x Linear(in_features=2, out_features=3, bias=True)\n  (2): ReLU()\n)"


def test_parameter_repr_and_flags():
    p = nn.Parameter(gl.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert str(p) == repr(p) and f"{p}" == repr(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert isinstance(p, gl.Tensor)
    assert type(p * 2).__name__ == "Tensor" and (p * 2).grad_fn is not None
    assert type(p.detach()).__name__ == "Tensor"
    frozen = nn.Parameter(gl.tensor([1.0, 2.0]), requires_grad=False)
    assert repr(frozen) == "Parameter containing:\ntensor([1., 2.])"
    assert repr(nn.Parameter()) == "Parameter containing:\ntensor([], requires_grad=True)"


def test_parameter_shares_storage_and_version_counter():
    base = gl.tensor([3.0, 4.0])
    p = nn.Parameter(base)
    base.add_(1)
    assert p.tolist() == [4.0, 5.0]
    assert p._version == base._version == 1


def test_parameter_from_non_leaf_is_a_leaf():
    t = gl.tensor([1.0, 2.0], requires_grad=True)
    p = nn.Parameter(t * 2)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameter_errors():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        nn.Parameter(gl.tensor([1, 2]))
    assert nn.Parameter(gl.tensor([1, 2]), requires_grad=False).dtype is gl.int64
    with pytest.raises(AttributeError, match="'list' object has no attribute 'detach'"):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_copies_values_not_grad():
    p = nn.Parameter(gl.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.grad is None
    with gl.no_grad():
        q.add_(1)
    assert p.tolist() == [1.0, 2.0]


# ----------------------------------------------------------------------------- registration and naming


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
        self.head = nn.Linear(4, 1, bias=False)
        self.register_buffer("scale", gl.tensor(2.0))
        self.register_buffer("tmp", gl.ones(1), persistent=False)
        self.extra = nn.Parameter(gl.tensor([0.5]))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale + self.extra


def test_named_parameters_in_sequential():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    names = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    assert names == [("0.weight", (3, 2)), ("0.bias", (3,)), ("2.weight", (1, 3)), ("2.bias", (1,))]
    for _, p in model.named_parameters():
        assert type(p).__name__ == "Parameter" and p.is_leaf and p.requires_grad and p.grad is None
    assert len(list(model.parameters())) == 4


def test_named_members_of_custom_module():
    net = _Net()
    assert [n for n, _ in net.named_parameters()] == ["extra", "body.0.weight", "body.0.bias", "head.weight"]
    assert [n for n, _ in net.named_buffers()] == ["scale", "tmp"]
    assert list(net.state_dict().keys()) == ["extra", "scale", "body.0.weight", "body.0.bias", "head.weight"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert net.head.bias is None and "bias" in net.head._parameters
    assert net.get_submodule("body.0") is net.body[0]
    assert net.get_parameter("body.0.bias") is net.body[0].bias


def test_shared_parameter_is_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3  # Sequential, Linear (once), ReLU


def test_setattr_rules_and_errors():
    net = _Net()
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'extra' \(torch.nn.Parameter"):
        net.extra = gl.zeros(1)
    with pytest.raises(TypeError, match=r"cannot assign 'int' as child module 'head'"):
        net.head = 3
    with pytest.raises(TypeError, match=r"cannot assign 'int' as buffer 'scale'"):
        net.scale = 3
    with pytest.raises(KeyError, match="attribute 'extra' already exists"):
        net.register_buffer("extra", gl.zeros(1))
    with pytest.raises(KeyError, match=r'parameter name can.+t contain "\."'):
        net.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        net.add_module("x", 5)
    with pytest.raises(
        TypeError, match=r"cannot assign 'torch.FloatTensor' object to parameter 'q' \(torch.nn.Parameter"
    ):
        net.register_parameter("q", nn.Parameter(gl.zeros(1)) * 2)
    with pytest.raises(AttributeError, match="'_Net' object has no attribute 'nothing'"):
        _ = net.nothing
    net.extra = None
    assert "extra" not in [n for n, _ in net.named_parameters()]
    net.scale = gl.tensor(3.0)
    assert net.state_dict()["scale"].item() == 3.0
    net.head = nn.Linear(4, 2)
    assert "head.bias" in net.state_dict()
    del net.scale
    assert not hasattr(net, "scale")


def test_assign_before_init_is_refused():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        Broken()


def test_forward_missing():
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
        nn.Module()(1)


# ----------------------------------------------------------------------------- sequential / module list


def test_sequential_indexing_len_iteration_append():
    a, b, c = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)
    model = nn.Sequential(a, b)
    assert len(model) == 2 and model[0] is a and model[-1] is b and list(model) == [a, b]
    sub = model[0:1]
    assert isinstance(sub, nn.Sequential) and len(sub) == 1 and sub[0] is a
    assert model.append(c) is model and model[2] is c and len(model) == 3
    with pytest.raises(IndexError, match="index 5 is out of range"):
        model[5]
    del model[1]
    assert list(model) == [a, c] and list(model._modules) == ["0", "1"]
    x = gl.tensor([[1.0]])
    assert model(x).shape == gl.Size([1, 1])


def test_module_list_registers_children():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and len(list(layers.parameters())) == 6
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    with pytest.raises(NotImplementedError):
        layers(gl.zeros(1))


# ----------------------------------------------------------------------------- modes, grads, conversions


def test_train_eval_propagate():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
    assert model.training and model[1][0].training
    assert model.eval() is model
    assert not model.training and not model[0].training and not model[1][0].training
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("yes")


def test_zero_grad_none_and_zeros():
    model = nn.Linear(2, 1)
    model(gl.tensor([[1.0, 2.0]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert [p.grad.tolist() for p in model.parameters()] == [[[0.0, 0.0]], [0.0]]
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_frozen_parameters_get_no_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    out = model(gl.tensor([[1.0, 2.0], [2.0, 1.0]]))
    F.mse_loss(out, gl.tensor([[1.0], [0.0]])).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads["0.weight"] is None and grads["0.bias"] is None
    assert grads["2.weight"] is not None and grads["2.bias"] is not None
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_no_grad_forward_records_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid()).eval()
    with gl.no_grad():
        out = model(gl.tensor([[1.0, 2.0]]))
    assert not out.requires_grad and out.grad_fn is None and out.shape == gl.Size([1, 1])


def test_dtype_conversions_keep_parameter_objects():
    model = nn.Linear(2, 3)
    weight = model.weight
    model(gl.ones(1, 2)).sum().backward()
    assert model.double() is model
    assert model.weight is weight and weight.dtype is gl.float64 and weight.grad.dtype is gl.float64
    assert model(gl.ones(1, 2, dtype=gl.float64)).dtype is gl.float64
    model.float()
    assert weight.dtype is gl.float32
    model.to(gl.float64)
    assert model.bias.dtype is gl.float64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes, but got desired"):
        model.to(gl.int64)
    assert nn.Linear(2, 3, dtype=gl.float64).weight.dtype is gl.float64


def test_apply_visits_children_first():
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_forward_hooks():
    model = nn.Linear(2, 1)
    _set_weights(model)
    calls = []
    h1 = model.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = model.register_forward_hook(lambda m, args, out: out * 0)
    out = model(gl.ones(1, 2))
    assert calls == ["pre"] and out.tolist() == [[0.0]]
    h1.remove()
    h2.remove()
    assert model(gl.ones(1, 2)).tolist() != [[0.0]] and calls == ["pre"]


# ----------------------------------------------------------------------------- state dicts


def test_state_dict_is_detached_and_shares_storage():
    model = nn.Sequential(nn.Linear(2, 2))
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias"] and type(sd).__name__ == "OrderedDict"
    w = sd["0.weight"]
    assert type(w).__name__ == "Tensor" and not w.requires_grad and w.is_leaf
    with gl.no_grad():
        model[0].weight.fill_(7.0)
    assert w.tolist() == [[7.0, 7.0], [7.0, 7.0]]  # same storage


def test_state_dict_round_trip():
    src = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    dst = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    _set_weights(src, seed=1)
    _set_weights(dst, seed=2)
    version = dst[0].weight._version
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    for a, b in zip(src.parameters(), dst.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
        assert a.detach().numpy() is not b.detach().numpy()
    assert dst[0].weight._version == version + 1  # one in-place copy_
    x = gl.tensor(_rand(5, 3).astype(np.float32))
    assert np.array_equal(src(x).detach().numpy(), dst(x).detach().numpy())
    assert dst[0].weight.is_leaf and dst[0].weight.requires_grad


def test_load_state_dict_errors():
    model = nn.Linear(2, 2)
    sd = model.state_dict()
    with pytest.raises(RuntimeError) as e:
        model.load_state_dict({"weight": gl.zeros(2, 2)})
    assert str(e.value) == 'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
    with pytest.raises(RuntimeError) as e:
        model.load_state_dict({**sd, "extra": gl.zeros(1)})
    assert str(e.value) == 'Error(s) in loading state_dict for Linear:\n\tUnexpected key(s) in state_dict: "extra". '
    with pytest.raises(RuntimeError) as e:
        model.load_state_dict({"weight": gl.zeros(3, 2), "bias": gl.zeros(2)})
    assert str(e.value) == (
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param with shape "
        "torch.Size([3, 2]) from checkpoint, the shape in current model is torch.Size([2, 2])."
    )
    with pytest.raises(RuntimeError) as e:
        nn.Sequential(nn.Linear(2, 2)).load_state_dict({"weight": gl.zeros(2, 2)})
    assert str(e.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "0.weight", "0.bias". \n'
        '\tUnexpected key(s) in state_dict: "weight". '
    )
    result = model.load_state_dict({"weight": gl.zeros(2, 2)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == []
    assert model.weight.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([1])


# ----------------------------------------------------------------------------- linear and init


def test_linear_init_is_uniform_in_pytorch_bounds():
    gl.manual_seed(0)
    layer = nn.Linear(16, 8)
    bound = 1 / np.sqrt(16)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.shape == (8, 16) and b.shape == (8,)
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    assert w.std() > bound / 4  # spread over the interval, not a constant
    assert layer.weight._version == 1  # initialised by one in-place write
    gl.manual_seed(0)
    again = nn.Linear(16, 8)
    assert np.array_equal(again.weight.detach().numpy(), w)


def test_init_functions_fill_in_place():
    t = gl.empty(3, 4)
    assert nn.init.constant_(t, 0.5) is t and np.all(t.numpy() == 0.5)
    assert nn.init.zeros_(t) is t and np.all(t.numpy() == 0)
    assert nn.init.ones_(t) is t and np.all(t.numpy() == 1)
    assert nn.init.uniform_(t, -2.0, -1.0) is t and np.all((t.numpy() >= -2) & (t.numpy() < -1))
    a = np.sqrt(6 / (3 + 4))
    assert nn.init.xavier_uniform_(t) is t and np.all(np.abs(t.numpy()) <= a)
    assert nn.init.normal_(t, 10.0, 0.01) is t and abs(t.numpy().mean() - 10) < 0.1
    p = nn.Parameter(gl.zeros(2, 2))
    nn.init.kaiming_uniform_(p)  # allowed on a leaf that requires grad: it runs under no_grad
    assert p.is_leaf and p.grad_fn is None and np.any(p.detach().numpy() != 0)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        nn.init.kaiming_uniform_(gl.empty(3))


def test_linear_grad_fn_names_follow_aten():
    w = nn.Parameter(gl.ones(2, 3))
    b = nn.Parameter(gl.ones(2))
    assert F.linear(gl.ones(4, 3), w, b).grad_fn.name() == "AddmmBackward0"
    assert F.linear(gl.ones(4, 3), w).grad_fn.name() == "MmBackward0"
    assert F.linear(gl.ones(3), w, b).grad_fn.name() == "ViewBackward0"
    assert F.linear(gl.ones(5, 4, 3), w, b).grad_fn.name() == "ViewBackward0"
    assert F.linear(gl.ones(4, 5, 3).transpose(0, 1), w, b).grad_fn.name() == "AddBackward0"
    assert F.linear(gl.ones(5, 4, 3), w, b).shape == gl.Size([5, 4, 2])
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x4 and 3x2\)"):
        F.linear(gl.ones(4, 4), w, b)
    with pytest.raises(RuntimeError, match="both arguments to linear need to be at least 1D, but they are 0D and 2D"):
        F.linear(gl.tensor(1.0), w, b)


# ----------------------------------------------------------------------------- functional values and errors


def test_mse_loss_values_and_node():
    x = gl.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    y = gl.tensor([[0.0, 2.0], [1.0, 1.0]])
    out = F.mse_loss(x, y)
    assert out.grad_fn.name() == "MseLossBackward0" and out.item() == pytest.approx(21 / 4)
    assert F.mse_loss(x, y, reduction="sum").item() == pytest.approx(21.0)
    assert F.mse_loss(x, y, reduction="none").tolist() == [[1.0, 0.0], [4.0, 16.0]]
    assert len(out.grad_fn.next_functions) == 2 and out.grad_fn.next_functions[1][0] is None
    assert len(out.grad_fn._held) == 2  # self and target
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, y, reduction="foo")
    assert F.mse_loss(x, y.double()).dtype is gl.float64  # promoted like PyTorch
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        F.mse_loss(gl.tensor([1, 2]), gl.tensor([1, 2]))


def test_mse_loss_size_mismatch_warns_and_broadcasts():
    x = gl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[2\]\)\) that is different to the input"):
        out = F.mse_loss(x, gl.tensor([1.0, 2.0]))
    assert out.item() == pytest.approx((0 + 0 + 4 + 4) / 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(3\)"):
            F.mse_loss(x, gl.ones(3, 2))


def test_mse_loss_saved_input_is_version_checked():
    x = gl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    loss = F.mse_loss(h, gl.zeros(2))
    with gl.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_nll_loss_values_reductions_and_ignore_index():
    logp = gl.tensor([[-0.1, -2.0, -3.0], [-1.5, -0.3, -2.5], [-2.0, -1.0, -0.6]], requires_grad=True)
    target = gl.tensor([0, 1, 2])
    out = F.nll_loss(logp, target)
    assert out.grad_fn.name() == "NllLossBackward0" and out.item() == pytest.approx((0.1 + 0.3 + 0.6) / 3)
    assert len(out.grad_fn.next_functions) == 1
    assert F.nll_loss(logp, target, reduction="sum").item() == pytest.approx(1.0)
    assert np.allclose(F.nll_loss(logp, target, reduction="none").tolist(), [0.1, 0.3, 0.6])
    ignored = F.nll_loss(logp, gl.tensor([0, -100, 2]), reduction="none")
    assert np.allclose(ignored.tolist(), [0.1, 0.0, 0.6]) and not np.signbit(ignored.tolist()[1])
    assert F.nll_loss(logp, gl.tensor([0, -100, 2])).item() == pytest.approx(0.35)
    assert np.isnan(F.nll_loss(logp, gl.tensor([-100, -100, -100])).item())
    weighted = F.nll_loss(logp, target, weight=gl.tensor([1.0, 2.0, 3.0]))
    assert weighted.item() == pytest.approx((0.1 + 0.6 + 1.8) / 6)
    assert F.nll_loss(logp[1], gl.tensor(2)).item() == pytest.approx(2.5)


def test_nll_loss_errors():
    x = gl.zeros(3, 4)
    with pytest.raises(IndexError, match="^Target 5 is out of bounds.$"):
        F.nll_loss(x, gl.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match="^Target -1 is out of bounds.$"):
        F.nll_loss(x, gl.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)."):
        F.nll_loss(x, gl.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        F.nll_loss(x, gl.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.nll_loss(x, gl.zeros(3, 2, dtype=gl.int64))
    with pytest.raises(ValueError, match="For 1D input, 1D target must have size 1, but got target size: 2"):
        F.nll_loss(x[0], gl.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        F.nll_loss(x[0, 0], gl.tensor(1))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4 classes or no classes"):
        F.nll_loss(x, gl.tensor([0, 1, 2]), weight=gl.ones(2))


def test_cross_entropy_is_nll_of_log_softmax():
    logits = gl.tensor(_rand(4, 3, seed=3).astype(np.float32), requires_grad=True)
    y = gl.tensor([0, 2, 1, 2])
    ce = F.cross_entropy(logits, y)
    assert ce.grad_fn.name() == "NllLossBackward0"
    assert ce.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"
    ref = F.nll_loss(F.log_softmax(logits, dim=1), y)
    assert ce.item() == pytest.approx(ref.item(), rel=1e-6)
    assert nn.CrossEntropyLoss(reduction="none")(logits, y).shape == gl.Size([4])
    assert F.cross_entropy(logits[0], gl.tensor(1)).shape == gl.Size([])


def test_softmax_without_dim_warns():
    x = gl.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        out = F.softmax(x)
    assert np.allclose(out.sum(1).tolist(), [1.0, 1.0])


def test_l1_loss_is_composite_like_pytorch():
    x = gl.tensor([1.0, -2.0], requires_grad=True)
    assert F.l1_loss(x, gl.zeros(2)).grad_fn.name() == "MeanBackward0"
    assert F.l1_loss(x, gl.zeros(2), reduction="sum").item() == 3.0
    assert F.l1_loss(x, gl.zeros(2), reduction="none").grad_fn.name() == "AbsBackward0"


# ----------------------------------------------------------------------------- gradient checks (float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_grad_mse_loss(reduction):
    _central_diff_check(lambda x, y: F.mse_loss(x, y, reduction=reduction), [_rand(3, 4), _rand(3, 4, seed=1)])


def test_grad_mse_loss_broadcast_target():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _central_diff_check(lambda x, y: F.mse_loss(x, y), [_rand(3, 4), _rand(4, seed=1)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_grad_nll_loss(reduction):
    target = gl.tensor([0, 3, -100, 1])
    _central_diff_check(lambda x: F.nll_loss(x, target, reduction=reduction), [_rand(4, 5)])
    w = gl.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=gl.float64)
    _central_diff_check(lambda x: F.nll_loss(x, target, weight=w, reduction=reduction), [_rand(4, 5)])


def test_grad_nll_loss_unbatched_and_spatial():
    _central_diff_check(lambda x: F.nll_loss(x, gl.tensor(2)), [_rand(4)])
    t4 = gl.tensor(np.arange(2 * 2 * 3).reshape(2, 2, 3) % 3)
    _central_diff_check(lambda x: F.nll_loss(x, t4), [_rand(2, 3, 2, 3)])
    t3 = gl.tensor([[0, 2, 1], [1, 1, 0]])
    _central_diff_check(lambda x: F.nll_loss(x, t3, reduction="none"), [_rand(2, 3, 3)])


@pytest.mark.parametrize(
    "kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.2}, {"ignore_index": 1}]
)
def test_grad_cross_entropy(kwargs):
    target = gl.tensor([0, 2, 1, 1])
    _central_diff_check(lambda x: F.cross_entropy(x, target, **kwargs), [_rand(4, 3)])


def test_grad_cross_entropy_probability_targets():
    probs = np.random.default_rng(5).dirichlet(np.ones(3), size=4)
    _central_diff_check(lambda x: F.cross_entropy(x, gl.tensor(probs)), [_rand(4, 3)])


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 4, 3)])
def test_grad_linear(shape):
    _central_diff_check(lambda x, w, b: F.linear(x, w, b), [_rand(*shape), _rand(2, 3, seed=1), _rand(2, seed=2)])
    _central_diff_check(lambda x, w: F.linear(x, w), [_rand(*shape), _rand(2, 3, seed=1)])


def test_grad_of_grad_mse_and_nll():
    # create_graph=True: the backward formulas themselves must be differentiable
    def grad_norm_mse(x):
        (g,) = gl.autograd.grad(F.mse_loss(x, gl.ones(2, 3, dtype=gl.float64)), x, create_graph=True)
        return (g * g).sum()

    _central_diff_check(grad_norm_mse, [_rand(2, 3)], atol=1e-5)

    def grad_norm_ce(x):
        (g,) = gl.autograd.grad(F.cross_entropy(x, gl.tensor([0, 2])), x, create_graph=True)
        return (g * g).sum()

    _central_diff_check(grad_norm_ce, [_rand(2, 3)], atol=1e-5)


# ----------------------------------------------------------------------------- against real PyTorch


def _mlp(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 4), lib.nn.ReLU(), lib.nn.Linear(4, 3)
    )


def _copy_weights(src_arrays, model, lib):
    with lib.no_grad():
        for a, p in zip(src_arrays, model.parameters()):
            p.copy_(lib.tensor(a))


@pytest.mark.parametrize(
    "opt_name, opt_kw, loss_name",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, "mse"),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, "ce"),
        ("SGD", {"lr": 0.05, "momentum": 0.5, "nesterov": True}, "ce"),
        ("Adam", {"lr": 0.01}, "mse"),
        ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, "ce"),
    ],
)
def test_training_matches_torch(torch, opt_name, opt_kw, loss_name):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((6, 3)).astype(np.float32)
    y_cls = rng.integers(0, 3, size=6)
    y_reg = rng.standard_normal((6, 3)).astype(np.float32)
    ours, theirs = _mlp(gl), _mlp(torch)
    init = _set_weights(ours, seed=4)
    _copy_weights(init, theirs, torch)
    runs = []
    for lib, model in ((gl, ours), (torch, theirs)):
        opt = getattr(lib.optim, opt_name)(model.parameters(), **opt_kw)
        if loss_name == "ce":
            loss_fn, target = lib.nn.CrossEntropyLoss(), lib.tensor(y_cls)
        else:
            loss_fn, target = lib.nn.MSELoss(), lib.tensor(y_reg)
        record = []
        for _ in range(4):
            opt.zero_grad()
            loss = loss_fn(model(lib.tensor(X)), target)
            loss.backward()
            grads = [p.grad.numpy().copy() for p in model.parameters()]
            opt.step()
            weights = [p.detach().numpy().copy() for p in model.parameters()]
            record.append((loss.item(), grads, weights, loss.grad_fn.name()))
        runs.append(record)
    for (l_ours, g_ours, w_ours, n_ours), (l_torch, g_torch, w_torch, n_torch) in zip(*runs):
        assert n_ours == n_torch
        assert l_ours == pytest.approx(l_torch, abs=1e-5)
        for a, b in zip(g_ours, g_torch):
            np.testing.assert_allclose(a, b, atol=1e-5)
        for a, b in zip(w_ours, w_torch):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_reprs_match_torch(torch):
    for build in (
        lambda n: n.Sequential(n.Linear(2, 3), n.ReLU(), n.Sequential(n.Linear(3, 1), n.Sigmoid())),
        lambda n: n.ModuleList([n.Linear(1, 1), n.Linear(1, 1), n.Tanh(), n.Flatten(0, 1)]),
        lambda n: n.CrossEntropyLoss(label_smoothing=0.1),
        lambda n: n.Softmax(dim=-1),
    ):
        assert repr(build(nn)) == repr(build(torch.nn))


def test_losses_match_torch(torch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    t = np.array([0, 3, -100, 1, 2])
    w = np.array([1.0, 0.5, 2.0, 1.5], dtype=np.float32)
    probs = rng.dirichlet(np.ones(4), size=5).astype(np.float32)
    cases = [
        lambda lib, F_, a: F_.cross_entropy(a, lib.tensor(t), weight=lib.tensor(w), label_smoothing=0.1),
        lambda lib, F_, a: F_.cross_entropy(a, lib.tensor(t), reduction="none"),
        lambda lib, F_, a: F_.cross_entropy(a, lib.tensor(probs)),
        lambda lib, F_, a: F_.nll_loss(F_.log_softmax(a, 1), lib.tensor(t), reduction="sum"),
        lambda lib, F_, a: F_.mse_loss(a, lib.tensor(x[::-1].copy()), reduction="none"),
        lambda lib, F_, a: F_.l1_loss(a, lib.zeros(5, 4)),
    ]
    for case in cases:
        results = []
        for lib, F_ in ((gl, F), (torch, torch.nn.functional)):
            a = lib.tensor(x, requires_grad=True)
            out = case(lib, F_, a)
            out.sum().backward()
            results.append((out.detach().numpy(), a.grad.numpy(), out.grad_fn.name()))
        (o1, g1, n1), (o2, g2, n2) = results
        assert n1 == n2
        np.testing.assert_allclose(o1, o2, atol=1e-5)
        np.testing.assert_allclose(g1, g2, atol=1e-5)


# ----------------------------------------------------------------------------- dropout and layer norm


def test_dropout_scales_kept_elements_and_saves_its_noise():
    gl.manual_seed(0)
    x = gl.randn(200, 50, requires_grad=True)
    y = F.dropout(x, 0.3)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    kept = y.detach().numpy() != 0
    assert 0.65 < kept.mean() < 0.75  # Bernoulli(0.7) over 10000 draws
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] * np.float32(1 / np.float32(0.7)))
    y.backward(gl.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, np.float32(1) / np.float32(0.7), 0))
    # the same seed drops the same elements
    gl.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(gl.randn(200, 50), 0.3).numpy() != 0, kept)


def test_dropout_noise_is_versioned_as_pytorch_saves_it():
    torch = pytest.importorskip("torch")

    def run(t, p, inplace):
        x = t.randn(3, 4, requires_grad=True)
        z = x.clone()
        y = t.nn.functional.dropout(z, p, inplace=inplace)
        return type(y.grad_fn).__name__, y is z, z._version, [n is None for n, _ in y.grad_fn.next_functions]

    for p in (0.5, 1.0):
        for inplace in (False, True):
            assert run(gl, p, inplace) == run(torch, p, inplace)


def test_dropout_identity_cases_and_errors():
    x = gl.randn(3, requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.9, training=False) is x
    assert F.dropout(gl.empty(0), 0.5).shape == (0,)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
            F.dropout(x, p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 2"):
        nn.Dropout(2)


def test_dropout_module_follows_train_and_eval():
    d = nn.Dropout(0.5)
    assert repr(d) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout(0.1, inplace=True)) == "Dropout(p=0.1, inplace=True)"
    x = gl.ones(100)
    assert (d(x).numpy() == 0).any()
    d.eval()
    assert d(x) is x


def test_layer_norm_module_matches_torch():
    torch = pytest.importorskip("torch")
    reprs = {}
    for lib in (gl, torch):
        layers = [
            lib.nn.LayerNorm(4),
            lib.nn.LayerNorm([2, 4], elementwise_affine=False),
            lib.nn.LayerNorm(4, bias=False),
        ]
        reprs[lib] = [repr(m) for m in layers] + [[n for n, _ in m.named_parameters()] for m in layers]
    assert reprs[gl] == reprs[torch]
    x = np.random.default_rng(1).standard_normal((3, 2, 4)).astype(np.float32)
    outs = []
    for lib in (gl, torch):
        m = lib.nn.LayerNorm(4)
        xt = lib.tensor(x, requires_grad=True)
        y = m(xt)
        (y * y).sum().backward()
        outs.append((type(y.grad_fn).__name__, y.detach().numpy(), xt.grad.numpy(), m.weight.grad.numpy()))
    assert outs[0][0] == outs[1][0] == "NativeLayerNormBackward0"
    for a, b in zip(outs[0][1:], outs[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


LAYER_NORM_ERRORS = [
    lambda t: t.nn.functional.layer_norm(t.ones(2, 4), (3,)),
    lambda t: t.nn.functional.layer_norm(t.ones(3), (2, 3)),
    lambda t: t.nn.functional.layer_norm(t.ones(2, 3), (3,), t.ones(2)),
    lambda t: t.nn.functional.layer_norm(t.ones(2, 3), (3,), None, t.ones(2)),
    lambda t: t.nn.functional.layer_norm(t.ones(2, 3, dtype=t.int64), (3,)),
]


@pytest.mark.parametrize("fn", LAYER_NORM_ERRORS)
def test_layer_norm_errors_match_torch(fn):
    torch = pytest.importorskip("torch")
    errors = []
    for lib in (gl, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        errors.append((type(info.value), str(info.value).split("\n")[0]))
    assert errors[0] == errors[1]

"""Saved-value attributes of every backward node class, gradlens_core next to PyTorch.

    .venv/bin/python scripts/saved_attrs_survey.py            # every class
    .venv/bin/python scripts/saved_attrs_survey.py -k Slice -v

PyTorch's nodes show what they saved as ``_saved_<name>`` (``_raw_saved_<name>`` for a
tensor: the SavedTensor). Programs build graphs in both libraries: every op case of the
tests (``tests/helpers.py``), the first-order grads with ``create_graph=True`` of
``scripts/higher_order_graphs.py`` (the nodes of backward formulas) and ``EXTRA`` below.
The two graphs are walked together; for every pair of nodes the names that ``dir(node)``
lists are compared, then each value (a tensor by dtype, shape, values, requires_grad,
grad_fn name and identity: which tensor seen before it is, or whether it is the node's own
output), then, after a backward pass, what each access raises or returns. A class
matches when all its nodes do. Prints each class that differs (``-v``: every class) and
``matched N of M classes``. Exit status: 0 if every class matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def saved_names(node) -> list:
    return [a for a in dir(node) if a.startswith(("_saved", "_raw_saved"))]


def _x(mod, shape, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shape) if positive else rng.uniform(-1.5, 1.5, shape)
    return mod.tensor(a.tolist(), dtype=mod.float64, requires_grad=True)


def _F(mod):
    return mod.nn.functional


def _inplace_view(m):
    x = _x(m, (3, 4))
    y = x * 1
    y[1].mul_(2.0)
    return [x], y


def _index_put(m):
    x = _x(m, (4, 3))
    y = x * 1
    y[m.tensor([0, 2])] = _x(m, (3,), 1)
    return [x], y


def _index_put_accumulate(m):
    x = _x(m, (4, 3))
    return [x], (x * 1).index_put_((m.tensor([0, 2]),), _x(m, (3,), 1), accumulate=True)


def _fill_(m):
    x = _x(m, (2, 3))
    return [x], (x * 1).fill_(2.5)


def _zero_(m):
    x = _x(m, (2, 3))
    return [x], (x * 1).zero_()


def _uniform_(m):
    x = _x(m, (2, 3))
    return [x], (x * 1).uniform_()


def _normal_(m):
    x = _x(m, (2, 3))
    return [x], (x * 1).normal_()


def _bernoulli_(m, p):
    x = _x(m, (2, 3))
    return [x], (x * 1).bernoulli_(p)


def _copy_(m):
    x = _x(m, (2, 3))
    return [x], m.zeros(2, 3, dtype=m.float32).copy_(x)


def _masked_fill_tensor(m):
    x = _x(m, (2, 3))
    v = _x(m, (), 1)
    return [x, v], x.masked_fill(x > 0, v)


# programs for what the op cases do not build (or not with every saved value)
EXTRA = {
    "neg_index": lambda m: ([x := _x(m, (3, 4))], x[-1] * x[:, -2:] * x[1:-1].sum()),
    "select_neg": lambda m: ([x := _x(m, (3, 4))], x.select(-1, 2) * x.narrow(1, 1, 2).sum()),
    "transpose_neg": lambda m: ([x := _x(m, (2, 3))], x.transpose(-1, 0).exp()),
    "permute_neg": lambda m: ([x := _x(m, (2, 3, 2))], x.permute(-1, 0, 1).exp()),
    "unsqueeze_neg": lambda m: ([x := _x(m, (2, 3))], x.unsqueeze(-1).exp()),
    "squeeze_neg": lambda m: ([x := _x(m, (2, 1))], x.squeeze(-1).exp()),
    "view_infer": lambda m: ([x := _x(m, (2, 3))], x.view(-1).exp()),
    "expand": lambda m: ([x := _x(m, (3, 1))], x.expand(2, -1, 4).exp()),
    "split_neg": lambda m: ([x := _x(m, (2, 4))], x.split(2, -1)[0].exp()),
    "split_sizes": lambda m: ([x := _x(m, (2, 4))], x.split([1, 3], -1)[1].exp()),
    "unbind_neg": lambda m: ([x := _x(m, (2, 3))], x.unbind(-1)[0].exp()),
    "chunk": lambda m: ([x := _x(m, (4, 3))], x.chunk(2)[1].exp()),
    "alias": lambda m: ([x := _x(m, (2, 3))], x.view_as(x).exp()),
    "mul_scalar": lambda m: ([x := _x(m, (2, 3))], x * 2 + x * 2.5 + x * True),
    "mul_const": lambda m: ([x := _x(m, (2, 3))], x * m.ones(2, 3, dtype=m.float64)),
    "mul_left_const": lambda m: ([x := _x(m, (2, 3))], m.ones(2, 3, dtype=m.float64) * x),
    "div_scalar": lambda m: ([x := _x(m, (2, 3))], x / 2 + x / 2.5),
    "div_modes": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1, True)], x.div(y, rounding_mode="trunc")),
    "div_scalar_mode": lambda m: ([x := _x(m, (2, 3))], x.div(2.0, rounding_mode="floor")),
    "add_alpha": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], x.add(y, alpha=2.5) + x.sub(y, alpha=3)),
    "add_scalar": lambda m: ([x := _x(m, (2, 3))], x.add(2, alpha=3) + x.sub(1.5, alpha=2) + (2 - x)),
    "rsub": lambda m: ([x := _x(m, (2, 3))], m.rsub(x, 2.0, alpha=3)),
    "pow_int": lambda m: ([x := _x(m, (2, 3))], x**2 + x**2.5 + x**True),
    "rpow_int": lambda m: ([x := _x(m, (2, 3))], 2**x),
    "pow_scalar_tensor": lambda m: ([x := _x(m, (2, 3))], m.pow(3, x)),
    "clamp_max": lambda m: ([x := _x(m, (2, 3))], x.clamp(max=1) + x.clamp_max(0.5) + x.clamp(-1, 1.5)),
    "clamp_tensor": lambda m: ([x := _x(m, (2, 3)), lo := _x(m, (3,), 1)], x.clamp(lo, None) + x.clamp(None, lo)),
    "sum_neg": lambda m: ([x := _x(m, (2, 3))], x.sum(-1, keepdim=True).exp() + x.sum((0, -1))),
    "sum_dtype": lambda m: ([x := _x(m, (2, 3))], x.sum(dtype=m.float32)),
    "mean_neg": lambda m: ([x := _x(m, (2, 3))], x.mean(-1, keepdim=True).exp() + x.mean()),
    "mean_tuple": lambda m: ([x := _x(m, (2, 3))], x.mean((0, 1)).exp()),
    "prod_dim": lambda m: ([x := _x(m, (2, 3))], x.prod(-1, keepdim=True)),
    "max_min": lambda m: ([x := _x(m, (2, 3))], x.max(-1).values + x.min(0, keepdim=True).values.sum()),
    "amax": lambda m: ([x := _x(m, (2, 3))], x.amax() + x.amin((0, -1), keepdim=True).sum()),
    "median": lambda m: ([x := _x(m, (2, 3))], x.median(-1).values.sum() + x.median()),
    "kthvalue": lambda m: ([x := _x(m, (2, 3))], x.kthvalue(2).values.sum() + x.kthvalue(1, 0, True).values.sum()),
    "sort": lambda m: ([x := _x(m, (2, 3))], x.sort(0, descending=True).values * x.sort(stable=True).values),
    "topk": lambda m: ([x := _x(m, (2, 3))], x.topk(2, 0, largest=False).values.sum()),
    "var": lambda m: ([x := _x(m, (2, 3))], x.var(-1) + x.var(0, unbiased=False).sum() + x.var(correction=2)),
    "std": lambda m: ([x := _x(m, (2, 3))], x.std() + x.std(-1, correction=0).sum()),
    "norm": lambda m: ([x := _x(m, (2, 3))], x.norm(1, -1) + x.norm(p=3).sum() + x.norm(2, (0, -1))),
    "norm_inf": lambda m: ([x := _x(m, (2, 3))], x.norm(float("inf"))),
    "logsumexp": lambda m: ([x := _x(m, (2, 3))], x.logsumexp(-1, keepdim=True)),
    "softmax_neg": lambda m: ([x := _x(m, (2, 3))], x.softmax(-1) + x.log_softmax(-1)),
    "softmax_dtype": lambda m: ([x := _x(m, (2, 3))], x.softmax(0, dtype=m.float32)),
    "cumsum": lambda m: ([x := _x(m, (2, 3))], x.cumsum(-1) * x.cumprod(-1)),
    "cumsum_dtype": lambda m: ([x := _x(m, (2, 3))], x.cumsum(0, dtype=m.float32)),
    "cat_neg": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 1), 1)], m.cat([x, y], -1).exp()),
    "stack_neg": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], m.stack([x, y], -1).exp()),
    "flip_roll": lambda m: ([x := _x(m, (2, 3))], x.flip(-1).roll(1) + x.roll((1, -1), (0, -1))),
    "repeat": lambda m: ([x := _x(m, (2, 3))], x.repeat(2, 1, 1).exp()),
    "tril_triu": lambda m: ([x := _x(m, (3, 3))], x.tril(-1) + x.triu(1)),
    "diag": lambda m: ([x := _x(m, (3, 3)), v := _x(m, (3,), 1)], x.diag(1).sum() + v.diag(-1).sum()),
    "diagonal": lambda m: ([x := _x(m, (3, 3))], x.diagonal(1).exp()),
    "diag_embed": lambda m: ([x := _x(m, (2, 3))], m.diag_embed(x, 1, 0, 2).exp()),
    "index_select": lambda m: ([x := _x(m, (2, 3))], x.index_select(-1, m.tensor([2, 0])).exp()),
    "index_tensor": lambda m: ([x := _x(m, (3, 4))], x[m.tensor([0, 2]), 1:].exp()),
    "index_bool": lambda m: ([x := _x(m, (3, 4))], x[x > 0].exp()),
    "masked": lambda m: ([x := _x(m, (3, 4))], x.masked_fill(x > 0, 2.0) + x.masked_select(x > 0).sum()),
    "masked_fill_tensor": _masked_fill_tensor,
    "where_scalar": lambda m: ([x := _x(m, (2, 3))], m.where(x > 0, x, 0.0)),
    "lerp": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], x.lerp(y, 0.7) + x.lerp(y, m.full((2, 3), 0.5))),
    "fmod_remainder": lambda m: ([x := _x(m, (2, 3))], x.fmod(1.5) + x.remainder(0.7) + x.fmod(_x(m, (2, 3), 1, True))),
    "round": lambda m: ([x := _x(m, (2, 3))], x.round() + x.round(decimals=2) + x.floor() + x.ceil() + x.trunc()),
    "sign": lambda m: ([x := _x(m, (2, 3))], x.sign() + x.abs()),
    "addcdiv": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1, True)], x.addcdiv(x, y, value=-2)),
    "addmm": lambda m: (
        [b := _x(m, (2,)), x := _x(m, (2, 3), 1), y := _x(m, (3, 2), 2)],
        m.addmm(b, x, y, beta=0.5, alpha=2),
    ),
    "mm_t": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], x.mm(y.t())),
    "mm_const": lambda m: ([x := _x(m, (2, 3))], x.mm(m.ones(3, 2, dtype=m.float64))),
    "to": lambda m: ([x := _x(m, (2, 3))], x.to(m.float32) + x.float() + x.to(m.float32, copy=True)),
    "clone": lambda m: ([x := _x(m, (2, 3))], x.clone().exp()),
    "relu": lambda m: ([x := _x(m, (2, 3))], _F(m).relu(x) * x),
    "softplus": lambda m: ([x := _x(m, (2, 3))], _F(m).softplus(x, beta=2, threshold=1.5)),
    "mse": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], _F(m).mse_loss(x, y, reduction="sum")),
    "nll": lambda m: ([x := _x(m, (2, 3))], _F(m).nll_loss(x, m.tensor([2, 0]), reduction="sum")),
    "nll_2d": lambda m: ([x := _x(m, (2, 3, 2, 2))], _F(m).nll_loss(x, m.tensor([[[2, 0], [1, 1]], [[0, 0], [2, 1]]]))),
    "nll_weight": lambda m: (
        [x := _x(m, (2, 3)), w := _x(m, (3,), 1, True)],
        _F(m).nll_loss(x, m.tensor([2, 0]), weight=w, ignore_index=1),
    ),
    "layer_norm": lambda m: (
        [x := _x(m, (2, 3)), w := _x(m, (3,), 1), b := _x(m, (3,), 2)],
        _F(m).layer_norm(x, (3,), w, b, eps=1e-3),
    ),
    "cross": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], m.linalg.cross(x, y, dim=-1)),
    "atan2_hypot": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (2, 3), 1)], x.atan2(y) + x.hypot(y)),
    "maximum": lambda m: ([x := _x(m, (2, 3)), y := _x(m, (3,), 1)], x.maximum(y) + x.minimum(y)),
    "inplace_view": _inplace_view,
    "index_put": _index_put,
    "index_put_accumulate": _index_put_accumulate,
    "fill_": _fill_,
    "zero_": _zero_,
    "uniform_": _uniform_,
    "normal_": _normal_,
    "bernoulli_p": lambda m: _bernoulli_(m, 0.5),
    "copy_": _copy_,
    "t_of_inplace": lambda m: ([x := _x(m, (2, 3))], (y := x * 1, y.t().mul_(2), y)[2]),
}


# ----------------------------------------------------------------------------- comparing


class Identities:
    """Names the tensors one library's program hands out, in order of first sight: the
    same object twice gets the same number (PyTorch returns a saved input itself)."""

    def __init__(self) -> None:
        self.seen: list = []  # kept alive, so ids are not reused

    def number(self, t) -> int:
        for i, s in enumerate(self.seen):
            if s is t:
                return i
        self.seen.append(t)
        return len(self.seen) - 1


class Values:
    """A tensor's values, equal to another's up to rounding (the last bits of floats are a
    known difference, see the README)."""

    def __init__(self, values) -> None:
        self.values = np.array(values)

    def __eq__(self, other) -> bool:
        a, b = self.values, other.values
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True))
        return bool(np.array_equal(a, b))

    def __repr__(self) -> str:
        return repr(self.values.tolist())


def describe(v, node, ids, torch_like) -> object:
    """A comparable description of a saved value."""
    if isinstance(v, torch_like.Tensor):
        return (
            "tensor",
            str(v.dtype),
            tuple(v.shape),
            Values(v.detach().tolist()),
            v.requires_grad,
            None if v.grad_fn is None else type(v.grad_fn).__name__,
            "own node" if v.grad_fn is node else ids.number(v),
        )
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, [describe(x, node, ids, torch_like) for x in v])
    if isinstance(v, float) and math.isnan(v):
        return ("float", "nan")
    if type(v).__name__ == "SavedTensor":
        return "SavedTensor"
    if isinstance(v, (bool, int, float, complex, str)) or v is None:
        return (type(v).__name__, v)
    return (type(v).__name__, str(v))  # dtype, layout


def read_all(node, torch_like, ids) -> dict:
    """Every saved name of ``node`` -> its description, or the error reading it raises."""
    out = {}
    for name in saved_names(node):
        try:
            v = getattr(node, name)
        except Exception as exc:  # noqa: BLE001 (compared)
            out[name] = ("raises", type(exc).__name__, str(exc))
            continue
        out[name] = describe(v, node, ids, torch_like)
    return out


def walk(roots):
    """Every node reachable from ``roots`` (grad_fns), each once, in a fixed preorder."""
    order, seen, stack = [], set(), list(reversed([r for r in roots if r is not None]))
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        order.append(n)
        stack.extend(reversed([m for m, _ in n.next_functions if m is not None]))
    return order


def _outputs(mod, out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(mod, o)]
    return [out] if isinstance(out, mod.Tensor) else []


def build_op_case(case, only=None):
    """An op case of the tests, its float inputs requiring grad (``only``: just that one, as
    PyTorch saves some values only for the inputs whose grads are wanted)."""
    from helpers import _float64, _make_tensors

    def build(mod):
        ins = _make_tensors(mod, _float64(list(case.inputs)), True)
        if only is not None:
            ins = [t.detach() if isinstance(t, mod.Tensor) and i != only else t for i, t in enumerate(ins)]
        return ins, _outputs(mod, case.fn(mod, *ins))

    return build


def _float_inputs(case) -> list:
    return [i for i, a in enumerate(case.inputs) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def build_higher_order(make):
    """The first-order grads (create_graph=True) of a higher_order_graphs case."""
    from higher_order_graphs import _grad_outputs

    def build(mod):
        inputs, out = make(mod)
        grads = mod.autograd.grad([out], inputs, _grad_outputs(mod, [out], 0), create_graph=True, allow_unused=True)
        return inputs, [out, *[g for g in grads if g is not None]]

    return build


def build_extra(make):
    def build(mod):
        inputs, out = make(mod)
        return inputs, _outputs(mod, out)

    return build


def programs() -> dict:
    import helpers
    from higher_order_graphs import CASES

    progs = {f"op:{c.id}": build_op_case(c) for c in helpers.op_cases()}
    for c in helpers.op_cases():
        floats = _float_inputs(c)
        if len(floats) > 1:
            progs.update({f"op:{c.id}[only input {i}]": build_op_case(c, i) for i in floats})
    progs.update({f"op2:{c.id}": build_op_case(c) for c in helpers.second_order_cases()})
    progs.update({f"grad:{k}": build_higher_order(v) for k, v in CASES.items()})
    progs.update({f"extra:{k}": build_extra(v) for k, v in EXTRA.items()})
    return progs


def run(mod, build):
    """(node class names, per node: saved values before backward, after it) of one program."""
    ids = Identities()
    inputs, outs = build(mod)
    for t in inputs + outs:
        ids.number(t)
    nodes = walk([o.grad_fn for o in outs])
    before = [read_all(n, mod, ids) for n in nodes]
    roots = [o for o in outs if o.requires_grad]
    if roots:
        mod.autograd.backward([r.sum() for r in roots])
    after = [read_all(n, mod, ids) for n in nodes]
    return [type(n).__name__ for n in nodes], before, after


def first_difference(a: dict, b: dict) -> str | None:
    if list(a) != list(b):
        return f"names torch {list(a)}, gradlens_core {list(b)}"
    for k in a:
        if a[k] != b[k]:
            return f"{k}: torch {a[k]!r}, gradlens_core {b[k]!r}"
    return None


def survey(keyword: str = "", skipped: list | None = None) -> dict:
    """class name -> list of (program, difference or None). A program whose graphs differ (or
    that gradlens_core cannot run) tells nothing about saved values: it goes to ``skipped``
    with the reason."""
    import torch

    import gradlens_core

    results: dict = {}
    for name, build in programs().items():
        try:
            ref = run(torch, build)
        except Exception:  # noqa: BLE001 (a program torch refuses tells nothing)
            continue
        try:
            got = run(gradlens_core, build)
        except Exception as exc:  # noqa: BLE001 (reported)
            if skipped is not None:
                skipped.append((name, f"gradlens_core raised {type(exc).__name__}: {exc}"))
            continue
        if got[0] != ref[0]:
            if skipped is not None:
                skipped.append((name, f"the graphs differ: torch {ref[0]}, gradlens_core {got[0]}"))
            continue
        for i, cls in enumerate(ref[0]):
            if keyword not in cls:
                continue
            diff = first_difference(ref[1][i], got[1][i])
            if diff is None:
                diff = first_difference(ref[2][i], got[2][i])
                diff = diff and "after backward: " + diff
            results.setdefault(cls, []).append((name, diff))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", "--keyword", default="", help="only classes whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="list matching classes too")
    args = parser.parse_args(argv)
    skipped: list = []
    results = survey(args.keyword, skipped)
    for name, why in skipped:
        print(f"skipped {name}: {why}")
    matched = 0
    for cls in sorted(results):
        diffs = [(p, d) for p, d in results[cls] if d]
        if not diffs:
            matched += 1
            if args.verbose:
                print(f"{cls}: ok ({len(results[cls])} nodes)")
            continue
        prog, diff = diffs[0]
        print(f"{cls}: {len(diffs)} of {len(results[cls])} nodes differ; first in {prog}: {diff}")
    print(f"matched {matched} of {len(results)} classes")
    return 0 if matched == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())

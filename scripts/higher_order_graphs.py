"""Higher-order backward graphs of gradlens_core next to PyTorch's (run by hand).

    .venv/bin/python scripts/higher_order_graphs.py            # every case, orders 1 to 3
    .venv/bin/python scripts/higher_order_graphs.py -k div -o 4

For each case (an op over float64 inputs that require grad), takes grads of the inputs to
order ``-o`` with ``create_graph=True`` (each order differentiates all grads of the order
before, with fixed grad_outputs), under torch and under gradlens_core. At every order it
walks the whole graph of each grad (grad_fn names and the ``next_functions`` structure, in
order, shared nodes recognised as shared) and compares the two walks and the grads' values.
It prints the first difference of each case, with the path of node names down to it.
Exit status: 0 if every case matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _edges(fn) -> tuple:
    return tuple(fn.next_functions)


SHOW_DEPTH = [0]  # levels of the graphs printed below a difference (--show)


def _tree(fn, depth: int, indent: str = "    ") -> str:
    """``fn``'s graph ``depth`` levels down, one node a line."""
    if fn is None:
        return f"{indent}None\n"
    out = f"{indent}{type(fn).__name__}\n"
    if depth > 0:
        for nxt, _ in fn.next_functions:
            out += _tree(nxt, depth - 1, indent + "  ")
    return out


def _shown(a, b) -> str:
    if not SHOW_DEPTH[0]:
        return ""
    return f"\n  torch:\n{_tree(a, SHOW_DEPTH[0])}  gradlens_core:\n{_tree(b, SHOW_DEPTH[0])}"


def first_difference(ref, got):
    """Where the graphs below torch's node ``ref`` and gradlens_core's ``got`` first differ
    (walked together in preorder, next_functions in order; a node reached twice must be
    reached twice in both), or None."""
    pairs: dict = {}  # id(torch node) -> gradlens_core node
    stack = [(ref, got, (type(ref).__name__,))]
    while stack:
        a, b, path = stack.pop()
        where = " > ".join(path)
        if type(a).__name__ != type(b).__name__:
            return f"at {where}: torch {type(a).__name__}, gradlens_core {type(b).__name__}" + _shown(a, b)
        if id(a) in pairs:
            if pairs[id(a)] is not b:
                return f"at {where}: torch reaches a node it reached before, gradlens_core a new one"
            continue
        pairs[id(a)] = b
        ea, eb = _edges(a), _edges(b)
        shape_a = [None if n is None else (type(n).__name__, nr) for n, nr in ea]
        shape_b = [None if n is None else (type(n).__name__, nr) for n, nr in eb]
        if shape_a != shape_b:
            return f"at {where}: next_functions torch {shape_a}, gradlens_core {shape_b}" + _shown(a, b)
        for (na, _), (nb, _) in reversed(list(zip(ea, eb))):
            if na is not None:
                stack.append((na, nb, path + (type(na).__name__,)))
    # gradlens_core may join two nodes torch keeps apart
    seen: dict = {}
    for ida, b in pairs.items():
        if id(b) in seen:
            return "gradlens_core reaches one node where torch has two"
        seen[id(b)] = ida
    return None


def _x(mod, shape, seed, positive=False, lo=None):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, shape) if positive else rng.uniform(-1.5, 1.5, shape)
    return mod.tensor(a.tolist(), dtype=mod.float64, requires_grad=True)


def _F(mod):
    return mod.nn.functional


def _inplace_on_view(mod):
    x = _x(mod, (3, 4), 0)
    y = x * 1
    y[1].mul_(x[0])
    y[:, 1:3].exp_()
    return [x], y


def _inplace_on_view_div(mod):
    x = _x(mod, (3, 4), 0, positive=True)
    y = x.clone()
    y.t()[2].div_(x[1, :3])
    return [x], y.sin()


CASES = {
    # unary
    "exp": lambda m: ([x := _x(m, (2, 3), 0)], x.exp()),
    "log": lambda m: ([x := _x(m, (2, 3), 0, True)], x.log()),
    "sin": lambda m: ([x := _x(m, (2, 3), 0)], x.sin()),
    "cos": lambda m: ([x := _x(m, (2, 3), 0)], x.cos()),
    "tanh": lambda m: ([x := _x(m, (2, 3), 0)], x.tanh()),
    "sigmoid": lambda m: ([x := _x(m, (2, 3), 0)], x.sigmoid()),
    "relu": lambda m: ([x := _x(m, (2, 3), 0)], x.relu() * x),
    "abs": lambda m: ([x := _x(m, (2, 3), 0)], x.abs() * x),
    "sqrt": lambda m: ([x := _x(m, (2, 3), 0, True)], x.sqrt()),
    "reciprocal": lambda m: ([x := _x(m, (2, 3), 0, True)], x.reciprocal()),
    "neg": lambda m: ([x := _x(m, (2, 3), 0)], (-x) * x),
    "log1p": lambda m: ([x := _x(m, (2, 3), 0, True)], x.log1p()),
    "square": lambda m: ([x := _x(m, (2, 3), 0)], x.square() * x),
    "pow_scalar": lambda m: ([x := _x(m, (2, 3), 0, True)], x**2.5),
    "rpow": lambda m: ([x := _x(m, (2, 3), 0)], 2.0**x),
    "erf": lambda m: ([x := _x(m, (2, 3), 0)], m.erf(x)),
    "expm1": lambda m: ([x := _x(m, (2, 3), 0)], m.expm1(x)),
    "softplus": lambda m: ([x := _x(m, (2, 3), 0)], _F(m).softplus(x)),
    "clamp": lambda m: ([x := _x(m, (2, 3), 0)], x.clamp(-0.5, 0.5) * x),
    "clamp_min_tensor": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], m.clamp_min(x, y) * x),
    "clamp_max__tensor": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], (x * 1).clamp_max_(y) * x),
    "fill_tensor": lambda m: ([x := _x(m, (2, 3), 0), v := _x(m, (), 1)], m.fill(x, v) * x * v),
    # binary, with broadcasting
    "add": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], (x + y) * (x + 2 * y)),
    "sub": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], (x - y) * (y - x)),
    "mul": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (2, 1), 1)], x * y * x),
    "div": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1, True)], x / y),
    "div_self": lambda m: ([x := _x(m, (2, 3), 0, True)], x / x.sum()),
    "pow": lambda m: ([x := _x(m, (2, 3), 0, True), y := _x(m, (3,), 1)], x**y),
    "remainder": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1, True)], m.remainder(x, y) * y),
    "remainder_only_self": lambda m: ([x := _x(m, (2, 3), 0)], (x % _x(m, (3,), 1, True).detach()) * x),
    "maximum": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], m.maximum(x, y) * x),
    "atan2": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1, True)], m.atan2(x, y)),
    "lerp": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1), w := _x(m, (2, 1), 2)], m.lerp(x, y, w)),
    "where": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], m.where(x > 0, x * x, y * x)),
    "hypot": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], m.hypot(x, y)),
    "addcmul": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], m.addcmul(x, x, y, value=0.5)),
    "addcdiv": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1, True)], m.addcdiv(x, x, y, value=0.5)),
    "t_mul": lambda m: ([x := _x(m, (2, 3), 0)], (x.t() * 1) * x.t()),
    # reductions
    "sum_dim": lambda m: ([x := _x(m, (2, 3), 0)], (x * x).sum(1)),
    "mean_dim": lambda m: ([x := _x(m, (2, 3), 0)], (x * x).mean(0, keepdim=True)),
    "prod": lambda m: ([x := _x(m, (2, 3), 0)], x.prod(1)),
    "prod_all": lambda m: ([x := _x(m, (2, 3), 0)], x.prod()),
    "amax": lambda m: ([x := _x(m, (2, 3), 0)], x.amax(1) * x.sum()),
    "max_dim": lambda m: ([x := _x(m, (2, 3), 0)], x.max(1)[0] * x.sum()),
    "var": lambda m: ([x := _x(m, (2, 3), 0)], x.var(1)),
    "std": lambda m: ([x := _x(m, (2, 3), 0)], x.std(1)),
    "norm": lambda m: ([x := _x(m, (2, 3), 0)], x.norm()),
    "norm_dim": lambda m: ([x := _x(m, (2, 3), 0)], x.norm(dim=1)),
    "logsumexp": lambda m: ([x := _x(m, (2, 3), 0)], m.logsumexp(x, 1)),
    "softmax": lambda m: ([x := _x(m, (2, 3), 0)], x.softmax(1)),
    "log_softmax": lambda m: ([x := _x(m, (2, 3), 0)], x.log_softmax(1)),
    "cumsum": lambda m: ([x := _x(m, (2, 3), 0)], (x * x).cumsum(1)),
    "cumprod": lambda m: ([x := _x(m, (2, 3), 0)], x.cumprod(1)),
    # views
    "t": lambda m: ([x := _x(m, (2, 3), 0)], x.t() * x.t()),
    "transpose_mm": lambda m: ([x := _x(m, (2, 3), 0)], x.transpose(0, 1) @ x),
    "permute": lambda m: ([x := _x(m, (2, 3, 2), 0)], x.permute(2, 0, 1).exp()),
    "reshape": lambda m: ([x := _x(m, (2, 3), 0)], x.reshape(3, 2) * x.reshape(3, 2)),
    "expand": lambda m: ([x := _x(m, (3, 1), 0)], x.expand(3, 4) * x.expand(3, 4)),
    "squeeze": lambda m: ([x := _x(m, (3, 1), 0)], x.squeeze(1) * x.unsqueeze(0)),
    "select_slice": lambda m: ([x := _x(m, (3, 4), 0)], x[1] * x[:, 1:3].sum(1).exp()[0]),
    "index": lambda m: ([x := _x(m, (3, 4), 0)], x[[0, 2, 0]] * x[[1, 1, 2]]),
    "flip": lambda m: ([x := _x(m, (2, 3), 0)], x.flip(1) * x),
    "cat": lambda m: ([x := _x(m, (2, 3), 0)], m.cat([x * x, x.exp()], 1)),
    "stack": lambda m: ([x := _x(m, (2, 3), 0)], m.stack([x * x, x.exp()], 0)),
    "split": lambda m: ([x := _x(m, (2, 4), 0)], x.split(2, 1)[0] * x.split(2, 1)[1]),
    # in place on views
    "inplace_view": _inplace_on_view,
    "inplace_view_div": _inplace_on_view_div,
    "inplace_exp": lambda m: ([x := _x(m, (2, 3), 0)], (x * 1).exp_()),
    "inplace_sigmoid": lambda m: ([x := _x(m, (2, 3), 0)], (x * 1).sigmoid_() * x),
    # matrix products
    "mm": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3, 2), 1)], (x @ y) * (x @ y)),
    "mv": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (3,), 1)], (x @ y) * (x @ y)),
    "bmm": lambda m: ([x := _x(m, (2, 2, 3), 0), y := _x(m, (2, 3, 2), 1)], (x @ y).exp()),
    "matmul_bcast": lambda m: ([x := _x(m, (2, 2, 3), 0), y := _x(m, (3, 2), 1)], (x @ y) * (x @ y)),
    "vecmat": lambda m: ([x := _x(m, (3,), 0), y := _x(m, (3, 2), 1)], (x @ y).exp()),
    "matmul_3d_vec": lambda m: ([x := _x(m, (2, 2, 3), 0), y := _x(m, (3,), 1)], (x @ y).exp()),
    "matmul_vec_3d": lambda m: ([x := _x(m, (3,), 0), y := _x(m, (2, 3, 2), 1)], (x @ y).exp()),
    "matmul_2d_3d": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (2, 3, 2), 1)], (x @ y).exp()),
    "matmul_batch_one": lambda m: ([x := _x(m, (1, 2, 3), 0), y := _x(m, (2, 3, 2), 1)], (x @ y).exp()),
    "matmul_4d_bcast": lambda m: ([x := _x(m, (2, 1, 2, 3), 0), y := _x(m, (2, 3, 2), 1)], (x @ y).exp()),
    "dot": lambda m: ([x := _x(m, (3,), 0), y := _x(m, (3,), 1)], x.dot(y) * x),
    "outer": lambda m: ([x := _x(m, (3,), 0), y := _x(m, (2,), 1)], m.outer(x, y) * m.outer(x, y)),
    "addmm": lambda m: (
        [b := _x(m, (2,), 2), x := _x(m, (3, 3), 0), y := _x(m, (3, 2), 1)],
        m.addmm(b, x, y) * m.addmm(b, x, y),
    ),
    # layer ops
    "linear": lambda m: (
        [x := _x(m, (2, 3), 0), w := _x(m, (4, 3), 1), b := _x(m, (4,), 2)],
        _F(m).linear(x, w, b).tanh(),
    ),
    "layer_norm": lambda m: (
        [x := _x(m, (2, 3), 0), w := _x(m, (3,), 1), b := _x(m, (3,), 2)],
        _F(m).layer_norm(x, (3,), w, b),
    ),
    "layer_norm_plain": lambda m: ([x := _x(m, (2, 4), 0)], _F(m).layer_norm(x, (4,))),
    "layer_norm_2d": lambda m: ([x := _x(m, (2, 2, 3), 0), w := _x(m, (2, 3), 1)], _F(m).layer_norm(x, (2, 3), w)),
    "mse_loss": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (2, 3), 1)], _F(m).mse_loss(x, y)),
    "l1_loss": lambda m: ([x := _x(m, (2, 3), 0), y := _x(m, (2, 3), 1)], _F(m).l1_loss(x, y) * x),
    "cross_entropy": lambda m: ([x := _x(m, (2, 3), 0)], _F(m).cross_entropy(x, m.tensor([2, 0]))),
}


def _grad_outputs(mod, tensors, seed):
    """Fixed grad_outputs (not requiring grad), one per tensor."""
    rng = np.random.default_rng(seed)
    return [mod.tensor(rng.uniform(0.5, 1.5, tuple(t.shape)).tolist(), dtype=t.dtype) for t in tensors]


def _values(g) -> np.ndarray:
    """A grad's values (torch's ZeroTensor grads cannot go to numpy as they are)."""
    g = g.detach()
    if getattr(g, "_is_zerotensor", lambda: False)():
        return np.zeros(tuple(g.shape))
    return np.array(g.tolist())


def run_case(mod, build, orders: int):
    """Per order: each grad's walk and values (None for an unused input), or the error."""
    inputs, out = build(mod)
    outputs = [out]
    levels = []
    for order in range(orders):
        try:
            grads = mod.autograd.grad(
                outputs, inputs, _grad_outputs(mod, outputs, order), create_graph=True, allow_unused=True
            )
        except Exception as exc:  # noqa: BLE001 (reported as a difference)
            levels.append(f"{type(exc).__name__}: {str(exc).split(chr(10))[0][:120]}")
            break
        levels.append([None if g is None else (g.grad_fn, _values(g)) for g in grads])
        outputs = [g for g in grads if g is not None and g.requires_grad]
        if not outputs:
            break
    return levels


def compare(name: str, orders: int):
    """The first difference of case ``name`` (a string), or None."""
    import torch

    import gradlens_core

    build = CASES[name]
    ref = run_case(torch, build, orders)
    got = run_case(gradlens_core, build, orders)
    for order, (a, b) in enumerate(zip(ref, got), start=1):
        if isinstance(a, str) or isinstance(b, str):
            if a != b:
                return f"order {order}: torch {a if isinstance(a, str) else 'ok'}, gradlens_core {b if isinstance(b, str) else 'ok'}"
            continue
        for i, (ga, gb) in enumerate(zip(a, b)):
            if (ga is None) != (gb is None):
                return f"order {order}, grad of input {i}: torch {'None' if ga is None else 'a grad'}, gradlens_core {'None' if gb is None else 'a grad'}"
            if ga is None:
                continue
            if (ga[0] is None) != (gb[0] is None):
                return f"order {order}, grad of input {i}: grad_fn torch {ga[0]}, gradlens_core {gb[0]}"
            diff = first_difference(ga[0], gb[0]) if ga[0] is not None else None
            if diff:
                return f"order {order}, grad of input {i}: {diff}"
            if not np.allclose(ga[1], gb[1], rtol=1e-10, atol=1e-12, equal_nan=True):
                return f"order {order}, grad of input {i}: values differ by {np.max(np.abs(ga[1] - gb[1]))}"
    if len(ref) != len(got):
        return f"torch went {len(ref)} orders, gradlens_core {len(got)}"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--orders", type=int, default=3, help="orders of grads (default 3)")
    parser.add_argument("-k", "--keyword", default="", help="only cases whose name contains this")
    parser.add_argument("--show", type=int, default=0, metavar="DEPTH", help="print the graphs below a difference")
    args = parser.parse_args(argv)
    SHOW_DEPTH[0] = args.show
    failing = 0
    for name in CASES:
        if args.keyword not in name:
            continue
        try:
            diff = compare(name, args.orders)
        except Exception as exc:  # noqa: BLE001 (a crash of the script's own run is reported too)
            diff = f"crashed: {type(exc).__name__}: {exc}"
        if diff:
            failing += 1
            print(f"{name}: {diff}")
    print(f"{failing} of {sum(args.keyword in n for n in CASES)} cases differ")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())

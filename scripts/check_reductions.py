"""Differential sweep: float reductions of gradlens_core against PyTorch, bit for bit.

For each op, random values over many shapes (lengths around cascade_sum's and
RowwiseMoments' block sizes, reductions over each dim and pairs of dims) and dtypes, the
fraction of results identical to torch's in every bit (nan where torch has nan).

    PYTHONPATH=. python scripts/check_reductions.py            # all ops
    PYTHONPATH=. python scripts/check_reductions.py sum var    # some

softmax, log_softmax and logsumexp use numpy's exp and log, which differ from PyTorch's
vectorised ones in the last bit now and then: theirs are rates of values (not of results),
and show that as well as the order of additions (softmax_backward_data has no exp and shows
the order alone).
"""

from __future__ import annotations

import itertools
import sys
import warnings

import numpy as np
import torch

import gradlens_core as g

DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16}
LENGTHS = [*range(1, 71), *range(255, 261), *range(4095, 4101), 2**16 - 1, 2**16, 2**16 + 1]
SHAPES = [(64, 10), (10, 64), (3, 5, 7), (2, 3, 4, 5), (33, 17), (7, 40), (300, 5), (5, 300), (16, 16, 16), (2, 4097)]


def same(ours, theirs) -> bool:
    a = np.asarray(ours.detach()._data if isinstance(ours, g.Tensor) else ours)
    b = theirs.detach().numpy()
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def cases(rng, dtypes=DTYPES):
    """(name, array, dims) for full reductions of 1-D lengths and each dim set of the shapes."""
    for name, dt in dtypes.items():
        for n in LENGTHS:
            yield name, (rng.standard_normal(n) * 3 + 1).astype(dt), None
        for shape in SHAPES:
            x = (rng.standard_normal(shape) * 3 + 1).astype(dt)
            yield name, x, None
            for r in (1, 2):
                for dims in itertools.combinations(range(len(shape)), r):
                    yield name, x, dims


def both(fn, x, *rest, grad=False):
    """fn over a gradlens_core and a torch tensor of ``x`` (and of each array in ``rest``)."""
    out = []
    for lib in (g, torch):
        t = lib.tensor(x, requires_grad=grad)
        out.append((fn(lib, t, *(lib.tensor(r) for r in rest)), t))
    return out


def run(op: str, rng) -> dict:
    stats: dict = {}

    def count(dtype, ok, total=1):
        a, b = stats.get(dtype, (0, 0))
        stats[dtype] = (a + (bool(ok) if total == 1 else int(ok)), b + total)

    def count_values(dtype, ours, theirs):
        # values identical in every bit (ops with numpy's exp/log: a rate of values, not of results)
        a, b = np.atleast_1d(np.asarray(ours.detach()._data)), np.atleast_1d(theirs.detach().numpy())
        count(
            dtype,
            (a.view(np.uint8).reshape(a.shape + (-1,)) == b.view(np.uint8).reshape(b.shape + (-1,))).all(-1).sum(),
            a.size,
        )

    for dtype, x, dims in cases(rng):
        if op in ("sum", "mean"):
            for keepdim in (False, True):
                dim = dims or (tuple(range(x.ndim)) if keepdim else None)  # x.sum() or over dims
                args = {} if dim is None else {"dim": dim, "keepdim": keepdim}
                (o, _), (t, _) = both(lambda lib, a, kw=args: getattr(a, op)(**kw), x)
                count(dtype, same(o, t))
        elif op == "cumsum":
            for d in range(x.ndim) if dims is None else dims[:1]:
                (o, _), (t, _) = both(lambda lib, a, d=d: a.cumsum(d), x)
                count(dtype, same(o, t))
        elif op in ("var", "std"):
            for c in (0, 1):
                (o, _), (t, _) = both(lambda lib, a, d=dims, c=c: getattr(a, op)(d, correction=c), x)
                count(dtype, same(o, t))
        elif op == "layer_norm" and dims is None and dtype != "float16":
            k = 1 if x.ndim == 1 else 2
            w = rng.standard_normal(x.shape[-k:]).astype(x.dtype)
            for affine in (False, True):
                rest = (w, w[::-1].copy()) if affine else ()
                (o, _), (t, _) = both(
                    lambda lib, a, *wb, s=x.shape[-k:]: lib.nn.functional.layer_norm(a, s, *wb), x, *rest
                )
                count(dtype, same(o, t))
        elif op.endswith("_backward") and dtype == "float32" and x.ndim == 2 and dims is None:
            y = rng.standard_normal(x.shape).astype(x.dtype)
            target = rng.integers(0, x.shape[1], x.shape[0])
            losses = {
                "mean_backward": lambda lib, a, b: (a * b).mean(),
                "sum_backward": lambda lib, a, b: (a * b).sum(1).pow(2).sum(),
                "mse_loss_backward": lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
                "cross_entropy_backward": lambda lib, a, b, t=target: lib.nn.functional.cross_entropy(a, lib.tensor(t)),
                "var_backward": lambda lib, a, b: (a.var(1) * b[:, 0]).sum(),
                "layer_norm_backward": lambda lib, a, b: (lib.nn.functional.layer_norm(a, a.shape[-1:]) * b).sum(),
            }
            (o, a), (t, b) = both(losses[op], x, y, grad=True)
            o.backward()
            t.backward()
            count(dtype, same(o, t) and same(a.grad, b.grad))
        elif op == "sliced_sum" and x.ndim >= 2:
            # a slice of every other element along each dim: TensorIterator reads its strides
            for k in range(x.ndim):
                sl = tuple(slice(None, None, 2) if j == k else slice(None) for j in range(x.ndim))
                dim = dims or tuple(range(x.ndim))
                (o, _), (t, _) = both(lambda lib, a, sl=sl, d=dim: a[sl].sum(d), x)
                count(dtype, same(o, t))
        elif op == "logsumexp" and dtype != "float16":
            (o, _), (t, _) = both(lambda lib, a, d=dims or tuple(range(x.ndim)): a.logsumexp(d), x)
            count_values(dtype, o, t)
        elif op == "norm" and dtype != "float16" and (dims is None or len(dims) <= 2):
            (o, _), (t, _) = both(lambda lib, a, d=dims: a.norm(dim=d), x)  # (norm of 3 dims is a matrix norm)
            count(dtype, same(o, t))
        elif op in ("softmax", "log_softmax") and dtype != "float16" and dims is not None and len(dims) == 1:
            (o, _), (t, _) = both(lambda lib, a, d=dims[0]: getattr(lib, op)(a, d), x)
            count_values(dtype, o, t)
        elif op == "softmax_backward_data" and dtype != "float16" and dims is not None and len(dims) == 1:
            # no exp in the kernel: (g - sum(g * out)) * out; log_softmax's with out = 0 (exp 1)
            from gradlens_core import _ops

            out = rng.random(x.shape).astype(x.dtype)
            for log, o_arr in ((False, out), (True, np.zeros_like(out))):
                ours = _ops._softmax_backward_values(x, o_arr, dims[0], log)
                kernel = torch._log_softmax_backward_data if log else torch._softmax_backward_data
                theirs = kernel(torch.tensor(x), torch.tensor(o_arr), dims[0], torch.tensor(x).dtype)
                count(dtype, ours.tobytes() == theirs.numpy().tobytes())
        elif op == "nll_loss" and x.ndim == 2 and dims is None:
            labels = rng.integers(0, x.shape[1], x.shape[0])
            labels[rng.random(x.shape[0]) < 0.2] = -100
            w = rng.random(x.shape[1]).astype(x.dtype)
            for weight in (None, w):
                for red in ("mean", "sum"):
                    (o, _), (t, _) = both(
                        lambda lib, a, *rest, r=red, y=labels: lib.nn.functional.nll_loss(
                            a, lib.tensor(y), weight=rest[0] if rest else None, reduction=r
                        ),
                        x,
                        *(() if weight is None else (weight,)),
                    )
                    count(dtype, same(o, t))
    return stats


OPS = [
    "sum",
    "mean",
    "cumsum",
    "var",
    "std",
    "layer_norm",
    "mean_backward",
    "sum_backward",
    "mse_loss_backward",
    "cross_entropy_backward",
    "var_backward",
    "layer_norm_backward",
    "sliced_sum",
    "nll_loss",
    "softmax_backward_data",
    "softmax",
    "log_softmax",
    "logsumexp",
    "norm",
]


def main(argv) -> None:
    warnings.simplefilter("ignore")
    for op in argv or OPS:
        stats = run(op, np.random.default_rng(0))
        parts = [f"{dt} {a}/{b}" for dt, (a, b) in stats.items()]
        total = sum(a for a, _ in stats.values()), sum(b for _, b in stats.values())
        print(f"{op:24s} {total[0] / max(total[1], 1):7.1%}  ({', '.join(parts)})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Differential sweep of the fused and special-cased elementwise kernels against PyTorch.

Prints, per op, the fraction of results bit-identical to torch's (NaNs equal) over random
values, shapes (broadcast and non-contiguous operands), dtypes and alphas / values / weights:

    PYTHONPATH=. python scripts/sweep_fused.py [-n TRIALS] [--seed S]
"""

import argparse

import numpy as np
import torch

import gradlens_core as gl

DTYPES = ("float32", "float64", "float16")
EXPONENTS = (2, 3, 0.5, -0.5, -1, -2, 1.5, 4, -3)


def operands(rng, dtype, k):
    """``k`` arrays of one broadcast shape, some broadcast from fewer dims, some transposed."""
    shape = tuple(int(d) for d in rng.integers(1, 12, size=rng.integers(1, 3)))
    out = []
    for i in range(k):
        s = shape
        if i and rng.random() < 0.2:  # (the first operand keeps the full shape)
            s = (1,) * (len(shape) - 1) + shape[-1:]
        a = (rng.normal(size=s) * 10.0 ** rng.integers(-2, 3)).astype(dtype)
        if a.ndim == 2 and rng.random() < 0.3:
            a = np.ascontiguousarray(a.T).T  # same shape, Fortran order
        out.append(a)
    return out


def cases(rng, dtype):
    a, b, c = operands(rng, dtype, 3)
    alpha = float(rng.normal()) if rng.random() < 0.9 else int(rng.integers(-3, 4))
    w = float(rng.uniform(-0.5, 1.5))
    num = float(rng.normal())
    yield "add", lambda t: t.add(t.tensor(a), t.tensor(b), alpha=alpha)
    yield "sub", lambda t: t.sub(t.tensor(a), t.tensor(b), alpha=alpha)
    yield "rsub", lambda t: t.rsub(t.tensor(a), t.tensor(b), alpha=alpha)
    yield "add(number)", lambda t: t.tensor(a).add(num, alpha=alpha)
    yield "rsub(number)", lambda t: t.rsub(t.tensor(a), num, alpha=alpha)
    yield "add_", lambda t: t.tensor(a).add_(t.tensor(b[..., :1]), alpha=alpha)
    yield "sub_", lambda t: t.tensor(a).sub_(t.tensor(b[..., :1]), alpha=alpha)
    yield "addcmul", lambda t: t.addcmul(t.tensor(a), t.tensor(b), t.tensor(c), value=alpha)
    yield "addcdiv", lambda t: t.addcdiv(t.tensor(a), t.tensor(b), t.tensor(c), value=alpha)
    yield "addcmul_", lambda t: t.tensor(a).addcmul_(t.tensor(b[..., :1]), t.tensor(c[..., :1]), value=alpha)
    yield "lerp", lambda t: t.lerp(t.tensor(a), t.tensor(b), w)
    yield "lerp(tensor)", lambda t: t.lerp(t.tensor(a), t.tensor(b), t.tensor(c * 0 + np.asarray(w, dtype)))
    for e in EXPONENTS:
        yield f"pow {e}", lambda t, e=e: t.tensor(np.abs(a) if e % 1 else a) ** e


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    same, total = {}, {}
    for _ in range(args.n):
        for dtype in DTYPES:
            for name, fn in cases(rng, dtype):
                with np.errstate(all="ignore"):
                    want = fn(torch).numpy()
                    got = fn(gl).numpy()
                key = (name, dtype)
                same[key] = same.get(key, 0) + int(want.tobytes() == got.tobytes() and want.shape == got.shape)
                total[key] = total.get(key, 0) + 1
    for key in sorted(total, key=lambda k: list(total).index(k)):
        print(f"{key[0]:14} {key[1]:8} {same[key] / total[key]:7.1%} bit-identical ({total[key]} tensors)")


if __name__ == "__main__":
    main()

"""Train an nn.Linear regression with each SGD / Adam variant in torch and gradlens_core side by
side (gradlens_core fed torch's gradients); print, per variant, the first step at which a parameter differs in any bit (or "ok").

    PYTHONPATH=. python scripts/check_optim_bits.py [--steps 20] [--dtype float32]
"""

import argparse

import numpy as np
import torch

import gradlens_core as gl

VARIANTS = {
    "sgd": ("SGD", dict(lr=0.05)),
    "sgd momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd weight_decay": ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    "sgd maximize": ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adam weight_decay": ("Adam", dict(lr=0.01, weight_decay=0.01)),
    "adam maximize": ("Adam", dict(lr=0.01, maximize=True)),
}


def run(opt_name, kwargs, x, y, w, b, steps, dtype):
    """The first step after which a parameter differs (None if none). gradlens_core's gradients
    are torch's (copied each step): the optimizers are compared, not the two matmuls (numpy's
    BLAS and MKL sum in different orders)."""
    models, opts = [], []
    for lib in (torch, gl):
        model = lib.nn.Linear(x.shape[1], y.shape[1]).to(getattr(lib, dtype))
        with lib.no_grad():
            model.weight.copy_(lib.tensor(w))
            model.bias.copy_(lib.tensor(b))
        models.append(model)
        opts.append(getattr(lib.optim, opt_name)(model.parameters(), **kwargs))
    xs, ys = torch.tensor(x), torch.tensor(y)
    for step in range(1, steps + 1):
        opts[0].zero_grad()
        ((models[0](xs) - ys) ** 2).mean().backward()
        for p, q in zip(models[0].parameters(), models[1].parameters()):
            q.grad = gl.tensor(p.grad.numpy().copy())
        for opt in opts:
            opt.step()
        for p, q in zip(models[0].parameters(), models[1].parameters()):
            if p.detach().numpy().tobytes() != q.detach().numpy().tobytes():
                return step
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(64, 13)).astype(args.dtype)
    y = rng.normal(size=(64, 3)).astype(args.dtype)
    w = (rng.normal(size=(3, 13)) * 0.3).astype(args.dtype)
    b = (rng.normal(size=3) * 0.3).astype(args.dtype)
    failures = 0
    for name, (opt_name, kwargs) in VARIANTS.items():
        first = run(opt_name, kwargs, x, y, w, b, args.steps, args.dtype)
        failures += first is not None
        print(f"{name:18} {'ok' if first is None else f'differs from step {first}'}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()

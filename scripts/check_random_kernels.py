"""Exhaustive checks of gradlens_core's exact random kernels (run by hand; a few minutes).

    PYTHONPATH=. .venv/bin/python scripts/check_random_kernels.py

1. PyTorch's AVX2 normal kernel: gradlens_core computes log256_ps and sincos256_ps with float32
   fmas rounded once from float64 (no halfway correction). That is exact only if no fma ever
   meets a double-rounding halfway case; this runs both functions on every input the kernel
   can give them (1 - u and float(2 pi) * u for all 2**24 float uniforms u) against the
   halfway-correcting reference of tests/random_reference.py.
2. glibc's double log: gradlens_core's vectorised ``_log`` against ``math.log`` on tens of
   millions of values (the normal kernel's 1 - u, values near 1, every binade).
Exit status 0 if everything matches.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from random_reference import mismatches  # noqa: E402

from gradlens_core import _random as R  # noqa: E402


def main() -> int:
    bad = 0
    step = 2**20
    for start in range(0, 2**24, step):
        bad += mismatches(np.arange(start, start + step))
    print(f"AVX2 kernel, all 2**24 inputs: {bad} mismatches")
    rng = np.random.default_rng(0)
    n = 2_000_000
    samples = {
        "1 - u (53-bit u)": lambda: 1.0 - rng.integers(0, 2**53, n, dtype=np.uint64).astype(np.float64) * 2.0**-53,
        "within 2**-20 of 1": lambda: 1.0 - rng.random(n) * 2.0**-20,
        "within 2**-33 of 1": lambda: 1.0 - rng.integers(0, 2**20, n).astype(np.float64) * 2.0**-53,
        "every binade": lambda: np.ldexp(rng.random(n) + 1.0, rng.integers(-1022, 1024, n)),
    }
    for name, draw in samples.items():
        wrong = 0
        for _ in range(5):
            x = draw()
            want = np.fromiter(map(math.log, x.tolist()), np.float64, x.size)
            wrong += int((R._log(x).view(np.uint64) != want.view(np.uint64)).sum())
        print(f"log, {name}, {5 * n} values: {wrong} mismatches")
        bad += wrong
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

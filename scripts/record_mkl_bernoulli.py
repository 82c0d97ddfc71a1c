"""Compare gradlens_core's replay of PyTorch's Intel-CPU ``bernoulli_(p)`` with MKL itself.

On an Intel CPU PyTorch's ``bernoulli_scalar_kernel`` takes one ``random()`` as a seed and, for
each chunk [begin, end) of ``parallel_for(0, n, 800)``, runs
``vslNewStream(VSL_BRNG_MCG31, seed)``, ``vslSkipAheadStream(begin)`` and
``viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF, end - begin, p)``. This calls those functions in
libmkl_rt through ctypes (MKL need not be installed; unzip the wheel, the same MKL version
PyTorch is built with, see ``torch.__config__.show()``):

    unzip -q mkl-2024.2.0-py2.py3-none-manylinux1_x86_64.whl -d /tmp/mkl
    PYTHONPATH=. .venv/bin/python scripts/record_mkl_bernoulli.py /tmp/mkl/mkl-2024.2.0.data/data/lib

and compares them with ``_random.mkl_bernoulli`` on many seeds, probabilities (including ties
with the stream's own uniforms), lengths and chunkings, and checks the raw MCG31 words
(``viRngUniformBits``) after skip-aheads. With ``--table`` it prints the cases recorded in
tests/test_random.py (``MKL_BERNOULLI_RECORDED``); with ``--period`` it also checks MKL's float
uniforms on the stream's whole period (about two minutes). Exit status 0 if everything matches.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gradlens_core import _random as R  # noqa: E402

VSL_BRNG_MCG31 = 0x100000  # mkl_vsl_defines.h: VSL_BRNG_INC (1 << 20) * 1
VSL_RNG_METHOD_BERNOULLI_ICDF = 0
VSL_RNG_METHOD_UNIFORMBITS_STD = 0
M = 2**31 - 1

# the cases of tests/test_random.py: (seed, p, n)
TABLE = [
    (0, 0.5, 40),
    (1, 0.3, 40),
    (2**31 - 1, 0.5, 30),
    (2**32 - 1, 0.7, 30),
    (2**31 - 2, 1.0, 8),  # x_0 = m - 1: (float)(x_0 / m) is 1.0f, not below 1
    (123456789, 1e-9, 20),
    (3141592653, 0.1, 1000),  # more than one 800-element chunk
    (2357136044, 0.5, 12),  # the first random() after manual_seed(0)
]


class MKL:
    def __init__(self, libdir: str) -> None:
        os.environ.setdefault("MKL_THREADING_LAYER", "SEQUENTIAL")  # no libiomp5 needed
        self.lib = ctypes.CDLL(os.path.join(libdir, "libmkl_rt.so.2"))
        buf = ctypes.create_string_buffer(256)
        self.lib.MKL_Get_Version_String(buf, 256)
        self.version = buf.value.decode()

    def _stream(self, seed: int, skip: int) -> ctypes.c_void_p:
        s = ctypes.c_void_p()
        assert self.lib.vslNewStream(ctypes.byref(s), ctypes.c_int(VSL_BRNG_MCG31), ctypes.c_uint(seed)) == 0
        if skip:
            assert self.lib.vslSkipAheadStream(s, ctypes.c_longlong(skip)) == 0
        return s

    def bernoulli(self, seed: int, n: int, p: float, grain: int = 800) -> np.ndarray:
        """PyTorch's kernel: a new stream per chunk of ``grain``, skipped ahead to its start."""
        out = np.zeros(n, np.int32)
        for begin in range(0, n, grain):
            length = min(grain, n - begin)
            s = self._stream(seed, begin)
            ptr = ctypes.c_void_p(out.ctypes.data + 4 * begin)
            st = self.lib.viRngBernoulli(
                ctypes.c_int(VSL_RNG_METHOD_BERNOULLI_ICDF), s, ctypes.c_int(length), ptr, ctypes.c_double(p)
            )
            assert st == 0, st
            self.lib.vslDeleteStream(ctypes.byref(s))
        return out

    def words(self, seed: int, n: int, skip: int) -> np.ndarray:
        s = self._stream(seed, skip)
        out = np.zeros(n, np.uint32)
        ptr = out.ctypes.data_as(ctypes.c_void_p)
        assert self.lib.viRngUniformBits(ctypes.c_int(VSL_RNG_METHOD_UNIFORMBITS_STD), s, ctypes.c_int(n), ptr) == 0
        self.lib.vslDeleteStream(ctypes.byref(s))
        return out

    def period_mismatches(self) -> int:
        """MKL's float uniforms (vsRngUniform on [0, 1)) against ``(float)(x / m)`` for every word
        x of the period (m - 1 of them, from seed 1): the values viRngBernoulli compares with p."""
        chunk = 1 << 26
        s = self._stream(1, 0)
        step = np.uint64(pow(R._MCG31_A, chunk, M))
        x = _words(1, 1)
        while x.size < chunk:  # x_0 .. x_{chunk-1} by doubling
            x = np.concatenate([x, x[: chunk - x.size] * np.uint64(pow(R._MCG31_A, x.size, M)) % np.uint64(M)])
        out = np.zeros(chunk, np.float32)
        done = bad = 0
        zero = ctypes.c_float(0)
        while done < M - 1:
            k = min(chunk, M - 1 - done)
            ptr = out.ctypes.data_as(ctypes.c_void_p)
            assert self.lib.vsRngUniform(ctypes.c_int(0), s, ctypes.c_int(k), ptr, zero, ctypes.c_float(1)) == 0
            bad += np.count_nonzero(out[:k] != (x[:k].astype(np.float64) / M).astype(np.float32))
            done += k
            x = x * step % np.uint64(M)
        self.lib.vslDeleteStream(ctypes.byref(s))
        print(f"float uniforms on the whole period: {done} words, {bad} mismatches")
        return bad


def probabilities(seed: int, n: int, rng: np.random.Generator) -> list:
    """Plain values, the extremes, and values on and around the stream's own uniforms (as
    doubles and as floats, and the midpoints between floats that round either way)."""
    ps = [0.0, 1.0, 0.5, 0.3, 0.7, 1e-9, 1 - 1e-9, 5e-324, 1e-300, 1 / M, 2 / M, np.nextafter(1.0, 0)]
    ps += list(rng.random(4))
    if n:
        x = _words(seed, n)
        for i in rng.integers(0, n, 6):
            d = float(x[i]) / M
            f = np.float32(d)
            up, dn = np.nextafter(f, np.float32(2)), np.nextafter(f, np.float32(-1))
            for v in (d, float(f), float(up), float(dn), (float(f) + float(up)) / 2, (float(f) + float(dn)) / 2):
                ps += [v, np.nextafter(v, 2), np.nextafter(v, -1)]
    return [float(min(max(p, 0.0), 1.0)) for p in ps]


def _words(seed: int, n: int) -> np.ndarray:
    """The MCG31 words x_0 .. x_{n-1} (what mkl_bernoulli compares, before the comparison)."""
    x = np.empty(n, np.uint64)
    x[0] = seed % M or 1
    for k in range(1, n):
        x[k] = int(x[k - 1]) * R._MCG31_A % M
    return x


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("libdir", nargs="?", default="/tmp/mkl/mkl-2024.2.0.data/data/lib")
    parser.add_argument("--table", action="store_true", help="print the cases recorded in tests/test_random.py")
    parser.add_argument("--period", action="store_true", help="also MKL's float uniforms on the whole period (~2 min)")
    args = parser.parse_args()
    mkl = MKL(args.libdir)
    print(mkl.version)
    if args.table:
        for seed, p, n in TABLE:
            ones = np.flatnonzero(mkl.bernoulli(seed, n, p)).tolist()
            print(f"    ({seed}, {p!r}, {n}, {ones}),")
        return 0

    rng = np.random.default_rng(0)
    cases = bad = 0
    seeds = [0, 1, 2, 3, M - 1, M, M + 1, 2**31, 2**32 - 1, 2**32 - 2] + rng.integers(0, 2**32, 20).tolist()
    for seed in seeds:
        for n in (0, 1, 2, 799, 800, 801, 1600, 5000):
            for p in probabilities(seed, n, rng):
                cases += 1
                theirs = mkl.bernoulli(seed, n, p).astype(bool)
                if not np.array_equal(R.mkl_bernoulli(seed, n, p), theirs):
                    bad += 1
                    print(f"MISMATCH seed={seed} n={n} p={p!r}")
    print(f"bernoulli, {len(seeds)} seeds x 8 lengths (0..5000) x ~120 p: {cases} cases, {bad} mismatches")

    long_cases = long_bad = 0
    for seed in [0, 2**32 - 1] + rng.integers(0, 2**32, 6).tolist():
        for p in probabilities(seed, 100_000, rng)[::3]:
            long_cases += 1
            ours = R.mkl_bernoulli(seed, 100_000, p)
            same = all(
                np.array_equal(ours, mkl.bernoulli(seed, 100_000, p, grain).astype(bool)) for grain in (800, 12_345)
            )
            if not same:
                long_bad += 1
                print(f"MISMATCH seed={seed} n=100000 p={p!r}")
    print(f"bernoulli, n=100000 in chunks of 800 and 12345: {long_cases} cases, {long_bad} mismatches")

    skip_cases = skip_bad = 0
    for seed in [0, 1, M - 1, M, 2**31, 2**32 - 1] + rng.integers(0, 2**32, 4).tolist():
        for skip in (0, 1, 799, 800, 801, 100_000, 2**31 - 2, 2**31 - 1, 2**40 + 7):
            skip_cases += 1
            x0 = (seed % M or 1) * pow(R._MCG31_A, skip, M) % M
            ours = _words(x0, 1000)
            if not np.array_equal(ours, mkl.words(seed, 1000, skip).astype(np.uint64)):
                skip_bad += 1
                print(f"MISMATCH words seed={seed} skip={skip}")
    print(f"MCG31 words after skip-ahead: {skip_cases} cases, {skip_bad} mismatches")
    period_bad = mkl.period_mismatches() if args.period else 0
    return 0 if bad + long_bad + skip_bad + period_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

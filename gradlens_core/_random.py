"""PyTorch's CPU random numbers, bit for bit: its generator and the kernels that draw from it.

PyTorch's CPU generator (ATen/CPUGeneratorImpl.cpp) is a standard MT19937 seeded as
``init_genrand`` seeds it (with the low 32 bits of a 64-bit seed). ``random()`` is one 32-bit
draw, ``random64()`` two (the first is the high half). numpy's ``MT19937`` bit generator runs
the same recurrence, so once its 624-word state is set from PyTorch's seeding, its
``random_raw`` gives PyTorch's 32-bit stream, vectorised.

The kernels follow ATen/core/TransformationHelper.h, ATen/core/DistributionsHelper.h and
ATen/native/cpu/DistributionTemplates.h: which draws each element takes, in which order (the
TensorIterator's, memory order for a dense tensor) and in which float arithmetic. PyTorch's
CPU kernels are built with FMA, and GCC fuses a product into the sum that uses it, so several
``a * b + c`` here are single-rounding fused multiply-adds (``_fma32``, ``_fma64``).

>>> g = Generator().manual_seed(0)
>>> uniform(g, 3, np.dtype(np.float32)).tolist()
[0.49625658988952637, 0.7682217955589294, 0.08847743272781372]
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from ._autograd import node_class
from ._layout import _iteration_order

__all__ = ["Generator", "default_generator", "uniform_", "normal_", "bernoulli_"]

DEFAULT_SEED = 67280421310721  # default_rng_seed_val: the seed of a new torch.Generator()
_N = 624  # MT19937's state words
_U64 = (1 << 64) - 1


def _init_genrand(seed: int) -> np.ndarray:
    """MT19937's state after ``init_genrand(seed & 0xffffffff)`` (at::mt19937's seeding)."""
    key = np.empty(_N, np.uint32)
    s = seed & 0xFFFFFFFF
    for j in range(_N):
        key[j] = s
        s = (1812433253 * (s ^ (s >> 30)) + j + 1) & 0xFFFFFFFF
    return key


class Generator:
    """``torch.Generator`` on the CPU: MT19937 plus the cached second sample of the scalar
    Box-Muller normal (``next_double_normal_sample``)."""

    __slots__ = ("_bits", "_seed", "_fresh", "_next_double", "_next_float", "__weakref__")

    def __init__(self, device="cpu") -> None:
        self._bits = np.random.MT19937()
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self):
        from ._factories import device

        return device("cpu")

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {hex(id(self))}>"

    def manual_seed(self, seed) -> Generator:
        """Seed as PyTorch's ``Generator.manual_seed``: an int in [-2**63, 2**64), negative ones
        taken modulo 2**64; the cached normal sample is dropped."""
        if isinstance(seed, float):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(2**63) <= seed <= _U64:
            raise ValueError("Overflow when unpacking long long")
        self._set_engine(_init_genrand(seed), _N, seed & _U64, fresh=True)
        self._next_double = self._next_float = None
        return self

    def seed(self) -> int:
        """Seed from the operating system's randomness (getNonDeterministicRandom); return it."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def _set_engine(self, key: np.ndarray, pos: int, seed: int, fresh: bool) -> None:
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._seed = seed
        self._fresh = fresh  # no draw since seeding: at::mt19937 then says next=0, not 624

    # ------------------------------------------------------------------------- state bytes

    # CPUGeneratorImplState (CPUGeneratorImpl.cpp): the legacy THGenerator struct (its state
    # words widened to uint64), then the float normal cache; 5056 bytes with C's padding
    _STATE = np.dtype(
        {
            "names": ["seed", "left", "seeded", "next", "state", "normal_y", "normal_valid", "float_y", "float_valid"],
            "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _N), "<f8", "<i4", "<f4", "u1"],
            "offsets": [0, 8, 12, 16, 24, 5024, 5040, 5048, 5052],
            "itemsize": 5056,
        }
    )

    def get_state(self):
        """The state as PyTorch's ``get_state`` packs it: a uint8 tensor of 5056 bytes."""
        from ._tensor import Tensor

        st = self._bits.state["state"]
        pos = int(st["pos"])
        rec = np.zeros((), self._STATE)
        rec["seed"], rec["seeded"], rec["state"] = self._seed, 1, st["key"]
        # at::mt19937 counts down ``left`` to its next twist: left + next == 625, but a fresh seed
        # has next 0 (and left 1) where a used-up state has next 624
        rec["left"], rec["next"] = 625 - pos, 0 if self._fresh else pos
        if self._next_double is not None:
            rec["normal_y"], rec["normal_valid"] = self._next_double, 1
        if self._next_float is not None:
            rec["float_y"], rec["float_valid"] = self._next_float, 1
        return Tensor._wrap(np.frombuffer(rec.tobytes(), np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state ``get_state`` returned (PyTorch's checks, first sentences)."""
        data = new_state._data
        if data.dtype != np.uint8:
            raise RuntimeError(f"expected a torch.ByteTensor, but got {new_state.type()}")
        if data.size != self._STATE.itemsize:
            raise RuntimeError(
                f"Expected a CPUGeneratorImplState of size {self._STATE.itemsize} but found the input RNG state "
                f"size to be {data.size}"
            )
        rec = np.frombuffer(np.ascontiguousarray(data).tobytes(), self._STATE)[0]
        left, nxt = int(rec["left"]), int(rec["next"])
        if not (rec["seeded"] and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        key = rec["state"].astype(np.uint32)  # the words are 32-bit; the legacy struct widened them
        self._set_engine(key, 625 - left, int(rec["seed"]), fresh=left == 1 and nxt == 0)
        self._next_double = float(rec["normal_y"]) if rec["normal_valid"] else None
        self._next_float = float(rec["float_y"]) if rec["float_valid"] else None
        return self

    # ------------------------------------------------------------------------- the stream

    def random(self, n: int) -> np.ndarray:
        """``n`` draws of ``random()``: 32-bit words (as uint64)."""
        if n:
            self._fresh = False
        return self._bits.random_raw(n)

    def random64(self, n: int) -> np.ndarray:
        """``n`` draws of ``random64()``: two words each, the first the high half."""
        words = self.random(2 * n)
        return (words[0::2] << np.uint64(32)) | words[1::2]


default_generator = Generator()
default_generator.seed()  # PyTorch seeds its default CPU generator nondeterministically


def generator_or_default(generator) -> Generator:
    return default_generator if generator is None else generator


# ----------------------------------------------------------------------------- float arithmetic


def _k(value: float, dtype=np.float64) -> np.ndarray:
    """A constant as a 0-d array: numpy multiplies by one faster than by a Python or numpy scalar."""
    return np.array(value, dtype)


_ONE, _HALF, _MINUS_HALF, _MINUS_TWO = _k(1.0), _k(0.5), _k(-0.5), _k(-2.0)


def _fma32(a, b, c) -> np.ndarray:
    """float32 ``a * b + c`` rounded once, as the FMA instruction. The product is exact in
    float64 and the float64 sum is within half a float64 ulp, so rounding it to float32 is the
    one rounding of the exact value unless it lands on a float32 halfway point (low 29 bits
    1 followed by zeros) while inexact: only there the sum's error (two-sum) decides."""
    p = np.multiply(a, b, dtype=np.float64)
    s = np.add(p, c, dtype=np.float64)
    halfway = (s.view(np.uint64) & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)
    if halfway.any():
        hp, hs, hc = p[halfway], s[halfway], np.broadcast_to(np.asarray(c, np.float64), s.shape)[halfway]
        back = hs - hp
        err = (hp - (hs - back)) + (hc - back)
        s[halfway] = np.where(err != 0, np.nextafter(hs, np.copysign(np.inf, err)), hs)
    return s.astype(np.float32)


def _scale(x: np.ndarray, std: float, mean: float, fma) -> np.ndarray:
    """``x * std + mean`` fused; with ``std`` 1 the product is exact, so one addition is the
    fused result (and turns -0.0 into +0.0 as it does)."""
    if std == 1:
        return x + x.dtype.type(mean)
    return fma(x, x.dtype.type(std), x.dtype.type(mean))


def _fma64(a, b, c) -> np.ndarray:
    from ._factories import _fma  # an exact float64 fused multiply-add (Dekker's products)

    return np.asarray(_fma(np.asarray(a, np.float64), np.float64(b), np.float64(c)), np.float64)


def _per_element(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` (a libm function through ``math``) of each element: numpy's own log and log1p
    differ from glibc's in the last bit of a few values in a thousand; PyTorch calls glibc's."""
    return np.fromiter(map(fn, x.tolist()), np.float64, x.size)


# ----------------------------------------------------------------------------- uniform


_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_F16 = np.dtype(np.float16)
_M24, _M53 = np.uint64(2**24 - 1), np.uint64(2**53 - 1)
_K24 = np.float32(2.0**-24)
_SMALL = 16  # up to this many draws, Python's floats cost less than numpy's calls


def uniform(gen: Generator, n: int, dtype: np.dtype, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``n`` draws of ``uniform_real_distribution<T>(low, high)`` cast to ``dtype``: the low
    ``digits`` bits of a draw (53 of a ``random64()`` for double, 24 of a ``random()``
    otherwise) times 2**-digits, then ``x * (high - low) + low`` fused, in double for double and
    in float otherwise. A half (``float16``) is drawn as a float in ``[low, high)`` and rounded;
    one that rounds up to ``high`` becomes ``low``."""
    unit = low == 0.0 and high == 1.0
    if dtype == _F64:
        if unit and n <= _SMALL:
            w = gen.random(2 * n).tolist()
            return np.array([((w[i] << 32 | w[i + 1]) & 0x1FFFFFFFFFFFFF) * 2.0**-53 for i in range(0, 2 * n, 2)])
        x = (gen.random64(n) & _M53).astype(np.float64) * 2.0**-53
        return x if unit else _fma64(x, high - low, low)
    if unit and n <= _SMALL:
        x = np.array([(w & 0xFFFFFF) * 2.0**-24 for w in gen.random(n).tolist()], np.float32)
    else:
        x = (gen.random(n) & _M24).astype(np.float32) * _K24
    if dtype == _F32:
        return x if unit else _fma32(x, np.float32(dtype.type(high) - dtype.type(low)), np.float32(low))
    # a half: (to - from) and from in float, the value rounded to half, ``to`` wrapped to ``from``
    lo, hi = np.float32(low), np.float32(high)
    h = (x if unit else _fma32(x, hi - lo, lo)).astype(dtype)
    top = dtype.type(hi)
    if (h == top).any():
        h[h == top] = dtype.type(lo)
    return h


# ----------------------------------------------------------------------------- normal


_CHUNK = 16 * 2048


def normal_fill(gen: Generator, out: np.ndarray, mean: float, std: float, contiguous: bool) -> None:
    """``normal_``'s CPU kernel into ``out``: a contiguous tensor of 16 or more elements takes
    normal_fill (Box-Muller over blocks of 16 uniforms, the last block redrawn and recomputed
    when the size is not a multiple of 16); any other one the scalar Box-Muller, in TensorIterator
    order, with its cached second sample. A half tensor takes the float kernel block by block:
    its partial last block draws 16 uniforms of its own (no whole redraw) and is stored at the
    end."""
    n = out.size
    if contiguous and n >= 16:
        flat = out.reshape(-1)  # a view: ``out`` is C-contiguous
        whole = n // 16 * 16
        if out.dtype == _F16:
            normals = _normal_blocks(uniform(gen, -(-n // 16) * 16, _F32), _normal_fill_16_avx2, mean, std)
        else:
            double = out.dtype == _F64
            words = (gen.random64 if double else gen.random)(n + 16 if n % 16 else n)
            if n % 16:  # the last 16 uniforms are drawn again, after all the others
                words = np.concatenate((words[:whole], words[n:]))
            u = (words & _M53).astype(np.float64) * 2.0**-53 if double else (words & _M24).astype(np.float32) * _K24
            block = _normal_fill_16 if double else _normal_fill_16_avx2
            normals = _normal_blocks(u, block, mean, std)
        flat[:whole] = normals[:whole]
        if n % 16:
            flat[n - 16 :] = normals[-16:]
        return
    if n <= _SMALL:
        values = _normal_distribution_small(gen, n, mean, std)
    else:
        values = _scale(_normal_distribution(gen, n), std, mean, _fma64)  # transformation::normal: val * std + mean
    if out.dtype == _F16:
        values = values.astype(np.float32)  # static_cast<Half>(double) goes through float
    if out.ndim <= 1 or out.flags.c_contiguous:
        out[...] = values.reshape(out.shape)
    else:
        store_in_order(out, values)


def _normal_blocks(u: np.ndarray, block, mean: float, std: float) -> np.ndarray:
    """``block`` over the uniforms ``u`` in rows of 16, a chunk of rows at a time (temporaries
    of a cache's size)."""
    if u.size <= _CHUNK:
        return block(u.reshape(-1, 16), mean, std).reshape(-1)
    out = np.empty_like(u)
    for start in range(0, u.size, _CHUNK):
        out[start : start + _CHUNK] = block(u[start : start + _CHUNK].reshape(-1, 16), mean, std).reshape(-1)
    return out


def _normal_distribution(gen: Generator, n: int) -> np.ndarray:
    """``n`` draws of ``normal_distribution<double>`` (mean 0, std 1): each pair of 53-bit
    uniforms (u1, u2) gives ``r cos(theta)`` now and caches ``r sin(theta)`` for the next draw,
    ``r = sqrt(-2 log1p(-u2))``, ``theta = 2 pi u1``."""
    out = np.empty(n)
    start = 0
    if n and gen._next_double is not None:
        out[0], gen._next_double, start = gen._next_double, None, 1
    pairs = (n - start + 1) // 2
    u = uniform(gen, 2 * pairs, _F64)
    r = np.sqrt(-2.0 * _per_element(math.log1p, -u[1::2]))
    theta = 2.0 * math.pi * u[0::2]
    cos_sin = np.empty(2 * pairs)
    cos_sin[0::2] = r * np.cos(theta)
    cos_sin[1::2] = r * np.sin(theta)
    out[start:] = cos_sin[: n - start]
    if (n - start) % 2:
        gen._next_double = float(cos_sin[-1])
    return out


def _normal_distribution_small(gen: Generator, n: int, mean: float, std: float) -> np.ndarray:
    """``_normal_distribution`` then ``val * std + mean`` (fused), for a few draws in Python's
    floats: ``math``'s log1p, cos and sin are the C library's, as PyTorch's."""
    out = []
    if n and gen._next_double is not None:
        out.append(gen._next_double)
        gen._next_double = None
    w = gen.random(4 * ((n - len(out) + 1) // 2)).tolist()  # two random64() a pair
    log1p, sqrt, cos, sin = math.log1p, math.sqrt, math.cos, math.sin
    for i in range(0, len(w), 4):
        u1 = ((w[i] << 32 | w[i + 1]) & 0x1FFFFFFFFFFFFF) * 2.0**-53
        u2 = ((w[i + 2] << 32 | w[i + 3]) & 0x1FFFFFFFFFFFFF) * 2.0**-53
        r = sqrt(-2.0 * log1p(-u2))
        theta = 2.0 * math.pi * u1
        out.append(r * cos(theta))
        if len(out) == n:
            gen._next_double = r * sin(theta)
        else:
            out.append(r * sin(theta))
    if std == 1:
        return np.array([v + mean for v in out])  # the product is exact: one rounding, as the fma's
    return _fma64(np.array(out), std, mean)


def _normal_fill_16(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16<double> on rows of 16 uniforms: the first 8 give the radii, the last 8
    the angles; ``radius * cos(theta) * std + mean`` fused."""
    radius = np.sqrt(_log(_ONE - u[:, :8].reshape(-1)) * _MINUS_TWO)
    theta = u[:, 8:].reshape(-1) * (2.0 * math.pi)  # 2.0f * pi<double> * u2
    out = np.empty_like(u)
    out[:, :8] = (radius * np.cos(theta)).reshape(-1, 8)  # numpy's double cos and sin are glibc's
    out[:, 8:] = (radius * np.sin(theta)).reshape(-1, 8)
    return _scale(out, std, mean, _fma64)


# glibc's double ``log`` (what PyTorch's std::log calls) is not numpy's: numpy's SIMD log differs in
# the last bit of a few values in a thousand. glibc's is within 0.52 ulp of the exact logarithm
# (its authors' bound: 0.519 ulp, 0.507 near 1), so wherever the exact value is farther than
# 0.03 ulp from a rounding boundary glibc returns the correctly rounded value. ``_log`` computes
# the logarithm to within 0.002 ulp (a table of points c with log(c) in two doubles, a series for
# log(x / c) and the sum in double-double), rounds it, and asks ``math.log`` only for the values
# within 1/16 ulp of a boundary (one in eight).
_LOG_STEPS = 256  # table points c near i / 256 for m in [sqrt(1/2), sqrt(2))
_LOG_I0 = 181


def _log_table():
    """1/c (13 bits: m times it is exact in two parts), log(c) in two doubles for the points
    c near i / 256, and log(2) in two doubles (the first of 42 bits: its products with
    exponents are exact)."""
    import decimal

    ctx = decimal.Context(prec=60)
    ln2 = ctx.ln(decimal.Decimal(2))
    ln2_hi = float(np.array(np.array(float(ln2)).view(np.uint64) & np.uint64(0xFFFFFFFFFFFFF800)).view(np.float64))
    ln2_lo = float(ctx.subtract(ln2, decimal.Decimal(ln2_hi)))
    invc, log_c = [], []
    for i in range(_LOG_I0, 363):
        inv = round(_LOG_STEPS / i * 2**12) / 2**12
        exact = -ctx.ln(decimal.Decimal(inv))  # log(c) for c = 1 / invc
        invc.append(inv)
        log_c.append(complex(float(exact), float(ctx.subtract(exact, decimal.Decimal(float(exact))))))
    return np.array(invc), np.array(log_c), ln2_hi, ln2_lo


_LOG_INVC, _LOG_C, _LN2_HI, _LN2_LO = _log_table()
_LOG_SERIES = [_k((-1) ** (k + 1) / k) for k in range(8, 2, -1)]  # q(r) = 1/3 - r/4 + ... - r**5/8
_SPLIT = _k(134217729.0)  # 2**27 + 1: Veltkamp's split into 26 bits and the rest
_EXPONENT, _MANTISSA = np.uint64(0x7FF0000000000000), np.uint64(0xFFFFFFFFFFFFF)
_NEAR = _k(0.5 - 0.0625)


def _log(x: np.ndarray) -> np.ndarray:
    """glibc's ``log`` of each element of ``x`` (positive normal doubles), bit for bit."""
    if x.size < 256:  # numpy's calls would cost more than math.log's
        return _per_element(math.log, x)
    f, k = np.frexp(x)
    low = f < math.sqrt(0.5)
    m = f * (low + _ONE)  # x = m * 2**k, m in [sqrt(1/2), sqrt(2))
    k = (k - low).astype(np.float64)
    i = (m * _LOG_STEPS + 0.5).astype(np.intp)
    i -= _LOG_I0
    invc = _LOG_INVC[i]
    log_c = _LOG_C[i]
    t = m * _SPLIT
    mh = t - (t - m)  # m = mh + (m - mh), 26 bits and 27
    rh = mh * invc
    rh -= _ONE  # exact: 26 + 13 bits, then Sterbenz
    b = (m - mh) * invc  # exact
    r = rh + b  # r + rl = m / c - 1 exactly (two-sum)
    back = r - rh
    rl = (rh - (r - back)) + (b - back)
    # log1p(r + rl) = r + rl - r**2 / 2 - r rl + r**3 q(r), to 2**-62 of it (|r| < 2**-8.4)
    q = r * _LOG_SERIES[0] + _LOG_SERIES[1]
    for c in _LOG_SERIES[2:]:
        q *= r
        q += c
    half_r2 = r * r * 0.5
    small = (r * r * r) * q - r * rl + rl + k * _LN2_LO + log_c.imag
    # k log2 + log(c) + r - r**2 / 2 in double-double: each sum's error into ``small``
    s = k * _LN2_HI  # exact; at least log(c) unless 0
    total = s + log_c.real
    small += log_c.real - (total - s)
    s = total
    total = s + r  # no order between them: two-sum
    back = total - s
    small += (s - (total - back)) + (r - back)
    s = total - half_r2  # s at least r**2 / 2
    small += (total - s) - half_r2
    hi = s + small
    lo = small - (hi - s)  # the logarithm is hi + lo, hi rounded to nearest
    bits = hi.view(np.uint64)
    ulp = (bits & _EXPONENT).view(np.float64) * 2.0**-52
    near = np.abs(lo) >= _NEAR * ulp  # within 1/16 ulp of a rounding boundary
    near |= (bits & _MANTISSA) == 0  # a power of two: the ulps differ on its two sides
    if near.any():
        hi[near] = _per_element(math.log, x[near])
    return hi


# normal_stub has no AVX512 kernel (DistributionKernels.cpp), so an AVX512 CPU runs the AVX2
# one too: float32 blocks of 16 go through avx_mathfun.h's Cephes log256_ps and sincos256_ps,
# compiled with GCC's fused multiply-adds.
#
# A float32 fma ``a * b + c`` is computed here as the float64 product (exact: 24 + 24 bits), the
# float64 sum and one rounding to float32. That is the fma unless the float64 sum was inexact
# and landed on a float32 halfway point (double rounding). The kernel's inputs are few enough to
# try them all: 1 - u and float(2 pi) * u for each of the 2**24 float uniforms u. Over all of
# them, no fma of log256_ps or sincos256_ps meets that case (tests/test_random.py checks it
# against the halfway-correcting ``_fma32``), so they round once, unchecked. Only the final
# ``n * std + mean``, with the caller's numbers, goes through ``_fma32``.
_f = np.float32


# avx_mathfun's cephes_log_p0 ... p8 (tests/random_reference.py uses them too)
LOG_COEFFS = (
    7.0376836292e-2,
    -1.1514610310e-1,
    1.1676998740e-1,
    -1.2420140846e-1,
    1.4249322787e-1,
    -1.6668057665e-1,
    2.0000714765e-1,
    -2.4999993993e-1,
    3.3333331174e-1,
)
_LOG_P = [_k(_f(c)) for c in LOG_COEFFS]
_LOG_Q1, _LOG_Q2 = _k(_f(-2.12194440e-4)), _k(_f(0.693359375))
_SQRTHF = _k(0.707106781186547524, _f)
_FOPI = _k(1.27323954473516, _f)  # 4 / pi
_DP2 = [_k(-2.0 * _f(c)) for c in (0.78515625, 2.4187564849853515625e-4, 3.77489497744594108e-8)]
_COS_P = [_k(_f(c)) for c in (2.443315711809948e-005, -1.388731625493765e-003, 4.166664568298827e-002)]
_SIN_P = [_k(_f(c)) for c in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_TWO_PI = _k(2.0 * math.pi, _f)
_ONE_F = _k(1.0, _f)
_POLY = [_k([[c], [s]]) for c, s in zip(_COS_P, _SIN_P)]  # cosine's and sine's, stacked
# by j // 2 (j the even octant of sincos256_ps): is the sine polynomial the sine, and the signs
_SINE_FIRST = np.array([True, False, True, False, True])
_SIN_SIGN = _k([1.0, 1.0, -1.0, -1.0, 1.0], _f)
_COS_SIGN = _k([1.0, -1.0, -1.0, 1.0, 1.0], _f)


_ROUNDERS = threading.local()  # per thread: a generator's draws hold no lock here


def _rounder(shape):
    """A function rounding a float64 array of ``shape`` in place to float32 values (through a
    float32 scratch array: two assignments cost less than two numpy calls); cached per shape
    and thread."""
    cache = getattr(_ROUNDERS, "cache", None)
    if cache is None or len(cache) > 32:
        cache = _ROUNDERS.cache = {}
    rn = cache.get(shape)
    if rn is None:
        scratch = np.empty(shape, _f)

        def rn(t: np.ndarray) -> np.ndarray:
            scratch[...] = t
            t[...] = scratch
            return t

        cache[shape] = rn
    return rn


def _log256(x: np.ndarray) -> np.ndarray:
    """avx_mathfun's log256_ps of the float32 ``x = 1 - u`` (so in [2**-24, 1]): Cephes' logf,
    ``x = m * 2**e`` with m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial in ``m - 1`` and
    ``e`` times log(2) in two parts; each multiply-add GCC fuses is fused. The float32 values
    are carried in a float64 array, each rounded as the float32 operation rounds it."""
    rn = _rounder(x.shape)
    m, e = np.frexp(x)  # m in [0.5, 1): Cephes' mantissa and exponent
    small = m < _SQRTHF
    e = (e - small).astype(np.float64)
    x = m.astype(np.float64)
    x *= small + _ONE
    x -= _ONE  # (m - 1) + (m if small): exact
    z = rn(x * x)
    y = x * _LOG_P[0]
    y += _LOG_P[1]
    for c in _LOG_P[2:]:
        rn(y)
        y *= x
        y += c
    rn(y)
    y *= x
    rn(y)
    y *= z
    y += rn(e * _LOG_Q1)  # y * z + e * q1: GCC fuses the first product
    rn(y)
    y += z * _MINUS_HALF
    rn(y)
    y += x
    rn(y)
    y += e * _LOG_Q2
    return rn(y)


def _sincos256(x: np.ndarray):
    """avx_mathfun's sincos256_ps of the float32 ``x = float(2 pi) * u`` (with GCC's fusions):
    reduce by multiples of pi/4 in three parts, then Cephes' sine and cosine polynomials, in
    float64 arrays rounded as float32's operations round. Returns float32 arrays."""
    rn, rn2 = _rounder(x.shape), _rounder((2, *x.shape))
    j = (x * _FOPI).astype(np.int32)
    j += 1
    j >>= 1  # half the even octant (j + 1) & ~1
    x = x.astype(np.float64)
    for dp in _DP2:
        x += j * dp  # j * 2 * dp: exact
        rn(x)
    z = rn(x * x)
    p = rn2(z * _POLY[0] + _POLY[1])  # both polynomials at once
    p *= z
    p += _POLY[2]
    rn2(p)
    p *= z
    rn2(p)
    cos_p, sin_p = p
    cos_p *= z
    cos_p -= z * _HALF
    rn(cos_p)
    cos_p += _ONE
    sin_p *= x
    sin_p += x
    cos_p, sin_p = p.astype(_f)  # the sum with 1 rounded too
    first = _SINE_FIRST[j]
    sin = np.where(first, sin_p, cos_p)
    cos = np.where(first, cos_p, sin_p)
    sin *= _SIN_SIGN[j]
    cos *= _COS_SIGN[j]
    return sin, cos


def _normal_fill_16_avx2(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16_AVX2 on rows of 16 float32 uniforms."""
    radius = np.sqrt(_log256((_ONE_F - u[:, :8]).reshape(-1)) * _MINUS_TWO).astype(_f)  # harmless double rounding
    sin, cos = _sincos256((_TWO_PI * u[:, 8:]).reshape(-1))
    out = np.empty_like(u)
    out[:, :8] = (radius * cos).reshape(-1, 8)
    out[:, 8:] = (radius * sin).reshape(-1, 8)
    return _scale(out, _f(std), _f(mean), _fma32)  # _mm256_fmadd_ps(n, std, mean)


# ----------------------------------------------------------------------------- discrete


def bernoulli(gen: Generator, out: np.ndarray, p: float) -> np.ndarray:
    """``bernoulli_scalar_kernel``'s draws for ``out.bernoulli_(p)`` (``p`` a number), as a bool
    array shaped like ``out``. An empty ``out`` draws nothing (``CHECK_EMPTY_AND_RETURN``). On an
    Intel CPU (PyTorch is built with MKL and asks cpuinfo for processor 0's vendor) the kernel
    takes one ``random()`` as the seed of MKL's stream (``mkl_bernoulli``) and fills ``out`` in
    logical (C) order: in place when ``out`` is contiguous, else through a contiguous int32
    buffer and ``self.copy_``. On other CPUs each element, in the TensorIterator's order, is
    ``bernoulli_distribution<double>(p)``: a 53-bit uniform below ``p``."""
    if out.size == 0:
        return np.zeros(out.shape, bool)
    if intel_cpu():
        return mkl_bernoulli(int(gen.random(1)[0]), out.size, p).reshape(out.shape)
    keep = np.empty(out.shape, bool)
    store_in_order(keep, uniform(gen, out.size, _F64) < p, iteration_order(out))
    return keep


_MCG31_M = 2**31 - 1  # VSL_BRNG_MCG31: x_k = a * x_{k-1} mod m
_MCG31_A = 1132489760


def mkl_bernoulli(seed: int, n: int, p: float) -> np.ndarray:
    """``viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF, p)`` on ``n`` draws of a new
    ``VSL_BRNG_MCG31`` stream seeded with ``seed`` (a 32-bit word), as MKL 2024.2 computes it:
    x_0 = seed mod m (1 if that is 0), the k-th output is x_k = a**k * x_0 mod m, its uniform is
    the float ``(float)(x_k / m)`` (the quotient in double) and the result is 1 when that is below
    ``(float)p``. So ``p = 1`` gives 0 where x_k / m rounds to 1.0f (x_k > m - 65). PyTorch
    splits the tensor into chunks, each a new stream skipped ahead to the chunk's start, which
    together are this one stream. Checked against libmkl_rt by scripts/record_mkl_bernoulli.py.
    """
    m = np.uint64(_MCG31_M)
    x = np.empty(n, np.uint64)
    if n:
        x[0] = seed % _MCG31_M or 1
    done = 1
    while done < n:  # x[done:2 * done] = a**done * x[:done], by doubling
        k = min(done, n - done)
        np.multiply(x[:k], np.uint64(pow(_MCG31_A, done, _MCG31_M)), out=x[done : done + k])
        x[done : done + k] %= m  # a product of two numbers below 2**31 fits in 64 bits
        done += k
    return (x.astype(_F64) / _MCG31_M).astype(np.float32) < np.float32(p)


_intel = None


def intel_cpu() -> bool:
    """Whether processor 0 is Intel's (``vendor_id: GenuineIntel`` in /proc/cpuinfo; read once);
    a system without /proc/cpuinfo counts as not Intel."""
    global _intel
    if _intel is None:
        vendor = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("vendor_id"):
                        vendor = line.partition(":")[2].strip()
                        break
        except OSError:
            pass
        _intel = vendor == "GenuineIntel"
    return _intel


def bernoulli_tensor(gen: Generator, p: np.ndarray) -> np.ndarray:
    """One draw for each probability in ``p`` (C order): ``bernoulli_distribution<double>`` for
    double probabilities, ``<float>`` (a 24-bit uniform compared in float) otherwise."""
    if p.dtype == _F64:
        return uniform(gen, p.size, _F64) < p.reshape(-1)
    return uniform(gen, p.size, _F32) < p.reshape(-1).astype(np.float32)


def random_from_to(gen: Generator, n: int, low: int, high: int, dtype: np.dtype) -> np.ndarray:
    """``n`` draws of ``uniform_int_from_to_distribution``: ``draw % (high - low) + low``, the
    draw a ``random64()`` when the range needs 32 bits or more (for 64-bit and float types)."""
    span = high - low
    wide = span >= 1 << 32 and dtype in (np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.float32))
    draws = gen.random64(n) if wide else gen.random(n)
    return ((draws % np.uint64(span)).astype(np.int64) + low).astype(dtype)


def randperm(gen: Generator, n: int) -> np.ndarray:
    """randperm_cpu: for each i < n - 1, swap element i with element z_i = i + random() % (n - i).
    (PyTorch's other algorithm is for n >= 2**32 / 20, more memory than numpy arrays here
    would fit.) The swaps are sequential, but what they leave is not: swap i moves to z_i the
    value that position i held just before it, a_i, which is a_k for the last swap k < i that
    moved a value into i (i itself if none); and position i ends with a_k for the last swap
    k < i into z_i (z_i if none). Those "last earlier swap into the same place" links are found
    by sorting the z_i, and the chains a_i = a_k = ... followed by pointer jumping."""
    if n <= 1024:
        return _randperm_swaps(gen, n)
    steps = np.arange(n - 1)
    z = (gen.random(n - 1) % (n - steps).astype(np.uint64)).astype(np.int64) + steps
    keys = np.sort(z * n + steps)  # by target, then by swap (distinct keys: any sort is stable)
    targets, order = np.divmod(keys, n)
    same = targets[1:] == targets[:-1]
    before = np.full(n - 1, -1)  # the last earlier swap into the same target
    before[order[1:][same]] = order[:-1][same]
    last_into = np.full(n, -1)  # the last swap into each position
    ends = np.append(~same, True)
    last_into[targets[ends]] = order[ends]
    # the last swap k < i into position i: before swap i moved a value into i itself
    into = np.where(z == steps, before, last_into[:-1])
    held = np.where(into >= 0, into, steps)  # a_i = a_held[i] until held[i] == i
    while True:
        jumped = held[held]
        if np.array_equal(jumped, held):
            break
        held = jumped
    perm = np.empty(n, np.int64)
    perm[:-1] = np.where(before >= 0, held[before], z)
    perm[-1] = held[last_into[-1]] if last_into[-1] >= 0 else n - 1
    return perm


def _randperm_swaps(gen: Generator, n: int) -> np.ndarray:
    """randperm_cpu's swaps one by one, in a list (for a few elements)."""
    perm = list(range(n))
    for i, r in enumerate(gen.random(max(n - 1, 0)).tolist()):
        z = i + r % (n - i)
        perm[i], perm[z] = perm[z], perm[i]
    return np.array(perm, np.int64)


# ----------------------------------------------------------------------------- order


def iteration_order(out: np.ndarray, *inputs: np.ndarray) -> list:
    """The dims of ``out`` from slowest to fastest as a TensorIterator over ``out`` and
    ``inputs`` (same shape) visits them: memory order for a dense ``out``."""
    if out.ndim < 2:
        return list(range(out.ndim))
    return _iteration_order(out.shape, [out.strides] + [a.strides for a in inputs])


def store_in_order(out: np.ndarray, values: np.ndarray, order=None) -> None:
    """Write ``values`` (one per element, in draw order) into ``out`` in ``order`` (by default
    the order a TensorIterator over ``out`` alone visits it)."""
    view = out.transpose(iteration_order(out) if order is None else order)
    view[...] = values.reshape(view.shape)


# ----------------------------------------------------------------------------- in-place fills


def _check_float(t, kernel: str) -> None:
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{t.dtype._legacy}'")


def _filled(self, op: str, node: str):
    """Bump ``self``'s version; its history becomes ``node`` (whose gradient is zero)."""
    from ._tensor import finish_inplace

    return finish_inplace(self, op, node_class(node, zero_grad_formula), (self,))


def zero_grad_formula(node, g, ns):
    """The gradient of a random fill or draw: zeros (derivatives.yaml's zeros_like(grad))."""
    from ._ops import _zero_grad_formula

    return _zero_grad_formula(node, g, ns)


def uniform_(self, from_=0.0, to=1.0, *extra, generator=None, _call=("uniform_", True), **unknown):
    """``Tensor.uniform_``: values of ``[from, to)`` in place (UniformBackward0)."""
    from ._tensor import check_inplace

    if "from" in unknown:  # PyTorch's keyword (``x.uniform_(**{"from": 0})``)
        from_ = unknown.pop("from")
    _parsed(_call, (self, from_, to), (("from", 0.0), ("to", 1.0)), extra, unknown, generator)
    check_inplace(self, "uniform_")
    _check_float(self, "check_uniform_bounds")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_:g} > to={to:g}")
    data = self._data
    store_in_order(data, uniform(generator_or_default(generator), data.size, data.dtype, from_, to))
    return _filled(self, "uniform_", "UniformBackward0")


def normal_(self, mean=0.0, std=1.0, *extra, generator=None, _call=("normal_", True), **unknown):
    """``Tensor.normal_``: values of N(mean, std**2) in place (NormalBackward0)."""
    from ._tensor import check_inplace

    _parsed(_call, (self, mean, std), (("mean", 0.0), ("std", 1.0)), extra, unknown, generator)
    check_inplace(self, "normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if self._data.size:  # an empty tensor returns before the kernel's dtype dispatch
        _check_float(self, "normal_kernel_cpu")
    normal_fill(generator_or_default(generator), self._data, mean, std, self._data.flags.c_contiguous)
    return _filled(self, "normal_", "NormalBackward0")


def bernoulli_(self, p=0.5, *extra, generator=None, _call=("bernoulli_", True), **unknown):
    """``Tensor.bernoulli_(p)`` for a number ``p``: 1 with probability ``p`` (BernoulliBackward2)."""
    from ._tensor import check_inplace

    _parsed(_call, (self, p), (("p", 0.5),), extra, unknown, generator)
    check_inplace(self, "bernoulli_")
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    data = self._data
    data[...] = bernoulli(generator_or_default(generator), data, p)
    return _filled(self, "bernoulli_", "BernoulliBackward2")


def _parsed(call, args, optional, extra, unknown, generator) -> None:
    """A random fill's argument check: anything but Python numbers (``args`` after the tensor)
    and a Generator or None is PyTorch's parser's to judge (its error is replayed)."""
    odd = any(v.__class__ is not float and v.__class__ is not int for v in args[1:])
    if extra or unknown or odd or not (generator is None or isinstance(generator, Generator)):
        from ._argparse import refuse_extra

        refuse_extra(call, args, extra, unknown, optional, generator=(generator, None))

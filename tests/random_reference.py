"""Straightforward float32 versions of avx_mathfun's log256_ps and sincos256_ps (as PyTorch's
AVX2 normal kernel runs them, with GCC's fused multiply-adds), every fma through the
halfway-correcting ``_fma32``: the reference that ``gradlens_core._random``'s faster
float64-carried versions (whose fmas round once, unchecked) must equal. Used by
tests/test_random.py on a sample of the inputs and by scripts/check_random_kernels.py on all
of them."""

from __future__ import annotations

import math

import numpy as np

from gradlens_core._random import LOG_COEFFS as LOG_P
from gradlens_core._random import _fma32

f = np.float32
TWO_PI = f(2.0 * math.pi)


def log256(x: np.ndarray) -> np.ndarray:
    """log256_ps of positive normal float32 ``x``."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(f) + f(1)
    x = ((bits & ~0x7F800000) | np.array(0.5, f).view(np.int32)).view(f)  # mantissa in [0.5, 1)
    small = x < f(0.707106781186547524)
    e = e - np.where(small, f(1), f(0))
    x = (x - f(1)) + np.where(small, x, f(0))
    z = x * x
    y = np.full_like(x, f(LOG_P[0]))
    for c in LOG_P[1:]:
        y = _fma32(y, x, f(c))
    y = y * x
    y = _fma32(y, z, e * f(-2.12194440e-4))
    y = _fma32(z, f(-0.5), y)
    return _fma32(e, f(0.693359375), x + y)


def sincos256(x: np.ndarray):
    """sincos256_ps of non-negative float32 ``x``: (sin, cos)."""
    j = ((x * f(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(f)
    x = _fma32(y, f(-0.78515625), x)
    x = _fma32(y, f(-2.4187564849853515625e-4), x)
    x = _fma32(y, f(-3.77489497744594108e-8), x)
    z = x * x
    cos_poly = _fma32(np.full_like(z, f(2.443315711809948e-005)), z, f(-1.388731625493765e-003))
    cos_poly = _fma32(cos_poly, z, f(4.166664568298827e-002)) * z
    cos_poly = _fma32(cos_poly, z, -(z * f(0.5))) + f(1)
    sin_poly = _fma32(np.full_like(z, f(-1.9515295891e-4)), z, f(8.3321608736e-3))
    sin_poly = _fma32(sin_poly, z, f(-1.6666654611e-1)) * z
    sin_poly = _fma32(sin_poly, x, x)
    first = (j & 2) == 0
    sin = np.where(first, sin_poly, cos_poly)
    cos = np.where(first, cos_poly, sin_poly)
    sin = np.where((j & 4) != 0, -sin, sin)
    cos = np.where((~(j - 2) & 4) != 0, -cos, cos)
    return sin, cos


def kernel_inputs(k: np.ndarray):
    """The float32 uniforms ``k * 2**-24`` and what the kernel feeds its two functions."""
    u = k.astype(f) * f(2.0**-24)
    return f(1) - u, TWO_PI * u


def mismatches(k: np.ndarray) -> int:
    """How many of the uniforms ``k * 2**-24`` get another log256 / sin / cos bit pattern from
    gradlens_core's kernel than from this reference."""
    from gradlens_core import _random as R

    radius_in, theta = kernel_inputs(k)
    fast_log = R._log256(radius_in).astype(f)
    fast_sin, fast_cos = R._sincos256(theta)
    ref_sin, ref_cos = sincos256(theta)
    bad = fast_log.view(np.uint32) != log256(radius_in).view(np.uint32)
    bad |= fast_sin.view(np.uint32) != ref_sin.view(np.uint32)
    bad |= fast_cos.view(np.uint32) != ref_cos.view(np.uint32)
    return int(bad.sum())

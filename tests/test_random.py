"""gradlens_core's random numbers against PyTorch's: after the same seed, every draw is equal,
element for element, and the stream stays in step across interleaved calls."""

from __future__ import annotations

import numpy as np
import pytest
from random_reference import mismatches

import gradlens_core as gl
import gradlens_core.nn.functional as glF
from gradlens_core import _random

torch = pytest.importorskip("torch")
F = torch.nn.functional

SIZES = [0, 1, 3, 15, 16, 17, 100, 1000, 2**16 + 5]
SEEDS = [0, 1, 42, 2**32 + 3, 2**63 + 11]


def _arrays(values) -> list:
    """The values a program produced (tensors, numbers, tuples of them) as numpy arrays."""
    if isinstance(values, (tuple, list)):
        return [a for v in values for a in _arrays(v)]
    if isinstance(values, (gl.Tensor, torch.Tensor)):
        return [values.detach().numpy()]
    return [np.asarray(values)]


def assert_same_draws(program, seed=0):
    """``program(lib)`` after ``lib.manual_seed(seed)`` gives identical arrays in both."""
    torch.manual_seed(seed)
    expected = _arrays(program(torch))
    gl.manual_seed(seed)
    got = _arrays(program(gl))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_rand_and_randn(seed, dtype):
    def program(lib):
        dt = getattr(lib, dtype)
        return [f(n, dtype=dt) for n in SIZES for f in (lib.rand, lib.randn)]

    assert_same_draws(program, seed)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randn_odd_sizes_keep_the_cached_normal(seed):
    """Sizes below 16 take the scalar Box-Muller, which caches its second value in the generator
    for the next draw (even of another call); manual_seed drops it."""

    def program(lib):
        out = [lib.randn(n, dtype=dt) for n in (1, 3, 2, 15, 5) for dt in (lib.float32, lib.float64)]
        out.append(lib.randn(4, 5).t().contiguous())
        return out

    assert_same_draws(program, seed)


def test_normal_with_mean_and_std_and_layouts():
    def program(lib):
        a = lib.empty(100).normal_(0.3, 2.5)
        b = lib.empty(37, dtype=lib.float64).normal_(-1.5, 0.1)
        c = lib.empty(5, 7).t().normal_(1.0, 3.0)  # not contiguous: the scalar kernel, memory order
        d = lib.randn_like(lib.empty(2, 3, 4, 5).permute(0, 2, 3, 1))  # a channels-last layout
        return a, b, c, d, d.stride()

    assert_same_draws(program, 5)


def test_uniform_with_bounds_and_layouts():
    def program(lib):
        a = lib.empty(1000).uniform_(-1 / 3, 1 / 7)
        b = lib.empty(1000, dtype=lib.float64).uniform_(-1 / 3, 1 / 7)
        c = lib.empty(6, 4)[:, ::2].uniform_(-0.1, 0.1)  # a view with gaps
        d = lib.rand_like(lib.empty(3, 4).t())
        return a, b, c, d, d.stride()

    assert_same_draws(program, 3)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randint_randperm_and_interleaving(seed):
    def program(lib):
        return [
            lib.randint(10, (5,)),
            lib.randint(-5, 7, (3, 4)),
            lib.rand(2),
            lib.randint(0, 2**33, (6,)),  # a range of 32 bits or more: 64-bit draws
            lib.randint(3, 10, (4,), dtype=lib.float32),
            lib.randn(17),
            *[lib.randperm(n) for n in (0, 1, 2, 5, 100, 1000)],
            lib.randn(3),
            lib.rand(1, dtype=lib.float64),
        ]

    assert_same_draws(program, seed)


def _torch_takes_mkl_bernoulli() -> bool:
    """Which kernel this machine's torch runs for ``bernoulli_(p)``: MKL's stream (an Intel CPU)
    or the per-element one, told apart by what it draws."""
    torch.manual_seed(0)
    theirs = torch.empty(64).bernoulli_(0.5).numpy().astype(bool)
    seed = int(_random.Generator().manual_seed(0).random(1)[0])
    g = _random.Generator().manual_seed(0)
    if np.array_equal(theirs, _random.mkl_bernoulli(seed, 64, 0.5)):
        return True
    assert np.array_equal(theirs, _random.uniform(g, 64, np.dtype(np.float64)) < 0.5), "neither kernel"
    return False


def test_bernoulli_and_dropout():
    """Against live torch, on whichever kernel it takes here (MKL's on an Intel CPU)."""
    assert _random.intel_cpu() == _torch_takes_mkl_bernoulli()

    def program(lib, F):
        x = lib.ones(4, 50)
        return [
            lib.empty(1000).bernoulli_(0.3),
            lib.bernoulli(lib.full((100,), 0.25)),  # float probabilities: 24-bit draws
            lib.bernoulli(lib.full((100,), 0.25, dtype=lib.float64)),
            lib.bernoulli(x, 0.7),
            F.dropout(x, 0.3),
            F.dropout(x.t(), 0.5),
            F.dropout(lib.ones(17, dtype=lib.float64), 0.2),
            lib.empty(0).bernoulli_(0.5),  # draws nothing
            lib.empty(30, 40).t().bernoulli_(0.4),  # not contiguous
            lib.empty(2000, dtype=lib.int32).bernoulli_(0.6),
            lib.empty(900, dtype=lib.bool).bernoulli_(0.5),
            lib.empty(50, dtype=lib.float64).bernoulli_(1.0),
        ]

    assert_same_draws(lambda lib: program(lib, F if lib is torch else glF), 8)


# MKL 2024.2's viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF) on a VSL_BRNG_MCG31 stream: (seed, p,
# n, the positions of the ones), recorded with `scripts/record_mkl_bernoulli.py --table` from
# libmkl_rt of the mkl-2024.2.0 wheel (the MKL torch 2.13 is built with), calling the functions
# as PyTorch's Intel-CPU bernoulli_scalar_kernel does (a new stream per 800-element chunk,
# skipped ahead to the chunk's start). The whole comparison (tens of thousands of cases, 0
# mismatches) is that script without --table.
# fmt: off
MKL_BERNOULLI_RECORDED = [
    (0, 0.5, 40, [0, 2, 3, 4, 9, 10, 12, 14, 15, 21, 22, 23, 24, 25, 29, 30, 31, 32, 33, 37, 39]),
    (1, 0.3, 40, [0, 3, 4, 9, 10, 14, 21, 22, 24, 25, 29, 31]),
    (2147483647, 0.5, 30, [0, 2, 3, 4, 9, 10, 12, 14, 15, 21, 22, 23, 24, 25, 29]),
    (4294967295, 0.7, 30, [0, 1, 2, 3, 4, 5, 8, 9, 10, 12, 14, 15, 18, 21, 22, 23, 24, 25, 27, 28, 29]),
    (2147483646, 1.0, 8, [1, 2, 3, 4, 5, 6, 7]),  # x_0 = m - 1: (float)(x_0 / m) is 1.0f
    (123456789, 1e-09, 20, []),
    (3141592653, 0.1, 1000, [
        9, 33, 40, 44, 53, 88, 102, 114, 120, 121, 128, 141, 143, 152, 206, 230, 246, 252, 256, 294, 304, 309, 314,
        316, 323, 331, 344, 346, 370, 378, 385, 388, 410, 414, 419, 458, 472, 482, 493, 495, 497, 501, 516, 517, 547,
        560, 565, 570, 573, 584, 591, 614, 625, 643, 667, 674, 683, 686, 721, 756, 757, 758, 770, 774, 780, 781, 809,
        810, 811, 818, 822, 827, 831, 842, 853, 865, 892, 893, 910, 913, 921, 922, 924, 927, 948, 957, 960, 965, 971,
        980, 982, 985, 999,
    ]),
    (2357136044, 0.5, 12, [0, 3, 4, 7, 8, 9, 10]),  # the first random() after manual_seed(0)
]
# fmt: on


@pytest.mark.parametrize("seed, p, n, ones", MKL_BERNOULLI_RECORDED)
def test_mkl_bernoulli_matches_recorded_mkl(seed, p, n, ones):
    assert np.flatnonzero(_random.mkl_bernoulli(seed, n, p)).tolist() == ones


def test_intel_branch_of_bernoulli_and_dropout(monkeypatch):
    """With the CPU taken for Intel's: one random() seeds MKL's stream, the elements are filled
    in logical order (through a contiguous buffer when the tensor is not contiguous), an empty
    tensor draws nothing, and dropout's mask is the same draw."""
    monkeypatch.setattr(_random, "_intel", True)
    recorded = np.zeros(12)
    recorded[MKL_BERNOULLI_RECORDED[-1][3]] = 1  # seed 2357136044, p = 0.5
    gl.manual_seed(0)
    gl.empty(0).bernoulli_(0.5)
    np.testing.assert_array_equal(gl.empty(12).bernoulli_(0.5).numpy(), recorded)
    gl.manual_seed(0)
    np.testing.assert_array_equal(gl.empty(4, 3).t().bernoulli_(0.5).numpy(), recorded.reshape(3, 4))
    gl.manual_seed(0)
    np.testing.assert_array_equal(gl.bernoulli(gl.ones(3, 4), 0.5).numpy(), recorded.reshape(3, 4))
    gl.manual_seed(0)
    np.testing.assert_array_equal(glF.dropout(gl.ones(4, 3).t(), 0.5).numpy(), 2 * recorded.reshape(3, 4))
    gl.manual_seed(0)
    assert gl.empty(2, 6, dtype=gl.int32).bernoulli_(0.5).numpy().ravel().tolist() == recorded.tolist()


def test_nn_linear_and_init_start_from_pytorchs_numbers():
    def program(lib):
        layer = lib.nn.Linear(7, 5)
        w = lib.empty(3, 4)
        inits = lib.nn.init
        return [
            layer.weight,
            layer.bias,
            inits.xavier_uniform_(w),
            inits.xavier_normal_(w),
            inits.kaiming_normal_(w),
            inits.normal_(w, 2.0, 0.5),
            inits.uniform_(w, -2.0, 3.0),
        ]

    assert_same_draws(program, 0)


def test_generators_are_independent_and_seeded_as_pytorchs():
    def program(lib):
        g = lib.Generator()
        first = g.initial_seed()
        g.manual_seed(123)
        return [
            first,
            lib.rand(3, generator=g),
            lib.randn(20, generator=g),
            lib.rand(2),  # the default generator, untouched by g's draws
            lib.randint(0, 9, (4,), generator=g),
            lib.randperm(6, generator=g),
            lib.empty(5).normal_(generator=g),
            g.initial_seed(),
        ]

    assert_same_draws(program, 0)


def test_seeds_wrap_and_the_state_round_trips():
    for seed in (-1, -(2**63), 2**64 - 1):
        assert gl.manual_seed(seed).initial_seed() == torch.manual_seed(seed).initial_seed()

    def program(lib):
        lib.randn(3)  # a cached normal sample is part of the state
        state = lib.get_rng_state()
        a = lib.randn(5)
        lib.set_rng_state(state)
        return state, a, lib.randn(5), lib.get_rng_state()

    assert_same_draws(program, 9)
    gl.manual_seed(4)
    torch.manual_seed(4)
    np.testing.assert_array_equal(gl.get_rng_state().numpy(), torch.get_rng_state().numpy())


def test_errors_match():
    for program in (
        lambda lib: lib.rand(3, dtype=lib.int64),
        lambda lib: lib.randn(3, dtype=lib.int64),
        lambda lib: lib.empty(3).uniform_(1, 0),
        lambda lib: lib.empty(3).normal_(0, -1),
        lambda lib: lib.randint(5, 5, (3,)),
        lambda lib: lib.empty(3).bernoulli_(1.5),
        lambda lib: lib.manual_seed(2**64),
    ):
        with pytest.raises(Exception) as expected:
            program(torch)
        with pytest.raises(expected.type) as got:
            program(gl)
        assert str(got.value).split("\n")[0] == str(expected.value).split("\n")[0]


def test_random_fills_record_pytorchs_nodes():
    for name, call in (
        ("UniformBackward0", lambda t: t.uniform_()),
        ("NormalBackward0", lambda t: t.normal_()),
        ("BernoulliBackward2", lambda t: t.bernoulli_(0.5)),
    ):
        x = gl.ones(3, requires_grad=True)
        y = call(x.clone())
        assert type(y.grad_fn).__name__ == name and y._version == 1
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3, np.float32))


def test_half_draws_and_their_stream():
    """A half uniform is a float one rounded (one rounding up to ``to`` becomes ``from``); a
    half normal_ runs the float kernel block by block, a partial last block on 16 draws of its
    own, stored at the end."""

    def program(lib):
        h = lib.float16
        return [
            lib.rand(100000, dtype=h),  # some round up to 1.0, then wrap to 0.0
            lib.empty(1000, dtype=h).uniform_(-1 / 3, 1 / 7),
            lib.empty(1000, dtype=h).uniform_(0.1, 0.10009765625),  # two half values apart
            lib.empty(37, dtype=h).normal_(0.5, 3.0),
            lib.randn(17, dtype=h),
            lib.randn(5, dtype=h),  # the scalar kernel: double, through float, to half
            lib.empty(6, 7, dtype=h).t().normal_(),
            lib.rand(3),  # the stream stays in step
        ]

    assert_same_draws(program, 12)


def test_small_and_scalar_normals_with_mean_and_std():
    def program(lib):
        return [
            lib.empty(5).normal_(0.3, 2.5),  # a few: Python's floats, the fma exactly
            lib.empty(7, dtype=lib.float64).normal_(-1.5, 0.1),
            lib.empty(3, 40).t().normal_(2.0, 1 / 3),  # many, not contiguous
            lib.empty(9, 4, dtype=lib.float64)[::2].normal_(1.0, 3.0),
            lib.empty(3).normal_(0.0, 0.0),
            lib.rand(2, dtype=lib.float64),
        ]

    assert_same_draws(program, 21)


@pytest.mark.parametrize("n", [1024, 1025, 4097, 100000])
def test_large_randperm(n):
    """Above a thousand elements the swaps are resolved without a loop."""
    assert_same_draws(lambda lib: [lib.randperm(n), lib.randperm(n, dtype=lib.float32), lib.rand(2)], n)


def test_avx2_kernel_fmas_need_no_halfway_correction():
    """The float32 kernel rounds each fma of log256_ps and sincos256_ps once from float64,
    unchecked; scripts/check_random_kernels.py finds no input among all 2**24 where that
    differs from the halfway-correcting reference. Here a sample and the ends of the range."""
    k = np.concatenate([np.arange(0, 2**24, 13), np.arange(8192), np.arange(2**24 - 8192, 2**24)])
    assert mismatches(k) == 0


def test_log_is_glibcs():
    """float64 normal_fill's vectorised log against the C library's (math.log), where PyTorch's
    std::log goes."""
    import math

    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            1.0 - rng.integers(0, 2**53, 200000, dtype=np.uint64).astype(np.float64) * 2.0**-53,
            1.0 - np.arange(1, 20000) * 2.0**-53,  # just below 1
            np.ldexp(1.0, -np.arange(0, 60)),  # powers of two
            np.ldexp(rng.random(20000) + 1.0, rng.integers(-1000, 1000, 20000)),
            np.concatenate([i / 256 + np.arange(-50, 50) * 2.0**-52 for i in range(181, 363)]),  # table points
        ]
    )
    want = np.fromiter(map(math.log, x.tolist()), np.float64, x.size)
    np.testing.assert_array_equal(_random._log(x).view(np.uint64), want.view(np.uint64))

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


def test_bernoulli_and_dropout():
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
        ]

    assert_same_draws(lambda lib: program(lib, F if lib is torch else glF), 8)


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

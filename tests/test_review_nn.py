"""Review findings in nn's convolution, pooling, activation and batch norm code, against PyTorch:
each pooling op names itself in its errors, arguments of the wrong type raise the parser's
TypeError, a kernel of size 0, celu's alpha of 0 and batch norm over 0 channels are refused."""

import numpy as np
import pytest

import gradlens_core as gl

torch = pytest.importorskip("torch")


def _outcome(lib, program):
    """(error class name, first line of its text), or ("ok", the result as numpy)."""
    try:
        out = program(lib)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return type(e).__name__, str(e).split("\n")[0]
    return "ok", out.detach().numpy()


def _same(program):
    mine, ref = _outcome(gl, program), _outcome(torch, program)
    assert mine[0] == ref[0], (mine, ref)
    if ref[0] == "ok":
        np.testing.assert_allclose(mine[1], ref[1], rtol=1e-5, atol=1e-6)
    else:
        assert mine[1] == ref[1]


def x4(t):
    return t.arange(16.0).reshape(1, 1, 4, 4)


def x3(t):
    return t.arange(6.0).reshape(1, 1, 6)


POOL_CASES = {
    # each op's own name in its argument-length errors
    "avg2d_kernel3": lambda t: t.nn.functional.avg_pool2d(x4(t), (1, 2, 3)),
    "avg2d_stride3": lambda t: t.nn.functional.avg_pool2d(x4(t), 2, (1, 2, 3)),
    "avg2d_padding3": lambda t: t.nn.functional.avg_pool2d(x4(t), 2, 2, (1, 1, 1)),
    "avg2d_kernel_empty": lambda t: t.nn.functional.avg_pool2d(x4(t), ()),
    "max2d_kernel3": lambda t: t.nn.functional.max_pool2d(x4(t), (1, 2, 3)),
    "max2d_dilation3": lambda t: t.nn.functional.max_pool2d(x4(t), 2, 2, 0, (1, 2, 3)),
    "max2d_kernel_empty": lambda t: t.nn.functional.max_pool2d(x4(t), ()),
    "avg1d_kernel2": lambda t: t.nn.functional.avg_pool1d(x3(t), (1, 2)),
    "avg1d_stride2": lambda t: t.nn.functional.avg_pool1d(x3(t), 2, (1, 2)),
    "max1d_kernel2": lambda t: t.nn.functional.max_pool1d(x3(t), (1, 2)),
    # the parser's type checks
    "max2d_kernel_str": lambda t: t.nn.functional.max_pool2d(x4(t), "a"),
    "max2d_stride_str": lambda t: t.nn.functional.max_pool2d(x4(t), 2, "a"),
    "max2d_padding_str": lambda t: t.nn.functional.max_pool2d(x4(t), 2, 2, "a"),
    "max2d_kernel_float": lambda t: t.nn.functional.max_pool2d(x4(t), 2.5),
    "max2d_kernel_bool": lambda t: t.nn.functional.max_pool2d(x4(t), True),
    "max2d_kernel_float_item": lambda t: t.nn.functional.max_pool2d(x4(t), (2.5, 2)),
    "avg2d_kernel_str_item": lambda t: t.nn.functional.avg_pool2d(x4(t), ["a"]),
    "avg2d_stride_str": lambda t: t.nn.functional.avg_pool2d(x4(t), 2, "a"),
    "max1d_kernel_str": lambda t: t.nn.functional.max_pool1d(x3(t), "a"),
    "avg1d_stride_float": lambda t: t.nn.functional.avg_pool1d(x3(t), 2, 1.5),
    "MaxPool2d_str": lambda t: t.nn.MaxPool2d("a")(x4(t)),
    "AvgPool2d_str": lambda t: t.nn.AvgPool2d(2, "a")(x4(t)),
    "AvgPool1d_str": lambda t: t.nn.AvgPool1d("a")(x3(t)),
    # still fine
    "max2d_tuple": lambda t: t.nn.functional.max_pool2d(x4(t), (2, 1), [1]),
    "avg2d_stride_empty": lambda t: t.nn.functional.avg_pool2d(x4(t), 2, ()),
    "avg1d_list": lambda t: t.nn.functional.avg_pool1d(x3(t), [3], [2], [1]),
}


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pooling_arguments(name):
    _same(POOL_CASES[name])


def _conv_in(t):
    return t.arange(48.0).reshape(1, 3, 4, 4)


CONV_CASES = {
    "Conv2d_kernel0": lambda t: t.nn.Conv2d(3, 3, 0)(_conv_in(t)),
    "Conv2d_kernel_0x2": lambda t: t.nn.Conv2d(3, 3, (2, 0))(_conv_in(t)),
    "Conv1d_kernel0": lambda t: t.nn.Conv1d(3, 3, 0)(t.ones(1, 3, 4)),
    "conv2d_weight0_padded": lambda t: t.nn.functional.conv2d(_conv_in(t), t.ones(3, 3, 0, 2), padding=1),
    "conv2d_weight0_dilated": lambda t: t.nn.functional.conv2d(_conv_in(t), t.ones(3, 3, 0, 0), dilation=2),
    "conv1d_weight0_dilated": lambda t: t.nn.functional.conv1d(t.ones(1, 3, 4), t.ones(3, 3, 0), dilation=2),
    "conv2d_bias_dtype_first": lambda t: t.nn.functional.conv2d(
        _conv_in(t), t.ones(3, 3, 1, 1, dtype=t.float64), t.ones(3, dtype=t.float64)
    ),
    "conv2d_stride_str": lambda t: t.nn.functional.conv2d(_conv_in(t), t.ones(3, 3, 1, 1), stride="a"),
    "conv2d_stride_float": lambda t: t.nn.functional.conv2d(_conv_in(t), t.ones(3, 3, 1, 1), stride=2.5),
    "conv2d_padding_str_item": lambda t: t.nn.functional.conv2d(_conv_in(t), t.ones(3, 3, 1, 1), padding=["a"]),
    "conv1d_dilation_str": lambda t: t.nn.functional.conv1d(t.ones(1, 3, 4), t.ones(3, 3, 1), dilation="a"),
    "Conv2d_stride_str": lambda t: t.nn.Conv2d(3, 3, 1, stride="a")(_conv_in(t)),
    "Conv2d_same_even": lambda t: t.nn.Conv2d(3, 2, (2, 3), padding="same", dilation=(1, 2), bias=False)(_conv_in(t)),
}


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors", "ignore:Using padding='same'")
@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_convolution_arguments(name):
    torch.manual_seed(0)
    gl.manual_seed(0)
    _same(CONV_CASES[name])


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("alpha", [0, 0.0])
def test_celu_alpha_zero(alpha, inplace):
    _same(lambda t: t.nn.functional.celu(t.ones(3), alpha=alpha, inplace=inplace))


def test_CELU_module_alpha_zero():
    _same(lambda t: t.nn.CELU(0)(t.ones(3)))


BN_CASES = {
    "BatchNorm1d_0": lambda t: t.nn.BatchNorm1d(0)(t.ones(2, 0)),
    "BatchNorm1d_0_eval": lambda t: t.nn.BatchNorm1d(0).eval()(t.ones(2, 0)),
    "BatchNorm2d_0": lambda t: t.nn.BatchNorm2d(0)(t.ones(2, 0, 2, 2)),
    "batch_norm_bias_only": lambda t: t.nn.functional.batch_norm(t.ones(2, 0), t.zeros(0), t.ones(0), bias=t.zeros(0)),
    # without weight and bias PyTorch runs it
    "BatchNorm1d_0_plain": lambda t: t.nn.BatchNorm1d(0, affine=False, track_running_stats=False)(t.ones(2, 0)),
    "batch_norm_eval_plain": lambda t: t.nn.functional.batch_norm(t.ones(2, 0), t.zeros(0), t.ones(0)),
}


@pytest.mark.parametrize("name", sorted(BN_CASES))
def test_batch_norm_zero_channels(name):
    _same(BN_CASES[name])


@pytest.mark.parametrize("affine", ["none", "weight", "both"])
def test_batch_norm_empty_batch(affine):
    """An empty input is cloned (and scaled by the weight's and shifted by the bias's first
    element): PyTorch's graph, and the running stats stay as they were."""

    def program(t):
        x = t.ones(0, 2, 3, requires_grad=True)
        w = t.full((2,), 2.0, requires_grad=True) if affine != "none" else None
        b = t.zeros(2, requires_grad=True) if affine == "both" else None
        rm, rv = t.zeros(2), t.ones(2)
        out = t.nn.functional.batch_norm(x, rm, rv, w, b, training=True)
        out.sum().backward()
        return out, rm, rv, None if w is None else w.grad

    mine, ref = program(gl), program(torch)
    assert type(mine[0].grad_fn).__name__ == type(ref[0].grad_fn).__name__
    assert tuple(mine[0].shape) == tuple(ref[0].shape)
    for a, b in zip(mine[1:], ref[1:]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())

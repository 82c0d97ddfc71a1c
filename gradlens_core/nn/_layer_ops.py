"""Kernels of ``F.dropout`` and ``F.layer_norm``, with PyTorch's graphs.

Dropout on the CPU is ATen's composite ``_dropout``: the input itself when nothing is dropped
(``p == 0``, eval mode, no elements), else ``input * noise`` (MulBackward0, saving the noise:
Bernoulli(1 - p) draws divided by 1 - p). layer_norm is ``native_layer_norm``
(NativeLayerNormBackward0, saving the input, weight, bias and the rows' mean and rstd).

>>> import gradlens_core as torch
>>> import gradlens_core.nn.functional as F
>>> x = torch.tensor([[1., 2., 4.]], requires_grad=True)
>>> F.layer_norm(x, (3,)).grad_fn
<NativeLayerNormBackward0 ...>
>>> F.dropout(x, 0.0) is x
True
"""

from __future__ import annotations

import math

import numpy as np

from .. import _events, _ops, _random, _reduce
from .._autograd import backward_formula, grad_counter, node_class
from .._layout import empty_preserving
from .._tensor import Tensor, _make_node, finish_inplace, needs_grad, record
from . import _loss_ops

__all__ = ["dropout", "native_layer_norm", "embedding"]


def dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    """ATen's ``_dropout``: ``noise = empty_like(input).bernoulli_(1 - p).div_(1 - p)``, drawn
    from the default generator as PyTorch draws it, so the same elements drop."""
    if p == 0 or not train or input._data.size == 0:
        return input
    data = input._data
    if p == 1:
        zeros = Tensor._wrap(np.zeros((), dtype=data.dtype))
        zeros._version_counter[0] = 1  # at::zeros: empty, then zero_
        return input.mul_(zeros) if inplace else _ops.mul(input, zeros)
    if data.dtype.kind != "f":
        raise RuntimeError(f"result type Float can't be cast to the desired output type {input.dtype._legacy}")
    noise = empty_preserving(data)
    keep = _random.bernoulli(_random.default_generator, noise, 1 - p)  # noise.bernoulli_(1 - p)
    # noise.div_(1 - p): the number in float (opmath) for half, in the tensor's dtype otherwise
    scale = (
        np.float32(1) / np.float32(1 - p) if data.dtype.itemsize < 4 else data.dtype.type(1) / data.dtype.type(1 - p)
    )
    noise[...] = np.where(keep, scale, 0)
    noise_t = Tensor._wrap(noise)
    noise_t._version_counter[0] = 2  # bernoulli_, div_
    return input.mul_(noise_t) if inplace else _ops.mul(input, noise_t)


def native_layer_norm(input: Tensor, normalized_shape, weight, bias, eps: float) -> Tensor:
    """``(x - mean) * rstd * weight + bias`` over the last ``len(normalized_shape)`` dims."""
    shape = tuple(int(s) for s in normalized_shape)
    data = input._data
    k = len(shape)
    for name, t in (("weight", weight), ("bias", bias)):  # _check_layer_norm_inputs' order
        if t is not None and tuple(t._data.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t._data.shape)} and normalized_shape = {list(shape)}"
            )
    if k == 0 or data.ndim < k or data.shape[data.ndim - k :] != shape:
        expected = "[*" + "".join(f", {s}" for s in shape) + "]"
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape {expected}, but got input of size"
            f"{list(data.shape)}"
        )
    if data.dtype.kind != "f":
        raise _ops.no_kernel("LayerNormKernelImpl", input.dtype)
    axes = tuple(range(data.ndim - k, data.ndim))
    if data.dtype in (np.float32, np.float64):
        mean, rstd, out = _reduce.layer_norm_data(data, k, weight, bias, eps)
    else:
        acc = data.astype(np.float64)  # half: the kernel accumulates wider
        mean = acc.mean(axis=axes, keepdims=True)
        var = ((acc - mean) ** 2).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        out = (acc - mean) * rstd
        if weight is not None:
            out = out * weight._data
        if bias is not None:
            out = out + bias._data
    stat_shape = data.shape[: data.ndim - k] + (1,) * k
    mean_t = Tensor._wrap(mean.astype(data.dtype).reshape(stat_shape))
    rstd_t = Tensor._wrap(rstd.astype(data.dtype).reshape(stat_shape))
    result = Tensor._wrap(np.ascontiguousarray(out.astype(data.dtype)))
    saved = (input, weight, bias, mean_t, rstd_t)
    return record(
        result, node_class("NativeLayerNormBackward0"), (input, weight, bias), saved, ctx=axes, op="layer_norm"
    )


@backward_formula("NativeLayerNormBackward0")
def _layer_norm_bw(node, g, ns):
    """derivatives.yaml: native_layer_norm_backward(grad, input, normalized_shape, result1,
    result2, weight, bias, grad_input_mask); under create_graph that is one op, recorded as
    one node with three outputs (NativeLayerNormBackwardBackward0)."""
    x, w, b, mean, rstd = node.unpack(ns)
    mask = (node.needs(0), node.needs(1), node.needs(2))
    if ns.records_graph:
        return _native_layer_norm_backward(g, x, mean, rstd, w, b, node._ctx, mask)
    return _layer_norm_grads(g, x, w, mean, rstd, node._ctx, mask)


def _layer_norm_grads(g, x, w, mean, rstd, axes, mask):
    """The kernel of native_layer_norm_backward on arrays: with ``x_hat = (x - mean) * rstd``
    and ``dy = grad * weight``, ``dx = rstd * (dy - mean(dy) - x_hat * mean(dy * x_hat))``,
    ``dweight = sum(grad * x_hat)``, ``dbias = sum(grad)`` over the leading dims; each only
    where ``mask`` asks for it."""
    if x.dtype in (np.float32, np.float64) and g.dtype == x.dtype and (w is None or w.dtype == x.dtype) and x.size:
        # the kernel's own order of additions and fused multiply-adds (_reduce)
        rows = (x.shape[: x.ndim - len(axes)], math.prod(x.shape[a] for a in axes))
        grads = _reduce.layer_norm_backward_data(
            np.ascontiguousarray(g).reshape(-1, rows[1]),
            np.ascontiguousarray(x).reshape(-1, rows[1]),
            mean.reshape(-1).astype(x.dtype),
            rstd.reshape(-1).astype(x.dtype),
            None if w is None else w.reshape(-1),
            mask,
        )
        dx, dw, db = grads
        return (
            None if dx is None else dx.reshape(x.shape),
            None if dw is None else dw.reshape(x.shape[x.ndim - len(axes) :]),
            None if db is None else db.reshape(x.shape[x.ndim - len(axes) :]),
        )
    wide = np.float64 if x.dtype.itemsize < 8 else x.dtype
    gw, xw = g.astype(wide), x.astype(wide)
    x_hat = (xw - mean) * rstd
    lead = tuple(range(x.ndim - len(axes)))
    dx = dw = db = None
    if mask[0]:
        dy = gw * w if w is not None else gw
        n = math.prod(x.shape[a] for a in axes)
        mean_dy = dy.sum(axis=axes, keepdims=True) / n
        mean_dy_xhat = (dy * x_hat).sum(axis=axes, keepdims=True) / n
        dx = (rstd * (dy - mean_dy - x_hat * mean_dy_xhat)).astype(x.dtype)
    if mask[1]:
        dw = (gw * x_hat).sum(axis=lead).astype(x.dtype)
    if mask[2]:
        db = gw.sum(axis=lead).astype(x.dtype)
    return dx, dw, db


def _native_layer_norm_backward(g, x, mean, rstd, w, b, axes, mask):
    """ATen's native_layer_norm_backward as one differentiable op: its three results (None
    where ``mask`` does not ask) share one node, NativeLayerNormBackwardBackward0, whose
    edges are (grad_out, input, mean, rstd, weight, bias) and which saves grad_out, input,
    mean, rstd and weight (mean and rstd never require grad: native_layer_norm's second
    and third results are not differentiable)."""
    arrays = _layer_norm_grads(g._data, x._data, None if w is None else w._data, mean._data, rstd._data, axes, mask)
    arrays = [None if a is None else np.ascontiguousarray(a) for a in arrays]
    inputs = (g, x, mean, rstd, w, b)
    return multi_output_op(
        "NativeLayerNormBackwardBackward0", arrays, inputs, (g, x, mean, rstd, w), axes, "native_layer_norm_backward"
    )


def multi_output_op(name, arrays, inputs, saved, ctx, op):
    """Tensors over ``arrays`` (None stays None), the outputs of one new node ``name`` (made
    only if an input needs grad), each reported as created."""
    outs = [None if a is None else Tensor._wrap(a) for a in arrays]
    if needs_grad(*inputs):
        node = _make_node(node_class(name), inputs, saved, ctx)
        for i, out in enumerate(outs):
            if out is not None:
                out._grad_fn, out._output_nr = node, i
    if _events.active:
        for out in outs:
            if out is not None:
                _events.emit("created", tensor=out, grad_fn=out._grad_fn, inputs=inputs, op=op)
    return tuple(outs)


def _layer_norm_double_bw(node, grads, ns):
    """derivatives.yaml (native_layer_norm_backward): input, weight, grad_out get
    layer_norm_double_backward(input, weight, grads[0], grads[1], grads[2], grad_out, mean,
    rstd, normalized_shape, grad_input_mask); bias gets none, nor do mean and rstd."""
    g_out, x, mean, rstd, w = node.unpack(ns)
    ggi, ggg, ggb = grads
    gi, gg, ggo = _layer_norm_double_backward(x, w, ggi, ggg, ggb, g_out, mean, rstd, len(node._ctx), ns)
    return ggo, gi, None, None, gg, None


_NativeLayerNormBackwardBackward0 = node_class("NativeLayerNormBackwardBackward0", _layer_norm_double_bw, n_outputs=3)


def _layer_norm_double_backward(input_t, gamma, ggI, ggG, ggB, gO_t, save_mean_t, save_invstd_t, k, ns):  # noqa: N803
    """FunctionsManual's layer_norm_double_backward, op for op (and in the same order, with
    its in-place ops: the graph it records and the grads' versions are PyTorch's). The
    input is seen as M rows of N normalized values. Returns (gI, gG, ggO)."""
    input_shape = tuple(input_t.shape)
    M = math.prod(input_shape[: len(input_shape) - k])  # noqa: N806 (FunctionsManual's names)
    N = math.prod(input_shape[len(input_shape) - k :])  # noqa: N806
    input = ns.reshape(input_t, (M, N))
    gO = ns.reshape(gO_t, (M, N))  # noqa: N806
    save_mean = ns.reshape(save_mean_t, (M, 1))
    save_invstd = ns.reshape(save_invstd_t, (M, 1))
    affine = gamma is not None
    ggG_expanded = ggB_expanded = None  # noqa: N806
    if affine:
        gamma_expanded = ns.reshape(gamma, (1, N))
        if ggG is not None:
            ggG_expanded = ns.reshape(ggG, (1, N))  # noqa: N806
        if ggB is not None:
            ggB_expanded = ns.reshape(ggB, (1, N))  # noqa: N806
    else:
        gamma_expanded = _ones((1,), input, ns)
    ggI_expanded = ns.reshape(ggI, (M, N)) if ggI is not None else None  # noqa: N806

    mu = save_mean  # .to(input.scalar_type()): the same dtype here
    input_sub_mu = input - mu
    sigma2_eps_neg_1_2 = save_invstd
    sigma2_eps_neg_1 = sigma2_eps_neg_1_2**2
    sigma2_eps_neg_3_2 = sigma2_eps_neg_1_2**3

    gI = None  # noqa: N806
    input_mu_sigma2_neg_3_2 = input_sub_mu * sigma2_eps_neg_3_2
    if ggI is not None:
        gxhat = gO * gamma_expanded
        gxhat_mu_sum = ns.sum(gxhat * input_sub_mu, 1, True)
        gxhat_sum = ns.sum(gxhat, 1, True)
        ggI_sum = ns.sum(ggI_expanded, 1, True)  # noqa: N806
        ggI_mu_sum = ns.sum(ggI_expanded * input_sub_mu, 1, True)  # noqa: N806
        all_sub = _in_place(ns, ggI_sum * gxhat_sum, "div", N)
        all_sub = _in_place(ns, all_sub, "sub", ns.sum(ggI_expanded * gxhat, 1, True))
        third = _in_place(ns, sigma2_eps_neg_1 * gxhat_mu_sum * ggI_mu_sum, "mul", 3.0 / N)
        all_sub = _in_place(ns, all_sub, "add", third)
        gI_0t = _in_place(ns, input_mu_sigma2_neg_3_2 * all_sub, "div", N)  # noqa: N806
        # C++ (GCC) evaluates an operator's right operand first: the right factors are made
        # (and numbered, which orders the next backward pass) before the left ones
        right = _div(gxhat_sum, N, ns) - gxhat
        gI_1t = _in_place(ns, ggI_mu_sum * sigma2_eps_neg_3_2, "div", N) * right  # noqa: N806
        right = _div(ggI_sum, N, ns) - ggI_expanded
        gI_2t = _in_place(ns, gxhat_mu_sum * sigma2_eps_neg_3_2, "div", N) * right  # noqa: N806
        gI = _in_place(ns, _in_place(ns, gI_0t, "add", gI_1t), "add", gI_2t)  # noqa: N806

    if affine and ggG is not None:  # the gamma term's contribution to gI
        t0 = gO * ggG_expanded * sigma2_eps_neg_1_2
        t1 = _in_place(ns, sigma2_eps_neg_1_2 * ns.sum(gO * ggG_expanded, 1, True), "div", -N)
        t2 = _in_place(ns, input_mu_sigma2_neg_3_2 * ns.sum(gO * ggG_expanded * input_sub_mu, 1, True), "div", -N)
        gI_G_term = _in_place(ns, _in_place(ns, t0, "add", t1), "add", t2)  # noqa: N806
        gI = gI_G_term if gI is None else _in_place(ns, gI, "add", gI_G_term)  # noqa: N806
    if gI is not None:
        gI = ns.reshape(gI, input_shape)  # noqa: N806

    def first_bwd_fn_grad_input(gO_local, gamma_local):  # noqa: N803
        """The first backward's grad_input."""
        h0 = _in_place(ns, gamma_local * sigma2_eps_neg_1_2, "div", N)
        h1 = _in_place(ns, _mul(N, gO_local, ns), "sub", ns.sum(gO_local, 1, True))
        right = ns.sum(gO_local * input_sub_mu, 1, True)  # the right operand first, as above
        h1 = _in_place(ns, h1, "sub", (input_sub_mu * sigma2_eps_neg_1) * right)
        return h0 * h1

    gG = None  # noqa: N806
    if affine and ggI is not None:
        gG = first_bwd_fn_grad_input(ggI_expanded, _ones((), sigma2_eps_neg_1_2, ns))  # noqa: N806
        gG = ns.reshape(ns.sum(gO * gG, 0), tuple(gamma.shape))  # noqa: N806

    ggO = None  # noqa: N806
    if ggI is not None:
        ggO = first_bwd_fn_grad_input(ggI_expanded, gamma_expanded)  # noqa: N806
    if ggG is not None:
        ggO_G_term = ggG_expanded * input_sub_mu * sigma2_eps_neg_1_2  # noqa: N806
        ggO = ggO_G_term if ggO is None else _in_place(ns, ggO, "add", ggO_G_term)  # noqa: N806
    if ggB is not None:
        ggO = ggB_expanded if ggO is None else _in_place(ns, ggO, "add", ggB_expanded)  # noqa: N806
    if ggO is not None:
        ggO = ns.reshape(ns.expand(ggO, (M, N)), input_shape)  # noqa: N806
    return gI, gG, ggO


_NP_IN_PLACE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _in_place(ns, a, op: str, b):
    """FunctionsManual's ``a.op_(b)`` on the fresh ``a``: recorded (AddBackward0, DivBackward1
    for a C++ number ...) under create_graph; on arrays, written into ``a`` and counted in
    its version, which the grad handed to the user shows."""
    if ns.records_graph:
        if isinstance(b, Tensor):
            return getattr(a, op + "_")(b)
        return _loss_ops.scalar_op_(a, b, op)
    a = np.asarray(a)
    _NP_IN_PLACE[op](a, b, out=a)
    grad_counter(a)[0] += 1
    return a


def _div(a, k, ns):
    """C++ ``a.div(k)`` of a number: div.Scalar (DivBackward1)."""
    return _loss_ops.div_scalar(a, k) if ns.records_graph else a / k


def _mul(k, a, ns):
    """C++ ``k * a`` of a number: mul.Scalar (MulBackward1)."""
    return _loss_ops.mul_scalar(a, k) if ns.records_graph else k * a


def _ones(shape, like, ns):
    """``at::ones(shape, like.options())``: a constant."""
    data = np.ones(shape, dtype=like.dtype if not ns.records_graph else like._data.dtype)
    return Tensor._wrap(data) if ns.records_graph else data


# ----------------------------------------------------------------------------- embedding


def embedding(weight: Tensor, indices: Tensor, padding_idx: int, scale_grad_by_freq: bool, sparse: bool) -> Tensor:
    """ATen's embedding: the rows of ``weight`` at ``indices``, shaped ``indices.shape + (dim,)``
    (EmbeddingBackward0: saves indices, padding_idx, scale_grad_by_freq, sparse and the number
    of rows). ``sparse=True`` gives a dense grad here (gradlens_core has no sparse tensors)."""
    idx = indices._data
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but "
            f"got torch.{indices.dtype._legacy}Tensor instead (while checking arguments for embedding)"
        )
    w = weight._data
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if idx.size and (idx.min() < 0 or idx.max() >= w.shape[0]):
        raise IndexError("index out of range in self")
    res = np.ascontiguousarray(w[idx.reshape(-1)].reshape(idx.shape + (w.shape[1],)))
    node = node_class("EmbeddingBackward0")
    ctx = (padding_idx, scale_grad_by_freq, sparse, w.shape[0])
    return record(Tensor._wrap(res), node, (weight,), (indices,), ctx=ctx, op="embedding")


def _embedding_grad(g: np.ndarray, idx: np.ndarray, num_weights: int, padding_idx: int, by_freq: bool) -> np.ndarray:
    """embedding_dense_backward_cpu: each index's grad row added into its weight row, in order;
    none into padding_idx; divided by the index's count with ``scale_grad_by_freq``."""
    flat = idx.reshape(-1)
    rows = g.reshape(flat.size, -1)
    out = np.zeros((num_weights, rows.shape[1]), g.dtype)
    keep = flat != padding_idx
    if by_freq:
        counts = np.bincount(flat, minlength=num_weights)
        rows = rows / counts[flat][:, None].astype(g.dtype)
    np.add.at(out, flat[keep], rows[keep])
    return out


@backward_formula("EmbeddingBackward0")
def _embedding_bw(node, g, ns):
    """derivatives.yaml: weight: embedding_backward(grad, indices, num_weights, padding_idx, ...),
    one node (EmbeddingDenseBackwardBackward0, saving indices and padding_idx) under create_graph."""
    (indices,) = node.unpack(ns)
    padding_idx, by_freq, _, num_weights = node._ctx
    if ns.records_graph:
        values = _embedding_grad(g._data, indices._data, num_weights, padding_idx, by_freq)
        return (
            record(
                Tensor._wrap(values),
                _EmbeddingDenseBackwardBackward0,
                (g,),
                (indices,),
                ctx=node._ctx,
                op="embedding_backward",
            ),
        )
    return (_embedding_grad(g, indices, num_weights, padding_idx, by_freq),)


def _embedding_dense_bw(node, gg, ns):
    """derivatives.yaml: grad_output: embedding_dense_double_backward(grad, indices, padding_idx):
    the grad's rows at indices, zero where the index is padding_idx."""
    (indices,) = node.unpack(ns)
    padding_idx = node._ctx[0]
    if ns.records_graph:
        rows = embedding(gg, indices, -1, False, False)
        return (_ops.masked_fill(rows, (indices == padding_idx).unsqueeze(-1), 0),)
    idx = indices
    rows = gg[idx.reshape(-1)].reshape(idx.shape + (gg.shape[1],))
    return (np.where((idx == padding_idx)[..., None], np.zeros((), gg.dtype), rows),)


_EmbeddingDenseBackwardBackward0 = node_class("EmbeddingDenseBackwardBackward0", _embedding_dense_bw)


def embedding_renorm_(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """``torch.embedding_renorm_`` (under no_grad): each row used by ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` is scaled by ``max_norm / (norm + 1e-7)``."""
    w = weight._data
    rows = np.unique(indices._data.reshape(-1))
    if rows.size and (rows.min() < 0 or rows.max() >= w.shape[0]):
        raise IndexError("index out of range in self")
    acc = w[rows].astype(np.float64)
    norms = np.linalg.norm(acc, ord=norm_type, axis=1) if acc.size else np.zeros(0)
    big = norms > max_norm
    scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
    w[rows[big]] = w[rows[big]] * scale[:, None]
    return finish_inplace(weight, "embedding_renorm_", None, (weight, indices))


# ----------------------------------------------------------------------------- one_hot, padding


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """ATen's one_hot: an int64 tensor of ``tensor``'s shape plus a last dim of ``num_classes``
    (the largest class + 1 by default), 1 at each class. Not differentiable."""
    data = tensor._data
    if data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if not data.size:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return _ops._nondiff(np.zeros(data.shape + (num_classes,), np.int64), (tensor,), "one_hot")
    if data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(data.max()) + 1
    elif data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = _ops._nondiff((data[..., None] == np.arange(num_classes)).astype(np.int64), (tensor,), "one_hot")
    out._version_counter[0] = 2  # ATen's: zeros (empty, zero_), then scatter_
    return out


def _check_pad(pad, ndim: int) -> tuple:
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {ndim}"
        )
    return pad


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """``pad`` = (before, after) pairs from the last dim backwards, filled with ``value``;
    negative pads crop (ConstantPadNdBackward0: saves pad; the grad is the input's region)."""
    data = input._data
    pad = _check_pad(pad, data.ndim)
    shape, src, dst = list(data.shape), [slice(None)] * data.ndim, [slice(None)] * data.ndim
    for k in range(len(pad) // 2):
        d = data.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        size = shape[d]
        kept = size - max(-before, 0) - max(-after, 0)
        if kept < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        shape[d] = size + before + after
        src[d] = slice(max(-before, 0), max(-before, 0) + kept)
        dst[d] = slice(max(before, 0), max(before, 0) + kept)
    out = np.full(shape, np.asarray(value).astype(data.dtype), dtype=data.dtype)
    out[tuple(dst)] = data[tuple(src)]
    return record(Tensor._wrap(out), _ConstantPadNdBackward0, (input,), (pad,), op="constant_pad_nd")


def _constant_pad_bw(node, g, ns):
    # derivatives.yaml: constant_pad_nd_backward(grad, pad): constant_pad_nd(grad, -pad)
    (pad,) = node.unpack(ns)
    back = tuple(-p for p in pad)
    if ns.records_graph:
        return (constant_pad_nd(g, back),)
    return (constant_pad_nd(Tensor._wrap(g), back)._data,)


_ConstantPadNdBackward0 = node_class("ConstantPadNdBackward0", _constant_pad_bw)


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """The input position each output position of a padded dim reads (reflect or replicate)."""
    pos = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    period = 2 * (n - 1) if n > 1 else 1
    pos = np.abs(pos) % period
    return np.where(pos >= n, period - pos, pos)


def _pad_key(shape, pad, mode):
    key = [np.arange(n) for n in shape]
    for k in range(len(pad) // 2):
        d = len(shape) - 1 - k
        key[d] = _pad_index(shape[d], pad[2 * k], pad[2 * k + 1], mode)
    return np.ix_(*key)


def _pad_name(mode: str, pad) -> str:
    return f"{'Reflection' if mode == 'reflect' else 'Replication'}Pad{len(pad) // 2}D"


def _check_non_constant_pad(pad, ndim: int) -> tuple:
    """``pad`` for the reflect, replicate and circular modes: 1 to 3 padded dims of an input
    with one or two more (_pad_enum's dispatch)."""
    pad = _check_pad(pad, ndim)
    k = len(pad) // 2
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    return pad


def circular_pad(input: Tensor, pad) -> Tensor:
    """ATen's _pad_circular: the input copied into a new tensor's middle, then each padded dim's
    ends copied from its other side (a chain of CopySlices, as PyTorch records it).

    >>> import gradlens_core as torch
    >>> circular_pad(torch.tensor([[1.0, 2.0, 3.0]]), (1, 2))
    tensor([[3., 1., 2., 3., 1., 2.]])
    """
    shape = input._data.shape
    pad = _check_non_constant_pad(pad, len(shape))
    k = len(pad) // 2
    lead = len(shape) - k
    out_shape = list(shape)
    for i in range(k):
        left, right = pad[2 * (k - i - 1)], pad[2 * (k - i - 1) + 1]
        size = shape[lead + i]
        out_shape[lead + i] = size + left + right
        if left > size or right > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if out_shape[lead + i] < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")

    def sliced(t, dim, start, end):  # ATen's slice: SliceBackward0 even when it takes all
        return t.narrow(dim, start, end - start)

    out = input.new_empty(out_shape)
    out_slice, in_slice = out, input
    for i in range(k):
        dim = len(shape) - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        out_slice = sliced(out_slice, dim, max(left, 0), out_shape[dim] - max(right, 0))
        in_slice = sliced(in_slice, dim, max(-left, 0), shape[dim] - max(-right, 0))
    out_slice.copy_(in_slice)
    for i in range(k):  # the left ends, then the right ones (corners are written more than once)
        dim = len(shape) - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left > 0:
            end = out_shape[dim] - max(right, 0)
            sliced(out, dim, 0, left).copy_(sliced(out, dim, end - left, end))
        if right > 0:
            start = max(left, 0)
            sliced(out, dim, out_shape[dim] - right, out_shape[dim]).copy_(sliced(out, dim, start, start + right))
    return out


def reflect_or_replicate_pad(input: Tensor, pad, mode: str) -> Tensor:
    """``mode`` "reflect" (mirrored at the edges, the edge itself not repeated) or "replicate"
    (the edge repeated) over the last ``len(pad) // 2`` dims (ReflectionPad{1,2,3}DBackward0 or
    ReplicationPad{1,2,3}DBackward0: save self and padding; the grad adds back where it was read)."""
    data = input._data
    pad = _check_non_constant_pad(pad, data.ndim)
    k = len(pad) // 2
    for j in range(k):
        d = data.ndim - 1 - j
        if mode == "reflect" and (pad[2 * j] >= data.shape[d] or pad[2 * j + 1] >= data.shape[d]):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({pad[2 * j]}, {pad[2 * j + 1]}) at dimension {d} of input {list(data.shape)}"
            )
    out = np.ascontiguousarray(data[_pad_key(data.shape, pad, mode)])
    node = node_class(f"{_pad_name(mode, pad)}Backward0", _pad_bw)
    return record(Tensor._wrap(out), node, (input,), (input, pad), ctx=mode, op=f"{mode}_pad")


def _pad_bw(node, g, ns):
    # reflection_padNd_backward / replication_padNd_backward: the grad added back where the
    # forward read (one node, ...BackwardBackward0, under create_graph)
    x, pad = node.unpack(ns)
    mode = node._ctx
    shape = x._data.shape if ns.records_graph else x.shape
    gd = g._data if ns.records_graph else g
    res = np.zeros(shape, gd.dtype)
    np.add.at(res, _pad_key(shape, pad, mode), gd)
    if not ns.records_graph:
        return (res,)
    name = f"{_pad_name(mode, pad)}BackwardBackward0"
    return (record(Tensor._wrap(res), node_class(name, _pad_bb), (g, x), (pad,), ctx=mode, op=name),)


def _pad_bb(node, gg, ns):
    # derivatives.yaml: grad_output: the pad of the grad; self: zeros_like(self)
    (pad,) = node.unpack(ns)
    # (zeros_like: empty_like, then zero_, version 1)
    self_grad = ns.made_in_place(ns.zeros(node._input_meta[1][0], gg), 1) if node.needs(1) else None
    if not ns.records_graph:
        return np.ascontiguousarray(gg[_pad_key(gg.shape, pad, node._ctx)]), self_grad
    return reflect_or_replicate_pad(gg, pad, node._ctx), self_grad

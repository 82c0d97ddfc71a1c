"""What a backward node saved, under PyTorch's names: ``node._saved_self``, ``_saved_dim``, ...

PyTorch's generated node classes show each value their formula saved as an attribute
``_saved_<name>``, and each saved tensor also as ``_raw_saved_<name>`` (its SavedTensor).
Here one table (``SAVED``) says, per node class, where each of those values lives in what
the node keeps anyway: its saved tensors (``node._held``), its ``_ctx`` and its inputs'
shapes (``node._input_meta``). ``Node.__init_subclass__`` turns a class's entry into
properties once, when the class is made: recording an op costs nothing more, and a value
is only looked up when someone reads it.

>>> import gradlens_core as torch
>>> a = torch.tensor([1., 2.], requires_grad=True)
>>> y = a.pow(3)
>>> y.grad_fn._saved_self is a, y.grad_fn._saved_exponent
(True, 3)
>>> a.sum(0).grad_fn._saved_self_sym_sizes
(2,)
"""

from __future__ import annotations

import numpy as np

from . import _autograd, _ns  # (_autograd is still being made when its classes install)

__all__ = ["SAVED", "install"]

_UINT64 = 1 << 64


def _unsigned(v):
    """An int as PyTorch's getters hand out an int64 (or a list of them): as unsigned, so dim
    -1 reads 18446744073709551615."""
    if isinstance(v, (tuple, list)):
        return tuple(_unsigned(x) for x in v)
    return v % _UINT64 if isinstance(v, int) and not isinstance(v, bool) else v


class Saved:
    """A tensor the node saved: ``node._held[index]`` (-1: the output, saved last)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def entry(self, node):
        saved = node._held
        i = self.index
        return saved[i] if -len(saved) <= i < len(saved) else _autograd.NOT_SAVED

    def value(self, node):
        """The tensor, as PyTorch unpacks it: the input itself (``is`` the tensor saved), an
        output as a new tensor of this node; None if not saved. Raises as backward would:
        after the graph was freed, or when the tensor was modified in place since."""
        __tracebackhide__ = True
        s = self.entry(node)
        if s is _autograd.NOT_SAVED:
            return None
        if s.hooked:
            return s.unpack(node, _ns.TENSOR)
        t = s.tensor
        if t is None and not s.released:
            return s.wrapped_number()
        if t is not None and t._grad_fn is None and not (s.was_leaf or s.is_output) and s.counter[0] == s.version:
            return t  # detached in place since: PyTorch's getter hands it out (backward refuses it)
        return s.unpack(node, _ns.TENSOR)

    def raw(self, node):
        s = self.entry(node)
        return _autograd.SavedTensor() if s is _autograd.NOT_SAVED else s


class Indices(Saved):
    """The indices an advanced-indexing node saved (``node._held[index]``: the numpy key it
    indexes with; its ``_ctx`` may keep the index arrays as given, by dim): a tuple with a
    tensor per index, None for a dim not indexed before the last one indexed. Freed by backward.
    An index given as a tensor is that tensor, as PyTorch's; a list or an array is a new one."""

    __slots__ = ()

    def value(self, node):
        __tracebackhide__ = True
        if self.entry(node).released:
            raise RuntimeError(_autograd.ERR_BACKWARD_TWICE)
        return index_tensors(node, self.index)

    def raw(self, node):
        return tuple(_autograd.SavedTensor() for _ in self.value(node))


def index_tensors(node, i: int = 0) -> tuple:
    """The index tensors of an advanced-indexing node (made once: the same objects afterwards,
    for its ``_saved_indices`` and for its backward's node, as PyTorch's)."""
    given = next((c for c in node._ctx if isinstance(c, dict)), None) if isinstance(node._ctx, tuple) else None
    return node._held[i].tensor_of(lambda key: _given_tensors(given) if given is not None else _key_tensors(key))


def _given_tensors(indices: dict) -> tuple:
    """The index arrays by the dim they start at (a bool mask covers one dim per its dims) as
    PyTorch's list of optional index tensors."""
    from ._tensor import Tensor

    passed = getattr(indices, "passed", {})  # the index tensors given, saved themselves
    out, d = [], 0
    for dim in sorted(indices):
        a = indices[dim]
        t = passed.get(dim)
        out += [None] * (dim - d) + [t if t is not None and t._data is a else Tensor._wrap(a)]
        d = dim + (a.ndim if a.dtype == np.bool_ else 1)
    return tuple(out)


def _key_tensors(key) -> tuple:
    """The index tensors of a numpy key (a tensor, or None, stays as it is)."""
    from ._tensor import Tensor

    return tuple(
        k if k is None or isinstance(k, Tensor) else None if isinstance(k, slice) else Tensor._wrap(np.asarray(k))
        for k in key
    )


RESULT = Saved(-1)
SELF = Saved(0)


def ctx(i=None, unsigned=False):
    """The node's ``_ctx`` (or its item ``i``)."""

    def get(node):
        v = node._ctx if i is None else node._ctx[i]
        return _unsigned(v) if unsigned else v

    return get


def sizes(i: int = 0):
    """Input ``i``'s sizes (``self.sym_sizes()``)."""
    return lambda node: tuple(node._input_meta[i][0])


def const(v):
    return lambda node: v


def dims(get):
    """An optional list of dims as PyTorch's getter gives it: a tuple (an int as a 1-tuple)."""

    def read(node):
        v = get(node)
        return v if v is None else _unsigned((v,) if isinstance(v, int) else tuple(v))

    return read


def captured(fn_name: str, var: str, unsigned=True):
    """A variable the view's step captured: its ``forward`` or ``backward`` closure keeps the
    op's arguments as given (PyTorch's formulas take them so), to be read only here."""

    def get(node):
        fn = getattr(node._ctx, fn_name)
        value = fn.__closure__[fn.__code__.co_freevars.index(var)].cell_contents
        return _unsigned(value) if unsigned else value

    return get


def _key_item(node):
    """(dim, the int or slice) a select or slice view applied: the item of its step's key
    (``_ctx`` itself for select_backward's and slice_backward's nodes) that is not a full
    slice, whose position is the dim: ``(:, :, item, ...)``, or for a dim given negative
    ``(..., item, :)``."""
    key = node._ctx if isinstance(node._ctx, tuple) else captured("backward", "key", False)(node)
    if key[0] is Ellipsis:
        return _unsigned(1 - len(key)), key[1]
    return len(key) - 2, key[-2]


def _select_slice(name: str, *more) -> None:
    """The saved values of select's or slice's node (``more``: "self_sym_sizes" for the view's own)."""
    attrs = {"dim": lambda n: _key_item(n)[0]}
    if name.startswith("Select"):
        attrs["index"] = lambda n: _unsigned(_key_item(n)[1])
    else:
        attrs["start"] = lambda n: _unsigned(_key_item(n)[1].start or 0)
        attrs["end"] = lambda n: _unsigned(_key_item(n)[1].stop)
        attrs["step"] = lambda n: _key_item(n)[1].step or 1
    if more:
        attrs["self_sym_sizes"] = sizes()
    _register(name, **attrs)


def number(i: int):
    """A Python number saved among the node's values (a Scalar: kept after backward)."""
    return lambda node: Saved(i).entry(node).data


SAVED: dict = {}


def _register(names, **attrs) -> None:
    for name in names.split():
        SAVED[name] = attrs


# elementwise: the input or the result
_register("AbsBackward0 CosBackward0 SinBackward0 ErfBackward0 Log1PBackward0 LogBackward0", self=SELF)
_register("Log2Backward0 Log10Backward0 AtanBackward0", self=SELF)
_register(
    "ExpBackward0 Expm1Backward0 SqrtBackward0 TanhBackward0 SigmoidBackward0 ReluBackward0 ReciprocalBackward0"
    " RsqrtBackward0",
    result=RESULT,
)
_register("AddBackward0 SubBackward0 RsubBackward1", alpha=ctx())
# (_more_functions)
_register("SinhBackward0 CoshBackward0 AsinBackward0 AcosBackward0 NanToNumBackward0", self=SELF)
_register("TanBackward0 Exp2Backward0", result=RESULT)
_register("LogitBackward0", self=Saved(0), eps=number(1))
_register("NormalBackward1", mean_sym_sizes=sizes())
_register("NormalBackward2", std_sym_sizes=sizes())
_register("NormalBackward3", mean_sym_sizes=sizes(), std_sym_sizes=sizes(1))
_register("Rot90Backward0", k=ctx(0, unsigned=True), dims=ctx(1, unsigned=True))
_register("StdMeanBackward0", self=SELF, result0=RESULT, dim=dims(ctx(4)), keepdim=ctx(1), correction=ctx(5))
_register("VarMeanBackward0", self=SELF, dim=dims(ctx(4)), keepdim=ctx(1), correction=ctx(5))
_register("AminmaxBackward0", self=SELF, min=Saved(1), max=Saved(2), dim=ctx(2), keepdim=ctx(1))
_register("CummaxBackward0 CumminBackward0", self=SELF, indices=Saved(1), dim=ctx(unsigned=True))
_register("BaddbmmBackward0", batch1=Saved(0), batch2=Saved(1), alpha=number(2), beta=number(3))
_register("AddmvBackward0", mat=Saved(0), vec=Saved(1), alpha=number(2), beta=number(3))
_register("MulBackward0 DivBackward0", other=Saved(0), self=Saved(1))
_register("DivBackward2", other=Saved(0), self=Saved(1), rounding_mode=ctx())
_register("MulBackward1 DivBackward1", other=ctx())
_register("PowBackward0", self=Saved(0), exponent=number(1))
_register("PowBackward1", self=Saved(0), exponent=Saved(1), result=RESULT)
_register("PowBackward2", self=number(0), exponent=Saved(1), result=RESULT)
_register("Atan2Backward0 MaximumBackward0 MinimumBackward0", self=Saved(0), other=Saved(1))
_register("HypotBackward0", self=Saved(0), other=Saved(1), result=RESULT)
_register("RemainderBackward1 FmodBackward1", self=Saved(0), other=Saved(1))
_register("LerpBackward0", weight=number(0))
_register("LerpBackward1", self=Saved(0), end=Saved(1), weight=Saved(2))
_register("AddcmulBackward0 AddcdivBackward0", tensor1=Saved(0), tensor2=Saved(1), value=number(2))
_register("ClampBackward1", self=SELF, min=number(1), max=number(2))
_register("ClampMinBackward0", self=SELF, min=number(1))
_register("ClampMaxBackward0", self=SELF, max=number(2))
_register("ClampMinBackward1", self=Saved(0), min=Saved(1))
_register("ClampMaxBackward1", self=Saved(0), max=Saved(1))
_register("ClampBackward0", self=SELF, min=Saved(1), max=Saved(2))
_register("WhereBackward0", condition=SELF)
_register("MaskedFillBackward0 MaskedFillBackward1", mask=SELF)
_register("MaskedSelectBackward0", self=Saved(0), mask=Saved(1))
_register("SgnBackward0", self=SELF, result=RESULT)
_register("SoftplusBackward0", self=SELF, beta=ctx(0), threshold=ctx(1))
_register("SoftplusBackwardBackward0", grad_output=Saved(0), self=Saved(1), beta=ctx(0), threshold=ctx(1))
_register("ThresholdBackwardBackward0", self=SELF, threshold=ctx())
_register("TanhBackwardBackward0 SigmoidBackwardBackward0", grad_output=Saved(0), output=Saved(1))
_register("GeluBackward0", self=SELF, approximate=ctx())
_register("GeluBackwardBackward0", grad_output=Saved(0), self=Saved(1), approximate=ctx())
_register("LeakyReluBackward0", self=SELF, negative_slope=ctx())
_register("LeakyReluBackward1", result=RESULT, negative_slope=ctx())
_register("LeakyReluBackwardBackward0", self=SELF, negative_slope=ctx())
_register("SiluBackward0", self=SELF)
_register("EluBackward0", self=SELF, alpha=ctx(0), scale=ctx(1), input_scale=ctx(2))
_register("EluBackward1", result=RESULT, alpha=ctx(0), scale=ctx(1), input_scale=ctx(2))
_register("CeluBackward0", self=SELF, alpha=ctx(0))
_register("CeluBackward1", result=RESULT, alpha=ctx(0))
_register(
    "EluBackwardBackward0",
    grad_output=Saved(0),
    self_or_result=Saved(1),
    alpha=ctx(0),
    scale=ctx(1),
    input_scale=ctx(2),
    is_result=ctx(3),
)
_register("HardtanhBackward0 HardtanhBackwardBackward0", self=SELF, min_val=ctx(0), max_val=ctx(1))
_register("LogSigmoidBackward0", self=Saved(0), buffer=Saved(1))
_register("LogSigmoidBackwardBackward0", grad_output=Saved(0), self=Saved(1), buffer=Saved(2))
_register("MishBackward0 HardswishBackward0 HardsigmoidBackward0", self=SELF)
_register("HardswishBackwardBackward0", grad_output=Saved(0), self=Saved(1))
_register("LinalgCrossBackward0", self=Saved(0), other=Saved(1), dim=ctx(unsigned=True))

# reductions
_register(
    "SumBackward0 ExpandBackward0 ViewBackward0 ReshapeAliasBackward0 UnsafeViewBackward0", self_sym_sizes=sizes()
)
_register("SumBackward1", self_sym_sizes=sizes(), dim=dims(ctx(3)), keepdim=ctx(2))
_register("MeanBackward0", self_sym_sizes=sizes(), self_sym_numel=lambda n: int(np.prod(n._input_meta[0][0])))
_register(
    "MeanBackward1",
    self_sym_sizes=sizes(),
    self_sym_numel=lambda n: int(np.prod(n._input_meta[0][0])),
    dim=dims(ctx(3)),
    keepdim=ctx(2),
)
_register("ProdBackward0 MaxBackward1 MinBackward1 MedianBackward0", self=SELF, result=RESULT)
_register("ProdBackward1", self=SELF, result=RESULT, dim=ctx(2, unsigned=True), keepdim=ctx(1))
_register("AmaxBackward0 AminBackward0", self=SELF, result=RESULT, dim=dims(ctx(2)), keepdim=ctx(1))
_register("LogsumexpBackward0", self=SELF, result=RESULT, dim=dims(ctx(2)), keepdim=ctx(1))
_register(
    "MaxBackward0 MinBackward0 MedianBackward1 KthvalueBackward0",
    self_sym_sizes=sizes(),
    indices=Saved(0),
    dim=ctx(3, unsigned=True),
    keepdim=ctx(2),
)
_register(
    "SortBackward0 SortBackward1 TopkBackward0", self_sym_sizes=sizes(), indices=Saved(0), dim=ctx(3, unsigned=True)
)
_register("VarBackward0", self=SELF, dim=dims(ctx(4)), keepdim=ctx(1), correction=ctx(5))
_register("StdBackward0", self=SELF, result=RESULT, dim=dims(ctx(4)), keepdim=ctx(1), correction=ctx(5))
_register("LinalgVectorNormBackward0", self=SELF, result=RESULT, ord=ctx(0), dim=dims(ctx(3)), keepdim=ctx(2))
_register("SoftmaxBackward0 LogSoftmaxBackward0", result=RESULT, dim=ctx(unsigned=True))
_register(
    "SoftmaxBackwardDataBackward0 LogSoftmaxBackwardDataBackward0",
    grad_output=Saved(0),
    output=Saved(1),
    dim=ctx(unsigned=True),
)
_register("CumsumBackward0", dim=ctx(0, unsigned=True))
_register("CumprodBackward0", self=SELF, result=RESULT, dim=ctx(1, unsigned=True))


# products
def strides(i: int, first: int = 0):
    """The ``i``-th matrix's strides (input ``first + i``), if its grad is wanted (else ())."""

    def get(node):
        if not node.needs(first + i):
            return ()
        return tuple(st // node._input_meta[first + i][1].itemsize for st in node._ctx[i])

    return get


_register(
    "MmBackward0",
    self=Saved(0),
    mat2=Saved(1),
    self_sym_sizes=sizes(0),
    mat2_sym_sizes=sizes(1),
    self_sym_strides=strides(0),
    mat2_sym_strides=strides(1),
)
_register("BmmBackward0", self=Saved(0), mat2=Saved(1))
_register("MvBackward0", self=Saved(0), vec=Saved(1))
_register("DotBackward0", self=Saved(1), tensor=Saved(0))
_register(
    "AddmmBackward0",
    mat1=Saved(0),
    mat2=Saved(1),
    mat1_sym_sizes=sizes(1),
    mat2_sym_sizes=sizes(2),
    mat1_sym_strides=strides(0, 1),
    mat2_sym_strides=strides(1, 1),
    alpha=ctx(2),
    beta=ctx(3),
)

# joining, arranging
_register("CatBackward0 StackBackward0", dim=ctx(2, unsigned=True))
_register("FlipBackward0", dims=ctx(unsigned=True))
_register("RollBackward0", shifts=ctx(0, unsigned=True), dims=ctx(1, unsigned=True))
_register("RepeatBackward0", repeats=ctx(0, unsigned=True), self_sym_sizes=sizes())
_register("TrilBackward0 TriuBackward0", diagonal=ctx(unsigned=True))

# losses, layers
_register("MseLossBackward0", self=Saved(0), target=Saved(1), reduction=ctx(0))
_register("MseLossBackwardBackward0", grad_output=Saved(0), self=Saved(1), target=Saved(2), reduction=ctx(0))
_register(
    "NllLossBackward0 NllLoss2DBackward0",
    self=Saved(0),
    target=Saved(1),
    total_weight=Saved(2),
    weight=Saved(3),
    reduction=ctx(0),
    ignore_index=ctx(1, unsigned=True),
)
_register(
    "NllLossBackwardBackward0 NllLoss2DBackwardBackward0",
    target=Saved(0),
    weight=Saved(1),
    reduction=ctx(0),
    ignore_index=ctx(1, unsigned=True),
)
_register("BinaryCrossEntropyBackward0", self=Saved(0), target=Saved(1), weight=Saved(2), reduction=ctx())
_register(
    "BinaryCrossEntropyBackwardBackward0",
    grad_output=Saved(0),
    self=Saved(1),
    target=Saved(2),
    weight=Saved(3),
    reduction=ctx(),
)
_register(
    "BinaryCrossEntropyWithLogitsBackward0",
    self=Saved(0),
    target=Saved(1),
    weight=Saved(2),
    pos_weight=Saved(3),
    reduction=ctx(),
)
_register("SmoothL1LossBackward0", self=Saved(0), target=Saved(1), reduction=ctx(0), beta=ctx(1))
_register("HuberLossBackward0", self=Saved(0), target=Saved(1), reduction=ctx(0), delta=ctx(1))
_register(
    "SmoothL1LossBackwardBackward0",
    grad_output=Saved(0),
    self=Saved(1),
    target=Saved(2),
    reduction=ctx(0),
    beta=ctx(1),
)
_register(
    "HuberLossBackwardBackward0",
    grad_output=Saved(0),
    self=Saved(1),
    target=Saved(2),
    reduction=ctx(0),
    delta=ctx(1),
)
_register(
    "EmbeddingBackward0",
    indices=Saved(0),
    padding_idx=ctx(0, unsigned=True),
    scale_grad_by_freq=ctx(1),
    sparse=ctx(2),
    weight_sym_argsize_0=ctx(3),
)
_register("EmbeddingDenseBackwardBackward0", indices=Saved(0), padding_idx=ctx(0, unsigned=True))
_register(
    "NativeLayerNormBackward0",
    input=Saved(0),
    weight=Saved(1),
    bias=Saved(2),
    result1=Saved(3),
    result2=Saved(4),
    normalized_shape=lambda n: tuple(n._input_meta[0][0][len(n._input_meta[0][0]) - len(n._ctx) :]),
)
_register(
    "NativeLayerNormBackwardBackward0",
    grad_out=Saved(0),
    input=Saved(1),
    mean=Saved(2),
    rstd=Saved(3),
    weight=Saved(4),
    normalized_shape=lambda n: tuple(n._input_meta[1][0][len(n._input_meta[1][0]) - len(n._ctx) :]),
)
_CONV_PARAMS = dict(
    stride=ctx(0, unsigned=True),
    padding=ctx(1, unsigned=True),
    dilation=ctx(2, unsigned=True),
    transposed=const(False),
    output_padding=lambda n: (0,) * len(n._ctx[0]),
    groups=ctx(3, unsigned=True),
)
_register("ConvolutionBackward0", input=Saved(0), weight=Saved(1), bias_sym_sizes_opt=ctx(4), **_CONV_PARAMS)
_register("ConvolutionBackwardBackward0", grad_output=Saved(0), input=Saved(1), weight=Saved(2), **_CONV_PARAMS)
_register(
    "MaxPool2DWithIndicesBackward0",
    self=Saved(0),
    result1=Saved(1),
    kernel_size=ctx(0, unsigned=True),
    stride=ctx(1, unsigned=True),
    padding=ctx(2, unsigned=True),
    dilation=ctx(3, unsigned=True),
    ceil_mode=ctx(4),
)
_register("MaxPool2DWithIndicesBackwardBackward0", indices=Saved(0))
_AVG_POOL = dict(
    kernel_size=ctx(0, unsigned=True),
    stride=ctx(1, unsigned=True),
    padding=ctx(2, unsigned=True),
    ceil_mode=ctx(3),
    count_include_pad=ctx(4),
    divisor_override=ctx(5),
)
_register("AvgPool2DBackward0", self=Saved(0), **_AVG_POOL)
_register("AvgPool2DBackwardBackward0", self=Saved(0), **_AVG_POOL)
_register("AdaptiveAvgPool2DBackward0", self=Saved(0))
_register(
    "NativeBatchNormBackward0",
    input=Saved(0),
    weight=Saved(1),
    running_mean=Saved(2),
    running_var=Saved(3),
    result1=Saved(4),
    result2=Saved(5),
    training=ctx(0),
    eps=ctx(1),
)

# indexing
_register("IndexBackward0", indices=Indices(0), self_sym_sizes=ctx(0))
_register("IndexPutBackward0", indices=Indices(0), accumulate=ctx(1))
_register("IndexSelectBackward0", index=SELF, dim=ctx(2, unsigned=True), self_sym_sizes=ctx(0))
# the nodes of backward formulas that write into zeros (under create_graph): _ctx is the key
_register("IndexPutImplBackward0", indices=Indices(0), accumulate=const(True))
_register("ScatterBackward0 ScatterBackward1 ScatterAddBackward0", index=SELF, dim=lambda n: _unsigned(number(1)(n)))
# torch.gather's (the gather a scatter's backward makes under create_graph saves nothing)
_register(
    "GatherBackward0",
    self=SELF,
    index=Saved(1),
    dim=lambda n: _unsigned(number(2)(n)) if n._held else None,
    sparse_grad=const(False),
)
_register("MaskedScatterBackward0", mask=SELF, source_sym_sizes=sizes(1))
_register(
    "IndexAddBackward0",
    index=SELF,
    source=Saved(1),
    dim=lambda n: _unsigned(number(2)(n)),
    alpha=lambda n: number(3)(n) if len(n._held) > 3 else 1,  # (index_select's backward: none)
    source_dim=lambda n: len(n._input_meta[1][0]),
)


def _diag_bb(i, of_matrix):
    """DiagonalBackwardBackward0's value: torch.diagonal's backward keeps ("nd", sizes, offset,
    the dims as given); diag's of a matrix keeps the key of its diagonal's rows and columns."""

    def get(n):
        if isinstance(n._ctx[0], str):
            return _unsigned(n._ctx[2] if i is None else n._ctx[3][i])
        return of_matrix(n)

    return get


_register(
    "DiagonalBackwardBackward0",
    dim1=_diag_bb(0, const(0)),
    dim2=_diag_bb(1, const(1)),
    offset=_diag_bb(None, lambda n: _unsigned(int(n._ctx[1][0] - n._ctx[0][0]) if len(n._ctx[0]) else 0)),
)

# views: their _ctx is the view's step (``_views.ViewStep``)
_register("TransposeBackward0", dim0=captured("backward", "dim0"), dim1=captured("backward", "dim1"))
_register("PermuteBackward0", dims=captured("forward", "dims"))
_register("UnsqueezeBackward0", dim=captured("backward", "dim"))
_register("SqueezeBackward0", self_sym_sizes=sizes())
_register("SqueezeBackward1 SqueezeBackward2", self_sym_sizes=sizes(), dim=captured("backward", "dim"))
_register("SqueezeBackward4", self_sym_sizes=sizes(), dim=const(0))  # matmul's squeeze_(0)
_select_slice("SelectBackward0", "self_sym_sizes")
_select_slice("SliceBackward0", "self_sym_sizes")
_select_slice("SelectBackwardBackward0")
_select_slice("SliceBackwardBackward0")
_register("UnbindBackward0", dim=lambda n: _unsigned(n._ctx[3][0]))
_register(
    "SplitBackward0",
    self_sym_sizes=sizes(),
    dim=lambda n: _unsigned(n._ctx[3][0]),
    split_size=lambda n: _unsigned(n._ctx[3][1]),
)
_register(
    "SplitWithSizesBackward0",
    self_sym_sizes=sizes(),
    dim=lambda n: _unsigned(n._ctx[3][0]),
    split_sizes=lambda n: _unsigned(tuple(n._ctx[3][1])),
)


def _diagonal_dim(i: int, default: int):
    """torch.diagonal's dims as given (its view's step keeps them); diag_embed's backward's
    view is over the last two dims."""

    def get(n):
        fn = n._ctx.forward
        if "given" not in fn.__code__.co_freevars:
            return _unsigned(default)
        return _unsigned(captured("forward", "given", False)(n)[i])

    return get


_register(
    "DiagonalBackward0",
    self_sym_sizes=sizes(),
    offset=captured("forward", "offset"),
    dim1=_diagonal_dim(0, -2),
    dim2=_diagonal_dim(1, -1),
)
_register("ConstantPadNdBackward0", pad=lambda n: _unsigned(tuple(number(0)(n))))
for _mode in ("Reflection", "Replication"):
    for _k in (1, 2, 3):
        _register(f"{_mode}Pad{_k}DBackward0", padding=lambda n: _unsigned(tuple(number(1)(n))), self=SELF)
        _register(f"{_mode}Pad{_k}DBackwardBackward0", padding=lambda n: _unsigned(tuple(number(0)(n))))
_register("DiagEmbedBackward0", offset=ctx(1, unsigned=True), dim1=const(_unsigned(-2)), dim2=const(_unsigned(-1)))
_register("DiagonalBackward0_copy", offset=ctx(1, unsigned=True), dim1=const(0), dim2=const(1), self_sym_sizes=ctx(0))


def _view_geometry(node):
    """(sizes, strides, storage offset) of the view an AsStridedBackward0 node goes back from:
    as_strided's own (its step keeps them), or that of a view whose base was edited in place
    (its history regenerated: ``_ctx`` is the view's steps and the base's geometry)."""
    from . import _views

    if isinstance(node._ctx, _views.ViewStep):
        return captured("backward", "out_geometry", False)(node)
    steps, shape, dtype, base_strides = node._ctx
    return _views._steps_geometry(steps, shape, base_strides, dtype)[1]


_register(
    "AsStridedBackward0",
    size=lambda n: tuple(_view_geometry(n)[0]),
    stride=lambda n: tuple(_view_geometry(n)[1]),
    storage_offset=lambda n: _view_geometry(n)[2],
)


def install(cls) -> None:
    """Give node class ``cls`` the ``_saved_*`` / ``_raw_saved_*`` properties of its entry."""
    for name, get in SAVED.get(cls.__name__, {}).items():
        if isinstance(get, Saved):
            setattr(cls, "_saved_" + name, property(get.value))
            setattr(cls, "_raw_saved_" + name, property(get.raw))
        else:
            setattr(cls, "_saved_" + name, property(get))

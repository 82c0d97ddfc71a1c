"""Memory layouts as PyTorch picks them.

numpy and PyTorch agree on C-contiguous operands, which is the common case and costs one
stride comparison here. They differ elsewhere: TensorIterator orders an elementwise output's
dims by its operands' strides (the first operand that tells two dims apart decides, where
numpy falls back to C order), and ``clone``/``*_like`` keep a dense tensor's strides exactly.
The layout is visible: it decides whether a later ``view``/``flatten`` can alias or must copy.

>>> a = np.ones((2, 3)).T
>>> in_operands_layout(a + np.ones((3, 2)), a).flags.f_contiguous
True
>>> empty_preserving(a).strides == a.strides
True
"""

from __future__ import annotations

import functools
import math
import weakref

import numpy as np

from ._autograd import non_overlapping_and_dense, torch_contiguous_strides, torch_strides

__all__ = [
    "in_operands_layout",
    "empty_preserving",
    "empty_strided",
    "preserved_copy",
    "apply_in_iteration_order",
    "vectorized_lanes",
]

_ndarray = np.ndarray


def in_operands_layout(res: np.ndarray, *operands) -> np.ndarray:
    """``res`` laid out in memory as PyTorch's TensorIterator lays out an elementwise op's
    output: dims ordered by the operands' strides, the first operand that tells two dims
    apart deciding (numpy's ufuncs fall back to C order when operands disagree, and
    ``np.where`` always returns C order). Copies only when the layouts differ, so the
    common case (every operand C-contiguous) costs one flag test per operand.

    """
    if res.ndim < 2:
        return res
    arrays = [a for a in operands if a.__class__ is _ndarray and a.ndim]
    if all(a.strides == _c_strides(a.shape, a.itemsize) for a in arrays):
        return res  # numpy and TensorIterator agree: C order
    shape = res.shape
    if not res.size:
        return _empty_result_layout(res, operands, arrays)
    if all(a.__class__ is _ndarray and a.shape == shape and a.flags.c_contiguous for a in operands):
        # TensorIterator's fast setup: operands all of the result's shape and all contiguous
        # (a dim of size 1 has no say, as in numpy's flag) give a contiguous result, with C
        # strides in its dims of size 1 too (numpy keeps the operands' there)
        return _c_strided(res)
    out = _empty_in_order(shape, res.dtype, _iteration_order(shape, [_broadcast_strides(a, shape) for a in arrays]))
    if out.strides == res.strides:
        return res
    np.copyto(out, res)
    return out


def _c_strided(res: np.ndarray) -> np.ndarray:
    """``res`` with C strides in every dim (a view when only its size-1 dims' strides differ)."""
    strides = _c_strides(res.shape, res.itemsize)
    if res.strides == strides:
        return res
    if res.flags.c_contiguous:
        return np.ndarray(res.shape, res.dtype, res, 0, strides)
    return np.ascontiguousarray(res)


_C_STRIDES: dict = {}


def _c_strides(shape, itemsize) -> tuple:
    """The strides of a C-contiguous array (size-1 dims included, as numpy allocates them)."""
    key = (shape, itemsize)
    strides = _C_STRIDES.get(key)
    if strides is None:
        if len(_C_STRIDES) > 4096:  # shapes vary without bound: keep the cache small
            _C_STRIDES.clear()
        strides, step = [], itemsize
        for n in reversed(shape):
            strides.append(step)
            step *= n
        strides = _C_STRIDES[key] = tuple(reversed(strides))
    return strides


def _broadcast_strides(a: np.ndarray, shape, strides=None) -> tuple:
    """``a``'s strides (or ``strides``) broadcast to ``shape`` as TensorIterator sees them: 0
    for new and stretched dims, a size-1 dim that stays size 1 keeps its stride
    (np.broadcast_to zeroes it)."""
    lead = len(shape) - a.ndim
    return (0,) * lead + tuple(
        0 if n == 1 and shape[lead + i] != 1 else st
        for i, (n, st) in enumerate(zip(a.shape, a.strides if strides is None else strides))
    )


def _empty_result_layout(res: np.ndarray, operands, arrays) -> np.ndarray:
    """The empty elementwise result ``res`` strided as TensorIterator strides it. Every empty
    tensor counts as contiguous, so when all operands have the result's shape the fast setup
    makes it contiguous; a broadcast operand or a number sends it through
    reorder_dimensions, and unless that order is C order its strides multiply by each size
    in that order, a 0 included (compatible_stride)."""
    shape = res.shape
    strides = torch_contiguous_strides(shape, res.itemsize)
    if len(arrays) < len(operands) or any(a.shape != shape for a in arrays):
        order = _iteration_order(shape, [_broadcast_strides(a, shape, torch_strides(a)) for a in arrays])
        if order != list(range(len(shape))):
            in_order = [0] * len(shape)
            step = res.itemsize
            for d in reversed(order):
                in_order[d] = step
                step *= shape[d]
            strides = tuple(in_order)
    return restrided(res, strides)


def restrided(a: np.ndarray, strides) -> np.ndarray:
    """The empty array ``a`` with these (byte) strides (it has no elements, so any strides are
    safe); an array of its own memory if ``a`` was (not a view)."""
    out = np.lib.stride_tricks.as_strided(a, a.shape, strides, writeable=a.flags.writeable)
    return _private(out) if owns_memory(a) else out


def _iteration_order(shape, strides, reduction: bool = False) -> list:
    """The dims from slowest to fastest, as TensorIterator's reorder_dimensions sorts them:
    an insertion sort from C order where, for each pair of dims, the first operand whose
    strides (non-zero) differ decides, and equal strides put the smaller dim faster. In a
    ``reduction`` the first strides are the output's, whose reduced dims (stride 0) go fastest
    before anything else decides."""
    out = strides[0] if reduction else None

    def should_swap(d0, d1):
        if out is not None and (out[d0] == 0) != (out[d1] == 0):
            return 1 if out[d1] == 0 else -1
        for st in strides:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(len(shape) - 1, -1, -1))  # fastest first
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm[::-1]


def _empty_in_order(shape, dtype, order) -> np.ndarray:
    """An uninitialised array whose dims lie in memory in ``order`` (slowest first)."""
    dtype = np.dtype(dtype)
    strides = [0] * len(shape)
    step = dtype.itemsize
    for d in reversed(order):
        strides[d] = step
        step *= max(shape[d], 1)
    # empty_strided, not a transpose: numpy would point views of a transpose at its base
    return empty_strided(tuple(shape), tuple(strides), dtype)


def empty_preserving(a: np.ndarray, dtype=None) -> np.ndarray:
    """An uninitialised array shaped as ``a`` and laid out as PyTorch's empty_like with
    preserve_format: a dense ``a``'s strides exactly, else its dims in TensorIterator's order."""
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    # (a one-element 1-d tensor is dense whatever its stride, e.g. 0 when expanded, and keeps it)
    if (a.ndim < 2 and a.size > 1) or a.strides == _c_strides(a.shape, a.itemsize):
        return np.empty(a.shape, dtype)
    strides = torch_strides(a) if not a.size else a.strides  # an empty 1-d one may keep a stride too
    if non_overlapping_and_dense(a):
        return empty_strided(a.shape, tuple(st // a.itemsize * dtype.itemsize for st in strides), dtype)
    return _empty_in_order(a.shape, dtype, _iteration_order(a.shape, [strides]))


def empty_strided(shape, strides, dtype) -> np.ndarray:
    """An uninitialised array with exactly these (non-negative, byte) strides over fresh
    memory just large enough, as PyTorch's empty_strided."""
    dtype = np.dtype(dtype)
    if 0 in shape:  # no memory: only the strides (which numpy would zero) tell
        return restrided(np.empty(shape, dtype), tuple(strides))
    if tuple(strides) == _c_strides(tuple(shape), dtype.itemsize):
        return np.empty(shape, dtype)  # an array that owns its memory (not a view of a buffer)
    elements = 1 + sum((n - 1) * st for n, st in zip(shape, strides)) // dtype.itemsize
    return _private(np.lib.stride_tricks.as_strided(np.empty(elements, dtype), shape, strides))


# arrays made here over memory no other array sees (numpy calls them views of that memory)
_PRIVATE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _private(a: np.ndarray) -> np.ndarray:
    _PRIVATE[id(a)] = a
    return a


def owns_memory(a: np.ndarray) -> bool:
    """Whether ``a`` is the one array over its memory, as a PyTorch tensor that is not a view:
    an array that owns its data, or one ``empty_strided`` made over memory of its own.

    >>> owns_memory(empty_strided((1, 1), (0, 0), np.float32)), owns_memory(np.zeros(3)[1:])
    (True, False)
    """
    return a.base is None or _PRIVATE.get(id(a)) is a


def preserved_copy(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` laid out as PyTorch's clone lays it out (preserve_format)."""
    out = empty_preserving(a)
    np.copyto(out, a)
    return out


def apply_in_iteration_order(fn, out: np.ndarray, other: np.ndarray) -> None:
    """``out[...] = fn(out, other)`` one element at a time, in TensorIterator's order, each
    read of ``other`` seeing the writes before it. For an ``other`` that aliases ``out`` in a
    way PyTorch cannot analyse (neither is dense): PyTorch then refuses nothing, and its
    kernel loop reads what it already wrote (numpy would buffer a copy first)."""
    shape = out.shape
    live = np.lib.stride_tricks.as_strided(other, shape, _broadcast_strides(other, shape), writeable=False)
    order = _iteration_order(shape, [out.strides, live.strides])
    index = [0] * len(shape)
    for position in np.ndindex(*[shape[d] for d in order]):
        for d, i in zip(order, position):
            index[d] = i
        at = tuple(index)
        out[at] = fn(out[at], live[at])


def write_before_first(out: np.ndarray, values, stop, operands=()) -> None:
    """What a kernel loop leaves in ``out`` when it raises at an element (the integer kernels'
    ZeroDivisionError): ``values`` written at the elements before the first true ``stop``, in
    TensorIterator's order over ``out`` and ``operands``; the rest untouched. (One thread's
    loop: an op of more than _GRAIN_SIZE elements, split over threads, may have written more.)

    >>> out = np.array([4, 5, 6])
    >>> write_before_first(out, np.array([0, 0, 0]), np.array([False, True, False]))
    >>> out
    array([0, 5, 6])
    """
    shape = out.shape
    if not shape:
        return  # one element, the one that raised
    stop = np.broadcast_to(stop, shape)
    strides = [out.strides] + [_broadcast_strides(np.asarray(x), shape) for x in operands]
    order = _iteration_order(shape, strides)
    flat_stop = stop.transpose(order).reshape(-1)
    first = int(np.argmax(flat_stop)) if flat_stop.any() else flat_stop.size
    at = np.unravel_index(np.arange(first), tuple(shape[d] for d in order))
    index = [None] * len(shape)
    for d, i in zip(order, at):
        index[d] = i
    out[tuple(index)] = np.broadcast_to(values, shape)[tuple(index)]


# ----------------------------------------------------------------------------- vectorized lanes

# PyTorch's cpu_kernel_vec (ATen/native/cpu/Loops.h) runs each inner row in steps of two
# Vectorized<T> registers and leaves the rest of the row to a scalar loop. The two paths can
# disagree on which operand a tie returns: maximum's vector code (_mm256_max_ps) returns its
# second operand, its scalar code (std::max) its first. That is visible for +0.0 and -0.0.
#
# Vectorized<T> is 32 bytes on every x86 CPU PyTorch's CPU build runs these kernels on:
# AVX2 and the portable DEFAULT build both use 32-byte vectors, and on an AVX512 CPU the
# kernels registered with REGISTER_DISPATCH (maximum, minimum, clamp, ...) fall back to the
# AVX2 build (DispatchStub.h registers no AVX512 kernel for them). So the width does not come
# from the CPU here; measured against torch 2.13 under ATEN_CPU_CAPABILITY=default, avx2 and
# avx512 alike: 16 float32, 8 float64, 32 float16 elements per step.
_VEC_BYTES = 32
_GRAIN_SIZE = 32768  # at::internal::GRAIN_SIZE: smaller ops run on one thread


@functools.cache
def _intraop_threads() -> int:
    """PyTorch's default intra-op thread count, read once as PyTorch reads it at start-up: the
    CPUs this process may run on, or fewer if asked for by OMP_NUM_THREADS, which
    MKL_NUM_THREADS overrides (torch 2.13 caps a larger request: with OMP_NUM_THREADS=8 on 2
    CPUs, torch.get_num_threads() is 2). Not seen: a program's own torch.set_num_threads, and
    PyTorch counting physical cores where logical CPUs share them (hyper-threading)."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    asked = None
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the later one wins
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            asked = int(value)
    return cpus if asked is None else min(asked, cpus)


def vectorized_lanes(shape, inputs, dtype, out=None):
    """Which elements of an elementwise op PyTorch's CPU kernel computes in its vectorized body
    (True) rather than its scalar loop (False): ``False`` when none is, else a bool array of
    ``shape``. Hardware-dependent, mirroring PyTorch's CPU build (see ``_VEC_BYTES``).

    ``inputs`` are the operands (a Python number counts as a 0-d tensor; one of another dtype
    than the op's ``dtype`` is seen through its cast copy, laid out as ``.to()`` lays it out,
    as TensorIterator casts it before iterating); ``out`` the output when it exists (in-place
    ops), else TensorIterator allocates it in its iteration order. The model follows TensorIterator:
    dims ordered by stride (``_iteration_order``), adjacent dims coalesced, the range split
    between threads above GRAIN_SIZE; then Loops.h's VectorizedLoop2d: a row is vectorized only
    if every operand is contiguous in it, or one input has stride 0 (a scalar broadcast) and
    the others are contiguous, and then only in whole steps of ``2 * 32 // itemsize`` from the
    start of the row (or of the thread's share of it).

    >>> x = np.zeros(17, np.float32)
    >>> vectorized_lanes((17,), [x, x], x.dtype).nonzero()[0].size  # one step of 16, then 1 scalar
    16
    >>> vectorized_lanes((17,), [x[::-1], x], x.dtype)  # a negative stride: the scalar loop only
    False
    """
    dtype = np.dtype(dtype)
    itemsize = dtype.itemsize
    shape = tuple(shape)
    numel = math.prod(shape)
    step = 2 * _VEC_BYTES // itemsize
    if numel < step:
        return False
    inputs = [empty_preserving(a, dtype) if isinstance(a, _ndarray) and a.dtype != dtype else a for a in inputs]
    if out is not None and out.dtype != dtype:  # the kernel writes a C-contiguous temporary, then casts
        out = np.empty(out.shape, dtype)
    in_strides = [_broadcast_strides(a, shape) if isinstance(a, _ndarray) else (0,) * len(shape) for a in inputs]
    perm = _iteration_order(shape, ([out.strides] if out is not None else []) + in_strides)  # slowest first
    fast = perm[::-1]
    sizes = [shape[d] for d in fast]
    if out is None:  # allocated dense in iteration order
        out_strides, st = [], itemsize
        for n in sizes:
            out_strides.append(st)
            st *= n
    else:
        out_strides = [out.strides[d] for d in fast]
    strides = [out_strides] + [[s[d] for d in fast] for s in in_strides]

    # TensorIteratorBase::coalesce_dimensions, fastest dim first
    prev = 0
    for dim in range(1, len(sizes)):
        if sizes[prev] == 1 or sizes[dim] == 1 or all(sizes[prev] * st[prev] == st[dim] for st in strides):
            if sizes[prev] == 1:
                for st in strides:
                    st[prev] = st[dim]
            sizes[prev] *= sizes[dim]
        else:
            prev += 1
            if prev != dim:
                for st in strides:
                    st[prev] = st[dim]
                sizes[prev] = sizes[dim]
    row = sizes[0]
    out_inner, *in_inner = (st[0] for st in strides)

    # VectorizedLoop2d: is_contiguous, else is_contiguous_scalar for some input, else basic_loop
    contiguous = out_inner == itemsize and all(s == itemsize for s in in_inner)
    scalar = out_inner == itemsize and any(
        s == 0 and all(t == itemsize for j, t in enumerate(in_inner) if j != i) for i, s in enumerate(in_inner)
    )
    if not (contiguous or scalar) or row < step:
        return False

    # each element's position in iteration order
    k = np.arange(numel).reshape([shape[d] for d in perm]).transpose(np.argsort(perm))
    start, end = k - k % row, k - k % row + row  # its row
    threads = _intraop_threads()
    if numel >= _GRAIN_SIZE and threads > 1:  # at::parallel_for: equal shares, each from its own start
        share = -(-numel // min(threads, -(-numel // _GRAIN_SIZE)))
        first = k - k % share
        start, end = np.maximum(start, first), np.minimum(end, first + share)
    return k - start < (end - start) // step * step


# ----------------------------------------------------------------------------- max()/min() over all elements

# max_all/min_all (ReduceAllOpsKernel.cpp) read the input as ``contiguous()`` and fold it with
# vec::reduce_all: one Vectorized accumulator per thread's share, lane j taking the elements
# j, j + lanes, ... in order, then the lanes combined (float: AVX2's shuffle tree; double and
# the short case: lane 0 folded with the others in order). Every vector step is
# ``maximum(acc, new)``, which returns ``new`` on a tie (_mm256_max_ps), so among equal elements
# the one latest in that order wins. Half and bfloat16 go through two float accumulators of 8.
# (The shuffle tree is the AVX2 build's VecReduceAllSIMD, which PyTorch runs on AVX2 and
# AVX512 CPUs alike, see ``_VEC_BYTES``; a CPU without AVX2 would fold the lanes in order.)
_SHUFFLE_TREE_RANK = np.array([0, 4, 2, 6, 1, 5, 3, 7])  # f(f(f(v0,v4),f(v2,v6)),f(f(v1,v5),f(v3,v7)))


def _reduce_all_order(n: int, itemsize: int) -> np.ndarray:
    """Each element's place in vec::reduce_all's order of one contiguous share of ``n``."""
    i = np.arange(n)
    if itemsize == 8:  # 4 double lanes, folded in order
        lane = i % 4 if n >= 4 else i
    elif itemsize == 4:
        lane = _SHUFFLE_TREE_RANK[i % 8] if n >= 8 else i
    elif n < 16:  # 16-bit: one load of 16 converted to two float vectors; the short path folds lanes in order
        lane = (i % 8) * 2 + (i % 16 >= 8)
    else:
        lane = _SHUFFLE_TREE_RANK[i % 8] * 2 + (i % 16 >= 8)
    return lane * n + i


def reduce_all_winner(flat: np.ndarray, ties: np.ndarray) -> int:
    """Which of the equal elements at indices ``ties`` of the C-ordered ``flat`` max_all/min_all
    returns (their values compare equal, as +0.0 and -0.0 do)."""
    n = flat.size
    threads = _intraop_threads()
    if n > _GRAIN_SIZE and threads > 1:
        # at::parallel_reduce: equal shares, each folded from its own start, then combined in
        # order with max_impl (std::max: the earlier share wins a tie)
        share = -(-n // min(threads, -(-n // _GRAIN_SIZE)))
        starts = range(0, n, share)
        order = np.concatenate([_reduce_all_order(min(n, s + share) - s, flat.itemsize) for s in starts])
        order = order - (np.arange(n) // share) * (64 * n)
    else:
        order = _reduce_all_order(n, flat.itemsize)
    return int(ties[np.argmax(order[ties])])


# ----------------------------------------------------------------------------- amax/amin

# amax/amin are TensorIterator reductions (binary_kernel_reduce_vec, Reduce.h): the reduced dims
# iterate fastest, each 2-d loop either folds a contiguous row with four Vectorized accumulators
# (vectorized_inner_reduction: lanes folded over the row's blocks of 4 * lanes, the four
# accumulators by a tree, then the lanes and the rest of the row one by one into the output),
# or folds columns down the rows (vectorized_outer_reduction), or runs the scalar loop. The
# vector step returns its second operand on a tie, the scalar step (max_impl) its first: so the
# output keeps the earliest contribution, and inside a vectorized one the first lane, the last
# accumulator, the last block.


def _reduction_loops(shape, strides, reduced):
    """TensorIterator's reduction geometry: (permutation slowest-first, coalesced sizes and
    input strides fastest-first, whether each coalesced dim is reduced)."""
    nd = len(shape)
    out_strides, st = [0] * nd, 1
    for d in range(nd - 1, -1, -1):
        if d not in reduced:
            out_strides[d] = st
            st *= shape[d]

    perm = _iteration_order(shape, (out_strides, strides), reduction=True)[::-1]  # fastest first
    sizes = [shape[d] for d in perm]
    ins = [strides[d] for d in perm]
    outs = [out_strides[d] for d in perm]
    # coalesce, fastest first
    merged = [[sizes[0], ins[0], outs[0]]] if nd else []
    for n, s_in, s_out in zip(sizes[1:], ins[1:], outs[1:]):
        last = merged[-1]
        if n == 1:
            continue
        if last[0] == 1:
            last[:] = [n, s_in, s_out]
        elif last[0] * last[1] == s_in and last[0] * last[2] == s_out:
            last[0] *= n
        else:
            merged.append([n, s_in, s_out])
    return perm[::-1], merged


def reduction_tie_keys(x: np.ndarray, reduced) -> np.ndarray:
    """For each element of ``x``, how amax/amin's CPU kernel ranks it among equal elements of
    its output's group: the largest key wins. One thread's order (below GRAIN_SIZE; a full
    reduction's thread shares are modelled too, a larger reduction by dim is not)."""
    reduced = set(reduced)
    itemsize = x.itemsize
    strides = [s if n > 1 else 0 for s, n in zip(x.strides, x.shape)]
    order, dims = _reduction_loops(x.shape, strides, reduced)
    numel = x.size
    pos = np.arange(numel).reshape(x.shape).transpose(order)  # element positions, iteration order
    time = np.empty(numel, np.int64)
    time[pos.ravel()] = np.arange(numel)  # each element's step in the iteration
    time = time.reshape(x.shape)
    lanes = _VEC_BYTES // itemsize
    group = 4 * lanes
    unit = numel + 1
    big = (group + 1) * unit
    n0 = dims[0][0] if dims else 1
    n1 = dims[1][0] if len(dims) > 1 else 1
    threads = _intraop_threads()
    shares = numel >= _GRAIN_SIZE and threads > 1 and len(dims) == 1 and dims[0][2] == 0
    if shares:  # two_pass_reduction: equal shares, the earliest one wins a tie
        share = -(-numel // min(threads, -(-numel // _GRAIN_SIZE)))
        chunk, k = np.divmod(time, share)
        n0 = np.minimum(share, numel - chunk * share)
    else:
        chunk, k = np.divmod(time, n0)  # k: the place in its row of dim 0
    contiguous = dims and dims[0][2] == 0 and dims[0][1] == itemsize
    outer = dims and dims[0][2] == 0 and len(dims) > 1 and dims[1][2] == 1 and dims[1][1] == itemsize
    if contiguous:
        count = n0 // group
        vec = k < count * group
        inner = (lanes - 1 - k % lanes) * (4 * unit) + ((k % group) // lanes) * unit + k // group
        row_start = time - k
        return np.where(vec, -row_start * big + inner, -time * big)
    if outer:  # k is the row; each 2-d loop (block) is one contribution of a vectorized column
        block, col = np.divmod(chunk, n1)
        return np.where(col < n1 // group * group, -block * big + k, -(block * n0 + k) * big)
    return -time * big

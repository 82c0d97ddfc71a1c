"""Float sums, means, cumulative sums and variances in PyTorch's CPU order of additions.

Float addition is not associative, so a sum printed with all its digits shows the order the
elements were added in. numpy adds pairwise in blocks of 8; PyTorch's ``cascade_sum``
(ATen/native/cpu/SumKernel.cpp) adds vectors of 8 float32 lanes in four interleaved chains,
each a cascade of partial sums. The functions here replay that order with numpy, vectorized
over the lanes, the rows and the blocks of each level of the cascade.

>>> import numpy as np
>>> x = np.array([-0.2, 1.8, 9.1, -9.6, -2.6], np.float32)
>>> float(x.sum()), float(sum_data(x, (0,)))
(-1.4999995231628418, -1.5)
"""

from __future__ import annotations

import functools

import numpy as np

from ._factories import _fma
from ._layout import _intraop_threads

_VEC_BYTES = 32  # Vectorized<T> on the AVX2 build: 8 float32, 4 float64 lanes (16 loaded for 16-bit)
_GRAIN_SIZE = 32768  # at::internal::GRAIN_SIZE
_REDUCED = (np.float16,)  # reduced floating types numpy has (bfloat16 is stored as float32 here)


def _acc_dtype(dtype) -> np.dtype:
    """``at::acc_type<T, /*is_cuda=*/true>``, what cascade_sum accumulates in: float for half."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def _ceil_log2(x: int) -> int:
    """SumKernel.cpp's ``CeilLog2`` (1 for x <= 2)."""
    return 1 if x <= 2 else (x - 1).bit_length()


@functools.lru_cache(maxsize=1)
def _avx512() -> bool:
    """Whether PyTorch runs its AVX512 kernels here (DispatchStub's cpu capability: AVX512VL,
    BW and DQ and FMA in /proc/cpuinfo's flags, unless ATEN_CPU_CAPABILITY asks for less).
    Most reductions have no AVX512 build and run their AVX2 one; the softmax kernels have one."""
    import os

    if os.environ.get("ATEN_CPU_CAPABILITY", "").lower() in ("default", "avx2", "avx"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return {"avx512vl", "avx512bw", "avx512dq", "fma"} <= set(flags)


def vec_sum(a: np.ndarray) -> np.ndarray:
    """``vec::reduce_all`` / ``map_reduce_all`` with ``+`` over the last axis, as the softmax
    kernels sum a row: one vector accumulator from the row's first vector (16 float / 8 double
    lanes with AVX512, else 8 / 4), the elements past the last vector added to its first lanes,
    then the lanes combined: float by the shuffle tree (lane i + lane i + width/2, halving),
    double one after another; a row shorter than a vector adds its elements in order.

    >>> vec_sum(np.array([[1e8, 1.0, -1e8, 1.0]], np.float32)).tolist()
    [1.0]
    """
    lanes = (64 if _avx512() else 32) // a.itemsize
    d = a.shape[-1]
    if d < lanes:
        return np.add.accumulate(a, axis=-1)[..., -1]
    n = d // lanes * lanes
    acc = _seq(_front(a[..., :n].reshape(a.shape[:-1] + (n // lanes, lanes)), a.ndim - 1), from_zero=False)
    if n < d:  # Vec::set(acc, acc + tail, d - n)
        acc[..., : d - n] += a[..., n:]
    if a.dtype != np.float32:
        return np.add.accumulate(acc, axis=-1)[..., -1]
    while acc.shape[-1] > 1:
        half = acc.shape[-1] // 2
        acc = acc[..., :half] + acc[..., half:]
    return acc[..., 0]


def softmax_sum(a: np.ndarray, axis: int, from_zero: bool = True) -> np.ndarray:
    """The sum over ``axis`` (kept) of the softmax kernels, float or double: over the last dim
    the lastdim kernels' ``vec_sum``; over another, the vertical kernels' chain, one per inner
    element, in order (``from_zero``: the forward's accumulators start at 0)."""
    if axis == a.ndim - 1:
        return vec_sum(a)[..., None]
    return np.expand_dims(_seq(_front(a, axis), from_zero), axis)


def _seq(a: np.ndarray, from_zero: bool = True) -> np.ndarray:
    """``acc = 0; for row in a: acc += row`` along axis 0 (one chain, in order).

    numpy adds pairwise only along the axis its inner loop runs over; when another axis of
    ``a`` is the closer one in memory, ``np.add.reduce`` over axis 0 adds row after row into
    its output, in order, in one call. Otherwise ``np.add.accumulate`` (always in order);
    ``+ 0`` turns the -0.0 it keeps when all rows are -0.0 into the +0.0 a chain from 0 gives.
    A chain from +0 never ends at -0.0, so adding its result to another is the same as
    starting that one's chain from it (the callers skip empty chains on that ground).
    """
    n = a.shape[0]
    zero = a.dtype.type(0) if from_zero else None  # (else the chain starts from the first row)
    if n <= 1:
        return (a[0] + zero if from_zero else a[0].copy()) if n else np.zeros(a.shape[1:], a.dtype)
    s0 = abs(a.strides[0])
    if any(0 < abs(st) < s0 and size > 1 for st, size in zip(a.strides[1:], a.shape[1:])):
        return np.add.reduce(a, axis=0, initial=zero)
    res = np.add.accumulate(a, axis=0)[-1]
    return res + zero if from_zero else res


def _block_sums(a: np.ndarray, full: int, step: int) -> np.ndarray:
    """The sums of ``a[:full]``'s blocks of ``step`` rows, each one chain (all in one call, or
    for many blocks in ``step`` whole-slice adds: numpy's reduce loops over a block's short
    rows, the adds over all blocks at once, twice as fast on 2**20 floats)."""
    blocks = a[:full].reshape((full // step, step) + a.shape[1:])
    if blocks.size < 1 << 16:
        return _seq(blocks.swapaxes(0, 1))
    acc = blocks[:, 0] + a.dtype.type(0)
    for i in range(1, step):
        acc += blocks[:, i]
    return acc


def multi_row_sum(a: np.ndarray) -> np.ndarray:
    """SumKernel.cpp ``multi_row_sum`` along axis 0: four levels of accumulators, level 0 adding
    ``2**level_power`` rows at a time and passing its sum up (each level flushes after that many
    sums from below; the top level never does), then the levels added from the bottom.

    >>> multi_row_sum(np.ones((40, 2), np.float32)).tolist()
    [40.0, 40.0]
    """
    n = a.shape[0]
    step = 1 << max(4, _ceil_log2(n) // 4)
    if n < step:  # no full block: level 0 alone (the others add +0)
        return _seq(a)
    full = n // step * step
    level = _block_sums(a, full, step)
    pieces = [_seq(a[full:])] if full < n else []  # level 0's rows left over
    for _ in range(2):  # levels 1 and 2: their full groups go up, what is left stays
        m = level.shape[0]
        full = m // step * step
        if full < m:
            pieces.append(_seq(level[full:]))
        level = _block_sums(level, full, step) if full else None
        if level is None:
            break
    if level is not None:
        pieces.append(_seq(level))
    acc = pieces[0]  # the levels' accumulators added from the bottom (empty ones add +0)
    for part in pieces[1:]:
        acc = acc + part
    return acc


def row_sum(a: np.ndarray) -> np.ndarray:
    """SumKernel.cpp ``row_sum`` along axis 0: four interleaved chains (``ilp_factor``), the
    rows past the last full group of four added to the first, then the four added in order."""
    k = a.shape[0] // 4
    if k == 0:  # the chains are empty: the rows alone, in one chain
        return _seq(a)
    parts = multi_row_sum(a[: 4 * k].reshape((k, 4) + a.shape[1:]))
    if 4 * k == a.shape[0]:
        return _seq(parts)
    return _seq(np.concatenate([parts[:1], a[4 * k :], parts[1:]]))  # one chain from parts[0]


def _inner_sum(x: np.ndarray, acc: np.dtype) -> np.ndarray:
    """``vectorized_inner_sum``: each row of ``x`` (..., n) in vectors of contiguous elements,
    row_sum over the vectors, then the elements past the last vector and the lanes in order."""
    loaded = _VEC_BYTES // x.dtype.itemsize  # 16-bit: 16 loaded, converted to two float vectors
    lanes = _VEC_BYTES // acc.itemsize
    n = x.shape[-1] // loaded * loaded
    vecs = x[..., :n].reshape(x.shape[:-1] + (n // loaded, loaded)).astype(acc, copy=False)
    if loaded != lanes:  # InnerSumCastLoadPolicy: first + second
        vecs = vecs[..., :lanes] + vecs[..., lanes:]
    vec_acc = row_sum(_front(vecs, vecs.ndim - 2))
    chain = vec_acc if n == x.shape[-1] else np.concatenate([x[..., n:].astype(acc), vec_acc], axis=-1)
    return np.add.accumulate(chain, axis=-1)[..., -1] + acc.type(0)  # along the last axis: in order


def _outer_sum(x: np.ndarray, acc: np.dtype, group: int) -> np.ndarray:
    """``vectorized_outer_sum`` / ``scalar_outer_sum``: columns of ``x`` (n, ..., cols) reduced along
    axis 0, ``group`` columns at a time with multi_row_sum, the rest with row_sum (column by
    column the same additions whether in vectors or not)."""
    x = x.astype(acc, copy=False)
    split = x.shape[-1] // group * group
    if split == x.shape[-1]:
        return multi_row_sum(x)
    if split == 0:
        return row_sum(x)
    return np.concatenate([multi_row_sum(x[..., :split]), row_sum(x[..., split:])], axis=-1)


def _loop2d(x: np.ndarray, acc: np.dtype) -> np.ndarray:
    """cascade_sum's loop over a 2-D block ``x`` (..., size1, size0) reducing size0 (its
    ``[..., j, :]`` rows); one value per row, in the accumulate type."""
    s0, s1 = (st // x.itemsize for st in x.strides[-1:-3:-1])
    size0, size1 = x.shape[-1], x.shape[-2]
    loaded = _VEC_BYTES // x.itemsize
    if s0 == 1 and size0 >= loaded:
        return _inner_sum(x, acc)
    cols = _front(x, x.ndim - 1)  # (size0, ..., size1)
    if s1 == 1 and size1 >= loaded:
        group = 4 * (_VEC_BYTES // acc.itemsize)
    elif abs(s0) < abs(s1) or size1 == 1:
        return row_sum(cols.astype(acc))
    else:
        group = 4
    return _outer_sum(cols, acc, group)


@functools.lru_cache(maxsize=512)
def _iteration(shape, strides, dims):
    """TensorIterator's reduction layout (reorder_dimensions, coalesce_dimensions): the dims
    innermost first, the reduced ones before the rest, in the order of their input strides
    (``strides``, in elements), the rest in the order of the output's (contiguous); adjacent
    dims merged where input and output both allow. A list of (size, input stride, reduced),
    and the order of the input's axes, outermost first, that reads it as a view."""
    out_strides, ost = {}, 1
    for k in reversed(range(len(shape))):
        out_strides[k] = 0 if k in dims else ost
        ost *= 1 if k in dims else shape[k]
    inner_first = sorted(dims, key=lambda k: strides[k]) + [k for k in reversed(range(len(shape))) if k not in dims]
    merged = []
    for k in inner_first:
        size, s, o, red = shape[k], strides[k], out_strides[k], k in dims
        if size == 1:
            continue
        if merged:
            psize, ps, po, pred = merged[-1]
            if s == psize * ps and o == psize * po and red == pred:
                merged[-1] = (psize * size, ps, po, pred)
                continue
        merged.append((size, s, o, red))
    perm = tuple(k for k in range(len(shape)) if shape[k] == 1) + tuple(
        k for k in reversed(inner_first) if shape[k] > 1
    )
    return [(size, s, red) for size, s, _, red in merged] or [(1, 1, True)], perm


def _front(a: np.ndarray, axis: int) -> np.ndarray:
    """``np.moveaxis(a, axis, 0)`` for a non-negative ``axis``, at a transpose's cost."""
    return a.transpose((axis,) + tuple(k for k in range(a.ndim) if k != axis))


def _strided(x: np.ndarray) -> np.ndarray:
    """``x`` if TensorIterator can read it where it is (positive strides, whole elements: a
    slice, a transposition), else a C-contiguous copy (numpy's negative or zero strides, which
    a PyTorch tensor reaches only through a copy: flip, or an expand that sum_out copies)."""
    if x.ndim == 0 or x.flags.c_contiguous:
        return x
    if all(st > 0 and st % x.itemsize == 0 for st, n in zip(x.strides, x.shape) if n > 1):
        return x
    return np.ascontiguousarray(x)


def _dense(x: np.ndarray) -> np.ndarray:
    """``x`` if it is a permutation of a C-contiguous array (as PyTorch's transposed views), else
    a C-contiguous copy (other strided views are read as if contiguous: an approximation)."""
    if x.ndim == 0 or x.flags.c_contiguous:
        return x
    if min(x.strides) >= 0 and np.transpose(x, np.argsort(x.strides, kind="stable")[::-1]).flags.c_contiguous:
        return x
    return np.ascontiguousarray(x)


def sum_data(x: np.ndarray, dims: tuple, keepdim: bool = False, out_dtype=None) -> np.ndarray:
    """``x.sum(dims)`` of a float array as PyTorch's cascade_sum adds it, in ``out_dtype``
    (the input is cast to it first, as make_reduction_from_out_ty does on CPU).

    >>> sum_data(np.array([1e8, 1.0, -1e8], np.float32), (0,)).item()
    0.0
    """
    out_dtype = np.dtype(out_dtype or x.dtype)
    x = _strided(np.asarray(x).astype(out_dtype, copy=False))  # astype keeps a transposed layout
    dims = tuple(sorted(d % x.ndim for d in dims)) if x.ndim else ()
    out_shape = tuple(1 if k in dims else s for k, s in enumerate(x.shape))
    if x.size == 0:
        return np.zeros(out_shape if keepdim else [s for k, s in enumerate(x.shape) if k not in dims], out_dtype)
    if x.flags.c_contiguous and len(dims) == x.ndim and x.size < _GRAIN_SIZE:  # the common loss.sum()
        acc = _acc_dtype(out_dtype)
        flat = x.reshape(1, -1)
        value = _inner_sum(flat, acc) if x.size >= _VEC_BYTES // x.itemsize else row_sum(flat.T.astype(acc))
        res = np.asarray(value[0] + acc.type(0)).astype(out_dtype)  # out = 0 + sum
        return _own(res.reshape(out_shape)) if keepdim else res
    its, perm = _iteration(x.shape, tuple(st // x.itemsize for st in x.strides), dims)
    if out_dtype in _REDUCED and len(its) >= 2 and its[0][2] and its[1][2]:
        # sum_out's should_use_acc_buffer: two reduced dims first are summed in float
        res = sum_data(x.astype(np.float32), dims, True).astype(out_dtype)
    else:
        res = _cascade(x, its, perm, _acc_dtype(out_dtype)).reshape(out_shape)
    return _own(res if keepdim else res.reshape([s for k, s in enumerate(x.shape) if k not in dims]))


def _own(a: np.ndarray) -> np.ndarray:
    """``a`` as a fresh array holding its own data (the autograd engine adds into those in place)."""
    return a if a.base is None else a.copy()


def _cascade(x: np.ndarray, its, perm, acc: np.dtype) -> np.ndarray:
    """cascade_sum over the iteration ``its``: the loop's value for each (outer index, row),
    stored into the output by ``out = out + value`` (rounded to the output type each time)."""
    if len(its) == 1:
        its = its + [(1, 0, True)]
    size = [d[0] for d in its]
    view = x.transpose(perm).reshape(tuple(reversed(size)))  # merges only what is one stride: a view
    if not its[0][2]:  # nothing reduced: out = 0 + x
        return (x.astype(acc) + acc.type(0)).astype(x.dtype)
    threads = _intraop_threads()
    if all(r for *_, r in its) and x.size >= _GRAIN_SIZE and threads > 1:
        # TensorIteratorBase::two_pass_reduction: one share of the elements (in iteration
        # order) per thread, summed by serial_for_each's 2-D blocks into its own slot, then the slots
        share = -(-x.size // min(threads, -(-x.size // _GRAIN_SIZE)))
        slots = np.zeros(threads, x.dtype)
        for t, start in enumerate(range(0, x.size, share)):
            values = []
            for at, step0, step1 in _dim_counter(size, start, min(start + share, x.size)):
                block = tuple(reversed(at[2:])) + (slice(at[1], at[1] + step1), slice(at[0], at[0] + step0))
                values.append(_loop2d(view[block], acc))
            slots[t] = _store(np.concatenate(values), x.dtype, acc)
        return np.asarray(_loop2d(slots[None], acc) + acc.type(0), x.dtype)
    red = [d[2] for d in reversed(its[1:])]  # the axes of ``view`` but its last, outermost first
    keep = [k for k, r in enumerate(red) if not r]
    if x.size < _GRAIN_SIZE or threads == 1:
        return _serial(view, red, x.dtype, acc)
    # parallel_dim_reduction: the outermost kept dim with a column per thread (else the largest)
    # split in equal shares of columns, rounded to 128 bytes where the columns are adjacent;
    # each share is its own iteration (its loops see their share's sizes)
    dim = len(its) - 1
    for d in range(len(its) - 1, -1, -1):
        if its[d][2]:
            break
        if size[d] >= threads:
            dim = d
            break
        if size[d] > size[dim]:
            dim = d
    cols, axis = size[dim], len(its) - 1 - dim
    chunk = -(-cols // min(threads, cols))
    multiple = 128 // x.itemsize if its[dim][1] == 1 else 1
    parts = []
    for begin in range(0, cols, chunk):
        end = min(cols, begin + chunk)
        begin, end = begin - begin % multiple, end if end == cols else end - end % multiple
        if begin < end:
            share = view[(slice(None),) * axis + (slice(begin, end),)]
            parts.append(_serial(share, red, x.dtype, acc))
    return np.concatenate(parts, axis=keep.index(axis))


def _serial(view: np.ndarray, red: list, dtype: np.dtype, acc: np.dtype) -> np.ndarray:
    """serial_for_each over the whole iteration ``view`` (its 2-D blocks one per outer index):
    the loop's values stored into the output (the kept axes of ``red``, outermost first)."""
    values = _loop2d(view, acc)  # (outer..., size1)
    keep = [k for k, r in enumerate(red) if not r]
    seq = [k for k, r in enumerate(red) if r]  # stored one after another, the innermost fastest
    return _store(values.transpose(seq + keep).reshape((-1,) + tuple(values.shape[k] for k in keep)), dtype, acc)


def _store(values: np.ndarray, dtype: np.dtype, acc: np.dtype) -> np.ndarray:
    """The loop's values stored one after another (axis 0) into an output from 0: ``out = out +
    value``, in the accumulate type, rounded to the output's each time."""
    if acc == dtype:
        return _seq(values)
    out = np.zeros(values.shape[1:], dtype)
    for v in values:
        out = (out.astype(acc) + v).astype(dtype)
    return out


def _dim_counter(shape, begin: int, end: int):
    """serial_for_each's loop calls over elements [begin, end) of an iteration of ``shape``
    (innermost first), as DimCounter steps them: (index of the first element, size0, size1):
    a partial row, then whole rows up to the end of dim 1, and so on."""
    values, rest = [], begin
    for n in shape:
        values.append(rest % n)
        rest //= n
    offset = begin
    while offset < end:
        step0 = min(shape[0] - values[0], end - offset)
        step1 = min(shape[1] - values[1], (end - offset) // shape[0]) if step0 == shape[0] else 1
        yield tuple(values), step0, step1
        offset += step0 * step1
        i, overflow = (1, step1) if step1 != 1 else (0, step0)
        while i < len(shape) and overflow > 0:
            value = values[i] + overflow
            overflow = 1 if value >= shape[i] else 0
            values[i] = value - shape[i] if overflow else value
            i += 1


def mean_data(x: np.ndarray, dims: tuple, keepdim: bool = False, out_dtype=None) -> np.ndarray:
    """mean_out on CPU: ``sum(dims) / n``, summed in float for half (ReduceOps.cpp)."""
    out_dtype = np.dtype(out_dtype or x.dtype)
    wide = _acc_dtype(out_dtype)
    n = 1
    for k in set(d % x.ndim for d in dims) if x.ndim else ():
        n *= x.shape[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((sum_data(x, dims, keepdim, wide) / wide.type(n)).astype(out_dtype))  # 0-d: an array


def cumsum_data(x: np.ndarray, dim: int) -> np.ndarray:
    """cumsum_cpu_kernel: one chain along ``dim`` from 0 in ``at::acc_type<T, false>`` (double
    for float, float for half), each partial sum rounded back (ReduceOpsKernel.cpp).

    >>> cumsum_data(np.array([1e8, 1.0, -1e8], np.float32), 0).tolist()
    [100000000.0, 100000000.0, 1.0]
    """
    acc = np.float32 if x.dtype == np.float16 else np.float64
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.cumsum(x, axis=dim, dtype=acc) + acc(0)).astype(x.dtype)


def var_data(x: np.ndarray, dims: tuple, correction: float, keepdim: bool = False, take_sqrt: bool = False):
    """var / std of a float array over ``dims`` as ReduceOps.cpp's std_var_out computes it.

    One output of float or double (``std_var_all_cpu``): the mean by ``mean()``, then the
    squares of ``double(x) - mean`` added in one chain per thread's share, in double. Otherwise
    (``std_var_kernel_impl``): WelfordOps in double, one element at a time in memory order,
    for each output (for more than 64 float or half elements, a two-pass sum in double). The
    double result is rounded to the input's type (via float for half).

    >>> var_data(np.array([1.0, 0.7, 0.1], np.float32), (0,), 1).item()
    0.20999999344348907
    """
    dims = tuple(sorted(d % x.ndim for d in dims)) if x.ndim else ()
    out_shape = tuple(1 if k in dims else s for k, s in enumerate(x.shape))
    final = out_shape if keepdim else tuple(s for k, s in enumerate(x.shape) if k not in dims)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if x.size == 0:
            return np.full(final, np.nan, x.dtype)
        if int(np.prod(out_shape)) <= 1 and x.dtype != np.float16:
            mean = float(mean_data(x, tuple(range(x.ndim))))
            sq = (np.ravel(_dense(x), order="K").astype(np.float64) - mean) ** 2  # in memory order
            total = 0.0
            for part in _shares(sq.size, np.less_equal):  # at::parallel_reduce: each share from 0
                total = total + (0.0 + _seq(sq[part]))
            var = np.float64(total) / max(0.0, x.size - correction)
        else:
            x = _dense(x)  # the reduced elements in memory order: the outermost first
            red = sorted(dims, key=lambda k: -x.strides[k])
            moved = np.moveaxis(x, red, range(x.ndim - len(dims), x.ndim)) if dims else x[..., None]
            cols = moved.reshape(-1, int(np.prod([x.shape[k] for k in dims])))
            wide = cols.astype(np.float64)
            if x.dtype != np.float64 and cols.shape[1] > 64:
                # long rows of float/half: a two-pass m2 in double rounds to the same float
                # (Welford's and this one differ by far less than a float's ulp) but is vectorized
                m2 = ((wide - wide.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
            elif cols.shape[0] * 16 <= cols.shape[1]:
                # few long rows: Welford's steps depend on each other's rounding, so no array op
                # can take them at once; Python's floats (doubles) step ~50x faster than arrays
                m2 = np.array([_welford_m2(row) for row in wide.tolist()])
            else:
                mean = m2 = np.zeros(cols.shape[0])
                for n, col in enumerate(wide.T, 1):  # WelfordOps::reduce, all rows at once
                    delta = col - mean
                    mean = mean + delta / n
                    m2 = m2 + delta * (col - mean)
            nf = cols.shape[1]
            var = m2 / (nf - correction if nf > correction else 0)
        if take_sqrt:
            var = np.sqrt(var)
        res = np.asarray(var).astype(np.float32 if x.dtype == np.float16 else x.dtype).astype(x.dtype)
    return _own(res.reshape(final))


def _welford_m2(row: list) -> float:
    """WelfordOps::reduce over ``row`` (Python floats) in order, in double: the sum of squared
    deviations m2 (the mean's steps rounded as ``mean + delta / n``).

    >>> _welford_m2([1.0, 2.0, 4.0])
    4.666666666666666
    """
    mean = m2 = 0.0
    n = 0
    for v in row:
        n += 1
        delta = v - mean
        mean += delta / n
        m2 += delta * (v - mean)
    return m2


def _shares(numel: int, small=np.less):
    """The index ranges at::parallel_for gives its threads: one for a small range (``small``
    against the grain size), else equal shares."""
    threads = _intraop_threads()
    if small(numel, _GRAIN_SIZE) or threads == 1:
        return [slice(0, numel)]
    share = -(-numel // min(threads, -(-numel // _GRAIN_SIZE)))
    return [slice(start, start + share) for start in range(0, numel, share)]


def _fmadd(a, b, c):
    """``a * b + c`` rounded once (vec::fmadd): float's product is exact in double, double's
    by ``_factories._fma``."""
    if a.dtype == np.float64:
        return _fma(a, b, c)
    return (a.astype(np.float64) * b + c).astype(a.dtype)


def _add_moments(m0_add, m1_add, m2_add, m0, m1, m2, vec=True):
    """moments_utils.h ``AddMomentsVec`` (``vec``) or ``AddMoments``: the moments (count,
    mean, m2) ``add`` merged into the others; counts are ints, the rest arrays of one type."""
    t = m1.dtype.type
    n = m0 + m0_add
    c = t(t(m0_add) / t(n)) if n else t(0)
    delta = m1_add - m1
    if vec:
        cd = c * delta
        return n, m1 + cd, _fmadd(delta * t(m0), np.broadcast_to(cd, delta.shape), m2 + m2_add)
    return (
        n,
        _fmadd(np.broadcast_to(c, delta.shape), delta, m1),
        m2 + _fmadd(delta * delta * c, np.broadcast_to(t(m0), delta.shape), m2_add),
    )


def rowwise_moments(x: np.ndarray):
    """moments_utils.h ``RowwiseMoments`` for each row of ``x`` (..., N), float or double:
    Welford over chunks of 16 vectors (8 float / 4 double lanes, with fmadd), the chunks'
    moments merged by a binary counter (a cascade), then the elements past the last vector
    one by one and the lanes merged in. Returns (mean, biased variance).

    >>> [v.item() for v in rowwise_moments(np.array([5.0, 2.0, -3.0], np.float32))]
    [1.3333332538604736, 10.888888359069824]
    """
    t = x.dtype.type
    size = x.shape[-1]
    lanes = _VEC_BYTES // x.dtype.itemsize
    n = size // lanes
    m = -(-n // 16)
    depth = _ceil_log2(m)
    zero = np.zeros(x.shape[:-1] + (lanes,), x.dtype)
    stk = [(0, zero, zero) for _ in range(depth)]
    vecs = x[..., : n * lanes].reshape(x.shape[:-1] + (n, lanes))
    for i in range(m):  # UpdateMomentsVec, then the binary counter
        m1v = m2v = zero
        chunk = vecs[..., 16 * i : 16 * i + 16, :]
        for j in range(chunk.shape[-2]):
            xv = chunk[..., j, :]
            delta = xv - m1v
            m1v = _fmadd(np.full_like(delta, t(1) / t(j + 1)), delta, m1v)
            m2v = _fmadd(delta, xv - m1v, m2v)
        stk[0] = _add_moments(chunk.shape[-2], m1v, m2v, *stk[0])
        mask, j = i + 1, 1
        while j < depth and mask & 1 == 0:
            stk[j] = _add_moments(*stk[j - 1], *stk[j])
            stk[j - 1] = (0, zero, zero)
            mask >>= 1
            j += 1
    for level in stk[1:]:
        stk[0] = _add_moments(*level, *stk[0])
    m0, m1, m2 = 0, np.zeros(x.shape[:-1], x.dtype), np.zeros(x.shape[:-1], x.dtype)
    for k in range(n * lanes, size):
        xk = x[..., k]
        delta = xk - m1
        m0 += 1
        m1 = m1 + delta / t(m0)
        m2 = m2 + delta * (xk - m1)
    for k in range(lanes):
        m0, m1, m2 = _add_moments(n, stk[0][1][..., k], stk[0][2][..., k], m0, m1, m2, vec=False)
    return m1, m2 / t(size)


def layer_norm_data(x: np.ndarray, k: int, weight, bias, eps: float):
    """layer_norm_kernel.cpp ``LayerNormKernelImplInternal`` (float, double) over the last
    ``k`` dims: RowwiseMoments, ``rstd = 1 / sqrt(var + eps)``, then
    ``fmadd((x + -mean) * rstd, gamma, beta)`` (the compiled kernel fuses the last multiply-add,
    gamma 1 and beta 0 when not given). Returns (mean, rstd) with size-1 normalized dims, and y.

    >>> layer_norm_data(np.array([5.0, 2.0, -3.0], np.float32), 1, None, None, 1e-5)[2][1].item()
    0.20203045010566711
    """
    t = x.dtype.type
    lead = x.shape[: x.ndim - k]
    rows = x.reshape(int(np.prod(lead)), int(np.prod(x.shape[len(lead) :])))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean, var = rowwise_moments(rows)
        rstd = t(1) / np.sqrt(var + t(eps))
        y = (rows + (-mean)[:, None]) * rstd[:, None]
        gamma = np.ones(rows.shape[1], x.dtype) if weight is None else weight._data.astype(x.dtype).ravel()
        beta = np.zeros(rows.shape[1], x.dtype) if bias is None else bias._data.astype(x.dtype).ravel()
        y = _fmadd(y, np.broadcast_to(gamma, y.shape), np.broadcast_to(beta, y.shape))
    stat = lead + (1,) * k
    return _own(mean.reshape(stat)), _own(rstd.reshape(stat)), _own(y.reshape(x.shape))


def nll_sum(terms: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """LossNLL.cpp's sum of ``terms`` (one per sample, in order; ``loss -= x * w`` adds
    ``-(x * w)``, ``weight += w`` adds w): eight levels of partial sums; after the sample at
    index ``i``, level j is added into level j + 1 (and cleared) while ``i``'s bits j*4 to
    j*4 + 3 are all 0, so sample 0 rises to the top alone and then blocks of 16 go up; then
    the levels added in order from 0. An ignored sample (``kept`` False) adds nothing and
    moves nothing up.

    >>> nll_sum(np.array([1.0, 1e8, 1.0, -1e8], np.float32)).item()  # numpy's sum: 0.0
    1.0
    """
    t = terms.dtype.type
    n = terms.shape[0]
    power = max(4, _ceil_log2(n) // 8)
    if kept is not None and not kept.all():
        # ignored samples move the flushes: replay the loop (rare, and short of float arrays)
        partial = [t(0)] * 8
        mask = (1 << power) - 1
        for i in np.flatnonzero(kept).tolist():
            partial[0] = t(partial[0] + terms[i])
            for j in range(7):
                if i & (mask << (j * power)):
                    break
                partial[j + 1], partial[j] = t(partial[j + 1] + partial[j]), t(0)
        total = t(0)
        for p in partial:
            total = t(total + p)
        return np.asarray(total)
    if n == 0:
        return np.zeros((), terms.dtype)
    if n <= 256:  # fewer than 16 blocks: level 0's leftover, level 1's blocks, then sample 0
        # (numpy's chains start from their first term, not +0: a -0.0 they keep turns +0 at the end)
        full = (n - 1) // 16 * 16
        p0 = np.add.accumulate(terms[1 + full :])[-1] if full < n - 1 else t(0)
        if full:
            p0 = p0 + np.add.accumulate(np.add.accumulate(terms[1 : 1 + full].reshape(-1, 16), axis=1)[:, -1])[-1]
        return np.asarray(p0 + terms[0] + t(0))
    step = 1 << power
    level, tops = terms[1:], terms[:1]  # sample 0 went up alone
    pieces = []
    for _ in range(7):  # levels 0 to 6: full blocks of ``step`` go up, what is left stays
        full = level.shape[0] // step * step
        pieces.append(_seq(level[full:]))
        level = _block_sums(level, full, step) if full else level[:0]
    pieces.append(_seq(np.concatenate([tops, level])))  # the top level: sample 0, then what came up
    total = pieces[0]
    for p in pieces[1:]:
        total = total + p
    return np.asarray(total + t(0))


def _kernel_float(a: np.ndarray) -> bool:
    """Float or double with at least one dim: what the softmax kernels replayed here take (half
    goes through float in other kernels)."""
    return a.ndim > 0 and a.dtype in (np.float32, np.float64)


def softmax_data(w: np.ndarray, axis: int, log: bool) -> np.ndarray:
    """softmax / log_softmax of float or double ``w`` over ``axis`` as SoftMaxKernel.cpp computes
    them: ``e = exp(x - max)`` and its sum (``softmax_sum``), then ``x - max - log(sum)``, or
    ``e * (1 / sum)`` (last dim) / ``e / sum`` (another). numpy's exp and log may differ from
    PyTorch's vectorised ones in the last bit; the order of the additions is PyTorch's.

    >>> softmax_data(np.array([[0.0, 0.0]], np.float32), 1, log=True).tolist()
    [[-0.6931471824645996, -0.6931471824645996]]
    """
    z = w - w.max(axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(z)
    s = softmax_sum(e, axis)
    if log:
        return z - np.log(s)
    return e * (w.dtype.type(1) / s) if axis == w.ndim - 1 else e / s


def softmax_backward_data(g: np.ndarray, r: np.ndarray, axis: int, log: bool) -> np.ndarray:
    """_softmax_backward_data / _log_softmax_backward_data on CPU (float, double):
    ``(g - sum(g * r)) * r`` and ``g - exp(r) * sum(g)``, summed as the kernels do: over the last
    dim by ``vec_sum`` (from the first vector); over another, a chain per inner element from 0,
    softmax's with fused multiply-adds (``sum = fma(g, r, sum)``).

    >>> softmax_backward_data(np.ones((1, 3)), np.zeros((1, 3)), 1, log=True).tolist()
    [[-2.0, -2.0, -2.0]]
    """
    last = axis == g.ndim - 1
    if log:
        s = vec_sum(g)[..., None] if last else softmax_sum(g, axis)
        return g - np.exp(r) * s
    if last:
        return (g - vec_sum(g * r)[..., None]) * r
    gs, rs = _front(g, axis), _front(r, axis)
    s = np.zeros(gs.shape[1:], g.dtype)
    for gk, rk in zip(gs, rs):
        s = _fmadd(gk, rk, s)
    return (g - np.expand_dims(s, axis)) * r


def norm2_data(x: np.ndarray, dims: tuple, keepdim: bool = False):
    """``linalg.vector_norm(x, 2, dims)`` of float or double ``x`` through ReduceOpsKernel.cpp's
    vectorised last-dim path (one reduced dim, contiguous): per row, squares added into the
    lanes of one AVX2 vector from 0, the lanes added in order, then the elements past the last
    vector (as GCC compiled that loop: float's in 4-lane pieces of rounded squares first, the
    rest with fused multiply-adds; double's all fused), then ``sqrt``. Otherwise
    binary_kernel_reduce's NormTwoOps, one chain per output; None (left to numpy) where that
    is split over threads.

    >>> norm2_data(np.array([3.0, 4.0], np.float32), (0,)).item()
    5.0
    """
    if x.dtype not in (np.float32, np.float64) or x.size == 0:
        return None
    dims = tuple(sorted(d % x.ndim for d in dims)) if x.ndim else ()
    x = _strided(x)
    its, perm = _iteration(x.shape, tuple(st // x.itemsize for st in x.strides), dims)
    out_shape = tuple(1 if k in dims else s for k, s in enumerate(x.shape))
    if not (its[0][2] and its[0][1] == 1) or any(r for *_, r in its[1:]):
        # binary_kernel_reduce's NormTwoOps: ``acc + x * x`` from 0 in iteration order, one
        # chain per output (a small one: past the grain size PyTorch splits it over threads)
        if x.size // max(1, int(np.prod(out_shape))) >= _GRAIN_SIZE:
            return None
        red = [k for k in perm if k in dims]  # outermost first
        kept = [k for k in range(x.ndim) if k not in dims]
        cols = x.transpose(red + kept).reshape((-1,) + tuple(x.shape[k] for k in kept))
        res = np.sqrt(_seq(cols * cols)).reshape(out_shape)
        return _own(res if keepdim else res.reshape([s for k, s in enumerate(x.shape) if k not in dims]))
    rows = x.transpose(perm).reshape(-1, its[0][0])
    lanes, piece = _VEC_BYTES // x.itemsize, 4  # (double's tail is shorter than 4: all fused)
    n = rows.shape[1] // lanes * lanes
    sq = rows[:, :n] * rows[:, :n]
    acc = _seq(sq.reshape(rows.shape[0], n // lanes, lanes).transpose(1, 0, 2))  # (rows, lanes)
    total = np.add.accumulate(acc, axis=1)[:, -1]
    rest = rows.shape[1] - n
    for k in range(n, rows.shape[1]):
        xk = rows[:, k]
        total = total + xk * xk if k < n + rest // piece * piece else _fmadd(xk, xk, total)
    res = np.sqrt(total).reshape(out_shape)
    return _own(res if keepdim else res.reshape([s for k, s in enumerate(x.shape) if k not in dims]))


def _prod_sum(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``vec::map2_reduce_all(x * y, +)`` over the last axis as layer_norm_kernel.cpp's AVX2 build
    compiled it: products added into 8 float / 4 double lanes from the first vector's, the
    tail's products fused into the first lanes (``acc + x * y`` contracted there), the lanes
    then combined (float's shuffle tree, double's in order); a row shorter than a vector in
    order."""
    lanes = _VEC_BYTES // p.itemsize
    d = p.shape[-1]
    if d < lanes:
        return np.add.accumulate(p * q, axis=-1)[..., -1]
    n = d // lanes * lanes
    prods = (p[..., :n] * q[..., :n]).reshape(p.shape[:-1] + (n // lanes, lanes))
    acc = _seq(_front(prods, p.ndim - 1), from_zero=False)
    if n < d:
        acc[..., : d - n] = _fmadd(p[..., n:].copy(), np.ascontiguousarray(q[..., n:]), acc[..., : d - n].copy())
    if p.dtype != np.float32:
        return np.add.accumulate(acc, axis=-1)[..., -1]
    while acc.shape[-1] > 1:
        half = acc.shape[-1] // 2
        acc = acc[..., :half] + acc[..., half:]
    return acc[..., 0]


def layer_norm_backward_data(dy: np.ndarray, x: np.ndarray, mean: np.ndarray, rstd: np.ndarray, gamma, mask):
    """layer_norm_kernel.cpp ``LayerNormBackwardKernelImplInternal`` (float, double) on rows
    (M, N), as its AVX2 build computes it (where GCC fused a multiply-add, so does this):
    ``ds = sum(dy * x * gamma)``, ``db = sum(dy * gamma)`` (``_prod_sum``), ``b = fma(db, mean,
    -ds) * rstd**3 / N``, ``c = fma(-b, mean, -(db * rstd / N))``, ``dx = fma(b, x, rstd * dy *
    gamma) + c``; dgamma and dbeta in one buffer per thread over its share of the rows
    (``fma(dy, fma(rstd, x, -rstd * mean), buf)`` and ``buf + dy``), the buffers then added
    from 0. Returns (dx, dgamma, dbeta), None where ``mask`` does not ask.

    >>> dx = layer_norm_backward_data(np.ones((1, 2)), np.array([[0.0, 2.0]]), np.ones(1), np.ones(1), None, (1, 0, 0))[0]
    >>> dx.tolist()
    [[0.0, 0.0]]
    """
    t = x.dtype.type
    m, n = x.shape
    dx = dgamma = dbeta = None
    g = None if gamma is None else np.broadcast_to(gamma, x.shape)
    if mask[0]:
        scale = t(1) / t(n)
        ones = np.ones_like(dy)
        ds = _prod_sum(dy, x) if g is None else _prod_sum(dy * x, g)
        db = _prod_sum(dy, ones if g is None else g)
        b = _fmadd(db, mean, -ds) * rstd * rstd * rstd * scale
        c = _fmadd(-b, mean, -(db * rstd * scale))
        ady = rstd[:, None] * dy if g is None else rstd[:, None] * dy * g
        dx = _fmadd(np.ascontiguousarray(np.broadcast_to(b[:, None], x.shape)), x, ady) + c[:, None]
    if mask[1] or mask[2]:
        threads = _intraop_threads()
        chunk = -(-m // min(threads, m))
        shares = -(-m // chunk)
        pad = shares * chunk - m  # (zero rows add nothing: fma(0, 0, buf) is buf)
        dyp = np.concatenate([dy, np.zeros((pad, n), x.dtype)]).reshape(shares, chunk, n)
        if mask[1]:
            h = _fmadd(
                np.broadcast_to(rstd[:, None], x.shape).copy(),
                x,
                np.broadcast_to((-rstd * mean)[:, None], x.shape).copy(),
            )
            hp = np.concatenate([h, np.zeros((pad, n), x.dtype)]).reshape(shares, chunk, n)
            buf = np.zeros((shares, n), x.dtype)
            for i in range(chunk):  # each step rounds on the last: one row of every share at a time
                buf = _fmadd(dyp[:, i].copy(), hp[:, i].copy(), buf)
            dgamma = _seq(buf)
        if mask[2]:
            dbeta = _seq(_seq(dyp.swapaxes(0, 1)))
    return dx, dgamma, dbeta

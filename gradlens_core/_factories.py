"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ``randn`` ... and the random generator.

>>> import gradlens_core as torch
>>> torch.tensor([1, 2, 3.]).dtype, torch.tensor([1, 2]).dtype
(torch.float32, torch.int64)
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings

import numpy as np

from . import _dtype, _events, _random
from ._layout import empty_preserving
from ._tensor import Tensor
from ._warn import warn_once

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "randperm",
    "bernoulli",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "Generator",
    "default_generator",
    "device",
]


_DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, vulkan, mps, meta, hpu, "
    "mtia, privateuseone"
)


class device:
    """A device as PyTorch names it; tensors live only on the cpu.

    >>> device("cpu:0"), str(device("cpu", 0)), device("cpu:0") == device("cpu")
    (device(type='cpu', index=0), 'cpu:0', False)
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        kind, sep, idx = str(type).partition(":")
        if kind not in _DEVICE_TYPES.split(", "):
            raise RuntimeError(f"Expected one of {_DEVICE_TYPES} device type at start of device string: {type}")
        if sep:
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}"
                )
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = kind
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        # PyTorch compares devices only with devices: t.device == "cpu" is False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def _check_device(dev) -> None:
    """Refuse a device other than the cpu as PyTorch built without CUDA does."""
    if dev is None:
        return
    kind = dev.type if isinstance(dev, device) else device(dev).type if isinstance(dev, str) else "cpu"
    if kind == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    if kind != "cpu":
        raise RuntimeError(f"gradlens_core runs on the CPU only; cannot use device '{kind}'")


def _check_requires_grad(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if t._data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._requires_grad = True
    return t


def _created(t: Tensor, op: str) -> Tensor:
    if _events.active:
        _events.emit("created", tensor=t, grad_fn=None, inputs=(), op=op)
    return t


def _has_tensor(data) -> bool:
    if isinstance(data, Tensor):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_tensor(d) for d in data)
    return False


def _unwrap(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def _is_sequence(obj) -> bool:
    # PySequence_Check: what PyTorch's reader descends into (not a dict or set)
    return isinstance(obj, (list, tuple, str, bytes, range, np.ndarray, Tensor))


def _check_nested(data, dt) -> list:
    """Raise PyTorch's error for nested data it refuses, in its order: compute_sizes walks
    the first items (``len`` of a 0-d array fails), infer_scalar_type looks at every item
    when no dtype is given, recursive_store checks each sequence's length and stores the
    scalars. Run only where numpy refused the data or may have read it differently.
    Returns the sizes.

    >>> _check_nested([[1, 2], [3]], None)
    Traceback (most recent call last):
    ValueError: expected sequence of length 2 at dim 1 (got 1)
    """
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    sizes, seq = [], data
    while _is_sequence(seq) and not isinstance(seq, Tensor):
        sizes.append(len(seq))  # a 0-d numpy array: TypeError len() of unsized object
        if len(sizes) > 64:
            raise ValueError(f"too many dimensions '{type(seq).__name__}'")
        if not sizes[-1]:
            break
        seq = seq[0]

    def infer(obj) -> int:  # 0 bool, 1 integer, 2 floating: enough to pick store's errors
        if isinstance(obj, (bool, np.bool_)):
            return 0
        if isinstance(obj, (int, np.integer)):
            return 1
        if isinstance(obj, (float, complex, np.generic)):
            return 2
        if isinstance(obj, (Tensor, np.ndarray)):
            return "bif".find(np.asarray(obj._data if isinstance(obj, Tensor) else obj).dtype.kind) % 3
        if isinstance(obj, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(obj).__name__}'")
        if not _is_sequence(obj):
            raise RuntimeError(f"Could not infer dtype of {type(obj).__name__}")
        return builtins.max((infer(item) for item in obj), default=2)

    def store(obj, dim: int) -> None:
        if dim == len(sizes):
            if isinstance(obj, Tensor) and obj._data.size != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
            if dt is not None and floating and isinstance(obj, complex):
                raise TypeError("must be real number, not complex")
            if not isinstance(obj, (numbers.Number, Tensor, np.ndarray)):
                if floating:
                    raise TypeError(f"must be real number, not {type(obj).__name__}")
                raise TypeError(f"'{type(obj).__name__}' object cannot be interpreted as an integer")
            if not floating and isinstance(obj, int) and not -(2**63) <= obj < 2**63:
                raise ValueError("Overflow when unpacking long long")
            return
        if not _is_sequence(obj) or (isinstance(obj, np.ndarray) and not obj.ndim):
            raise TypeError("not a sequence")
        if len(obj) != sizes[dim]:
            raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(obj)})")
        for item in obj:
            store(item, dim + 1)

    floating = (infer(data) == 2) if dt is None else dt.is_floating_point
    if 0 not in sizes:  # an empty result stores nothing (nor checks the other lengths)
        store(data, 0)
    return sizes


def _first_items_reach_array(data) -> bool:
    """Whether PyTorch's compute_sizes, walking first items, meets a numpy array (a 0-d one
    it cannot take the length of)."""
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return isinstance(data, np.ndarray)


_LIST_OF_ARRAYS_WARNING = (
    "Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider converting the list to a "
    "single numpy.ndarray with numpy.array() before converting to a tensor."
)


def _array_from(data, dt: _dtype.dtype | None) -> np.ndarray:
    from_numpy_like = isinstance(data, (np.ndarray, np.generic))
    types, arrays = (None, 0) if from_numpy_like or not isinstance(data, (list, tuple)) else _element_types(data)
    arr = _read(data, dt, from_numpy_like, types)
    for _ in range(
        arrays
    ):  # recursive_store's TORCH_WARN_ONCE, at each array it stores (once sizes and dtype are known)
        warn_once(_LIST_OF_ARRAYS_WARNING, stacklevel=None)
    return arr


def _read(data, dt, from_numpy_like: bool, types) -> np.ndarray:
    """``data`` as numpy array of torch.tensor's dtype and values (``types``: a list's
    ``_element_types``, else None)."""
    # numbers stored into an integer dtype are checked (an array is cast unchecked)
    checked = dt is not None and dt.np.kind in "iu" and not isinstance(data, np.ndarray)
    if checked:
        for cls in types or (type(data),):
            if issubclass(cls, np.floating) and not issubclass(cls, float):  # np.float64 is a float
                raise TypeError(f"'numpy.{cls.__name__}' object cannot be interpreted as an integer")
    if not from_numpy_like and (_has_tensor(data) or _first_items_reach_array(data)):
        _check_nested(data, dt)  # numpy would read these with its own rules
        data = _unwrap(data)
        from_numpy_like = True
    try:
        arr = np.array(data, dtype=None if dt is None or checked else dt.np)
    except (ValueError, TypeError) as e:
        sizes = () if from_numpy_like else _check_nested(data, dt)
        if 0 in sizes:  # [[], [1]] is empty, of shape (2, 0)
            return np.zeros(sizes, (dt or _dtype.default_float).np)
        if isinstance(e, TypeError):
            raise
        raise ValueError(f"expected sequence of equal lengths: {e}") from None
    if arr.dtype.kind in "OUSc" and not from_numpy_like:
        _check_nested(data, dt)
    if arr.dtype.kind == "f" and dt is not None and not from_numpy_like and np.isnan(arr).any():
        _check_nested(data, dt)  # numpy reads None as nan
    # numpy holds ints beyond int64 as objects, uint64 or (mixed with others) floats (with no dtype
    # given, a list of ints made floats is found below, from its elements' types)
    if arr.dtype == object or not from_numpy_like and (arr.dtype == np.uint64 or checked and _beyond(arr)):
        arr = _beyond_int64(data, arr, dt)
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    if checked:
        return _stored_integers(arr, dt)
    if dt is None:
        if arr.dtype.kind in "fiub" and not from_numpy_like and arr.ndim:
            if arr.dtype.kind == "f" and float not in types and not any(issubclass(c, np.floating) for c in types):
                arr = _beyond_int64(data, arr, dt)  # ints made floats: one beyond int64 is refused
            inferred = _list_dtype(types)  # numpy scalars in a list keep their dtypes
            if inferred is not None:
                try:
                    return np.array(data, dtype=inferred.np)
                except TypeError as e:  # np.bool_ where an integer is stored, ...
                    raise TypeError(str(e)) from None
        if arr.dtype.kind == "f" and not from_numpy_like:
            arr = arr.astype(_dtype.default_float.np)
        elif arr.dtype.kind in "iu" and not from_numpy_like:
            arr = arr.astype(np.int64)
        _dtype.from_numpy_dtype(arr.dtype)  # refuses unsupported dtypes with PyTorch's message
    return arr


def _beyond(arr: np.ndarray) -> bool:
    """Whether numpy's array of numbers holds one beyond int64's range."""
    return arr.dtype.kind in "uf" and arr.size > 0 and bool(np.abs(arr).max() >= 2.0**63)


def _beyond_int64(data, arr: np.ndarray, dt) -> np.ndarray:
    """``arr``, numpy's array of ``data``, which may hold a Python int beyond int64: where
    torch.tensor stores ints (an integer dtype, or none given and no float among the values) it
    reads each as an int64, refusing such an int; elsewhere it is a double."""
    flat = list(_flat(data))
    if not all(isinstance(v, numbers.Number) for v in flat):
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    stores_ints = dt.np.kind in "iu" if dt is not None else not any(isinstance(v, float) for v in flat)
    if stores_ints and any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in flat):
        raise ValueError("Overflow when unpacking long long")
    return np.array(data, dtype=np.float64 if dt is None else dt.np) if arr.dtype == object else arr


def _flat(data):
    if isinstance(data, (list, tuple)):
        for d in data:
            yield from _flat(d)
    else:
        yield data


def _stored_integers(arr: np.ndarray, dt: _dtype.dtype) -> np.ndarray:
    """``arr`` (numpy's array of the numbers) as torch.tensor stores them into the integer dtype
    ``dt``: each refused out of ``dt``'s range (c10::checked_convert, naming the dtype), a
    negative int wrapped into uint8. The smallest and largest values decide (the allowed values
    are a range), a nan among floats too (it is their min)."""
    if arr.size and arr.dtype.kind != "b":
        for v in (arr.min(), arr.max()):
            _dtype.checked_scalar(v.item(), dt, dt.name)
    with np.errstate(invalid="ignore"):
        return arr.astype(dt.np)


_PY_NUMBER_TYPES = {float: None, int: None, bool: None}


def _element_types(data) -> tuple:
    """The classes of a (nested) list's elements, and how many numpy arrays it holds (an
    array counts with its dtype's scalar type: PyTorch reads its items so, and warns).

    >>> _element_types([1.5, [np.array(2.0)]])
    ({<class 'float'>, <class 'numpy.float64'>}, 1)
    """
    types = set()
    arrays = 0

    def walk(items):
        nonlocal arrays
        for v in items:
            if isinstance(v, (list, tuple)):
                walk(v)
            elif isinstance(v, np.ndarray):
                arrays += 1
                types.add(v.dtype.type)
            else:
                types.add(v.__class__)

    walk(data)
    return types, arrays


def _list_dtype(types: set):
    """torch.tensor's inferred dtype of a list holding numpy scalars (each counts with its own
    dtype, a Python number with PyTorch's default for it, all promoted); None without any.
    ``types``: the classes of the list's elements."""
    if types.issubset(_PY_NUMBER_TYPES):
        return None
    result = None
    for cls in types:
        if issubclass(cls, np.generic):
            d = _dtype.from_numpy_dtype(np.dtype(cls))
        elif cls is bool:
            d = _dtype.bool_
        elif cls is int:
            d = _dtype.int64
        elif cls is float:
            d = _dtype.default_float
        else:
            return None
        result = d if result is None else _dtype.promote_types(result, d)
    return result


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (float32 for Python floats, int64 for ints)."""
    _check_device(device)
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
            "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        arr = data._data.astype(dtype.np if dtype else data._data.dtype, copy=True)
    else:
        arr = _array_from(data, dtype)
    t = Tensor._wrap(arr)
    return _created(_check_requires_grad(t, requires_grad), "tensor")


def as_tensor(data, dtype=None, device=None) -> Tensor:
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dtype.np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (writes through either are seen by both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    t = Tensor._wrap(array.view())
    if _events.active:
        _events.emit("created", tensor=t, grad_fn=None, inputs=(), op="from_numpy")
        _events.emit("aliased", tensor=t, source=None, kind="from_numpy", op="from_numpy", array=array)
    return t


def _size(size, op: str | None = None) -> tuple:
    given = size
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for i, s in enumerate(size):
        if not isinstance(s, (int, np.integer)):
            if not (s.__class__ is np.ndarray and s.ndim == 0 and s.dtype.kind in "iu"):  # (its __index__)
                raise _size_error(given, i, s, op)
        if s < 0:
            if op == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {[int(n) for n in size]}")
    return tuple(int(s) for s in size)


def _size_error(given, i, s, op) -> TypeError:
    """PyTorch's parser on an IntArrayRef ``size`` (an element not an int)."""
    from ._argparse import _type_name

    if op is None:
        return TypeError(f"size must be a tuple of ints, but got {type(s).__name__}")
    name = _type_name(s)
    if len(given) == 1 and isinstance(given[0], tuple):
        return TypeError(
            f"{op}(): argument 'size' (position 1) must be tuple of ints, but found element of type {name} at pos {i}"
        )
    if len(given) == 1 and not isinstance(given[0], list):
        return TypeError(f"{op}(): argument 'size' (position 1) must be tuple of ints, not {name}")
    return TypeError(
        f"{op}(): argument 'size' failed to unpack the object at pos {i + 1} with error "
        f'"type must be tuple of ints,but got {name}"'
    )


def _filled(size, value, dtype, requires_grad, op, checked=False) -> Tensor:
    """A new tensor of ``size`` filled with ``value``; ``checked``: a fill value of the user's,
    refused as PyTorch's fill_ refuses a number out of the dtype's range."""
    dt = dtype or _dtype.default_float
    shape = _size(size, op)
    if checked:
        value = _dtype.checked_scalar(value, dt)
    t = Tensor._wrap(np.full(shape, value, dtype=dt.np))
    return _created(_check_requires_grad(t, requires_grad), op)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _filled(size, 0, dtype, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _filled(size, 1, dtype, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _filled(size, 0, dtype, requires_grad, "empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if fill_value.__class__ is np.ndarray:  # a Number parameter: not even a 0-d array (numpy's scalars are)
        _refuse_arrays("full", (size, fill_value), dtype, device, requires_grad)
    _check_device(device)
    if dtype is None:
        dtype = _dtype.result_type(fill_value)
    return _filled((tuple(size),), fill_value, dtype, requires_grad, "full", checked=True)


def _like(t: Tensor, value, dtype, requires_grad, op) -> Tensor:
    """A tensor shaped and laid out as ``t`` (PyTorch's preserve_format), filled with ``value``."""
    data = empty_preserving(t._data, (dtype or t.dtype).np)
    data[...] = value
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), op)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _like(input, 0, dtype, requires_grad, "zeros_like")


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _like(input, 1, dtype, requires_grad, "ones_like")


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _like(input, 0, dtype, requires_grad, "empty_like")


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    return _like(input, _dtype.checked_scalar(fill_value, dtype or input.dtype), dtype, requires_grad, "full_like")


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float."""
    if np.ndarray in (start.__class__, end.__class__, step.__class__):  # Number parameters: not an array
        given = (start,) if end is None else (start, end) if step.__class__ is int and step == 1 else (start, end, step)
        _refuse_arrays("arange", given, dtype, device, requires_grad)
    _check_device(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.result_type(start, end, step)
    if dtype is _dtype.bool_:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    n = int(np.ceil((end - start) / step))
    data = (start + step * np.arange(n, dtype=np.float64)).astype(dtype.np)
    t = Tensor._wrap(data)
    return _created(_check_requires_grad(t, requires_grad), "arange")


def _refuse_arrays(name: str, args: tuple, dtype, device, requires_grad) -> None:
    """PyTorch's parser error for a numpy array where a factory takes a Number."""
    from ._argparse import refuse

    refuse((name, False), args, dtype=(dtype, None), device=(device, None), requires_grad=(requires_grad, False))
    raise TypeError(f"{name}(): expected a number, not a numpy array")  # (the parser names it above)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` values from ``start`` to ``end``, as PyTorch's kernel computes them."""
    _check_device(device)
    dt = dtype or _dtype.default_float
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = _dtype.parsed_number(start), _dtype.parsed_number(end)
    if steps <= 1:  # filled with start (a half takes it unchecked, as at::scalar_tensor does)
        values = np.full(steps, _dtype.scalar_tensor_value(start, dt) if steps else 0, dt.np)
    elif dt is _dtype.bool_:
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    else:  # the kernel reads both ends as the dtype, refusing them out of its range
        first, last = _dtype.checked_scalar(start, dt), _dtype.checked_scalar(end, dt)
        if dt.is_floating_point:
            values = _linspace_float(first, last, steps, np.dtype(dt.np))
        else:
            values = _linspace_int(first, last, steps, np.dtype(dt.np))
    t = Tensor._wrap(values)
    return _created(_check_requires_grad(t, requires_grad), "linspace")


def _linspace_int(first, last, steps: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's linspace kernel for an integer dtype: the ends in the dtype, a double step,
    ``first + step * i`` for the first half and ``last - step * (steps - i - 1)`` for the rest,
    each truncated to the dtype.

    >>> _linspace_int(np.uint8(255), np.uint8(200), 5, np.dtype(np.uint8)).tolist()
    [255, 241, 227, 213, 200]
    """
    first, last = float(first), float(last)
    step = (last - first) / (steps - 1)
    idx = np.arange(steps)
    values = np.where(idx < steps // 2, first + step * idx, last - step * (steps - idx - 1))
    with np.errstate(invalid="ignore"):  # int64's largest end is 2**63 as a double: it wraps, as in C
        return values.astype(dtype)


def _linspace_float(start, end, steps: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's linspace kernel: ``start + step * i`` for the first half and
    ``end - step * (steps - i - 1)`` for the rest, with ``step`` in the result's dtype. For
    float and double each value is one fused multiply-add (rounded once, as the compiled
    kernel does), emulated in a wider float; c10::Half rounds after each operation. (numpy's
    float64 linspace differs in the last bit.)

    >>> _linspace_float(-2.0, 0.0, 4, np.dtype(np.float32))[1]  # torch: -1.3333333 rounded down
    np.float32(-1.3333333)
    """
    kind = dtype.type
    first, last = kind(start), kind(end)
    with np.errstate(over="ignore", invalid="ignore"):
        step = (last - first) / kind(steps - 1)
        idx = np.arange(steps)
        if dtype == np.float16:  # per operation, in half
            up = first + step * idx.astype(dtype)
            down = last - step * (steps - idx - 1).astype(dtype)
        else:  # float's products are exact in double; double's need an exact fma
            i = idx.astype(np.float64)
            up = _fma(np.float64(step), i, np.float64(first))
            down = _fma(-np.float64(step), steps - 1 - i, np.float64(last))
        return np.where(idx < steps // 2, up, down).astype(dtype)


def _fma(a, b, c):
    """``a * b + c`` rounded once, in float64 arrays: the product's rounding error found by
    Dekker's split and the sum's by TwoSum, then added back (as a hardware fma gives).

    >>> _fma(np.float64(0.1), np.arange(3.0), np.float64(1.0)).tolist()
    [1.0, 1.1, 1.2]
    """
    p = a * b
    split = 134217729.0  # 2**27 + 1: halves of 26 bits, whose products are exact
    ca, cb = split * a, split * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = c + p
    back = s - c
    low = (c - (s - back)) + (p - back)
    res = s + (low + err)
    return np.where(np.isfinite(res), res, p + c)  # inf and nan: no error terms to add


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    _check_device(device)
    dt = dtype or _dtype.default_float
    t = Tensor._wrap(np.eye(n, n if m is None else m, dtype=dt.np))
    return _created(_check_requires_grad(t, requires_grad), "eye")


# ----------------------------------------------------------------------------- randomness
# PyTorch's generator and sampling kernels are in _random.py; here the factories that use them.

Generator = _random.Generator
default_generator = _random.default_generator


def manual_seed(seed) -> Generator:
    """Seed the default generator: from then on the draws are PyTorch's after the same seed."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def _random_dtype(dtype, kernel: str) -> _dtype.dtype:
    """The dtype of a random float factory; integer ones have no kernel."""
    dt = dtype or _dtype.default_float
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._legacy}'")
    return dt


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty(size).uniform_()``: uniform floats of [0, 1)."""
    _check_device(device)
    dt = _random_dtype(dtype, "check_uniform_bounds")
    shape = _size(size)
    draws = _random.uniform(_random.generator_or_default(generator), math.prod(shape), dt.np)
    return _created(_check_requires_grad(Tensor._wrap(draws.reshape(shape)), requires_grad), "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty(size).normal_()``: standard normal floats."""
    _check_device(device)
    dt = _random_dtype(dtype, "normal_kernel_cpu")
    data = np.empty(_size(size), dt.np)
    _random.normal_fill(_random.generator_or_default(generator), data, 0.0, 1.0, contiguous=True)
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "randn")


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty_like(input).uniform_()`` (laid out as ``input``, drawn in memory order)."""
    _check_device(device)
    dt = _random_dtype(dtype or input.dtype, "check_uniform_bounds")
    data = empty_preserving(input._data, dt.np)
    _random.store_in_order(data, _random.uniform(_random.generator_or_default(generator), data.size, dt.np))
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "rand_like")


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty_like(input).normal_()``: a layout that is not C-contiguous (channels last, ...)
    takes the scalar kernel, as in PyTorch."""
    _check_device(device)
    dt = _random_dtype(dtype or input.dtype, "normal_kernel_cpu")
    data = empty_preserving(input._data, dt.np)
    _random.normal_fill(_random.generator_or_default(generator), data, 0.0, 1.0, data.flags.c_contiguous)
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "randn_like")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty(size, dtype=int64).random_(low, high)``; ``randint(high, size)`` starts at 0."""
    _check_device(device)
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = dtype or _dtype.int64
    if dt is _dtype.bool_ and (low < 0 or high > 2):
        raise RuntimeError(f"{'from' if low < 0 else 'to - 1'} is out of bounds for bool")
    shape = _size(tuple(size))
    gen = _random.generator_or_default(generator)
    t = Tensor._wrap(_random.random_from_to(gen, math.prod(shape), int(low), int(high), dt.np).reshape(shape))
    return _created(_check_requires_grad(t, requires_grad), "randint")


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of ``range(n)`` (PyTorch's CPU shuffle, so PyTorch's order)."""
    _check_device(device)
    dt = dtype or _dtype.int64
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if dt is _dtype.bool_:
        raise NotImplementedError("\"randperm\" not implemented for 'Bool'")
    perm = _random.randperm(_random.generator_or_default(generator), int(n)).astype(dt.np)
    return _created(_check_requires_grad(Tensor._wrap(perm), requires_grad), "randperm")


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """``bernoulli(input)``: 1 with each element's probability (BernoulliBackward0, a zero
    gradient); ``bernoulli(input, p)``: ``empty_like(input).bernoulli_(p)``."""
    from ._tensor import record

    gen = _random.generator_or_default(generator)
    data = empty_preserving(input._data)
    if p is not None:
        return _random.bernoulli_(Tensor._wrap(data), p, generator=gen)
    probs = input._data
    if probs.dtype.kind != "f":
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for '{input.dtype._legacy}'")
    if probs.size and not ((probs >= 0) & (probs <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    # one TensorIterator over (result, p): the draws follow its order of the two
    order = _random.iteration_order(data, probs)
    draws = _random.bernoulli_tensor(gen, probs.transpose(order).reshape(-1))
    _random.store_in_order(data, draws.astype(data.dtype), order)
    node = _random.node_class("BernoulliBackward0", _random.zero_grad_formula)
    return record(Tensor._wrap(data), node, (input,), (), op="bernoulli")


def legacy_new(cls, *args, **kwargs):
    """``torch.Tensor(...)``: from data (float32) or an uninitialised shape."""
    if cls is not Tensor and not args:
        return Tensor.__new__(Tensor)
    if not args:
        return Tensor._wrap(np.zeros((0,), dtype=np.float32))
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray, Tensor)):
        data = args[0]._data if isinstance(args[0], Tensor) else args[0]
        return Tensor._wrap(np.array(data, dtype=np.float32))
    return Tensor._wrap(np.zeros(_size(args), dtype=np.float32))

"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ``randn`` ... and the random generator.

>>> import gradlens_core as torch
>>> torch.tensor([1, 2, 3.]).dtype, torch.tensor([1, 2]).dtype
(torch.float32, torch.int64)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _dtype, _events, _random
from ._layout import empty_preserving
from ._tensor import Tensor

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


class device:
    """A device; only ``cpu`` exists here."""

    __slots__ = ("type", "index")

    def __init__(self, type: str = "cpu", index=None) -> None:
        self.type = str(type).split(":")[0]
        self.index = index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __str__(self) -> str:
        return self.type

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.type)


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


def _array_from(data, dt: _dtype.dtype | None) -> np.ndarray:
    from_numpy_like = isinstance(data, (np.ndarray, np.generic))
    if not from_numpy_like and _has_tensor(data):
        data = _unwrap(data)
        from_numpy_like = True
    try:
        arr = np.array(data, dtype=None if dt is None else dt.np)
    except ValueError as e:
        raise ValueError(f"expected sequence of equal lengths: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    if dt is None:
        if arr.dtype.kind in "fiub" and not from_numpy_like and arr.ndim:
            inferred = _list_dtype(data)  # numpy scalars in a list keep their dtypes
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


_PY_NUMBER_TYPES = {float: None, int: None, bool: None}


def _list_dtype(data):
    """torch.tensor's inferred dtype of a list holding numpy scalars (each counts with its own
    dtype, a Python number with PyTorch's default for it, all promoted); None without any."""
    types = set()

    def walk(items):
        for v in items:
            if isinstance(v, (list, tuple)):
                walk(v)
            else:
                types.add(v.__class__)

    walk(data)
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


def _filled(size, value, dtype, requires_grad, op) -> Tensor:
    dt = dtype or _dtype.default_float
    t = Tensor._wrap(np.full(_size(size, op), value, dtype=dt.np))
    return _created(_check_requires_grad(t, requires_grad), op)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 1, dtype, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad, "empty")


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = _dtype.result_type(fill_value)
    return _filled((tuple(size),), fill_value, dtype, requires_grad, "full")


def _like(t: Tensor, value, dtype, requires_grad, op) -> Tensor:
    """A tensor shaped and laid out as ``t`` (PyTorch's preserve_format), filled with ``value``."""
    data = empty_preserving(t._data, (dtype or t.dtype).np)
    data[...] = value
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), op)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 0, dtype, requires_grad, "zeros_like")


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 1, dtype, requires_grad, "ones_like")


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 0, dtype, requires_grad, "empty_like")


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, fill_value, dtype, requires_grad, "full_like")


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float."""
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


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt = dtype or _dtype.default_float
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    for value in (start, end):
        if isinstance(value, int) and abs(value) >= 2**64:  # PyTorch's argument parser
            raise OverflowError("int too big to convert")
    if dt is _dtype.bool_:
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    if np.dtype(dt.np).kind == "f":
        values = _linspace_float(start, end, steps, np.dtype(dt.np))
    else:
        values = np.linspace(start, end, steps).astype(dt.np)
    t = Tensor._wrap(values)
    return _created(_check_requires_grad(t, requires_grad), "linspace")


_C_NAMES = {np.float16: "c10::Half", np.float32: "float", np.float64: "double"}


def _linspace_float(start, end, steps: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's linspace kernel: ``start + step * i`` for the first half and
    ``end - step * (steps - i - 1)`` for the rest, with ``step`` in the result's dtype. For
    float and double each value is one fused multiply-add (rounded once, as the compiled
    kernel does), emulated in a wider float; c10::Half rounds after each operation. (numpy's
    float64 linspace differs in the last bit.)

    >>> _linspace_float(-2.0, 0.0, 4, np.dtype(np.float32))[1]  # torch: -1.3333333 rounded down
    np.float32(-1.3333333)
    """
    if steps <= 1:
        with np.errstate(over="ignore"):  # fill_ with a value half cannot hold gives inf
            return np.full(steps, start, dtype)
    kind = dtype.type
    limit = float(np.finfo(dtype).max)
    for value in (start, end):
        if math.isfinite(value) and abs(value) > limit:  # Scalar::to<float> refuses it
            raise RuntimeError(f"value cannot be converted to type {_C_NAMES[dtype.type]} without overflow")
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
    dt = _random_dtype(dtype, "check_uniform_bounds")
    shape = _size(size)
    draws = _random.uniform(_random.generator_or_default(generator), math.prod(shape), dt.np)
    return _created(_check_requires_grad(Tensor._wrap(draws.reshape(shape)), requires_grad), "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty(size).normal_()``: standard normal floats."""
    dt = _random_dtype(dtype, "normal_kernel_cpu")
    data = np.empty(_size(size), dt.np)
    _random.normal_fill(_random.generator_or_default(generator), data, 0.0, 1.0, contiguous=True)
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "randn")


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty_like(input).uniform_()`` (laid out as ``input``, drawn in memory order)."""
    dt = _random_dtype(dtype or input.dtype, "check_uniform_bounds")
    data = empty_preserving(input._data, dt.np)
    _random.store_in_order(data, _random.uniform(_random.generator_or_default(generator), data.size, dt.np))
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "rand_like")


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty_like(input).normal_()``: a layout that is not C-contiguous (channels last, ...)
    takes the scalar kernel, as in PyTorch."""
    dt = _random_dtype(dtype or input.dtype, "normal_kernel_cpu")
    data = empty_preserving(input._data, dt.np)
    _random.normal_fill(_random.generator_or_default(generator), data, 0.0, 1.0, data.flags.c_contiguous)
    return _created(_check_requires_grad(Tensor._wrap(data), requires_grad), "randn_like")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty(size, dtype=int64).random_(low, high)``; ``randint(high, size)`` starts at 0."""
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

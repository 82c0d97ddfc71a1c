"""``torch.save`` and ``torch.load`` in PyTorch's own file format.

A file is PyTorch's zip archive: ``data.pkl`` (pickle protocol 2, tensors as
``torch._utils._rebuild_tensor_v2`` over persistent ``("storage", torch.FloatStorage, key,
"cpu", numel)`` ids), one ``data/<key>`` record per storage (aligned to 64 bytes), and the
``byteorder``, ``version``, ``.format_version``, ``.storage_alignment`` and
``.data/serialization_id`` records. So torch loads what gradlens_core saves (tensors,
parameters, state dicts, optimizer state) and gradlens_core loads what torch saves.

Tensors that share memory are saved with one storage, and load sharing memory again (each
with its own version counter, as in PyTorch). ``load`` defaults to ``weights_only=True``, as
torch 2.6+ does: only tensors, containers, numbers, strings and PyTorch's allowed globals load;
anything else fails with PyTorch's "Weights only load failed." error.

>>> import io
>>> import gradlens_core as torch
>>> buf = io.BytesIO()
>>> x = torch.arange(6.).view(2, 3)
>>> torch.save({"x": x, "row": x[1]}, buf)
>>> _ = buf.seek(0)
>>> d = torch.load(buf)
>>> d["row"].add_(1)
tensor([4., 5., 6.])
>>> d["x"]
tensor([[0., 1., 2.],
        [4., 5., 6.]])
"""

from __future__ import annotations

import _compat_pickle
import collections
import contextlib
import importlib
import io
import os
import pickle
import struct
import sys
import warnings
import zipfile

import numpy as np

from . import _dtype, _events
from ._tensor import Size, Tensor

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "load", "safe_globals", "save"]

DEFAULT_PROTOCOL = 2
_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of torch's pre-1.6 files
_ALIGNMENT = 64

_UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely succeed, "
    "but it can result in arbitrary code execution. Do it only if you got the file from a "
    "trusted source."
)
_DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
    "weights_only https://pytorch.org/docs/stable/generated/torch.load.html."
)

# the storage classes PyTorch names in a file, by dtype
_STORAGE_NAMES = {d: d._legacy + "Storage" for d in _dtype.ALL}


class _TorchGlobal:
    """A name in PyTorch's namespace that the pickle refers to (written as a GLOBAL opcode
    without importing torch: the file must name torch's functions, not ours)."""

    _cache: dict = {}

    def __new__(cls, module: str, name: str):
        # one object per name, so that the pickler's memo writes it once (as torch's does)
        key = (module, name)
        if key not in cls._cache:
            obj = super().__new__(cls)
            obj.module, obj.name = module, name
            cls._cache[key] = obj
        return cls._cache[key]

    def __call__(self, *args):  # the pickler asks a reduce's function to be callable
        raise TypeError(f"{self.module}.{self.name} is written into files only")


class _StorageRef:
    """What a saved tensor's first argument stands for: the memory (root array) it views."""

    __slots__ = ("root", "dtype")

    def __init__(self, root: np.ndarray, dtype) -> None:
        self.root, self.dtype = root, dtype


def _root_and_offset(t: Tensor):
    """The array owning ``t``'s memory, and ``t``'s offset in elements into it (None when the
    owner is not one contiguous block: ``t`` is then saved as a copy)."""
    from ._tensor import _root_array

    root = _root_array(t._data)
    if not (root.flags.c_contiguous or root.flags.f_contiguous) or root.nbytes % t._data.itemsize:
        return None, 0
    return root, t.storage_offset()


class _Pickler(pickle._Pickler):
    """The pure-Python pickler, which lets tensors, dtypes and torch's names be written as
    PyTorch writes them."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol) -> None:
        super().__init__(file, protocol)
        self.storages: dict = {}  # key -> (flat bytes, dtype)
        self._keys: dict = {}  # id(root) -> (key, dtype)
        self._keep: list = []  # the roots, alive until the end (their ids are keys)

    def save_torch_global(self, obj: _TorchGlobal) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_TorchGlobal] = save_torch_global

    def save_dtype(self, obj) -> None:
        self.save_torch_global(_TorchGlobal("torch", obj.name))

    dispatch[_dtype.dtype] = save_dtype

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, Size):
            return (_TorchGlobal("torch", "Size"), (tuple(obj),))
        from ._factories import device

        if isinstance(obj, device):
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (_TorchGlobal("torch", "device"), args)
        return NotImplemented

    def _reduce_tensor(self, t: Tensor):
        from .nn.parameter import Parameter

        hooks = collections.OrderedDict()
        if isinstance(t, Parameter):
            # torch saves a Parameter as its .data (a tensor not requiring grad) and the flag
            data = Tensor._wrap(t._data)
            state = {k: v for k, v in vars(t).items()}
            if state:
                return (
                    _TorchGlobal("torch._utils", "_rebuild_parameter_with_state"),
                    (data, t.requires_grad, hooks, state),
                )
            return (_TorchGlobal("torch._utils", "_rebuild_parameter"), (data, t.requires_grad, hooks))
        root, offset = _root_and_offset(t)
        if root is None:
            root, offset = np.ascontiguousarray(t._data), 0
            strides = tuple(s // root.itemsize for s in root.strides)
        else:
            strides = t.stride()
        args = (_StorageRef(root, t.dtype), offset, tuple(t.shape), strides, t.requires_grad, hooks)
        return (_TorchGlobal("torch._utils", "_rebuild_tensor_v2"), args)

    def persistent_id(self, obj):
        if not isinstance(obj, _StorageRef):
            return None
        root, dt = obj.root, obj.dtype
        if id(root) in self._keys:
            key, first = self._keys[id(root)]
            if first is not dt:
                raise RuntimeError(
                    "Cannot save multiple tensors or storages that view the same data as different types"
                )
        else:
            key = str(len(self._keys))
            self._keys[id(root)] = (key, dt)
            self._keep.append(root)
            flat = root.reshape(-1, order="F" if not root.flags.c_contiguous else "C")
            self.storages[key] = flat.view(np.uint8).tobytes()
        numel = root.nbytes // dt.itemsize
        return ("storage", _TorchGlobal("torch", _STORAGE_NAMES[dt]), key, "cpu", numel)


def _aligned_record(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Write ``name`` uncompressed with its data at a multiple of 64 bytes (PyTorch pads the
    local header's extra field, id "FB", with "Z"s)."""
    zinfo = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zinfo.compress_type = zipfile.ZIP_STORED
    header_end = zf.start_dir + 30 + len(name.encode()) + 4
    pad = -header_end % _ALIGNMENT
    zinfo.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    zf.writestr(zinfo, data)


def _archive_name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    return "archive"


def save(
    obj,
    f,
    pickle_module=pickle,
    pickle_protocol=DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization=True,
    _disable_byteorder_record=False,
) -> None:
    """Save ``obj`` (tensors, state dicts, any picklable object) to a path or binary file.

    >>> import io
    >>> import gradlens_core as torch
    >>> buf = io.BytesIO()
    >>> torch.save(torch.nn.Linear(2, 1).state_dict(), buf)
    >>> sorted(torch.load(io.BytesIO(buf.getvalue())))
    ['bias', 'weight']
    """
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("gradlens_core saves PyTorch's zip format only (_use_new_zipfile_serialization=True)")
    data_buf = io.BytesIO()
    pickler = _Pickler(data_buf, pickle_protocol)
    pickler.dump(obj)
    prefix = _archive_name(f) + "/"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        _aligned_record(zf, prefix + "data.pkl", data_buf.getvalue())
        _aligned_record(zf, prefix + ".format_version", b"1")
        _aligned_record(zf, prefix + ".storage_alignment", str(_ALIGNMENT).encode())
        if not _disable_byteorder_record:
            _aligned_record(zf, prefix + "byteorder", sys.byteorder.encode())
        for key in sorted(pickler.storages, key=int):
            _aligned_record(zf, prefix + f"data/{key}", pickler.storages[key])
        _aligned_record(zf, prefix + "version", b"3\n")
        serialization_id = str(int.from_bytes(os.urandom(16), "little")).zfill(40)[:40]
        _aligned_record(zf, prefix + ".data/serialization_id", serialization_id.encode())
    if isinstance(f, (str, os.PathLike)):
        parent = os.path.dirname(os.fspath(f))
        if parent and not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        with open(f, "wb") as fh:
            fh.write(out.getvalue())
    else:
        f.write(out.getvalue())


# ----------------------------------------------------------------------------- load


class _StorageType:
    """``torch.FloatStorage`` and its kin, as a loaded file names them."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype


class _LoadedStorage:
    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


_INT64_MAX = 2**63 - 1


def _check_storage_bounds(arr: np.ndarray, storage_offset, size, stride) -> None:
    """Refuse a view reaching outside its storage with the errors of torch's ``set_`` (a
    crafted file must not make as_strided read other memory)."""
    if storage_offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
    numel = 1
    for n in size:
        numel *= n
        if n < 0 or numel > _INT64_MAX:
            raise RuntimeError("numel: integer multiplication overflow")
    if numel == 0:
        return  # an empty tensor touches no memory (torch keeps any offset)
    # c10's computeStorageNbytes, in unsigned 64-bit: a negative step over a dimension overflows
    extent = 1
    for n, st in zip(size, stride):
        extent += st * (n - 1)
        if st * (n - 1) < 0 or extent > _INT64_MAX:
            raise RuntimeError(
                f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}"
            )
    if (storage_offset + extent) * arr.itemsize > _INT64_MAX:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    if storage_offset + extent > arr.size:
        # torch grows the storage in set_; a loaded storage is not resizable
        raise RuntimeError("Trying to resize storage that is not resizable")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    arr = storage.array
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length ({len(stride)})")
    _check_storage_bounds(arr, storage_offset, size, stride)
    view = np.lib.stride_tricks.as_strided(
        arr[storage_offset:], shape=tuple(size), strides=tuple(s * arr.itemsize for s in stride)
    )
    t = Tensor._wrap(view, bool(requires_grad))
    t._version_counter[0] = 1  # torch rebuilds with set_(storage, ...), an in-place op: version 1
    if _events.active:
        _events.emit("created", tensor=t, grad_fn=None, inputs=(), op="load")
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks):
    from .nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    if isinstance(state, tuple):  # (dict state, slots state)
        state = {**(state[0] or {}), **(state[1] or {})}
    for k, v in (state or {}).items():
        setattr(param, k, v)
    return param


def _rebuild_from_type_v2(func, new_type, args, state):
    ret = func(*args)
    for k, v in (state or {}).items():
        setattr(ret, k, v)
    return ret


def _encode(obj, encoding="latin1"):
    import codecs

    return codecs.encode(obj, encoding)


def _allowed_globals() -> dict:
    from . import nn
    from ._factories import device

    rc = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "torch.nn.parameter.Parameter": nn.Parameter,
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch.device": device,
        "_codecs.encode": _encode,
        "builtins.bytearray": bytearray,
        "builtins.set": set,
        "builtins.complex": complex,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    }
    for d in _dtype.ALL:
        rc[f"torch.{d.name}"] = d
        rc[f"torch.{_STORAGE_NAMES[d]}"] = _StorageType(d)
    return rc


_safe_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes or functions in ``load(weights_only=True)``."""
    _safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    return list(_safe_globals)


def clear_safe_globals() -> None:
    _safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: list):
    """Allow these globals for ``load(weights_only=True)`` inside the block."""
    n = len(_safe_globals)
    _safe_globals.extend(safe_globals)
    try:
        yield
    finally:
        del _safe_globals[n:]


def _full_name(obj) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}"


def _weights_only_message(full_path: str) -> str:
    if full_path.startswith("builtins."):  # torch names a builtin bare: GLOBAL print
        full_path = full_path[len("builtins.") :]
    message = (
        f"Unsupported global: GLOBAL {full_path} was not an allowed global by default. Please use "
        f"`torch.serialization.add_safe_globals([{full_path}])` or the "
        f"`torch.serialization.safe_globals([{full_path}])` context manager to allowlist this "
        "global if you trust this class/function."
    )
    return (
        "Weights only load failed. This file can still be loaded, to do so you have two options, "
        "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
        f"\n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
        "the recommended steps in the following error message.\n\tWeightsUnpickler error: " + message + _DOCS_MESSAGE
    )


def _weights_only_error(message: str) -> str:
    """torch's wrapping of a weights-only error other than a refused global."""
    return (
        f"Weights only load failed. {_UNSAFE_MESSAGE}\nPlease file an issue with the following so that we can "
        "make `weights_only=True` compatible with your use case: WeightsUnpickler error: \n\n" + message + _DOCS_MESSAGE
    )


# the opcodes torch's weights-only unpickler executes (torch/_weights_only_unpickler.py); any
# other one is refused before anything of the pickle runs
_WEIGHTS_ONLY_OPCODES = frozenset(
    getattr(pickle, name)
    for name in (
        "GLOBAL NEWOBJ REDUCE BUILD APPEND APPENDS SETITEM SETITEMS MARK TUPLE TUPLE1 TUPLE2 TUPLE3 NONE "
        "NEWFALSE NEWTRUE EMPTY_TUPLE EMPTY_LIST EMPTY_DICT EMPTY_SET BININT BININT1 BININT2 BINFLOAT "
        "BINUNICODE SHORT_BINSTRING BINPERSID BINGET LONG_BINGET BINPUT LONG_BINPUT LONG1 PROTO STOP"
    ).split()
)


def _scan_weights_only(data: bytes, allowed: dict) -> None:
    """Walk the first pickle of ``data`` without running it, refusing what torch's weights-only
    unpickler refuses, in its order: a global not allowed, an opcode it does not execute.

    >>> try:
    ...     _scan_weights_only(pickle.dumps(print, 2), {})
    ... except pickle.UnpicklingError as e:
    ...     print(str(e).split("WeightsUnpickler error: ")[1][:40])
    Unsupported global: GLOBAL print was not
    """
    import pickletools

    stream = io.BytesIO(data)
    try:
        while True:
            code = stream.read(1)
            if not code:
                return  # truncated: the unpickler itself says what is wrong
            # the opcode is judged before its argument is read, as torch's loop does
            if code not in _WEIGHTS_ONLY_OPCODES:
                raise pickle.UnpicklingError(_weights_only_error(f"Unsupported operand {code[0]}"))
            op = pickletools.code2op[code.decode("latin1")]
            arg = None if op.arg is None else op.arg.reader(stream)
            if op.name == "STOP":
                return
            if op.name == "GLOBAL":
                module, name = arg.split(" ", 1)
                # the Python 2 names protocol 2 writes (__builtin__.print), mapped as torch does
                module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
                module = _compat_pickle.IMPORT_MAPPING.get(module, module)
                full = f"{module}.{name}"
                if full not in allowed:
                    raise pickle.UnpicklingError(_weights_only_message(full))
            elif op.name == "PROTO" and arg != 2:
                warnings.warn(
                    f"Detected pickle protocol {arg} in the checkpoint, which was not the default pickle "
                    "protocol used by `torch.load` (2). The weights_only Unpickler might not support all "
                    "instructions implemented by this protocol, please file an issue for adding support if "
                    "you encounter this.",
                    stacklevel=3,
                )
    except ValueError:
        pass  # a malformed pickle: the unpickler itself says what is wrong


def _torch_name_here(module: str, name: str):
    """``torch.<path>.<name>`` of a file saved by torch, looked up in gradlens_core."""
    import gradlens_core

    path = "gradlens_core" + module[len("torch") :]
    try:
        return getattr(importlib.import_module(path), name)
    except (ImportError, AttributeError):
        for place in (gradlens_core, gradlens_core.nn):  # torch.nn.modules.linear.Linear -> nn.Linear
            if hasattr(place, name):
                return getattr(place, name)
    raise pickle.UnpicklingError(f"gradlens_core has no {module}.{name}")


class Unpickler(pickle.Unpickler):
    """Reads ``data.pkl``: tensors over the archive's storages, torch's names mapped to ours."""

    def __init__(self, file, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self._weights_only = False
        self._records = None  # no archive: a legacy file's first pickle has no storages
        self._loaded: dict = {}
        self._allowed = _allowed_globals()
        self._allowed.update({_full_name(g): g for g in _safe_globals})

    def _archive(self, records, big_endian: bool) -> Unpickler:
        self._records, self._big_endian = records, big_endian
        return self

    def find_class(self, module: str, name: str):
        full = f"{module}.{name}"
        if full in self._allowed:
            return self._allowed[full]
        if self._weights_only:
            raise pickle.UnpicklingError(_weights_only_message(full))
        if module == "torch" or module.startswith("torch."):
            return _torch_name_here(module, name)
        return super().find_class(module, name)

    def persistent_load(self, saved_id):
        if self._records is None:
            raise pickle.UnpicklingError("unsupported persistent id encountered")
        typename, storage_type, key, _location, numel = saved_id
        if typename != "storage":
            raise pickle.UnpicklingError(f"Unknown saved id type: {typename}")
        if isinstance(storage_type, _StorageType):
            dt = storage_type.dtype
        elif isinstance(storage_type, _dtype.dtype):
            dt = storage_type
        else:
            raise pickle.UnpicklingError(f"gradlens_core cannot load a storage of type {storage_type!r}")
        if key not in self._loaded:
            arr = np.frombuffer(
                self._records(f"data/{key}"), dtype=dt.np.newbyteorder(">" if self._big_endian else "<")
            )
            self._loaded[key] = _LoadedStorage(arr.astype(dt.np))  # native order, writable
        return self._loaded[key]


class WeightsUnpickler(Unpickler):
    """``weights_only=True``: only PyTorch's allowed globals (and the safe globals added)."""

    def __init__(self, file, *, encoding: str = "bytes") -> None:
        super().__init__(file, encoding=encoding)
        self._weights_only = True


def _refuse_keywords(kwargs: dict, allowed: tuple, where: str) -> None:
    """torch's weights-only loaders take only ``encoding``: another keyword gets the TypeError
    their Python signatures give."""
    for key in kwargs:
        if key not in allowed:
            raise TypeError(f"{where}() got an unexpected keyword argument '{key}'")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load what :func:`save` (or PyTorch's ``torch.save``) wrote; ``weights_only`` defaults to True.

    >>> import io
    >>> import gradlens_core as torch
    >>> buf = io.BytesIO()
    >>> torch.save(torch.nn.Parameter(torch.ones(2)), buf)
    >>> torch.load(io.BytesIO(buf.getvalue()))
    Parameter containing:
    tensor([1., 1.], requires_grad=True)
    """
    true_values = ("1", "y", "yes", "true")
    force = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in true_values
    force_no = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in true_values
    if force and force_no:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set."
        )
    if force:
        weights_only = True
    elif force_no and weights_only is None:
        warnings.warn(
            "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
            "`weights_only` argument was not explicitly passed to `torch.load`, forcing weights_only=False.",
            UserWarning,
            stacklevel=2,
        )
        weights_only = False
    elif weights_only is None:
        weights_only = pickle_module is None  # torch 2.6+: True unless a pickle module is given
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if pickle_load_args != {} and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    pickle_load_args.setdefault("encoding", "utf-8")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            raw = fh.read()
    else:
        raw = f.read()
    if raw[:4] != b"PK\x03\x04":
        # torch takes only a file starting with a zip local header for an archive (an empty zip
        # is not one); its legacy loader starts by unpickling a magic number: its errors come
        # first (an empty file: "Ran out of input"; a bad keyword: "load() got an unexpected ...")
        if weights_only:
            _refuse_keywords(pickle_load_args, ("encoding",), "load")
            if not raw:
                raise EOFError  # (torch's weights-only unpickler says no more)
            # never plain pickle here: the file is untrusted and nothing of it may run
            unpickler = WeightsUnpickler(io.BytesIO(raw), **pickle_load_args)
            _scan_weights_only(raw, unpickler._allowed)
            magic_number = unpickler.load()
        else:
            magic_number = pickle.load(io.BytesIO(raw), **pickle_load_args)
        if magic_number != _LEGACY_MAGIC_NUMBER:
            raise RuntimeError("Invalid magic number; corrupt file?")
        raise RuntimeError("gradlens_core loads PyTorch's zip format only (files of torch.save since PyTorch 1.6)")
    zf = zipfile.ZipFile(io.BytesIO(raw))
    names = zf.namelist()
    prefix = names[0].split("/", 1)[0] + "/"

    def records(name: str) -> bytes:
        return zf.read(prefix + name)

    big_endian = prefix + "byteorder" in names and records("byteorder") == b"big"
    if weights_only:
        _refuse_keywords(pickle_load_args, ("encoding",), "Unpickler.__init__")
    cls = WeightsUnpickler if weights_only else Unpickler
    data = records("data.pkl")
    unpickler = cls(io.BytesIO(data), **pickle_load_args)._archive(records, big_endian)
    if weights_only:
        _scan_weights_only(data, unpickler._allowed)
    return unpickler.load()

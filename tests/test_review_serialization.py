"""Review findings in torch.save/load and in the CLI's `--as-torch` aliasing, against PyTorch.

A non-zip file loaded with weights_only must run nothing of itself; a crafted view must not
reach outside its storage; an empty zip and a missing parent directory get PyTorch's errors;
and under `gradlens run --as-torch` every `torch.X` import is the one `gradlens_core.X`.
"""

from __future__ import annotations

import io
import pickle
import sys
import textwrap
import warnings
import zipfile

import pytest

import gradlens_core as gc
from gradlens.cli import main

torch = pytest.importorskip("torch")


def outcome(fn):
    """What a call gives: ("ok", value) or (error class name, message), and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", fn())
        except Exception as e:  # noqa: BLE001 - the error is the outcome compared
            result = (type(e).__name__, str(e))
    return result, [(w.category.__name__, str(w.message)) for w in caught]


class _RunsCode:
    """Unpickling this runs code (it sets a flag in sys): a weights-only load must not."""

    def __reduce__(self):
        return (exec, ("import sys; sys._gradlens_r1_ran = True",))


@pytest.fixture
def no_code_ran():
    sys.__dict__.pop("_gradlens_r1_ran", None)
    yield
    ran = sys.__dict__.pop("_gradlens_r1_ran", False)
    assert not ran, "load() ran code of the file"


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("as_path", [False, True])
def test_a_non_zip_file_runs_nothing_and_fails_as_torch(protocol, as_path, tmp_path, no_code_ran):
    raw = pickle.dumps(_RunsCode(), protocol=protocol)
    path = tmp_path / "evil.pt"
    path.write_bytes(raw)
    ours = outcome(lambda: gc.load(path if as_path else io.BytesIO(raw)))
    assert not sys.__dict__.get("_gradlens_r1_ran")
    theirs = outcome(lambda: torch.load(path if as_path else io.BytesIO(raw)))
    sys.__dict__.pop("_gradlens_r1_ran", None)
    assert ours == theirs
    assert ours[0][0] == "UnpicklingError"


@pytest.mark.parametrize("obj", [5, {"a": 1}, [1.0], "x"])
@pytest.mark.parametrize("weights_only", [True, False])
def test_a_pickle_that_is_not_torchs_legacy_format(obj, weights_only):
    raw = pickle.dumps(obj, protocol=2)
    ours = outcome(lambda: gc.load(io.BytesIO(raw), weights_only=weights_only))
    theirs = outcome(lambda: torch.load(io.BytesIO(raw), weights_only=weights_only))
    assert ours == theirs


def test_an_empty_zip_archive(no_code_ran):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    raw = buf.getvalue()
    ours = outcome(lambda: gc.load(io.BytesIO(raw)))
    theirs = outcome(lambda: torch.load(io.BytesIO(raw)))
    assert ours == theirs


def test_a_zip_archive_with_a_refused_global_runs_nothing(no_code_ran):
    # a torch.save archive whose data.pkl is replaced by a pickle running code
    buf = io.BytesIO()
    torch.save(torch.ones(1), buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in zin.namelist():
            z.writestr(n, pickle.dumps(_RunsCode(), 2) if n.endswith("data.pkl") else zin.read(n))
    raw = out.getvalue()
    ours = outcome(lambda: gc.load(io.BytesIO(raw)))
    assert not sys.__dict__.get("_gradlens_r1_ran")
    theirs = outcome(lambda: torch.load(io.BytesIO(raw)))
    sys.__dict__.pop("_gradlens_r1_ran", None)
    assert ours == theirs


def _crafted(offset, size, stride) -> bytes:
    """torch.save of arange(4.) with the view's offset, size and stride replaced."""
    buf = io.BytesIO()
    torch.save(torch.arange(4.0), buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    pk = zin.read("archive/data.pkl")
    old = b"K\x00K\x04\x85q\x06K\x01\x85q\x07"  # 0, (4,), (1,) as torch writes them
    assert old in pk

    def op(v):  # the opcodes of one value, without PROTO, STOP and the memo's BINPUT
        body = pickle.dumps(v, 2)[2:-1]
        return body[:-2] if isinstance(v, tuple) else body

    new = op(offset) + op(tuple(size)) + op(tuple(stride))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in zin.namelist():
            z.writestr(n, pk.replace(old, new) if n.endswith("data.pkl") else zin.read(n))
    return out.getvalue()


@pytest.mark.parametrize(
    "offset,size,stride",
    [
        (0, (4,), (1,)),
        (1, (3,), (1,)),
        (1, (4,), (1,)),  # one past the end
        (0, (2,), (3,)),
        (0, (2,), (4,)),
        (0, (1 << 24,), (1,)),  # the reviewer's heap read
        (0, (2, 3), (2, 1)),
        (0, (2, 2), (2, 1)),
        (-1, (2,), (1,)),
        (0, (-1,), (1,)),
        (0, (2,), (-1,)),
        (0, (1 << 62,), (1,)),
        (0, (0,), (100,)),
        (0, (2,), (1, 1)),
    ],
)
def test_a_view_outside_its_storage_is_refused(offset, size, stride):
    raw = _crafted(offset, size, stride)

    def values(load):
        return lambda: load(io.BytesIO(raw)).tolist()

    assert outcome(values(gc.load)) == outcome(values(torch.load))


def test_save_into_a_missing_directory(tmp_path):
    target = tmp_path / "missing" / "x.pt"
    ours = outcome(lambda: gc.save(gc.ones(2), target))
    theirs = outcome(lambda: torch.save(torch.ones(2), target))
    assert ours == theirs
    assert ours[0][0] == "RuntimeError"
    assert not target.parent.exists()


AS_TORCH = textwrap.dedent(
    """
    import io
    import torch
    import torch.autograd.graph as g
    import gradlens_core
    from torch.serialization import save, load
    import torch.utils.data.dataloader as dl
    import torch.nn.functional as F

    print("graph", g is gradlens_core.autograd.graph, g.saved_tensors_hooks is gradlens_core.autograd.graph.saved_tensors_hooks)
    packed = []
    with g.saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
        a = torch.ones(2, requires_grad=True)
        a.exp().sum().backward()
    print("hooks fired", len(packed))
    buf = io.BytesIO()
    save({"w": torch.arange(3.0)}, buf)
    buf.seek(0)
    print("loaded", load(buf)["w"].tolist())
    print("dataloader", dl is gradlens_core.utils.data.dataloader, dl.DataLoader is torch.utils.data.DataLoader)
    print("functional", F is gradlens_core.nn.functional)
    print("specs", g.__spec__.name)
    """
).lstrip()


def test_as_torch_aliases_every_torch_submodule(tmp_path, capsys):
    script = tmp_path / "alias.py"
    script.write_text(AS_TORCH)
    real = sys.modules["torch"]
    assert main(["run", str(script), "--as-torch"]) == 0
    out = capsys.readouterr().out
    assert "graph True True" in out
    assert "hooks fired 1" in out
    assert "loaded [0.0, 1.0, 2.0]" in out
    assert "dataloader True True" in out
    assert "functional True" in out
    assert "specs gradlens_core.autograd.graph" in out
    # afterwards real torch is real again, and gradlens_core has no second copies
    assert sys.modules["torch"] is real and sys.modules["torch.autograd"] is real.autograd
    assert not any(
        k.startswith("torch.") and getattr(v, "__name__", "").startswith("gradlens_core")
        for k, v in sys.modules.items()
    )
    assert not [k for k, v in sys.modules.items() if k.startswith("torch._") and "gradlens_core" in str(v)]

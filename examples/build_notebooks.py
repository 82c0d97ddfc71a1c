"""Write the example notebooks from the cells below, run them in a fresh kernel and save them with outputs.

    python examples/build_notebooks.py              # every notebook
    python examples/build_notebooks.py 01_detach    # the ones whose name starts so

The kernel is this Python's own (``sys.executable -m ipykernel_launcher``, from a
kernelspec written to a temporary directory), so the notebooks run against the gradlens
installed here. Saved outputs keep text and HTML (the findings with their SVG graph) but
not the live widget view, which needs a running kernel: that way the notebooks read well
on GitHub and in nbconvert. ``tests/test_notebooks.py`` runs them again and checks the
explanations.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

SETUP = """\
%load_ext gradlens
import gradlens_core as torch"""


def md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text.strip("\n")}


def code(text: str, raises: bool = False) -> dict:
    cell = {"cell_type": "code", "source": text.strip("\n")}
    if raises:
        cell["tags"] = ["raises-exception"]  # nbclient goes on; readers see the error
    return cell


NOTEBOOKS = {
    "01_detach.ipynb": [
        md("""
# `detach()`: the same memory, without the graph

This notebook retells the classic tutorial on `detach()` with gradlens watching.
`detach()` returns a tensor that shares storage with the original but has
`requires_grad=False` and no `grad_fn`. Backpropagating through it fails, and editing
it in place changes the original too, which can break `backward()` later.

`%load_ext gradlens` adds the `%%gradlens trace` cell magic: it runs the cell as usual,
then shows what gradlens found. Line numbers are the lines of the cell, counting
`%%gradlens trace` as line 1.
"""),
        code(SETUP),
        md("## The normal case\n\n`out.sum().backward()` fills `a.grad`."),
        code("""
a = torch.tensor([1, 2, 3.0], requires_grad=True)
print(a.grad)
out = a.sigmoid()
out.sum().backward()
print(a.grad)
"""),
        md("""
## `detach()` without an edit: backward still works

`c` shares memory with `out`, but it carries no history. gradlens records the cut-off at
the line of `detach()`; backward through `out` is unaffected.
"""),
        code("""
%%gradlens trace
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
c = out.detach()
print(c, c.requires_grad)
out.sum().backward()
print(a.grad)
"""),
        md("""
## Backward through the detached tensor fails

PyTorch says "element 0 of tensors does not require grad". gradlens says why: the
tensor was computed from `out` after `.detach()` cut it off.
"""),
        code("""
%%gradlens trace
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
c = out.detach()
c.sum().backward()
"""),
        md("`%gradlens why EXPR` explains why a gradient is missing:"),
        code("%gradlens why a"),
        md("""
## An in-place edit of the detached tensor breaks backward

`c.zero_()` writes into `out`'s memory and bumps the version counter that `c` and `out`
share. `SigmoidBackward0` saved `out` to compute its gradient, so backward refuses to
use the changed value. PyTorch only says so when `backward()` runs. gradlens leads with
the edit's line, the alias it went through (`detach`), the node, and the line where the
tensor was saved.
"""),
        code("""
%%gradlens trace
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
c = out.detach()
c.zero_()
print(out)
out.sum().backward()
"""),
        md("The hazard was known at the edit, before `backward()` ran:"),
        code("%gradlens hazards"),
        md("""
## The graph

Leaves that require grad are green, backward nodes purple. The cut is dashed red, the
alias dotted, and what the hazard touches orange.
"""),
        code("%gradlens graph"),
    ],
    "02_data_and_detach_.ipynb": [
        md("""
# `.data` and `detach_()`

`.data` shares memory like `detach()`, but it does **not** share the version counter, so
autograd cannot notice an edit made through it: backward runs and the gradient is
silently wrong. `detach_()` detaches a tensor in place.
"""),
        code(SETUP),
        md("## The same edit through `.data`: no error, wrong gradient"),
        code("""
%%gradlens trace
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
c = out.data
c.zero_()
out.sum().backward()
print(a.grad)
"""),
        md("""
`a.grad` is all zeros: the sigmoid's gradient was computed from the zeroed `out`.
gradlens flags it as `silent_wrong_grad` at the edit. Use `.detach()` instead of `.data`
(then PyTorch raises), or edit a `.clone()`.
"""),
        code("%gradlens hazards"),
        md("""
## `detach_()`: detach in place

`out` becomes a leaf. A graph that saved `out` before (here `sq = out * out`) can no
longer use it.
"""),
        code("""
%%gradlens trace
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
sq = out * out
out.detach_()
z = out * 2
print(out.is_leaf, z.requires_grad)
sq.sum().backward()
"""),
        code("%gradlens why out"),
        md("""
## `detach_()` is refused on views

A slice is a view of `out`. `detach()` works on it; `detach_()` does not.
"""),
        code(
            """
a = torch.tensor([1, 2, 3.0], requires_grad=True)
out = a.sigmoid()
v = out[1:]
print(v.detach())
v.detach_()
""",
            raises=True,
        ),
    ],
    "03_training_bugs.ipynb": [
        md("""
# Three training bugs

A manual SGD step that turns the weight into an intermediate result, an in-place ReLU
that breaks backward, and a frozen layer (on purpose, and by accident).
"""),
        code(SETUP + "\n\nnn = torch.nn"),
        md("""
## Manual SGD: `w = w - lr * w.grad`

After the first step `w` is no longer the leaf you created: it is a new tensor computed
from it, so the second backward leaves `w.grad` as None and `lr * w.grad` fails.
"""),
        code("""
%%gradlens trace
x = torch.tensor([1.0, 2.0])
w = torch.tensor([0.5, -0.5], requires_grad=True)
lr = 0.1
for step in range(3):
    loss = ((w * x).sum() - 1) ** 2
    loss.backward()
    w = w - lr * w.grad
"""),
        md("The fix: update the leaf in place under `torch.no_grad()`. gradlens finds nothing to report."),
        code("""
%%gradlens trace
x = torch.tensor([1.0, 2.0])
w = torch.tensor([0.5, -0.5], requires_grad=True)
lr = 0.1
for step in range(3):
    loss = ((w * x).sum() - 1) ** 2
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
    w.grad.zero_()
print(w)
"""),
        md("""
## An in-place ReLU after a sigmoid breaks backward

`relu_()` edits the sigmoid's output, which `SigmoidBackward0` saved.
"""),
        code("""
%%gradlens trace
x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
h = x.sigmoid()
h.relu_()
h.sum().backward()
"""),
        md("""
The same bug inside a model: `nn.ReLU(inplace=True)` right after `nn.Sigmoid()`. The
edit happens inside `model(X)`, so that is the line gradlens names.
"""),
        code("""
%%gradlens trace
torch.manual_seed(0)
X = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
Y = torch.tensor([[1.0], [0.0]])
model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.ReLU(inplace=True), nn.Linear(4, 1))
loss = ((model(X) - Y) ** 2).mean()
loss.backward()
"""),
        md("## A frozen layer\n\nFrozen on purpose with `requires_grad_(False)`: its gradient is None, as intended."),
        code("""
%%gradlens trace
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
model[0].requires_grad_(False)
loss = ((model(X) - Y) ** 2).mean()
loss.backward()
print(model[0].weight.grad, model[2].weight.grad is not None)
"""),
        md("Frozen by accident: the first layer ran under `torch.no_grad()`."),
        code("""
%%gradlens trace
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
with torch.no_grad():
    h = model[0](X)
loss = ((model[2](model[1](h)) - Y) ** 2).mean()
loss.backward()
print(model[0].weight.grad)
"""),
        md("""
## Tracing every cell

`%gradlens on` keeps one trace across cells (in `_gradlens`) and shows the findings
after a cell that adds some. Here the manual-SGD bug is spread over several cells.
"""),
        code("%gradlens on"),
        code("""
w = torch.tensor([0.5, -0.5], requires_grad=True)
x = torch.tensor([1.0, 2.0])
loss = ((w * x).sum() - 1) ** 2
loss.backward()
"""),
        code("w = w - 0.1 * w.grad"),
        code("""
loss = ((w * x).sum() - 1) ** 2
loss.backward()
print(w.grad is None)
"""),
        code("%gradlens why w"),
        code("%gradlens off"),
    ],
}


# ----------------------------------------------------------------------------- building


def notebook(cells: list):
    """An nbformat v4 notebook of ``cells`` (dicts from :func:`md` and :func:`code`)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(cells):
        if c["cell_type"] == "markdown":
            cell = nbformat.v4.new_markdown_cell(c["source"])
        else:
            cell = nbformat.v4.new_code_cell(c["source"])
            if c.get("tags"):
                cell.metadata["tags"] = list(c["tags"])
        cell.id = f"cell-{i:02d}"  # stable ids: rebuilding does not change them
        nb.cells.append(cell)
    return nb


def kernelspec_dir(base: Path) -> Path:
    """A kernelspec directory whose ``gradlens-python`` kernel is this very Python."""
    spec = base / "kernels" / "gradlens-python"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "gradlens", "language": "python"}))
    return base / "kernels"


def execute(nb, cwd: Path = HERE, timeout: int = 60):
    """Run ``nb`` top to bottom in a fresh kernel of this Python; returns it with outputs.

    A cell that raises stops the run, unless it is tagged ``raises-exception``.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="gradlens-kernel-") as tmp:
        ksm = KernelSpecManager(kernel_dirs=[str(kernelspec_dir(Path(tmp)))], ensure_native_kernel=False)
        km = KernelManager(kernel_name="gradlens-python", kernel_spec_manager=ksm)
        # the kernel's IPython gets an empty profile: no user config, no history file to share
        env = dict(os.environ, IPYTHONDIR=str(Path(tmp) / "ipython"), PYDEVD_DISABLE_FILE_VALIDATION="1")
        client = NotebookClient(
            nb, km=km, timeout=timeout, record_timing=False, resources={"metadata": {"path": str(cwd)}}
        )
        try:
            client.execute(env=env)
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)  # a kernel manager we made is ours to stop
    return nb


def for_readers(nb):
    """Drop what only a live kernel can show: widget views and widget state; shorten file paths."""
    nb.metadata.pop("widgets", None)
    root = str(ROOT) + os.sep
    for cell in nb.cells:
        for out in cell.get("outputs", ()):
            data = out.get("data")
            if data is not None:
                data.pop(WIDGET_VIEW, None)
            if "traceback" in out:
                out["traceback"] = [line.replace(root, "") for line in out["traceback"]]
            if "text" in out:
                out["text"] = out["text"].replace(root, "")
    return nb


def build(prefixes=()) -> list:
    """Write, execute and save the notebooks whose names start with one of ``prefixes`` (all by default)."""
    import nbformat

    written = []
    for name, cells in NOTEBOOKS.items():
        if prefixes and not name.startswith(tuple(prefixes)):
            continue
        nb = for_readers(execute(notebook(cells)))
        nbformat.write(nb, HERE / name)
        written.append(HERE / name)
        print(f"wrote {HERE / name}")
    return written


if __name__ == "__main__":
    build(sys.argv[1:])

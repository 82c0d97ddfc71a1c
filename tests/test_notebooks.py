"""The example notebooks run top to bottom in a real Jupyter kernel and explain what they should.

Each notebook in ``examples/`` is executed afresh in an ipykernel started by the test
(this Python's own, see ``examples/build_notebooks.py``); its outputs must contain the
explanations the notebook's story is about. The saved copies must match the builder's
cells and carry outputs readable without a kernel.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

EXPECTED = {
    "01_detach.ipynb": [
        "tensor([0.1966, 0.1050, 0.0452])",
        "cut-off [detach] line 4: `out` -> `c` (detach)",
        "backward() raised RuntimeError at line 5: c.sum().backward()",
        "The tensor it was called on does not require grad: it was computed from `out`, cut off by `.detach()` at line 4",
        "why is `a`.grad None? [cut:detach] line 4",
        "backward() raised RuntimeError at line 7: out.sum().backward()",
        "in-place edit: line 5: c.zero_()  (edits `c` through detach)",
        "saved tensor:  line 3: out = a.sigmoid()  (`out`, saved by SigmoidBackward0)",
        "hazard [breaks_backward] (will raise) edit line 5, saved line 3 by SigmoidBackward0",
    ],
    "02_data_and_detach_.ipynb": [
        "tensor([0., 0., 0.])",
        "hazard [silent_wrong_grad] (silently wrong) edit line 5, saved line 3 by SigmoidBackward0",
        "backward() raised RuntimeError at line 8: sq.sum().backward()",
        "in-place edit: line 5: out.detach_()  (edits `out` directly)",
        "saved tensor:  line 4: sq = out * out  (`out`, saved by MulBackward0)",
        "why is `out`.grad None? [requires_grad_false] line 5",
        "RuntimeError: Can't detach views in-place",
    ],
    "03_training_bugs.ipynb": [
        "the cell raised TypeError at line 8: w = w - lr * w.grad",
        "why is `w`.grad None? [rebound] line 8",
        "nothing to report: no cut-offs, no in-place hazards, no missing gradients.",
        "in-place edit: line 4: h.relu_()  (edits `h` directly)",
        "saved tensor:  line 3: h = x.sigmoid()  (`h`, saved by SigmoidBackward0)",
        "backward() raised RuntimeError at line 7: loss.backward()",
        "model.0.weight: [requires_grad_false]",
        "model.0.weight: [cut:no_grad] line 4",
        "why is `w`.grad None? [rebound] line 1",
    ],
}


def builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", EXAMPLES / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def texts(nb) -> str:
    """Everything a reader sees in the outputs, as text."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", ()):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
            else:
                parts += [out.data.get("text/plain", ""), out.data.get("text/html", "")]
    return "\n".join(parts)


def test_every_notebook_is_checked():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(EXPECTED) == sorted(builder().NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_in_a_kernel_and_explains(name):
    saved = nbformat.read(EXAMPLES / name, as_version=4)
    nb = builder().execute(copy.deepcopy(saved), timeout=60)
    text = texts(nb)
    for expected in EXPECTED[name]:
        assert expected in text, expected
    traced = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%gradlens trace")]
    assert traced
    for cell in traced:  # the findings widget, live, with its HTML fallback and graph
        [shown] = [o for o in cell.outputs if o.output_type == "display_data"]
        assert WIDGET_VIEW in shown.data and "<svg" in shown.data["text/html"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_saved_notebook_matches_the_builder_and_reads_without_a_kernel(name):
    saved = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(saved)
    cells = builder().NOTEBOOKS[name]
    assert [(c.cell_type, c.source) for c in saved.cells] == [(c["cell_type"], c["source"]) for c in cells]
    text = texts(saved)
    for expected in EXPECTED[name]:
        assert expected in text, expected  # the outputs were saved
    for cell in saved.cells:
        for out in cell.get("outputs", ()):
            assert WIDGET_VIEW not in out.get("data", {})  # GitHub and nbconvert show the HTML instead
    assert "widgets" not in saved.metadata

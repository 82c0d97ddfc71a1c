"""The seed tutorial's programs (on ``detach()``, ``.data`` and ``detach_()``), run and explained.

``python -m gradlens demo`` prints each program, what it printed, and what gradlens says.
"""

from __future__ import annotations

import sys
import textwrap

from .runner import run_source

__all__ = ["PROGRAMS", "main"]

# (title, what the tutorial says, source, names of tensors whose missing grad to explain)
PROGRAMS = [
    (
        "1. detach() cuts a copy out of the graph; backward through `out` still works",
        "c shares storage with out but has requires_grad=False and no grad_fn.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        print(c, c.requires_grad)
        out.sum().backward()
        print(a.grad)
        """,
        ("c",),
    ),
    (
        "2. backward through the detached tensor fails",
        "c has no graph, so c.sum().backward() raises and nothing reaches a.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        c.sum().backward()
        """,
        ("a",),
    ),
    (
        "3. an in-place edit of the detached tensor breaks backward",
        "c.zero_() writes into out's memory and bumps the version counter c and out share; "
        "sigmoid saved out, so backward raises.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        c.zero_()
        print(out)
        out.sum().backward()
        """,
        ("a",),
    ),
    (
        "4. the same edit through .data is not noticed: the gradient is silently wrong",
        ".data shares the memory but not the version counter, so backward runs and gives zeros.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.data
        c.zero_()
        out.sum().backward()
        print(a.grad)
        """,
        (),
    ),
    (
        "5. detach_() detaches in place: out becomes a leaf",
        "A graph built before still reaches a, unless it saved out itself.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        sq = out * out
        out.detach_()
        z = out * 2
        print(out.is_leaf, z.requires_grad)
        sq.sum().backward()
        """,
        ("out",),
    ),
    (
        "6. detach_() is refused on views",
        "A slice is a view of out; detach() works on it, detach_() does not.",
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        v = out[1:]
        d = v.detach()
        print(d)
        v.detach_()
        """,
        (),
    ),
    (
        "7. manual SGD: `w = w - lr * w.grad` makes w a non-leaf",
        "The second backward leaves w.grad None: w is now an intermediate result.",
        """
        import gradlens_core as torch
        x = torch.tensor([1., 2.])
        w = torch.tensor([0.5, -0.5], requires_grad=True)
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        w = w - 0.05 * w.grad
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        """,
        ("w",),
    ),
    (
        "8. an in-place ReLU after a sigmoid breaks backward",
        "relu_ edits the sigmoid's output, which SigmoidBackward0 saved.",
        """
        import gradlens_core as torch
        x = torch.tensor([-1., 0.5, 2.], requires_grad=True)
        h = x.sigmoid()
        h.relu_()
        h.sum().backward()
        """,
        ("x",),
    ),
]


def main(out=None) -> int:
    write = (out or sys.stdout).write
    for title, story, source, names in PROGRAMS:
        tr, printed, error, ns = run_source(source, f"<{title.split('.')[0]}>")
        write("=" * 78 + "\n" + title + "\n" + story + "\n\n")
        for i, line in enumerate(textwrap.dedent(source).strip("\n").splitlines(), 1):
            write(f"  {i:2d} | {line}\n")
        write("\noutput:\n")
        write("".join("  " + line + "\n" for line in printed.rstrip("\n").splitlines()))
        write("\ngradlens:\n")
        write("".join("  " + line + "\n" for line in str(tr.report()).splitlines()))
        explained = {e.name for e in tr.report().explanations}
        for name in names:
            t = ns.get(name)
            if name not in explained and t is not None and getattr(t, "grad", 0) is None:
                write("".join("  " + line + "\n" for line in str(tr.why_none(t)).splitlines()))
        write("\n")
    return 0

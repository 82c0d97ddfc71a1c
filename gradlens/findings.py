"""What gradlens finds, as plain frozen data: explanations, cut-offs, hazards and reports.

Rendering (text, HTML, widgets) is a function of these objects; they hold no tensors.

>>> e = Explanation(cause="non_leaf", line=3, message="`y` is an intermediate result.", path=("t2",), name="y")
>>> e.cause, e.line
('non_leaf', 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CAUSES",
    "CUT_KINDS",
    "HAZARD_KINDS",
    "Explanation",
    "Cutoff",
    "Hazard",
    "BackwardFailure",
    "Report",
    "FindingList",
]

CUT_KINDS = ("detach", "data", "detach_", "no_grad", "non_differentiable", "numpy", "item")
CAUSES = (
    "requires_grad_false",
    "non_leaf",
    "rebound",
    "no_backward_yet",
    "unused",
    *("cut:" + k for k in CUT_KINDS),
    "grad_cleared",
)
HAZARD_KINDS = ("breaks_backward", "silent_wrong_grad", "leaf_inplace")


@dataclass(frozen=True)
class Explanation:
    """Why a tensor's ``.grad`` is None.

    ``cause`` is one of :data:`CAUSES`; ``line`` is the source line most responsible;
    ``path`` lists graph node ids from the tensor towards the loss.
    """

    cause: str
    line: int | None
    message: str
    path: tuple = ()
    name: str | None = None
    file: str | None = None
    tensor_id: str | None = None

    def __str__(self) -> str:
        from .render_text import explanation_text

        return explanation_text(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .render_html import explanation_html

        return explanation_html(self)


@dataclass(frozen=True)
class Cutoff:
    """A place where the gradient path was cut: ``kind`` is one of :data:`CUT_KINDS`."""

    kind: str
    line: int | None
    source: str | None  # graph id of the tensor that required grad
    result: str | None  # graph id of the tensor made without history
    source_name: str | None = None
    result_name: str | None = None
    file: str | None = None
    op: str | None = None

    def __str__(self) -> str:
        from .render_text import cutoff_text

        return cutoff_text(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .render_html import cutoff_html

        return cutoff_html(self)


@dataclass(frozen=True)
class Hazard:
    """An in-place edit that will break backward (or silently corrupt it), known at edit time."""

    kind: str
    edit_line: int | None
    saved_line: int | None
    node: str | None  # PyTorch's name of the node that saved the tensor, e.g. SigmoidBackward0
    message: str
    op: str | None = None
    alias: str | None = None  # how the memory was reached: 'direct', 'view', 'detach', 'data', 'numpy'
    tensor: str | None = None  # graph id of the edited tensor
    saved_tensor: str | None = None  # graph id of the saved tensor
    edited_name: str | None = None
    saved_name: str | None = None
    file: str | None = None
    node_id: str | None = None

    @property
    def severity(self) -> str:
        return {"breaks_backward": "will raise", "silent_wrong_grad": "silently wrong"}.get(self.kind, "refused")

    def __str__(self) -> str:
        from .render_text import hazard_text

        return hazard_text(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .render_html import hazard_html

        return hazard_html(self)


@dataclass(frozen=True)
class ErrorInfo:
    """An exception as gradlens keeps it: its class, message and traceback positions.

    Keeping the exception itself would keep its traceback's frames, and through them
    every tensor in those frames, alive.
    """

    type_name: str
    message: str
    ident: int  # id() of the exception, to match the same error seen twice
    frames: tuple = ()  # (line, file, function) per traceback entry, innermost last

    @classmethod
    def of(cls, exc):
        if exc is None or isinstance(exc, ErrorInfo):
            return exc
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            frames.append((tb.tb_lineno, code.co_filename, code.co_name))
            tb = tb.tb_next
        return cls(type(exc).__name__, str(exc), id(exc), tuple(frames))

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BackwardFailure:
    """A backward call that raised, with the hazard that explains it when there is one."""

    line: int | None
    error: str
    node: str | None
    hazard: Hazard | None = None
    message: str = ""

    def __str__(self) -> str:
        return self.message or f"backward() at line {self.line} raised: {self.error}"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p class='gradlens-failure'>{escape(str(self))}</p>"


@dataclass(frozen=True)
class Report:
    """Everything a trace found."""

    tensors: int
    nodes: int
    explanations: tuple = ()
    cutoffs: tuple = ()
    hazards: tuple = ()
    failures: tuple = ()
    parameters: tuple = ()  # (parameter name, Explanation) for module parameters whose grad is None
    file: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return (
            f"{self.tensors} tensors, {self.nodes} backward nodes, {len(self.cutoffs)} cut-offs, "
            f"{len(self.hazards)} in-place hazards"
        )

    def __str__(self) -> str:
        from .render_text import report_text

        return report_text(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from .render_html import report_html

        return report_html(self)


class FindingList(tuple):
    """A tuple of findings that displays as a titled list (what ``%gradlens cutoffs`` returns).

    >>> fl = FindingList([Cutoff("detach", 4, "t3", "t4", "out", "c")], "Cut-offs")
    >>> print(fl)
    Cut-offs (1):
      cut-off [detach] line 4: `out` -> `c` (None)
    """

    title: str

    def __new__(cls, items=(), title: str = "Findings"):
        self = super().__new__(cls, items)
        self.title = title
        return self

    def __str__(self) -> str:
        if not self:
            return f"{self.title}: none"
        lines = [f"{self.title} ({len(self)}):"]
        for item in self:
            lines += ["  " + s for s in str(item).splitlines()]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from html import escape

        body = "".join(item._repr_html_() for item in self) or "<p>none</p>"
        return f"<div class='gradlens-findings'><h4>{escape(self.title)} ({len(self)})</h4>{body}</div>"

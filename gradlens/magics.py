"""The IPython extension: ``%load_ext gradlens``, the ``%%gradlens`` cell magic and ``%gradlens`` line magic.

The magic method only parses its arguments (IPython's ``magic_arguments``) and calls the
API: :func:`run_cell_traced` and :class:`CellTracing` here, ``Trace`` and its findings,
and :class:`~gradlens.widget.FindingsWidget`. Settings are traitlets, so
``%config GradlensMagics.max_nodes = 300`` works.

In a notebook::

    %load_ext gradlens

    %%gradlens trace
    a = torch.tensor([1, 2, 3.], requires_grad=True)
    out = a.sigmoid()
    out.detach().zero_()       # gradlens: breaks_backward, at this line
    out.sum().backward()       # raises; the widget explains which edit did it

    %gradlens why a            # why is a.grad None?

Loading registers nothing that runs per cell: only ``%gradlens on`` adds cell hooks,
and ``%gradlens off`` / ``%unload_ext gradlens`` remove them again.
"""

from __future__ import annotations

import dataclasses

from IPython.core import magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Int, TraitError, Unicode, validate

from .findings import ErrorInfo, FindingList
from .trace import Trace, clear_last, last_trace

__all__ = ["GradlensMagics", "CellTracing", "run_cell_traced", "load", "unload", "USAGE"]

USAGE = """\
%%gradlens trace [--name VAR] [--max-nodes N]
                          run the cell under a trace, keep it in VAR (default _gradlens), show the findings
%gradlens on | off        trace every cell (one trace across cells) | stop
%gradlens why EXPR        explain why the .grad of EXPR (any expression) is None
%gradlens cutoffs         where gradients were cut off
%gradlens hazards         in-place edits that will break backward or silently corrupt it
%gradlens graph [--max-nodes N]
                          draw the graph (SVG)
%gradlens export PATH     write the graph to PATH.graphml (GraphML) or PATH.json (graph and findings)
%gradlens clear           forget the traces
%gradlens help            show this text"""

COMMANDS = ("trace", "on", "off", "why", "cutoffs", "hazards", "graph", "export", "clear", "help")

# Names in the user namespace are learnt after each cell under the namespace's identity,
# the scope the recorder also gives module-level frames, so a name re-bound in a later
# cell is compared with what it held before.

# ``%%gradlens trace`` runs the cell's body; this comment stands in for the magic's own
# line, so line numbers (gradlens's and IPython's traceback) are the lines of the cell
# as the user sees it.
_MAGIC_LINE = "# %%gradlens trace\n"


def run_cell_traced(shell, cell: str) -> Trace:
    """Run ``cell`` in ``shell`` under a new trace, as ``%%gradlens trace`` does.

    IPython shows the cell's output and any exception as usual; the exception is kept
    in the trace's ``error``. Returns the stopped trace, with the names of the user
    namespace learnt.
    """
    tr = Trace()
    source = cell if cell.lstrip().startswith("%%") else _MAGIC_LINE + cell
    tr.start()
    try:
        result = shell.run_cell(source, store_history=False)
    finally:
        tr.recorder.stop(frame=None)
    tr.recorder.scan_namespace(list(shell.user_ns.items()), id(shell.user_ns))
    tr.error = ErrorInfo.of(result.error_before_exec or result.error_in_exec)
    return tr


class CellTracing:
    """``%gradlens on``: one trace across cells, listening only while a cell runs.

    ``show(trace)`` is called after a cell that added findings (a hazard, a cut-off, a
    failed backward) or raised after using tensors.
    """

    def __init__(self, shell, show=None) -> None:
        self.shell = shell
        self.show = show
        self.trace = Trace()
        self._depth = 0  # %%gradlens trace runs a cell inside a cell
        self._before = None
        self._mark = None

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        self.shell.events.unregister("pre_run_cell", self.pre_run_cell)
        self.shell.events.unregister("post_run_cell", self.post_run_cell)
        self.trace.recorder.stop(frame=None)

    def _counts(self) -> tuple:
        rec = self.trace.recorder
        rec.flush()
        return (
            len(rec.hazards),
            len(rec.cuts),
            sum(r.error is not None for r in rec.runs),
            (len(rec.records), len(rec.node_records)),  # not rec.graph: that would build a networkx graph
        )

    def pre_run_cell(self, info) -> None:
        self._depth += 1
        if self._depth == 1:
            self._before = self._counts()
            self._mark = self.trace.checkpoint()
            self.trace.error = None
            self.trace.start()

    def post_run_cell(self, result) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth:
            return
        tr = self.trace
        tr.recorder.stop(frame=None)
        tr.recorder.scan_namespace(list(self.shell.user_ns.items()), id(self.shell.user_ns))
        tr.error = ErrorInfo.of(result.error_in_exec)
        after = self._counts()
        raw = getattr(result.info, "raw_cell", "") or ""
        if self.show is None or raw.lstrip().startswith("%%gradlens") or self._before is None:
            return
        found = after[:3] != self._before[:3]
        used = after[3] != self._before[3]
        if found or (tr.error is not None and used):
            self.show(tr, since=self._mark)  # this cell's findings, not the whole session's


@magics_class
class GradlensMagics(Magics):
    """The ``%gradlens`` and ``%%gradlens`` magics and their settings."""

    max_nodes = Int(150, help="Graphs with more nodes collapse to the neighbourhood of the findings.").tag(config=True)
    auto_display = Bool(
        True, help="Show the findings widget after `%%gradlens trace` and after cells with new findings under `on`."
    ).tag(config=True)
    variable = Unicode("_gradlens", help="Where `%%gradlens trace` and `%gradlens on` keep their trace.").tag(
        config=True
    )
    keep_widgets = Int(
        20,
        help="How many findings widgets stay live; older ones are closed (their text and HTML stay in the output).",
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session: CellTracing | None = None
        self._stored: set = set()  # user_ns names holding traces the magics made
        self._shown: list = []  # the findings widgets still live, oldest first

    @validate("max_nodes")
    def _positive(self, proposal):
        if proposal["value"] < 1:
            raise TraitError("max_nodes must be at least 1")
        return proposal["value"]

    @magic_arguments.magic_arguments()
    # IPython's help formatter adds one '%' and indents the first line; argparse %-formats the text
    @magic_arguments.kwds(usage=USAGE[1:].replace("\n", "\n  ").replace("%", "%%"))
    @magic_arguments.argument("command", choices=COMMANDS, help="what to do (see above)")
    @magic_arguments.argument("args", nargs="*", help="EXPR for `why`, PATH for `export`")
    @magic_arguments.argument("--name", metavar="VAR", help="`trace`: the variable for the trace")
    @magic_arguments.argument("--max-nodes", type=int, metavar="N", help="`trace`, `graph`: collapse beyond N nodes")
    @line_cell_magic
    def gradlens(self, line: str, cell: str | None = None):
        """Explain gradient flow: why a grad is None, where it was cut off, which in-place edit breaks backward."""
        if line.split(None, 1)[:1] == ["why"] and cell is None:
            return self.why(line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else "")
        args = _parse(self.gradlens, line)
        if cell is not None:
            if args.command != "trace":
                _usage(f"`{args.command}` is a line magic: only `%%gradlens trace` takes a cell")
            _no_args(args, allowed=("name", "max_nodes"))
            return self.trace_cell(cell, name=args.name, max_nodes=args.max_nodes)
        if args.command == "trace":
            _usage("`trace` needs a cell: write `%%gradlens trace` on the first line of the cell")
        if args.command == "export":
            _no_args(args, allowed=("args",))
            if len(args.args) != 1:
                _usage("`export` takes one PATH (ending in .graphml or .json)")
            return self.export(_unquote(args.args[0]))
        if args.command == "graph":
            _no_args(args, allowed=("max_nodes",))
            return self.graph(args.max_nodes)
        _no_args(args)
        return getattr(self, args.command)()

    # ------------------------------------------------------------------ commands (the API calls)
    def current(self) -> Trace:
        """The trace the line commands read: the ``on`` trace, else the most recent one."""
        tr = self.session.trace if self.session is not None else last_trace()
        if tr is None:
            raise UsageError("no gradlens trace yet: run a cell with `%%gradlens trace` or use `%gradlens on`")
        return tr

    def trace_cell(self, cell: str, name: str | None = None, max_nodes: int | None = None) -> None:
        tr = run_cell_traced(self.shell, cell)
        name = name or self.variable
        self.shell.user_ns[name] = tr
        self._stored.add(name)
        if self.auto_display:
            self._show(tr, max_nodes)

    def _show(self, tr, max_nodes: int | None = None, since=None) -> None:
        from IPython.display import display

        from .widget import FindingsWidget

        widget = FindingsWidget(tr, max_nodes=max_nodes or self.max_nodes, since=since)
        display(widget)
        # every live widget holds its trace and graph: a long session keeps only the newest
        self._shown.append(widget)
        while len(self._shown) > max(self.keep_widgets, 0):
            self._shown.pop(0).release()

    def _auto_show(self, tr, since=None) -> None:
        if self.auto_display:  # read at each cell: `%config` may change it while `on`
            self._show(tr, since=since)

    def on(self) -> None:
        if self.session is not None:
            print("gradlens: already tracing every cell")
            return
        self.session = CellTracing(self.shell, show=self._auto_show)
        self.session.register()
        self.shell.user_ns[self.variable] = self.session.trace
        self._stored.add(self.variable)
        print(f"gradlens: tracing every cell into `{self.variable}` (`%gradlens off` stops)")

    def off(self) -> None:
        if self.session is None:
            print("gradlens: not tracing cells")
            return
        self.session.unregister()
        self.session = None
        print("gradlens: stopped tracing cells")

    def why(self, expr: str):
        expr = expr.strip()
        if not expr:
            _usage("`why` needs an expression: `%gradlens why EXPR`")
        tr = self.current()
        try:
            value = self.shell.ev(expr)
        except Exception as exc:
            raise UsageError(
                _one_line(f"gradlens why: cannot evaluate `{expr}`: {type(exc).__name__}: {exc}")
            ) from None
        if not tr.recorder.adapter.is_tensor(value):
            raise UsageError(_one_line(f"gradlens why: `{expr}` is not a tensor ({type(value).__name__})"))
        try:
            e = tr.why_none(value)
        except ValueError:
            raise UsageError(f"gradlens why: `{expr}.grad` is not None: there is nothing to explain") from None
        return e if e.name else dataclasses.replace(e, name=expr)

    def cutoffs(self) -> FindingList:
        return FindingList(self.current().cutoffs(), "Cut-offs")

    def hazards(self) -> FindingList:
        return FindingList(self.current().hazards(), "In-place hazards")

    def graph(self, max_nodes: int | None = None):
        from IPython.display import SVG

        from .render_svg import graph_svg

        return SVG(graph_svg(self.current().recorder, max_nodes=max_nodes or self.max_nodes))

    def export(self, path: str) -> None:
        tr = self.current()
        try:
            fmt = tr.export(path)
        except ValueError as exc:
            _usage(str(exc))
        except OSError as exc:
            raise UsageError(_one_line(f"gradlens export: cannot write {path}: {exc}")) from None
        g = tr.graph
        print(f"gradlens: wrote {path} ({fmt}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges)")

    def clear(self) -> None:
        if self.session is not None:
            self.session.unregister()
            self.session = CellTracing(self.shell, show=self.session.show)
            self.session.register()
        for name in self._stored:
            if isinstance(self.shell.user_ns.get(name), Trace):
                del self.shell.user_ns[name]
        self._stored.clear()
        if self.session is not None:
            self.shell.user_ns[self.variable] = self.session.trace
            self._stored.add(self.variable)
        clear_last()
        print("gradlens: cleared")

    def help(self) -> None:
        print(USAGE)

    def close(self) -> None:
        """Remove every hook and listener (``%unload_ext``)."""
        if self.session is not None:
            self.session.unregister()
            self.session = None


def _parse(magic, line: str):
    try:
        return magic_arguments.parse_argstring(magic, line)
    except UsageError as exc:
        _usage(str(exc))
    except ValueError as exc:  # unbalanced quotes
        _usage(f"cannot parse {line!r}: {exc}")


def _usage(problem: str):
    raise UsageError(f"{problem}\n\n{USAGE}")


def _no_args(args, allowed=()) -> None:
    given = {"args": bool(args.args), "name": args.name is not None, "max_nodes": args.max_nodes is not None}
    extra = [k for k, v in given.items() if v and k not in allowed]
    if extra:
        what = {"args": "arguments", "name": "--name", "max_nodes": "--max-nodes"}
        _usage(f"`{args.command}` takes no {', '.join(what[k] for k in extra)}")
    if args.max_nodes is not None and args.max_nodes < 1:
        _usage("--max-nodes must be at least 1")
    if args.name is not None and not args.name.isidentifier():
        _usage(f"--name needs a Python variable name, not {args.name!r}")


def _unquote(text: str) -> str:
    """IPython splits magic arguments keeping their quotes: ``'a b.json'`` -> ``a b.json``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load(ipython) -> None:
    """Register the magics (a no-op if they already are: loading twice adds nothing)."""
    if "GradlensMagics" in ipython.magics_manager.registry:
        return
    ipython.register_magics(GradlensMagics(shell=ipython))


def unload(ipython) -> None:
    """Remove the magics, their cell hooks and their listeners."""
    manager = ipython.magics_manager
    magics = manager.registry.pop("GradlensMagics", None)
    if magics is None:
        return
    magics.close()
    for kind in ("line", "cell"):
        if getattr(manager.magics[kind].get("gradlens"), "__self__", None) is magics:
            del manager.magics[kind]["gradlens"]
    ipython.configurables[:] = [c for c in ipython.configurables if c is not magics]

"""Differential fuzzing of gradlens_core against PyTorch: random small programs, run step by step.

A :class:`Program` is a list of :class:`Step` objects; each step is one Python statement
(plus the grad-mode context managers it runs in) and renders to source, so a failing
example prints as a readable program::

    import torch  # or: import gradlens_core as torch
    log = []
    ...
    t0 = torch.tensor([[1.0, -0.5]], requires_grad=True)
    t1 = t0.sigmoid()
    t1.detach().zero_()
    with torch.no_grad():
        t2 = t1 * 2
    t1.sum().backward()   # torch: RuntimeError: one of the variables needed ... | gradlens_core: ok

:func:`programs` is the hypothesis strategy. It steers by running each drawn step under
real torch as it goes (a torch namespace is the model of what exists: names, shapes,
dtypes), so most steps are valid and the rest fail for interesting reasons.
:func:`run_program` runs a program under both modules, one step at a time, catching each
step's exception; after every step it compares the two namespaces: values, dtypes,
shapes, ``requires_grad``, ``is_leaf``, ``grad_fn`` names (and their ``next_functions``),
``_version``, ``retains_grad``, every ``.grad``, the hook log, numbers and numpy arrays
that escaped, and each step's error (class and first sentence) and warnings. It returns
the first :class:`Disagreement`, or None.

Used by ``tests/test_fuzz_torch.py`` (bounded run) and ``scripts/fuzz_long.py`` (long run).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import re
import sys
import warnings

import numpy as np
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import first_sentence  # noqa: E402

import gradlens_core  # noqa: E402

__all__ = [
    "Step",
    "Program",
    "Outcome",
    "Disagreement",
    "programs",
    "run_program",
    "run_step",
    "fresh_namespace",
    "minimize",
    "check_tracing",
    "PRELUDE",
]

# ----------------------------------------------------------------------------- programs

PRELUDE = """\
torch.manual_seed(0)  # both libraries draw the same numbers from here on
log = []


def record(name, g):
    log.append((name, None if g is None else g.detach().clone()))
"""


@dataclasses.dataclass(frozen=True)
class Step:
    """One statement, run inside the context managers ``modes`` (outermost first)."""

    code: str
    modes: tuple = ()

    def source(self) -> str:
        return self.code if not self.modes else f"with {', '.join(self.modes)}:\n    {self.code}"


@dataclasses.dataclass(frozen=True)
class Program:
    steps: tuple

    def source(
        self, notes: dict | None = None, header: str = "import torch  # or: import gradlens_core as torch"
    ) -> str:
        """The program as Python; consecutive steps in the same modes share one ``with`` block.

        ``notes`` maps step indices to a comment put after that step.
        """
        lines = [header, *PRELUDE.splitlines(), ""]
        current = ()
        for i, step in enumerate(self.steps):
            if step.modes != current:
                current = step.modes
                if current:
                    lines.append(f"with {', '.join(current)}:")
            indent = "    " if current else ""
            note = f"  # {notes[i]}" if notes and i in notes else ""
            lines.append(f"{indent}{step.code}{note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.source()

    def __repr__(self) -> str:
        body = "\n".join(self.source().splitlines()[len(PRELUDE.splitlines()) + 2 :])
        return f'Program.parse("""\n{body}\n""")'

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def parse(cls, text: str) -> Program:
        """The program written as :meth:`source` writes it (without the header): one statement per
        line; ``with A, B:`` followed by indented statements puts them in those modes."""
        steps = []
        modes: tuple = ()
        for line in text.strip("\n").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("with ") and line.rstrip().endswith(":"):
                modes = tuple(m.strip() for m in line.rstrip()[5:-1].split(", "))
                continue
            if not line.startswith((" ", "\t")):
                modes = ()
            steps.append(Step(line.strip(), modes))
        return cls(tuple(steps))


# ----------------------------------------------------------------------------- running


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one step did: its error (None, or (class name, first sentence)) and warnings."""

    error: tuple | None
    warnings: tuple = ()

    def __str__(self) -> str:
        text = "ok" if self.error is None else f"{self.error[0]}: {self.error[1]}"
        if self.warnings:
            text += " [warns " + "; ".join(f"{c}: {m}" for c, m in self.warnings) + "]"
        return text


def fresh_namespace(module) -> dict:
    ns = {"torch": module, "__name__": "__fuzz__"}
    exec(PRELUDE, ns)
    return ns


_BASE_NAMES = frozenset(fresh_namespace(gradlens_core)) | {"__builtins__"}
_compiled: dict = {}


def _compile(code: str):
    c = _compiled.get(code)
    if c is None:
        if len(_compiled) > 50000:
            _compiled.clear()
        c = _compiled[code] = compile(code, "<fuzz>", "exec")
    return c


@contextlib.contextmanager
def _recording_warnings():
    """Record every warning, except numpy's floating-point RuntimeWarnings raised inside
    gradlens_core, which it silences on import (PyTorch returns nan/inf silently); pytest
    resets the filters for each test, so they are silenced again here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlens_core._warn.silence_numpy_float_warnings()
        yield caught


def run_step(ns: dict, step: Step) -> Outcome:
    """Run ``step`` in namespace ``ns``; never raises (the error is part of the outcome)."""
    error = None
    with _recording_warnings() as caught:
        try:
            code = _compile(step.code)
            with contextlib.ExitStack() as stack:
                for m in step.modes:
                    stack.enter_context(eval(m, ns))
                exec(code, ns)
        except Exception as exc:
            error = (type(exc).__name__, first_sentence(str(exc)))
    found = tuple((w.category.__name__, first_sentence(str(w.message))) for w in caught)
    return Outcome(error, found)


# ----------------------------------------------------------------------------- comparing


@dataclasses.dataclass(frozen=True)
class _Err:
    cls: str
    sentence: str

    def __repr__(self) -> str:
        return f"<raises {self.cls}: {self.sentence}>"


@dataclasses.dataclass(frozen=True)
class _Values:
    """A tensor's or array's values, compared with a tolerance by dtype."""

    array: np.ndarray

    def __repr__(self) -> str:
        return np.array2string(self.array, precision=6, threshold=30)


def _attr(fn):
    try:
        return fn()
    except Exception as exc:
        return _Err(type(exc).__name__, first_sentence(str(exc)))


def _node_name(node):
    return None if node is None else type(node).__name__


def _next_names(node):
    if node is None:
        return None
    return tuple((_node_name(n), nr) for n, nr in node.next_functions)


def describe_tensor(t, grad: bool = True) -> dict:
    """Everything a user can observe of tensor ``t`` (attribute errors included)."""
    d = {
        "shape": _attr(lambda: tuple(t.shape)),
        "dtype": _attr(lambda: str(t.dtype)),
        "requires_grad": _attr(lambda: t.requires_grad),
        "is_leaf": _attr(lambda: t.is_leaf),
        "grad_fn": _attr(lambda: _node_name(t.grad_fn)),
        "next_functions": _attr(lambda: _next_names(t.grad_fn)),
        "_version": _attr(lambda: t._version),
        "retains_grad": _attr(lambda: t.retains_grad),
        "values": _attr(lambda: _Values(np.array(t.detach().numpy(), copy=True))),
    }
    if grad:
        d["grad"] = _attr(lambda: describe(t.grad, grad=False))
    return d


def describe(obj, grad: bool = True):
    """A comparable summary of a namespace value of either module."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (gradlens_core.Tensor,)) or type(obj).__name__ in ("Tensor", "Parameter"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return describe_tensor(obj, grad)
    if isinstance(obj, np.ndarray):
        return {"ndarray": str(obj.dtype), "shape": obj.shape, "values": _Values(obj.copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (tuple, list)):
        return [describe(o, grad) for o in obj]
    if "RemovableHandle" in type(obj).__name__:
        return "<handle>"
    return f"<{type(obj).__name__}>"


# float64 values are often float32 values cast up (their last-bit differences, e.g. of linspace, come along),
# so they get float32's tolerance: real bugs differ by far more.
_TOL = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-4), "float64": (1e-5, 1e-4)}


def _values_differ(a: np.ndarray, b: np.ndarray) -> str | None:
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return None if np.array_equal(a, b) else "values differ"
    atol, rtol = _TOL.get(str(a.dtype), (1e-5, 1e-4))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if np.array_equal(np.isnan(a64), np.isnan(b64)) and np.allclose(a64, b64, atol=atol, rtol=rtol, equal_nan=True):
        return None
    return "values differ"


def compare(t, c, path: str, problems: list, names=("torch", "gradlens_core")) -> None:
    """Append to ``problems`` every difference between torch's summary ``t`` and gradlens_core's ``c``."""
    tn, cn = names
    if isinstance(t, dict) and isinstance(c, dict):
        for k in t:
            if k not in c:
                problems.append(f"{path}.{k}: {tn} {t[k]!r}, {cn} has none")
                continue
            compare(t[k], c[k], f"{path}.{k}", problems, names)
        return
    if isinstance(t, list) and isinstance(c, list):
        if len(t) != len(c):
            problems.append(f"{path}: {tn} has {len(t)} items, {cn} {len(c)}")
            return
        for i, (a, b) in enumerate(zip(t, c)):
            compare(a, b, f"{path}[{i}]", problems, names)
        return
    if isinstance(t, _Values) and isinstance(c, _Values):
        why = _values_differ(c.array, t.array)
        if why:
            problems.append(f"{path}: {why}: {tn} {t!r}, {cn} {c!r}")
        return
    if isinstance(t, float) and isinstance(c, float):
        if not (math.isclose(t, c, rel_tol=1e-4, abs_tol=1e-5) or (math.isnan(t) and math.isnan(c)) or t == c):
            problems.append(f"{path}: {tn} {t!r}, {cn} {c!r}")
        return
    if type(t) is not type(c) or t != c:
        problems.append(f"{path}: {tn} {t!r}, {cn} {c!r}")


def compare_namespaces(t_ns: dict, c_ns: dict, names=("torch", "gradlens_core")) -> list:
    problems: list = []
    tn, cn = names
    t_names = sorted(k for k in t_ns if k not in _BASE_NAMES and not k.startswith("__"))
    c_names = sorted(k for k in c_ns if k not in _BASE_NAMES and not k.startswith("__"))
    if t_names != c_names:
        problems.append(f"names: {tn} {t_names}, {cn} {c_names}")
        return problems
    for name in ["log", *t_names]:
        compare(describe(t_ns[name]), describe(c_ns[name]), name, problems, names)
    return problems


@dataclasses.dataclass
class Disagreement:
    """The first step after which the two modules differ (torch's outcomes first)."""

    program: Program
    index: int  # the step
    problems: list
    torch_outcomes: list
    core_outcomes: list
    names: tuple = ("torch", "gradlens_core")

    @property
    def key(self) -> tuple:
        """What kind of disagreement this is, for grouping: the failing statement's shape and the fields."""
        code = _normalise(self.program.steps[self.index].code)
        fields = sorted({re.sub(r"^[a-z]+\d*(\[\d+\])*", "", p.split(":", 1)[0]) for p in self.problems})
        return (code, tuple(fields))

    def report(self) -> str:
        tn, cn = self.names
        steps = Program(self.program.steps[: self.index + 1])
        notes = {}
        for i, (a, b) in enumerate(zip(self.torch_outcomes, self.core_outcomes)):
            if a.error or b.error or a.warnings or b.warnings or i == self.index:
                notes[i] = f"{tn}: {a} | {cn}: {b}" if str(a) != str(b) else f"both: {a}"
        return (
            f"{cn} differs from {tn} after step {self.index}:\n"
            + steps.source(notes)
            + "\n\ndifferences:\n  "
            + "\n  ".join(self.problems)
        )

    __str__ = report


def _normalise(code: str) -> str:
    code = re.sub(r"\b[tghvar]\d+\b", "x", code)
    code = re.sub(r"-?\d+(\.\d+)?", "N", code)
    return code


@contextlib.contextmanager
def _warn_always(*modules):
    """Warnings PyTorch gives once per process (TORCH_WARN_ONCE) given every time, on both
    sides: otherwise whether a program warns would depend on the programs run before it."""
    before = [m.is_warn_always_enabled() for m in modules]
    for m in modules:
        m.set_warn_always(True)
    try:
        yield
    finally:
        for m, b in zip(modules, before):
            m.set_warn_always(b)


def run_program(
    program: Program,
    torch,
    core=gradlens_core,
    ignore=None,
    tracer=None,
    names=("torch", "gradlens_core"),
    keep: dict | None = None,
) -> Disagreement | None:
    """Run ``program`` under ``torch`` and ``core``, one step at a time; the first disagreement, or None.

    ``ignore(problem) -> bool`` drops known differences (the long run uses it to look past a
    bug that is already reported). ``tracer`` (a ``gradlens.Trace``) listens while ``core``
    runs each step (not while the namespaces are compared): tracing must not change what the
    program does, so ``run_program(p, gradlens_core, gradlens_core, tracer=tr)`` must agree.
    ``names`` label the two sides in the report; ``keep`` (a dict) receives both namespaces.
    """
    t_ns, c_ns = fresh_namespace(torch), fresh_namespace(core)
    if keep is not None:
        keep.update(torch=t_ns, core=c_ns)
    tn, cn = names
    t_out: list = []
    c_out: list = []
    # one library on both sides (the tracing check) has one default generator: each side
    # keeps its own stream, as two processes would
    streams = [core.get_rng_state()] * 2 if torch is core else None
    with _warn_always(torch, core):
        for i, step in enumerate(program.steps):
            a = _run_on_stream(t_ns, step, streams, 0, core)
            if tracer is not None:
                tracer.recorder.start()
                try:
                    b = _run_on_stream(c_ns, step, streams, 1, core)
                finally:
                    tracer.recorder.stop()
            else:
                b = _run_on_stream(c_ns, step, streams, 1, core)
            t_out.append(a)
            c_out.append(b)
            problems = []
            if a.error != b.error:
                problems.append(f"error: {tn} {_fmt_err(a.error)}, {cn} {_fmt_err(b.error)}")
            if a.warnings != b.warnings:
                problems.append(f"warnings: {tn} {list(a.warnings)}, {cn} {list(b.warnings)}")
            problems += compare_namespaces(t_ns, c_ns, names)
            if ignore is not None:
                problems = [p for p in problems if not ignore(p)]
            if problems:
                return Disagreement(program, i, problems, t_out, c_out, names)
    if tracer is not None:
        tracer.recorder.scan_namespace(list(c_ns.items()), id(c_ns))
    return None


def _run_on_stream(ns: dict, step: Step, streams, side: int, module) -> Outcome:
    """``run_step``, on ``streams[side]`` of ``module``'s generator when sides share one."""
    if streams is None:
        return run_step(ns, step)
    module.set_rng_state(streams[side])
    try:
        return run_step(ns, step)
    finally:
        streams[side] = module.get_rng_state()


def _fmt_err(e) -> str:
    return "no error" if e is None else f"{e[0]}: {e[1]}"


def check_tracing(program: Program) -> list:
    """Run ``program`` on gradlens_core untraced and under ``gradlens.trace()``; what went wrong.

    Tracing must not change what the program does, the recorder must not fail, and every
    question gradlens answers must get an answer: the report (text and HTML), the graph
    SVG, hazards, cut-offs, and ``why_none`` of every tensor whose ``.grad`` is None.
    Returns a list of problems (empty when all is well).
    """
    import gc

    import gradlens
    from gradlens.render_svg import graph_svg

    tr = gradlens.trace()
    namespaces: dict = {}
    d = run_program(program, gradlens_core, gradlens_core, tracer=tr, names=("untraced", "traced"), keep=namespaces)
    if d is not None:
        return [d.report()]
    problems = [f"recorder: {e}" for e in tr.recorder.internal_errors]
    # Dead tensors of the program go now: a collection while the graph is being built breaks it
    # (test_reliability.py::test_gc_while_the_graph_is_built pins that bug deterministically).
    gc.collect()
    try:
        for name, value in namespaces["core"].items():
            if isinstance(value, gradlens_core.Tensor):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # .grad of a non-leaf
                    has_grad = value.grad is not None
                if not has_grad:
                    e = tr.why_none(value)
                    if e.cause not in gradlens.CAUSES or not e.message:
                        problems.append(f"why_none({name}): {e!r}")
        report = tr.report()
        if not (str(report) and report._repr_html_()):
            problems.append("empty report")
        if not graph_svg(tr.recorder).startswith("<svg"):
            problems.append("graph_svg is not an SVG")
        tr.hazards()
        tr.cutoffs()
    except Exception as exc:
        import traceback

        problems.append("gradlens raised:\n" + "".join(traceback.format_exception(exc)))
    return problems


def minimize(d: Disagreement, torch, core=gradlens_core, ignore=None) -> Disagreement:
    """Greedily drop steps while a disagreement of the same kind remains (for the long run's report)."""
    best = d
    changed = True
    while changed:
        changed = False
        steps = list(best.program.steps[: best.index + 1])
        for j in range(len(steps) - 2, -1, -1):
            trial = Program(tuple(steps[:j] + steps[j + 1 :]))
            got = run_program(trial, torch, core, ignore)
            if got is not None and got.key == best.key and got.index == len(trial.steps) - 1:
                best = got
                steps = list(trial.steps)
                changed = True
        # drop the modes of a step if they don't matter
        for j, s in enumerate(steps):
            if s.modes:
                trial = Program(tuple(steps[:j] + [Step(s.code)] + steps[j + 1 :]))
                got = run_program(trial, torch, core, ignore)
                if got is not None and got.key == best.key and got.index == len(trial.steps) - 1:
                    best = got
                    steps = list(trial.steps)
    return best


# ----------------------------------------------------------------------------- generating

FLOATS = ("1.0", "-1.0", "0.5", "-0.5", "2.0", "0.0", "-2.0", "1.5", "3.0", "-1.5", "0.25")
INTS = ("1", "0", "-1", "2", "3", "-2")
SCALARS = ("2", "0.5", "-1.5", "1", "0", "3", "-1", "True", "2.5")
EXPONENTS = ("2", "3", "0.5", "-1", "0", "1.5", "-2")


class _Model:
    """The torch namespace the generator steers by (names, shapes, dtypes, flags)."""

    def __init__(self, torch) -> None:
        self.torch = torch
        self.ns = fresh_namespace(torch)
        self.counter = itertools.count()

    def run(self, step: Step) -> Outcome:
        outcome = run_step(self.ns, step)
        # Look at everything as run_program does after each step (reading grad_fn regenerates a
        # view's history). Besides keeping the model's state the runner's, this avoids a torch
        # 2.13 crash: register_hook on a view whose base was edited in place since its grad_fn
        # was last read is a segmentation fault.
        for name, value in list(self.ns.items()):
            if name not in _BASE_NAMES and not name.startswith("__"):
                describe(value)
        return outcome

    def new(self, prefix: str = "t") -> str:
        return f"{prefix}{next(self.counter)}"

    def tensors(self) -> list:
        T = self.torch.Tensor
        return [(k, v) for k, v in self.ns.items() if k not in _BASE_NAMES and isinstance(v, T)]

    def named(self, prefix: str, cls) -> list:
        return [k for k, v in self.ns.items() if k.startswith(prefix) and k not in _BASE_NAMES and isinstance(v, cls)]

    def eval(self, expr: str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return eval(expr, self.ns)
            except Exception:
                return None


class _Gen:
    """Draw helpers over hypothesis's ``draw`` (every choice shrinks towards the first option)."""

    def __init__(self, draw, model: _Model) -> None:
        self.draw = draw
        self.m = model

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi] (just ``lo`` when the range is empty, e.g. over a dim of size 0)."""
        return self.draw(st.integers(lo, hi)) if hi > lo else lo

    def pick(self, seq):
        seq = list(seq)
        return seq[self.int(0, len(seq) - 1)]

    def coin(self, p: float) -> bool:
        return self.int(0, 99) >= 100 - round(p * 100)

    def weighted(self, pairs):
        total = sum(w for w, _ in pairs)
        r = self.int(0, total - 1)
        for w, v in pairs:
            if r < w:
                return v
            r -= w
        raise AssertionError

    # ------------------------------------------------------------------ operands
    def tensor(self, pred=None, prefer_grad: bool = True):
        """A tensor variable (name, torch tensor), preferring ones that require grad; None if none fits."""
        ts = [(k, v) for k, v in self.m.tensors() if pred is None or pred(v)]
        if not ts:
            return None
        if prefer_grad:
            rg = [(k, v) for k, v in ts if v.requires_grad]
            if rg and self.coin(0.6):
                ts = rg
        return self.pick(ts)

    def shape(self, max_rank: int = 3) -> tuple:
        rank = self.weighted([(2, 1), (2, 2), (1, 0), (1, 3)][: max_rank + 1] if max_rank >= 0 else [(1, 0)])
        return tuple(self.pick((2, 3, 1)) for _ in range(rank))

    def literal(self, shape: tuple, kind: str) -> str:
        pool = {"f": FLOATS, "i": INTS, "b": ("True", "False")}[kind]
        if not shape:
            return self.pick(pool)
        return "[" + ", ".join(self.literal(shape[1:], kind) for _ in range(shape[0])) + "]"

    def dims_text(self, shape: tuple) -> str:
        return ", ".join(str(s) for s in shape)

    def dim(self, t, allow_bad: bool = True) -> int:
        n = max(t.dim(), 1)
        if allow_bad and self.coin(0.03):
            return n
        return self.int(-n, n - 1) if t.dim() else self.pick((0, -1))

    def scalar(self) -> str:
        return self.pick(SCALARS)

    def other(self, x):
        """A second operand for ``x``: a broadcast-compatible tensor (mostly), any tensor, or a Python scalar."""
        if self.coin(0.3):
            return self.scalar()

        def fits(v):
            try:
                np.broadcast_shapes(tuple(x.shape), tuple(v.shape))
                return True
            except ValueError:
                return False

        y = self.tensor(fits if self.coin(0.9) else None)
        return y[0] if y else self.scalar()

    def basic_key(self, shape: tuple) -> str:
        n = len(shape)
        items = []
        if n and self.coin(0.15):
            items.append("...")
            dims = [shape[-1]]
        else:
            dims = list(shape[: self.int(1, n)]) if n else []
        for size in dims:
            kind = self.weighted([(4, "int"), (4, "slice"), (1, "none"), (1, "full")])
            if kind == "int":
                items.append(str(self.int(-size, size - 1) if not self.coin(0.03) else size))
            elif kind == "slice":
                items.append(self.weighted([(3, "1:"), (3, ":-1"), (2, "::2"), (2, "1:3"), (1, "-2:"), (1, "::-1")]))
            elif kind == "none":
                items.append("None")
            else:
                items.append(":")
        if not items:
            items = [self.pick(("...", "None", "()"))]
        return ", ".join(items)

    def key(self, name: str, t) -> str:
        shape = tuple(t.shape)
        if shape and self.coin(0.2):
            kind = self.pick(("list", "mask", "long", "list2", "nested"))
            if kind == "nested" and len(shape) >= 2:  # a list read as a tuple (PyTorch warns)
                return (
                    f"[{self.int(-shape[0], shape[0] - 1)}, [{self.int(0, shape[1] - 1)}, {self.int(0, shape[1] - 1)}]]"
                )
            if kind == "list":
                return "[" + ", ".join(str(self.int(-shape[0], shape[0] - 1)) for _ in range(self.int(1, 3))) + "]"
            if kind == "mask":
                return f"{name} > 0"
            if kind == "long":
                return f"torch.tensor([{', '.join(str(self.int(0, shape[0] - 1)) for _ in range(self.int(1, 3)))}])"
            if len(shape) >= 2:
                return f":, [{self.int(0, shape[1] - 1)}, {self.int(0, shape[1] - 1)}]"
        return self.basic_key(shape)


# --- step kinds: each returns the statement (a string) or None if it does not apply


def _factory(g: _Gen) -> str:
    name = g.m.new()
    rg = g.coin(0.6)
    rg_kw = ", requires_grad=True" if rg else ""
    kind = g.weighted(
        [
            (8, "tensor"),
            (2, "zeros"),
            (2, "ones"),
            (1, "rand"),
            (1, "randn"),
            (2, "full"),
            (1, "arange"),
            (1, "linspace"),
            (1, "eye"),
            (2, "like"),
            (1, "randint"),
        ]
    )
    if kind == "tensor":
        shape = g.shape()
        dkind = g.weighted([(10, "f"), (2, "f64"), (2, "i"), (1, "b"), (1, "f16")])
        if dkind == "f":
            return f"{name} = torch.tensor({g.literal(shape, 'f')}{rg_kw})"
        if dkind == "f64":
            return f"{name} = torch.tensor({g.literal(shape, 'f')}, dtype=torch.float64{rg_kw})"
        if dkind == "f16":
            return f"{name} = torch.tensor({g.literal(shape, 'f')}, dtype=torch.float16{rg_kw})"
        # integer and bool tensors: requires_grad is an error (rarely drawn)
        kw = ", requires_grad=True" if g.coin(0.05) else ""
        return f"{name} = torch.tensor({g.literal(shape, dkind)}{kw})"
    if kind in ("zeros", "ones", "rand", "randn"):
        shape = g.shape()
        size = f"({g.dims_text(shape)},)" if len(shape) == 1 else f"({g.dims_text(shape)})" if shape else "()"
        if g.coin(0.5) and shape:
            size = g.dims_text(shape)
        dt = ", dtype=torch.float64" if g.coin(0.15) else ""
        return f"{name} = torch.{kind}({size}{dt}{rg_kw})"
    if kind == "full":
        shape = g.shape()
        return f"{name} = torch.full(({g.dims_text(shape)}{',' if len(shape) == 1 else ''}), {g.pick(FLOATS)}{rg_kw})"
    if kind == "arange":
        n = g.int(1, 6)
        if g.coin(0.5):
            return f"{name} = torch.arange({n})"
        return f"{name} = torch.arange({float(n)}{rg_kw})"
    if kind == "linspace":
        return f"{name} = torch.linspace({g.pick(FLOATS)}, {g.pick(FLOATS)}, {g.int(1, 5)}{rg_kw})"
    if kind == "eye":
        return f"{name} = torch.eye({g.int(1, 3)}{rg_kw})"
    if kind == "randint":
        shape = g.shape()
        return f"{name} = torch.randint({g.int(-3, 0)}, {g.int(1, 5)}, ({g.dims_text(shape)}{',' * (len(shape) == 1)}))"
    x = g.tensor(prefer_grad=False)
    if x is None:
        return f"{name} = torch.ones({g.int(1, 3)}{rg_kw})"
    fn = g.pick(("zeros_like", "ones_like", "full_like", "rand_like", "randn_like"))
    value = f", {g.pick(FLOATS)}" if fn == "full_like" else ""
    return f"{name} = torch.{fn}({x[0]}{value}{rg_kw})"


UNARY_METHODS = (
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "abs",
    "neg",
    "square",
    "reciprocal",
    "log1p",
    "floor",
    "ceil",
    "round",
    "trunc",
    "sign",
    "clone",
    "contiguous",
)
UNARY_FUNCTIONS = ("exp", "sigmoid", "tanh", "relu", "abs", "sqrt", "log", "sin", "neg", "clone")


def _unary(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    name, xn = g.m.new(), x[0]
    form = g.weighted([(6, "method"), (2, "function"), (1, "neg"), (1, "clamp"), (1, "cast"), (1, "pow")])
    if form == "method":
        return f"{name} = {xn}.{g.pick(UNARY_METHODS)}()"
    if form == "function":
        return f"{name} = torch.{g.pick(UNARY_FUNCTIONS)}({xn})"
    if form == "neg":
        return f"{name} = -{xn}"
    if form == "clamp":
        lo, hi = g.pick(("-0.5", "0.0", "-1.0")), g.pick(("0.5", "1.0", "0.0"))
        return g.pick(
            (
                f"{name} = {xn}.clamp({lo}, {hi})",
                f"{name} = {xn}.clamp(min={lo})",
                f"{name} = {xn}.clamp(max={hi})",
                f"{name} = torch.clamp({xn}, {lo}, {hi})",
                f"{name} = {xn}.clamp_min({lo})",
            )
        )
    if form == "cast":
        return f"{name} = {xn}.{g.pick(('double()', 'float()', 'long()', 'bool()', 'half()', 'to(torch.float64)', 'int()'))}"
    e = g.pick(EXPONENTS)
    return g.pick((f"{name} = {xn} ** {e}", f"{name} = {xn}.pow({e})", f"{name} = {g.pick(('2', '0.5'))} ** {xn}"))


BINARY_OPS = ("+", "-", "*", "/", "+", "*", "**", ">", "==", "<=", "%")


def _binary(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    name, xn = g.m.new(), x[0]
    y = g.other(x[1])
    form = g.weighted([(6, "op"), (1, "rop"), (2, "fn"), (1, "where"), (1, "alpha")])
    if form == "op":
        return f"{name} = {xn} {g.pick(BINARY_OPS)} {y}"
    if form == "rop":
        return f"{name} = {g.scalar()} {g.pick(('+', '-', '*', '/'))} {xn}"
    if form == "fn":
        fn = g.pick(("add", "sub", "mul", "div", "maximum", "minimum", "pow", "clamp_min", "clamp_max"))
        if fn in ("maximum", "minimum") and not y.startswith(("t", "g")):
            return f"{name} = torch.{fn}({xn}, {xn} * {y})"
        return g.pick((f"{name} = torch.{fn}({xn}, {y})", f"{name} = {xn}.{fn}({y})"))
    if form == "where":
        return f"{name} = torch.where({xn} > 0, {xn}, {y})"
    return f"{name} = torch.{g.pick(('add', 'sub'))}({xn}, {y}, alpha={g.pick(('2', '-0.5'))})"


def _reduction(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    xn, t = x[0], x[1]
    name = g.m.new()
    fn = g.weighted(
        [
            (4, "sum"),
            (3, "mean"),
            (1, "prod"),
            (2, "max"),
            (1, "min"),
            (1, "amax"),
            (1, "var"),
            (1, "std"),
            (1, "norm"),
            (1, "argmax"),
            (2, "softmax"),
            (1, "log_softmax"),
            (1, "cumsum"),
            (1, "cumprod"),
            (1, "flip"),
        ]
    )
    if fn in ("softmax", "log_softmax", "cumsum", "cumprod"):
        return f"{name} = {xn}.{fn}({g.dim(t)})"
    if fn == "flip":
        dims = [g.dim(t)] if t.dim() < 2 or g.coin(0.5) else [0, -1]
        return g.pick((f"{name} = torch.flip({xn}, {dims})", f"{name} = {xn}.flip({', '.join(map(str, dims))})"))
    if fn == "norm":
        return f"{name} = {xn}.norm()"
    if g.coin(0.35) and fn != "amax":
        return f"{name} = {xn}.{fn}()"
    keep = ", keepdim=True" if g.coin(0.3) else ""
    if fn in ("sum", "mean", "amax") and t.dim() >= 2 and g.coin(0.3):
        d0 = g.int(0, t.dim() - 1)
        d1 = g.int(-t.dim(), -1)
        return f"{name} = {xn}.{fn}(({d0}, {d1}){keep})"
    d = g.dim(t)
    if fn in ("max", "min"):
        idx = g.m.new()
        return f"{name}, {idx} = {xn}.{fn}({d}{keep})"
    return f"{name} = {xn}.{fn}({d}{keep})"


def _matmul(g: _Gen) -> str | None:
    x = g.tensor(lambda v: v.dim() >= 1)
    if x is None:
        return None
    xn, t = x
    name = g.m.new()
    kind = g.weighted([(4, "matmul"), (2, "cat"), (2, "stack")])
    if kind == "matmul":

        def fits(v):
            if v.dim() == 0:
                return False
            inner = v.shape[0] if v.dim() == 1 else v.shape[-2]
            return inner == t.shape[-1]

        y = g.tensor(fits if g.coin(0.9) else (lambda v: v.dim() >= 1))
        if y is None:
            yn = f"{xn}.t()" if t.dim() == 2 else xn
        else:
            yn = y[0]
        return g.pick((f"{name} = {xn} @ {yn}", f"{name} = torch.matmul({xn}, {yn})"))
    same = g.tensor(lambda v: tuple(v.shape) == tuple(t.shape) if kind == "stack" else v.dim() == t.dim())
    yn = same[0] if same is not None and g.coin(0.8) else f"{xn} * 2"
    d = g.dim(t) if kind == "cat" else g.int(-t.dim() - 1, t.dim())
    return f"{name} = torch.{kind}([{xn}, {yn}], {d})"


def _view(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    xn, t = x
    shape = tuple(t.shape)
    n = t.dim()
    name = g.m.new()
    kind = g.weighted(
        [
            (6, "index"),
            (2, "view"),
            (2, "reshape"),
            (2, "t"),
            (1, "transpose"),
            (1, "permute"),
            (2, "unsqueeze"),
            (1, "squeeze"),
            (2, "expand"),
            (1, "narrow"),
            (1, "select"),
            (1, "flatten"),
            (1, "split"),
        ]
    )
    if kind == "index":
        return f"{name} = {xn}[{g.key(xn, t)}]"
    if kind == "view":
        return g.pick((f"{name} = {xn}.view(-1)", f"{name} = {xn}.view({_factor(g, shape)})"))
    if kind == "reshape":
        return g.pick((f"{name} = {xn}.reshape(-1)", f"{name} = {xn}.reshape({_factor(g, shape)})"))
    if kind == "t":
        return g.pick((f"{name} = {xn}.t()", f"{name} = {xn}.T", f"{name} = {xn}.mT"))
    if kind == "transpose":
        return f"{name} = {xn}.transpose({g.dim(t)}, {g.dim(t)})"
    if kind == "permute":
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = g.int(0, i)
            perm[i], perm[j] = perm[j], perm[i]
        return f"{name} = {xn}.permute({', '.join(map(str, perm))})" if n else f"{name} = {xn}.permute()"
    if kind == "unsqueeze":
        return f"{name} = {xn}.unsqueeze({g.int(-n - 1, n)})"
    if kind == "squeeze":
        return g.pick((f"{name} = {xn}.squeeze()", f"{name} = {xn}.squeeze({g.dim(t)})"))
    if kind == "expand":
        sizes = [str(s) if s != 1 else str(g.pick((1, 2, 3))) for s in shape]
        if not sizes or g.coin(0.4):
            sizes.insert(0, str(g.pick((2, 3))))
        if sizes and g.coin(0.2):
            sizes[-1] = "-1"
        return f"{name} = {xn}.expand({', '.join(sizes)})"
    if kind == "narrow" and n:
        d = g.int(0, n - 1)
        start = g.int(0, shape[d] - 1)
        return f"{name} = {xn}.narrow({d}, {start}, {g.int(0, shape[d] - start)})"
    if kind == "select" and n:
        d = g.int(-n, n - 1)
        return f"{name} = {xn}.select({d}, {g.int(-shape[d], shape[d] - 1)})"
    if kind == "split" and n:
        d = g.int(0, n - 1)
        how = g.pick(("unbind", "chunk", "split"))
        size = shape[d]
        if how == "unbind":
            count = size
            expr = f"{xn}.unbind({d})"
        elif how == "chunk":
            k = g.int(1, 3)
            step = -(-size // k)
            count = -(-size // step) if size else 0
            expr = f"{xn}.chunk({k}, {d})"
        else:
            k = g.int(1, 2)
            count = -(-size // k)
            expr = f"{xn}.split({k}, {d})"
        if 1 <= count <= 3:
            names = [name] + [g.m.new() for _ in range(count - 1)]
            return f"{', '.join(names)}, = {expr}" if count == 1 else f"{', '.join(names)} = {expr}"
        return f"{name} = {expr}"
    return f"{name} = {xn}.flatten()"


def _factor(g: _Gen, shape: tuple) -> str:
    numel = int(np.prod(shape)) if shape else 1
    options = [(numel,), (1, numel), (numel, 1)]
    for a in (2, 3):
        if numel % a == 0 and numel > a:
            options.append((a, numel // a))
            options.append((numel // a, -1))
    dims = g.pick(options)
    return ", ".join(map(str, dims))


INPLACE_UNARY = ("zero_()", "relu_()", "sigmoid_()", "exp_()", "tanh_()", "neg_()", "abs_()", "sin_()", "sqrt_()")


def _inplace(g: _Gen) -> str | None:
    x = g.tensor(prefer_grad=False)
    if x is None:
        return None
    xn, t = x
    target = xn
    if g.coin(0.35) and t.dim():
        target = g.pick((f"{xn}[{g.basic_key(tuple(t.shape))}]", f"{xn}.view(-1)", f"{xn}.t()", f"{xn}.unsqueeze(0)"))
    kind = g.weighted(
        [(5, "binary"), (4, "unary"), (2, "fill"), (2, "copy"), (2, "aug"), (3, "setitem"), (1, "clamp"), (1, "draw")]
    )
    if kind == "binary":
        y = g.other(t)
        op = g.pick(("add_", "sub_", "mul_", "div_"))
        alpha = f", alpha={g.pick(('2', '0.5'))}" if op in ("add_", "sub_") and g.coin(0.15) else ""
        return f"{target}.{op}({y}{alpha})"
    if kind == "unary":
        return f"{target}.{g.pick(INPLACE_UNARY)}"
    if kind == "fill":
        return f"{target}.fill_({g.pick(FLOATS)})"
    if kind == "copy":
        y = g.tensor(lambda v: _broadcasts_to(tuple(v.shape), tuple(t.shape)) if g.coin(0.9) else True)
        src = y[0] if y is not None else "torch.ones(1)"
        return f"{target}.copy_({src})"
    if kind == "aug":
        return f"{xn} {g.pick(('+=', '-=', '*=', '/=', '//=', '%=', '**='))} {g.other(t)}"
    if kind == "draw":  # the draws land in the target's memory order
        return f"{target}.{g.pick(('uniform_(-1, 2)', 'normal_()', 'normal_(1.0, 0.5)', 'uniform_()'))}"
    if kind == "clamp":
        if g.coin(0.5):  # a tensor bound (or a number): ClampMinBackward1 / ClampMaxBackward1
            return f"{target}.{g.pick(('clamp_min_', 'clamp_max_'))}({g.other(t)})"
        return f"{target}.clamp_({g.pick(('-0.5', '0.0'))}, {g.pick(('0.5', '1.0'))})"
    key = g.key(xn, t)
    sel = g.m.eval(f"{xn}[{key}]")
    value = g.pick(FLOATS)
    if sel is not None and g.coin(0.5):
        y = g.tensor(lambda v: _broadcasts_to(tuple(v.shape), tuple(sel.shape)))
        if y is not None:
            value = y[0]
    return f"{xn}[{key}] = {value}"


def _broadcasts_to(src: tuple, dst: tuple) -> bool:
    try:
        return np.broadcast_shapes(src, dst) == dst
    except ValueError:
        return False


def _grad_state(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    xn, t = x
    kind = g.weighted(
        [
            (4, "detach"),
            (3, "data"),
            (2, "detach_"),
            (2, "requires_grad_"),
            (1, "requires_grad_false"),
            (2, "retain_grad"),
            (1, "data_edit"),
            (1, "set_data"),
            (1, "assign_rg"),
        ]
    )
    if kind == "detach":
        return f"{g.m.new()} = {xn}.detach()"
    if kind == "data":
        return f"{g.m.new()} = {xn}.data"
    if kind == "detach_":
        return f"{xn}.detach_()"
    if kind == "requires_grad_":
        return f"{xn}.requires_grad_()"
    if kind == "requires_grad_false":
        return f"{xn}.requires_grad_(False)"
    if kind == "retain_grad":
        return f"{xn}.retain_grad()"
    if kind == "data_edit":
        return f"{xn}.{g.pick(('data', 'detach()'))}.{g.pick(('zero_()', 'mul_(2)', 'add_(1)'))}"
    if kind == "set_data":
        y = g.tensor(prefer_grad=False)
        return f"{xn}.data = {y[0] if y else 'torch.zeros(2)'}"
    return f"{xn}.requires_grad = {g.pick(('True', 'False'))}"


_HOOKS = ("lambda g: record('{h}', g)", "lambda g: g * 2", "lambda g: record('{h}', g) or g + 1")


def _hook(g: _Gen) -> str | None:
    handles = g.m.named("h", object)
    if handles and g.coin(0.3):
        return f"{g.pick(handles)}.remove()"
    x = g.tensor()
    if x is None:
        return None
    h = g.m.new("h")
    if g.coin(0.2):
        fn = g.pick(
            (
                f"register_hook(lambda gi, go: record('{h}', gi[0]))",
                f"register_prehook(lambda go: record('{h}', go[0]))",
            )
        )
        return f"{h} = {x[0]}.grad_fn.{fn}"
    return f"{h} = {x[0]}.register_hook({g.pick(_HOOKS).format(h=h)})"


def _backward(g: _Gen) -> str | None:
    x = g.tensor()
    if x is None:
        return None
    xn, t = x
    retain = ", retain_graph=True" if g.coin(0.4) else ""
    kind = g.weighted(
        [(4, "scalar"), (4, "sum"), (2, "gradient"), (2, "grad"), (2, "get_grad"), (1, "clear"), (1, "sgd")]
    )
    if kind == "scalar":
        if t.numel() != 1 and g.coin(0.8):
            return f"{xn}.sum().backward({retain[2:]})"
        return f"{xn}.backward({retain[2:]})"
    if kind == "sum":
        return f"{xn}.{g.pick(('sum()', 'mean()', 'exp().sum()', 'pow(2).sum()'))}.backward({retain[2:]})"
    if kind == "gradient":
        return f"{xn}.backward(torch.{g.pick(('ones_like', 'zeros_like'))}({xn}){retain})"
    if kind == "grad":
        y = g.tensor(lambda v: v.requires_grad)
        yn = y[0] if y is not None else xn
        opts = g.pick(("", ", allow_unused=True", ", create_graph=True", retain))
        return f"{g.m.new()}, = torch.autograd.grad({xn}.sum(), {yn}{opts})"
    if kind == "get_grad":
        return f"{g.m.new('g')} = {xn}.grad"
    if kind == "clear":
        return f"{xn}.grad = None"
    return f"{xn} -= 0.5 * {xn}.grad"


def _escape(g: _Gen) -> str | None:
    arrays = g.m.named("a", np.ndarray)
    if arrays and g.coin(0.4):
        a = g.pick(arrays)
        return g.pick((f"{a} += 1", f"{a}[...] = 0", f"{a} *= 2", f"{g.m.new()} = torch.from_numpy({a})"))
    x = g.tensor()
    if x is None:
        return None
    xn = x[0]
    kind = g.weighted([(2, "item"), (1, "tolist"), (2, "numpy"), (1, "float"), (1, "bool")])
    if kind == "item":
        return f"{g.m.new('v')} = {xn}.item()"
    if kind == "tolist":
        return f"{g.m.new('v')} = {xn}.tolist()"
    if kind == "numpy":
        return f"{g.m.new('a')} = {xn}{g.pick(('.detach()', '', '.data'))}.numpy()"
    if kind == "float":
        return f"{g.m.new('v')} = float({xn})"
    return f"{g.m.new('v')} = bool({xn} > 0)"


STEP_KINDS = (
    (3, _factory),
    (5, _unary),
    (6, _binary),
    (3, _reduction),
    (2, _matmul),
    (5, _view),
    (5, _inplace),
    (3, _grad_state),
    (2, _hook),
    (5, _backward),
    (1, _escape),
)
MODES = (
    (40, ()),
    (5, ("torch.no_grad()",)),
    (1, ("torch.set_grad_enabled(False)",)),
    (1, ("torch.no_grad()", "torch.enable_grad()")),
)
MAX_STEPS = 12


def draw_step(g: _Gen) -> Step:
    if not g.m.tensors():
        code = _factory(g)
    else:
        code = g.weighted(STEP_KINDS)(g) or _factory(g)
    return Step(code, g.weighted(MODES))


@st.composite
def programs(draw, torch, max_steps: int = MAX_STEPS):
    """Random programs over gradlens_core's supported subset, steered by running them under ``torch``."""
    model = _Model(torch)
    g = _Gen(draw, model)
    n = draw(st.integers(1, max_steps))
    steps = []
    for _ in range(n):
        step = draw_step(g)
        model.run(step)
        steps.append(step)
    return Program(tuple(steps))

"""The command line: ``python -m gradlens run SCRIPT.py`` and ``python -m gradlens demo``.

>>> main(["run", "no_such_script.py"])
2
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import traceback

from . import __version__

__all__ = ["main", "report_json"]


def report_json(tr) -> dict:
    """A JSON-ready view of a trace: the report's findings and the graph (node-link)."""
    import dataclasses

    import networkx as nx

    report = tr.report()
    data = nx.node_link_data(tr.graph, edges="edges")
    return {
        "summary": report.summary,
        "failures": [dataclasses.asdict(f) for f in report.failures],
        "hazards": [dataclasses.asdict(h) for h in report.hazards],
        "cutoffs": [dataclasses.asdict(c) for c in report.cutoffs],
        "explanations": [dataclasses.asdict(e) for e in report.explanations],
        "parameters": [{"name": n, **dataclasses.asdict(e)} for n, e in report.parameters],
        "graph": json.loads(json.dumps(data, default=str)),
    }


def _run(args) -> int:
    from .runner import run_code
    from .trace import Trace

    path = args.script
    if not os.path.isfile(path):
        print(f"gradlens: no such script: {path}", file=sys.stderr)
        return 2
    tr = Trace()
    with _script_context(path, args.args, args.as_torch):
        try:
            with open(path, encoding="utf-8") as fh:
                code = compile(fh.read(), path, "exec")
        except (SyntaxError, UnicodeDecodeError) as exc:
            print(f"gradlens: cannot compile {path}: {exc}", file=sys.stderr)
            return 2
        error = run_code(code, {"__name__": "__main__", "__file__": path}, tr)
    status = 0
    if isinstance(error, SystemExit):
        status = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
    elif error is not None:
        # the script's own traceback, without gradlens's runner frame
        tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
        traceback.print_exception(type(error), error, tb)
        sys.stderr.flush()
        status = 1
    print(tr.report())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report_json(tr), fh, indent=1, default=str)
    if args.html:
        from .render_html import standalone_page

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(standalone_page(tr))
    return status


@contextlib.contextmanager
def _script_context(path, argv, as_torch):
    """Run as the script would run alone: its argv and folder, and `import torch` aliased
    if asked; everything is restored afterwards (real torch stays real)."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_modules = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    finder = _alias_torch() if as_torch else None
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if finder is not None:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(finder)
            for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
                del sys.modules[k]
            sys.modules.update(saved_modules)


class _TorchAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import torch.X`` give the module ``gradlens_core.X`` itself, for any X.

    Aliasing through ``sys.modules`` alone covers only the names put there: any other
    submodule would be found on ``torch``'s ``__path__`` (gradlens_core's folder) and executed
    a second time as ``torch.X``, a copy with its own state (hooks registered on the copy
    never fire). This finder runs before the path finders and hands back the one module.

    >>> finder = _TorchAliasFinder()
    >>> finder.find_spec("torch.autograd.graph", None).name
    'torch.autograd.graph'
    >>> finder.find_spec("torchvision", None) is None
    True
    """

    _PREFIX = "torch."

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self._PREFIX):
            return None
        target_name = "gradlens_core." + fullname[len(self._PREFIX) :]
        try:
            if importlib.util.find_spec(target_name) is None:
                return None
        except (ImportError, ValueError):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        # the existing module object: import machinery then binds it under the torch.* name
        module = importlib.import_module("gradlens_core." + spec.name[len(self._PREFIX) :])
        spec.loader_state = module.__spec__  # the machinery overwrites __spec__: put it back
        return module

    def exec_module(self, module):
        # already executed once, as gradlens_core.X; it keeps its own spec (reload, pickling)
        module.__spec__ = module.__spec__.loader_state


def _alias_torch() -> _TorchAliasFinder:
    """Let `import torch` and `import torch.<anything>` load gradlens_core's modules."""
    import gradlens_core

    sys.modules["torch"] = gradlens_core
    for k in [k for k in sys.modules if k.startswith("torch.")]:
        del sys.modules[k]  # a real torch's submodules must not be found under the alias
    finder = _TorchAliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gradlens", description="Explain gradient flow in gradlens_core programs.")
    parser.add_argument("--version", action="version", version=f"gradlens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="trace a script and print the findings", usage="gradlens run SCRIPT.py [options] [-- script args]"
    )
    run.add_argument("script", help="a Python script written against gradlens_core")
    run.add_argument("--json", metavar="OUT.json", help="also write the findings and graph as JSON")
    run.add_argument("--html", metavar="OUT.html", help="also write a standalone HTML page with the graph")
    run.add_argument("--as-torch", action="store_true", help="let `import torch` load gradlens_core")
    sub.add_parser("demo", help="run the seed tutorial's programs and explain each")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error("unrecognized arguments: " + " ".join(rest))
        from .demo import main as demo_main

        return demo_main()
    args.args = [a for a in rest if a != "--"]
    return _run(args)

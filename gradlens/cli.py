"""The command line: ``python -m gradlens run SCRIPT.py`` and ``python -m gradlens demo``.

>>> main(["run", "no_such_script.py"])
2
"""

from __future__ import annotations

import argparse
import contextlib
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
    if as_torch:
        _alias_torch()
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if as_torch:
            for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
                del sys.modules[k]
            sys.modules.update(saved_modules)


def _alias_torch() -> None:
    import importlib

    import gradlens_core

    sys.modules["torch"] = gradlens_core
    for sub in ("nn", "nn.functional", "nn.utils", "autograd", "optim", "optim.lr_scheduler", "utils", "utils.data"):
        sys.modules["torch." + sub] = importlib.import_module("gradlens_core." + sub)


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

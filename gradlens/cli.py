"""The command line: ``python -m gradlens run SCRIPT.py`` and ``python -m gradlens demo``.

>>> main(["run", "no_such_script.py"])
2
"""

from __future__ import annotations

import argparse
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
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *args.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    if args.as_torch:
        _alias_torch()
    try:
        with open(path, encoding="utf-8") as fh:
            code = compile(fh.read(), path, "exec")
    except (SyntaxError, UnicodeDecodeError) as exc:
        sys.argv, sys.path[:] = saved_argv, saved_path
        print(f"gradlens: cannot compile {path}: {exc}", file=sys.stderr)
        return 2
    namespace = {"__name__": "__main__", "__file__": path}
    tr = Trace()
    status = 0
    try:
        error = run_code(code, namespace, tr)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
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


def _alias_torch() -> None:
    import importlib

    import gradlens_core

    sys.modules["torch"] = gradlens_core
    for sub in ("nn", "nn.functional", "autograd", "optim"):
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

"""An unknown keyword (``foo=1``) to every out-of-place op of the parser's table, gradlens_core
next to PyTorch.

    .venv/bin/python scripts/unknown_keyword_survey.py        # prints each call whose text differs

Each op of ``gradlens_core._argparse._SIGNATURES`` (not in-place) is called as ``torch.<op>``
and as a Tensor method with its first signature's required arguments (a 2x2 float tensor, 0,
(2, 2), 1.0, ...) and ``foo=1``; the errors' first lines are compared. Prints ``N of M calls
differ``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outcomes(t) -> dict:
    """Each call's error (class and first line), by ``function:op`` or ``method:op``."""
    from gradlens_core._argparse import _SIGNATURES

    def value(ty: str, name: str):
        ty = ty.rstrip("?")
        if ty == "Tensor":
            return t.tensor([[0.5, 1.5], [2.0, 3.0]])
        if ty in ("int", "SymInt"):
            return 1 if name == "k" else 0
        if ty.startswith("int["):
            return (2, 2)
        if ty in ("Number", "float"):
            return 1.0
        if ty == "bool":
            return False
        if ty == "ScalarType":
            return t.float32
        if ty == "Tensor[]":
            return [t.tensor([[0.5, 1.5], [2.0, 3.0]])] * 2
        if ty == "str":
            return "sum"
        raise KeyError(ty)

    out = {}
    for name, sigs in sorted(_SIGNATURES.items()):
        if name.endswith("_") or name.startswith("_"):
            continue
        args = []
        try:
            for part in next(s for s in sigs if not s.startswith("!")).split(", "):
                decl, _, default = part.partition(" = ")
                if part == "*" or default:
                    break
                ty, pname = decl.split(" ")
                args.append(value(ty, pname))
        except KeyError:
            continue
        for form in ("function", "method"):
            if form == "method" and not (args and isinstance(args[0], t.Tensor)):
                continue
            try:
                f = getattr(t, name) if form == "function" else getattr(args[0], name)
            except AttributeError:
                continue
            try:
                f(*args, foo=1) if form == "function" else f(*args[1:], foo=1)
                r = "ok"
            except Exception as e:  # noqa: BLE001 (compared)
                r = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            out[f"{form}:{name}"] = r
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":  # (a child: one library, JSON out)
        if sys.argv[2] == "torch":
            import torch as t
        else:
            import gradlens_core as t
        json.dump(outcomes(t), sys.stdout)
        return 0
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, __file__, "--run", lib], capture_output=True, text=True, env=env, check=True
            ).stdout
        )
        for lib in ("torch", "gradlens_core")
    ]
    ref, got = runs
    keys = sorted(set(ref) & set(got))
    differ = [k for k in keys if ref[k] != got[k]]
    for k in differ:
        print(f"{k}\n  torch:         {ref[k]}\n  gradlens_core: {got[k]}")
    print(f"{len(differ)} of {len(keys)} calls differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())

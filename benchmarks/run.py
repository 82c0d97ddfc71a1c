"""Run the workloads side by side and print medians and ratios.

    python -m benchmarks [--repeat N] [--quick] [--json OUT.json] [--only NAME]

Each workload runs under gradlens_core, under gradlens_core traced by ``gradlens.trace()``,
under raw numpy where a numpy floor makes sense, and under torch when it is installed.
Runs of the different variants are interleaved, so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

import gradlens
import gradlens_core

from . import workloads

TARGETS = {
    ("tiny_chain", "core/torch"): 1.0,
    ("big_elementwise", "core/torch"): 1.2,
    ("mlp_step", "core/torch"): 1.2,
    ("tiny_chain", "traced/core"): 1.5,
    ("mlp_step", "traced/core"): 1.1,
}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _traced(step):
    """The step under one long-lived trace (tracing left on), listening only while it runs."""
    recorder = gradlens.trace().recorder

    def run():
        recorder.start()
        try:
            step()
        finally:
            recorder.stop()

    run.recorder = recorder
    return run


def time_variants(variants: dict, repeat: int, rounds: int = 3) -> dict:
    """Median seconds of each variant.

    Variants take turns in short blocks over ``rounds`` rounds: machine noise hits them
    alike, while numpy's and torch's thread pools are not woken in strict alternation
    (their spinning threads would slow each other down).
    """
    times = {name: [] for name in variants}
    block = max(1, repeat // rounds)
    for _ in range(rounds):
        for name, fn in variants.items():
            fn()  # warm up (and let the other library's threads go idle)
            for _ in range(block):
                gc.collect()
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def bench_speed(name: str, repeat: int, quick: bool) -> dict:
    torch = _torch()
    args = {"tiny_chain": (10,), "big_elementwise": (2**12,), "mlp_step": (8, (32, 16, 4)), "deep_graph": (1000,)}
    extra = args[name] if quick else ()
    make = getattr(workloads, name)
    variants = {"core": make(gradlens_core, *extra)}
    variants["traced"] = _traced(make(gradlens_core, *extra))
    floor = getattr(workloads, "numpy_" + name, None)
    if floor is not None:
        variants["numpy"] = floor(*extra)
    if torch is not None:
        variants["torch"] = make(torch, *extra)
    medians = time_variants(variants, repeat)
    row = {"workload": name, "median_us": {k: v * 1e6 for k, v in medians.items()}, "ratios": {}}
    core = medians["core"]
    row["ratios"]["traced/core"] = medians["traced"] / core
    if "torch" in medians:
        row["ratios"]["core/torch"] = core / medians["torch"]
    if "numpy" in medians:
        row["ratios"]["core/numpy"] = core / medians["numpy"]
    return row


def bench_trace_memory(steps: int) -> dict:
    """Peak memory added by tracing ``steps`` mlp steps (tracemalloc), beyond the untraced run."""
    step = workloads.mlp_step(gradlens_core)
    step()
    gc.collect()
    tracemalloc.start()
    base0 = tracemalloc.get_traced_memory()[0]
    for _ in range(min(steps, 200)):
        step()
    untraced_peak = tracemalloc.get_traced_memory()[1] - base0
    tracemalloc.reset_peak()
    tr = gradlens.trace()
    t0 = time.perf_counter()
    with tr:
        for _ in range(steps):
            step()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base0
    tracemalloc.stop()
    return {
        "workload": "trace_memory",
        "steps": steps,
        "peak_added_mb": max(peak - untraced_peak, 0) / 2**20,
        "graph_nodes": tr.graph.number_of_nodes(),
        "seconds": seconds,
        "trace": tr,
    }


def bench_analysis(tr) -> dict:
    """why_none, hazards() and the collapsed graph's SVG on a big trace."""
    import gradlens_core as torch

    probe = torch.ones(2, requires_grad=True)
    out = {"workload": "analysis_latency"}
    t0 = time.perf_counter()
    try:
        tr.why_none(probe)
    except ValueError:
        pass
    out["why_none_ms"] = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    tr.hazards()
    out["hazards_ms"] = (time.perf_counter() - t0) * 1e3
    try:
        from gradlens.render_svg import graph_svg
    except ImportError:
        out["svg_ms"] = None
    else:
        t0 = time.perf_counter()
        graph_svg(tr.recorder)
        out["svg_ms"] = (time.perf_counter() - t0) * 1e3
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test uses this)")
    ap.add_argument("--steps", type=int, default=10_000, help="mlp steps for trace_memory")
    ap.add_argument("--only", help="run one workload")
    ap.add_argument("--json", metavar="OUT.json")
    args = ap.parse_args(argv)
    torch = _torch()  # default threads, as the reference figures were measured
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
    print("gradlens benchmarks:", ", ".join(f"{k} {v}" for k, v in env.items()))
    rows = []
    names = ["tiny_chain", "big_elementwise", "mlp_step", "deep_graph"]
    for name in names:
        if args.only and args.only != name:
            continue
        rep = max(3, args.repeat // (5 if name in ("deep_graph", "big_elementwise") else 1))
        row = bench_speed(name, 3 if args.quick else rep, args.quick)
        rows.append(row)
        med = "  ".join(f"{k} {v:10.0f}us" for k, v in row["median_us"].items())
        rat = "  ".join(f"{k} {v:5.2f}" for k, v in row["ratios"].items())
        print(f"{name:16s} {med}   | {rat}")
    if not args.only or args.only in ("trace_memory", "analysis_latency"):
        mem = bench_trace_memory(20 if args.quick else args.steps)
        tr = mem.pop("trace")
        rows.append(mem)
        print(
            f"trace_memory     {mem['steps']} traced mlp steps: +{mem['peak_added_mb']:.1f} MB peak, "
            f"{mem['graph_nodes']} graph nodes kept, {mem['seconds']:.1f} s"
        )
        lat = bench_analysis(tr)
        rows.append(lat)
        svg = "n/a" if lat["svg_ms"] is None else f"{lat['svg_ms']:.1f} ms"
        print(f"analysis_latency why_none {lat['why_none_ms']:.1f} ms, hazards {lat['hazards_ms']:.1f} ms, svg {svg}")
    print("\ntargets:")
    for row in rows:
        for (wl, ratio), target in TARGETS.items():
            if row.get("workload") == wl and ratio in row.get("ratios", {}):
                got = row["ratios"][ratio]
                print(f"  {wl:16s} {ratio:12s} {got:5.2f}  target <= {target}  {'ok' if got <= target else 'MISSED'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"env": env, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Each benchmark workload runs once at a tiny size, so the benchmark code cannot rot (no timing asserted)."""

from __future__ import annotations

import json

import gradlens_core
from benchmarks import run, workloads


def test_every_workload_runs_once_at_tiny_size():
    workloads.tiny_chain(gradlens_core, 3)()
    workloads.big_elementwise(gradlens_core, 64)()
    workloads.mlp_step(gradlens_core, 4, (8, 6, 3))()
    workloads.deep_graph(gradlens_core, 50)()
    workloads.numpy_tiny_chain(3)()
    workloads.numpy_big_elementwise(64)()


def test_benchmark_entry_point_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run.main(["--quick", "--repeat", "1", "--steps", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    names = [r["workload"] for r in data["rows"]]
    assert names == ["tiny_chain", "big_elementwise", "mlp_step", "deep_graph", "trace_memory", "analysis_latency"]
    assert all(r["ratios"]["traced/core"] > 0 for r in data["rows"][:4])
    assert "targets:" in capsys.readouterr().out

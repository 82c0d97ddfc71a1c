"""The command line: `python -m gradlens demo` and `python -m gradlens run SCRIPT.py`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from gradlens.cli import main

SEED_DATA = textwrap.dedent(
    """
    import gradlens_core as torch
    a = torch.tensor([1, 2, 3.], requires_grad=True)
    out = a.sigmoid()
    c = out.data
    c.zero_()
    out.sum().backward()
    print(a.grad)
    """
).lstrip()


def test_demo_explains_every_seed_program(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    assert text.count("=" * 78) == 8
    for needle in (
        "[cut:detach] line 4",  # 2. backward through the detached tensor
        "hazard [breaks_backward] (will raise) edit line 5, saved line 3 by SigmoidBackward0",  # 3. detach + zero_
        "hazard [silent_wrong_grad] (silently wrong) edit line 5, saved line 3 by SigmoidBackward0",  # 4. .data
        "[rebound] line 6",  # 7. manual SGD
        "edit line 4, saved line 3 by SigmoidBackward0",  # 8. in-place relu
    ):
        assert needle in text


def test_run_prints_report_writes_json_and_html(tmp_path, capsys):
    script = tmp_path / "seed.py"
    script.write_text(SEED_DATA)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["run", str(script), "--json", str(out_json), "--html", str(out_html)]) == 0
    text = capsys.readouterr().out
    assert "tensor([0., 0., 0.])" in text and "silent_wrong_grad" in text
    data = json.loads(out_json.read_text())
    (h,) = data["hazards"]
    assert (h["kind"], h["edit_line"], h["saved_line"], h["node"]) == ("silent_wrong_grad", 5, 3, "SigmoidBackward0")
    assert data["graph"]["nodes"]
    assert out_html.read_text().startswith("<!DOCTYPE html>")


def test_run_of_a_failing_script_still_reports_and_exits_nonzero(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text(SEED_DATA.replace("c = out.data", "c = out.detach()"))
    proc = subprocess.run(
        [sys.executable, "-m", "gradlens", "run", str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "breaks_backward" in proc.stdout and "line 5" in proc.stdout
    assert "RuntimeError: one of the variables needed for gradient computation" in proc.stderr


def test_run_refuses_missing_and_broken_scripts(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.py")]) == 2
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    assert main(["run", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "no such script" in err and "cannot compile" in err


def test_run_as_torch_and_script_arguments(tmp_path, capsys):
    script = tmp_path / "t.py"
    script.write_text("import sys, torch\nprint(torch.ones(2).sum().item(), sys.argv[1:])\n")
    assert main(["run", str(script), "--as-torch", "--", "x", "y"]) == 0
    assert "2.0 ['x', 'y']" in capsys.readouterr().out

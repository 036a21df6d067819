"""`python -m mlci.review.sweep`: what it refuses before anything runs (the runs themselves: test_sweep_pipeline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from mlci.review import sweep as sweep_cli


def test_main__over_the_cap_is_one_line_and_exit_2(write_params, capsys, tmp_dir):
    write_params(sweep={"grid": {"train.seed": list(range(3)), "train.max_categories": [2, 5, 10]}})

    code = sweep_cli.main([])

    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: sweep: params.yaml: sweep has 9 runs (a 3 x 3 grid), more than sweep.max_runs 8; shrink the sweep "
        "or raise sweep.max_runs (at most 64)\n"
    )
    assert not (tmp_dir / "report").exists(), "nothing is written"


def test_main__no_sweep_declared(write_params, capsys, tmp_dir):
    write_params(train={"model": "random_forest"})

    assert sweep_cli.main([]) == 0

    assert "no sweep declared" in capsys.readouterr().out
    assert not (tmp_dir / "report").exists()


# `_dvc` in a process of its own, as the sweep runs it (DVC's log handlers hold the streams of the process that first
# imports DVC, which under pytest are the capture's, closed after each test).
CALL_DVC = """
import json, sys
from mlci.review.sweep import _dvc
code, output = _dvc(*sys.argv[2:], echo=sys.argv[1] == "echo")
print(json.dumps([code, output]))
"""


def call_dvc(cwd, *args: str, echo: bool = False) -> tuple[int, str, str, str]:
    """(code, output) from `_dvc(*args)`, and what the process printed besides: its stdout, its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", CALL_DVC, "echo" if echo else "quiet", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    *printed, last = done.stdout.splitlines(keepends=True)
    code, output = json.loads(last)
    return code, output, "".join(printed), done.stderr


def test_dvc__runs_dvc_in_this_process_and_returns_what_it_printed(tmp_path):
    code, output, stdout, stderr = call_dvc(tmp_path, "exp", "list")

    assert code == 253
    assert output.startswith("ERROR: you are not inside of a DVC repository"), output
    assert (stdout, stderr) == ("", ""), "nothing reaches the terminal unless echoed"


def test_dvc__echo_writes_the_output_to_stderr(tmp_path):
    code, output, stdout, stderr = call_dvc(tmp_path, "exp", "list", echo=True)

    assert code == 253
    assert (stdout, stderr) == ("", output)


def test_warm_stages__a_server_that_never_says_ready_is_stopped_and_the_stages_start_cold(tmp_path, monkeypatch):
    # given: the `python` the stage commands would find hangs instead of serving
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text("#!/bin/sh\nexec sleep 600\n")
    (fake / "python").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(sweep_cli, "WARM_START_SECONDS", 0.5)
    before = os.environ["PATH"]

    # when: the sweep waits for it
    with sweep_cli.warm_stages() as route:
        started = time.monotonic()
        route()
        waited = time.monotonic() - started
        inside = os.environ["PATH"]

    # then: it gave up after the timeout and left PATH alone, so DVC runs the stages with the real python
    assert 0.4 < waited < 10
    assert inside == before == os.environ["PATH"]

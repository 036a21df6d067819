"""The stage boundary: errors become one line and exit 2; a stage DVC runs records what it cost."""

from __future__ import annotations

import json
import time

import pytest

from mlci.core import cli
from mlci.core.errors import DataError


def test_run__user_error_is_one_line_and_exit_2(tmp_dir, capsys, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "split")

    def stage() -> None:
        raise DataError("data/raw/data.parquet is missing; run `dvc repro`")

    assert cli.run(stage, "split") == cli.EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: split: data/raw/data.parquet is missing; run `dvc repro`\n"
    assert not (tmp_dir / cli.COST_DIR).exists(), "a failed stage recorded a cost"


def test_run__under_dvc_records_the_cost(tmp_dir, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train")
    started = time.process_time()

    assert cli.run(lambda: sum(i * i for i in range(2_000_000)), "train") == 0

    cost = json.loads((tmp_dir / ".mlci/cost/train.json").read_text())
    assert set(cost) == {"stage", "wall_seconds", "cpu_seconds", "peak_rss_bytes", "finished"}
    assert cost["stage"] == "train"
    assert cost["cpu_seconds"] >= started + 0.01  # this process's CPU time so far, the loop included
    assert cost["wall_seconds"] >= time.process_time() - started - 0.05  # since the process started: at least that
    assert 10 * 1024**2 < cost["peak_rss_bytes"] < 64 * 1024**3


def test_run__outside_dvc_records_nothing(tmp_dir, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)

    assert cli.run(lambda: None, "train") == 0
    assert not (tmp_dir / ".mlci").exists()


def test_process_seconds__counts_from_the_process_start():
    seconds = cli.process_seconds()

    if seconds is None:
        pytest.skip("no /proc here: the cost counts from the stage's start instead")
    assert 0 < seconds < 24 * 3600

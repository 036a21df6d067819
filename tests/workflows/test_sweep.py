"""train.yml through act: a fork's pull request declares a 2 x 3 sweep; the report ranks its six runs.

The sweep runs in the pull request's train job as DVC experiments (no secrets, no remote: it is a fork), each point
re-running only train and evaluate; the report's sweep section and `sweep.json` travel in the `pr-report` artifact.
"""

from __future__ import annotations

import json
import re

import pytest
from actkit import PushedMain, Workspace, pull_request_event

from projectkit import stages_run

pytestmark = pytest.mark.slow

GRID = {"train.model": ["hist_gradient_boosting", "random_forest"], "train.max_categories": [2, 5, 30]}
SHARED = ("generate", "ingest", "validate", "split")


def test_pull_request_from_a_fork__sweep_is_run_and_ranked_in_the_report(
    pushed_main: PushedMain, workspace: Workspace
) -> None:
    assert pushed_main.run.succeeded(), "the push to main has to run first: it fills the cache"
    base = workspace.project.main_sha
    head = workspace.commit("Sweep model families", branch="feature", params={"sweep": {"grid": GRID}})

    run = workspace.act("pull_request", "train.yml", pull_request_event(9, base, head, head_repo="contributor/mlci"))

    assert run.succeeded(), run.tail()
    assert run.step("Run the sweep") == "success"
    ran = stages_run(run.log)
    assert all(ran.count(stage) <= 1 for stage in SHARED), f"shared stages are computed once at most: {ran}"
    assert ran.count("train") == 5, f"six points; the one with the pull request's params comes from the cache: {ran}"
    artifact = run.artifact("pr-report")
    sweep = json.loads((artifact / "sweep.json").read_text())
    assert [r["number"] for r in sweep["runs"]] == [1, 2, 3, 4, 5, 6]
    assert sweep["base_sha"] == base
    report = (artifact / "report.md").read_text(encoding="utf-8")
    section = report[report.index("### Sweep: 6 runs ranked by average_precision ↑") :].split("\n### ")[0]
    assert re.findall(r"^\| (\d) \|", section, flags=re.MULTILINE) == ["1", "2", "3", "4", "5", "6"]
    assert re.search(r"^dvc exp apply sweep-[0-9a-f]{7}-[1-6]$", section, flags=re.MULTILINE), section
    assert "(this pull request's params)" in section and "```mermaid" in section
    gate = json.loads((artifact / "gate.json").read_text())
    assert gate["passed"] is True, "the gate judges the pull request's own params; the sweep only informs"
    assert run.step("Quality gate") == "success"

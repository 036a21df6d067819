"""The front door, `python -m mlci <command>`: a quick list of the commands, then the chosen one, imported alone."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlci import __main__ as front

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mlci"


# Runs the front door as `python -m mlci` does, then writes the names of every module it imported to `$LOADED`.
RUN_AND_LIST = """
import os, runpy, sys
try:
    runpy.run_module("mlci", run_name="__main__", alter_sys=True)
finally:
    open(os.environ["LOADED"], "w").write("\\n".join(sorted(sys.modules)))
"""


def mlci(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlci", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def loaded_by(*args: str, cwd: Path) -> set[str]:
    """The modules `python -m mlci <args>` imports."""
    listing = cwd / "loaded.txt"
    env = os.environ | {"LOADED": str(listing)}
    subprocess.run([sys.executable, "-c", RUN_AND_LIST, *args], cwd=cwd, env=env, capture_output=True, timeout=120)
    names = set(listing.read_text().splitlines())
    listing.unlink()
    return names


def first_docstring_line(module: str) -> str:
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))).splitlines()[0]


def test_help__lists_every_command_with_its_docstring_line_and_imports_none(tmp_path):
    done = mlci("--help", cwd=tmp_path)

    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("usage: python -m mlci <command> [args]")
    listed = dict(line.split(maxsplit=1) for line in lines[lines.index("commands:") + 1 :])
    assert list(listed) == list(front.COMMANDS)
    for name, module in front.COMMANDS.items():
        said = listed[name]
        assert first_docstring_line(module).endswith(said[1:]), f"{name}: {said!r} is not its docstring's first line"
    loaded = loaded_by("--help", cwd=tmp_path)
    assert "mlci" in loaded, "the listing of what was imported is empty"
    assert not loaded & set(front.COMMANDS.values()), "--help imported a command's module"
    assert not loaded & {"numpy", "pandas", "pyarrow", "sklearn", "pydantic", "yaml"}


def test_the_labels_come_off_the_descriptions():
    assert front.describe("mlci.stages.train") == "Fit the model pipeline on the training split."
    assert front.describe("mlci.review.gate").startswith("May the workspace's model replace the base branch's?")
    assert front.describe("mlci.monitor.drift") == first_docstring_line("mlci.monitor.drift")


def test_every_command_module_has_a_main():
    for name, module in front.COMMANDS.items():
        assert callable(getattr(importlib.import_module(module), "main", None)), f"{name}: {module} has no main"


def test_unknown_command__one_line_naming_the_commands_and_exit_2(tmp_path):
    done = mlci("trian", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: mlci: unknown command 'trian'; the commands are generate, ingest, validate, split, train, evaluate, "
        "report, gate, sweep, run-cost, deploy, serve, drift, intake, retrain-pr, new-batch"
    ]


def test_no_command__the_list_on_stderr_and_exit_2(capsys):
    assert front.main([]) == 2

    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: python -m mlci <command>") and "  new-batch  " in err


def test_a_command_s_help_is_its_own_and_only_its_module_loads(tmp_path):
    done = mlci("gate", "--help", cwd=tmp_path)

    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m mlci.review.gate [-h] [--base REV] [--verdict FILE]\n")
    loaded = loaded_by("gate", "--help", cwd=tmp_path)
    assert "mlci.review.gate" in loaded
    assert not loaded & (set(front.COMMANDS.values()) - {"mlci.review.gate"})


def test_a_stage_s_help_runs_nothing(tmp_path):
    done = mlci("train", "--help", cwd=tmp_path)

    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m mlci.stages.train [-h]\n\nStage `train`: fit the model pipeline")
    assert list(tmp_path.iterdir()) == [], "--help trained something"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gate", "--verdict", "report/gate.json"], "error: gate: report/gate.json not found; run `python -m mlci"),
        (["new-batch", "--rows", "5"], "error: new-batch: n_rows must be greater than or equal to 100; got 5."),
        (["train"], "error: train: params.yaml not found"),
    ],
    ids=["gate", "new-batch", "train"],
)
def test_a_command_runs_behind_its_own_boundary(tmp_dir, capsys, argv, message):
    assert front.main(argv) == 2

    assert capsys.readouterr().err.startswith(message)


def test_a_stage_refuses_arguments_it_does_not_take(tmp_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        front.main(["evaluate", "--fast"])

    assert exit_.value.code == 2
    assert capsys.readouterr().err.endswith("python -m mlci.stages.evaluate: error: unrecognized arguments: --fast\n")

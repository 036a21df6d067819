"""The command boundary: our errors become one line and exit 2; a stage DVC runs records what it cost."""

from __future__ import annotations

import json
import time

import pytest

from mlci.core import cli
from mlci.core.errors import DataError


def test_exit_codes():
    assert (cli.EXIT_FAILED, cli.EXIT_USER_ERROR) == (1, 2)


def test_command__user_error_is_one_line_and_exit_2(tmp_dir, capsys, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "split")

    @cli.command("split")
    def main(argv=()) -> int:
        raise DataError("data/raw/data.parquet is missing; run `dvc repro`")

    assert main() == cli.EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: split: data/raw/data.parquet is missing; run `dvc repro`\n"
    assert not (tmp_dir / cli.COST_DIR).exists(), "a failed stage recorded a cost"


def test_command__under_dvc_records_the_cost(tmp_dir, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train")
    started = time.process_time()

    @cli.command("train")
    def main(argv=()) -> int:
        sum(i * i for i in range(2_000_000))
        return 0

    assert main() == 0

    cost = json.loads((tmp_dir / ".mlci/cost/train.json").read_text())
    assert set(cost) == {"stage", "wall_seconds", "cpu_seconds", "peak_rss_bytes", "finished"}
    assert cost["stage"] == "train"
    assert cost["cpu_seconds"] >= started + 0.01  # this process's CPU time so far, the loop included
    assert cost["wall_seconds"] >= time.process_time() - started - 0.05  # since the process started: at least that
    assert 10 * 1024**2 < cost["peak_rss_bytes"] < 64 * 1024**3


def test_command__outside_dvc_records_nothing(tmp_dir, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)

    assert cli.command("train")(lambda argv=(): 0)() == 0
    assert not (tmp_dir / ".mlci").exists()


def test_command__a_check_that_says_no_passes_its_code_through(tmp_dir, capsys, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "gate")

    @cli.command("gate")
    def main(argv: list[str] | None = None) -> int:
        print("gate failed:")
        return cli.EXIT_FAILED

    assert main([]) == 1
    assert capsys.readouterr() == ("gate failed:\n", "")
    assert not (tmp_dir / cli.COST_DIR).exists(), "only a run that succeeded records its cost"


def test_command__passes_the_arguments_and_keeps_the_name(monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    seen = []

    @cli.command("report")
    def main(argv: list[str] | None = None) -> int:
        """The report."""
        seen.append(argv)
        return 0

    assert main(["--no-png"]) == 0
    assert seen == [["--no-png"]]
    assert (main.__name__, main.__doc__) == ("main", "The report.")


def test_command__a_bug_keeps_its_traceback(capsys, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)

    @cli.command("train")
    def main(argv=()) -> int:
        return {}["missing"]

    with pytest.raises(KeyError, match="missing"):
        main()
    assert capsys.readouterr().err == ""


def test_command__wraps_a_subcommand_at_run_time(capsys):
    def promote(args: dict) -> int:
        raise DataError(f"version {args['version']!r} is not a semantic version")

    assert cli.command("deploy promote")(promote)({"version": "x"}) == 2
    assert capsys.readouterr().err == "error: deploy promote: version 'x' is not a semantic version\n"


def test_no_options__help_shows_the_first_docstring_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.no_options(["--help"], "mlci.stages.train", "Stage `train`: fit the model.\n\nMore.")

    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m mlci.stages.train [-h]\n\nStage `train`: fit the model.\n")
    assert "More." not in out


def test_no_options__none_given_parses_and_an_argument_given_is_a_usage_error(capsys):
    cli.no_options([], "mlci.stages.train", "Stage `train`.")

    with pytest.raises(SystemExit) as exit_:
        cli.no_options(["--fast"], "mlci.stages.train", "Stage `train`.")

    assert exit_.value.code == cli.EXIT_USER_ERROR
    assert capsys.readouterr().err.endswith("python -m mlci.stages.train: error: unrecognized arguments: --fast\n")


def test_process_seconds__counts_from_the_process_start():
    seconds = cli.process_seconds()

    if seconds is None:
        pytest.skip("no /proc here: the cost counts from the stage's start instead")
    assert 0 < seconds < 24 * 3600

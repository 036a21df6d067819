"""`run`, the one way the package runs git and DVC, and the revision helpers built on it, in real repositories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlci.core.errors import DataError, ReleaseError, RevisionError
from mlci.core.revisions import head, read_at, resolve_base, run
from projectkit import isolated_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit (`a.txt`) on `main`, as the working directory; no user settings."""
    isolated_repo(tmp_path, monkeypatch)
    (tmp_path / "a.txt").write_text("first\n", encoding="utf-8")
    run("git", "add", "a.txt")
    run("git", "commit", "--quiet", "-m", "first")
    return tmp_path


def fake_program(folder: Path, name: str, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable `name` first on PATH that runs the shell `script`."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_run__returns_what_the_command_printed(repo: Path) -> None:
    assert run("git", "show", "HEAD:a.txt") == "first\n"


def test_run__in_another_folder(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    os.chdir(elsewhere)

    assert run("git", "log", "--format=%s", cwd=repo) == "first\n"


def test_run__a_failure_names_the_command_up_to_its_first_option_and_what_git_said(repo: Path) -> None:
    with pytest.raises(RevisionError) as raised:
        run("git", "show", "HEAD:absent.txt", "--format=%s")

    assert str(raised.value) == "git show HEAD:absent.txt failed: fatal: path 'absent.txt' does not exist in 'HEAD'"


def test_run__the_last_error_line_rather_than_git_s_usage_hint(repo: Path) -> None:
    with pytest.raises(RevisionError, match=r"^git rev-parse nowhere failed: fatal: ambiguous argument 'nowhere'"):
        run("git", "rev-parse", "nowhere")


def test_run__raises_the_error_class_the_caller_names(repo: Path) -> None:
    with pytest.raises(ReleaseError, match=r"^git tag failed: fatal: "):
        run("git", "tag", "--annotate", "v1", "--message", "m", "0" * 40, error=ReleaseError)


def test_run__without_check_returns_the_output_of_a_failure(repo: Path) -> None:
    assert run("git", "rev-parse", "--verify", "--quiet", "nowhere", check=False) == ""


def test_run__outside_a_repository_says_where_to_run_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    with pytest.raises(RevisionError) as raised:
        run("git", "status", "--porcelain")

    message = str(raised.value)
    assert message.startswith("git status failed: fatal: not a git repository")
    assert message.endswith("; run it inside the project's git repository")


@pytest.mark.parametrize(
    ("command", "purpose", "message"),
    [
        (["git", "status"], None, "git not found; install git"),
        (["git", "status"], "use the model registry", "git not found; install git to use the model registry"),
        (["dvc", "status"], None, "dvc not found; run `make setup` and use the .venv's tools"),
        (["gto", "show"], None, "gto not found; install gto"),
    ],
)
def test_run__a_missing_program_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, command: list[str], purpose: str | None, message: str
) -> None:
    monkeypatch.setenv("PATH", "")

    with pytest.raises(RevisionError) as raised:
        run(*command, purpose=purpose)

    assert str(raised.value) == message


def test_run__dvc_s_last_error_line_without_its_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_program(
        tmp_path / "bin",
        "dvc",
        "echo 'Running stage train' >&2; echo \"ERROR: failed to reproduce 'train'\" >&2; "
        "echo 'Having any troubles?' >&2; exit 255",
        monkeypatch,
    )

    with pytest.raises(DataError) as raised:
        run("dvc", "add", "data/mine.csv", error=DataError)

    assert str(raised.value) == "dvc add data/mine.csv failed: failed to reproduce 'train'"


@pytest.mark.parametrize(
    ("script", "said"),
    [("echo 'only on stdout'; exit 3", "only on stdout"), ("exit 3", "exit code 3")],
    ids=["stdout", "silent"],
)
def test_run__a_failure_without_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, said: str) -> None:
    fake_program(tmp_path / "bin", "tool", script, monkeypatch)

    with pytest.raises(RevisionError) as raised:
        run("tool", "go", "--fast")

    assert str(raised.value) == f"tool go failed: {said}"


def test_read_at__a_file_at_a_revision_or_none(repo: Path) -> None:
    (repo / "a.txt").write_text("second\n", encoding="utf-8")

    assert read_at("HEAD", "a.txt") == "first\n"
    assert read_at("HEAD", "absent.txt") is None
    assert read_at("no-such-branch", "a.txt") is None


def test_head__the_commit_and_whether_tracked_files_differ(repo: Path) -> None:
    sha = run("git", "rev-parse", "HEAD").strip()
    assert head() == (sha, False)

    (repo / "a.txt").write_text("second\n", encoding="utf-8")
    (repo / "untracked.txt").write_text("x\n", encoding="utf-8")

    assert head() == (sha, True)


def test_resolve_base__the_merge_base_with_main(repo: Path) -> None:
    base = run("git", "rev-parse", "HEAD").strip()
    run("git", "switch", "--quiet", "-c", "feature")
    run("git", "commit", "--quiet", "--allow-empty", "-m", "feature")

    assert resolve_base(None) == base
    assert resolve_base("HEAD") == run("git", "rev-parse", "HEAD").strip()


def test_resolve_base__an_unknown_revision_says_what_to_pass(repo: Path) -> None:
    with pytest.raises(RevisionError, match=r"^unknown revision 'nowhere'; pass a branch, tag or commit"):
        resolve_base("nowhere")

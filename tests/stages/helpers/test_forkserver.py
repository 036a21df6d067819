"""Stage commands started warm: through the server, a stage writes the same bytes and fails with the same message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlci.stages.helpers.forkserver import main

DEMO = "demo:\n  n_rows: 500\n  seed: 7\n"


@pytest.fixture
def server(tmp_path):
    """A running server in a private folder: the folder (its `python` hands stage commands over); stopped after."""
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    process = subprocess.Popen(
        [sys.executable, "-m", "mlci.stages.helpers.forkserver", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield folder
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(python: Path | str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
    )


def project(root: Path, params: str | None = DEMO) -> Path:
    root.mkdir()
    if params is not None:
        (root / "params.yaml").write_text(params, encoding="utf-8")
    return root


def test_stage__same_outputs_as_a_plain_run(server, tmp_path):
    plain, warm = project(tmp_path / "plain"), project(tmp_path / "warm-run")

    done = [
        run(python, "-m", "mlci.stages.generate", cwd=root)
        for python, root in ((sys.executable, plain), (server / "python", warm))
    ]

    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    written = Path("data/demo/transactions.parquet")
    assert (warm / written).read_bytes() == (plain / written).read_bytes()


def test_stage__a_failure_keeps_its_exit_code_and_message(server, tmp_path):
    plain, warm = project(tmp_path / "plain", params=None), project(tmp_path / "warm-run", params=None)

    expected = run(sys.executable, "-m", "mlci.stages.train", cwd=plain)
    found = run(server / "python", "-m", "mlci.stages.train", cwd=warm)

    assert expected.returncode == 2 and "params.yaml not found" in expected.stderr
    assert (found.returncode, found.stdout, found.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_shim__anything_else_runs_with_the_real_python(server, tmp_path):
    done = run(server / "python", "-c", "import sys; print(sys.executable); sys.exit(3)", cwd=tmp_path)

    assert done.returncode == 3
    assert done.stdout.strip() == sys.executable


def test_shim__runs_the_stage_itself_when_the_server_is_gone(server, tmp_path):
    (server / "socket").unlink()  # as when the server has exited
    root = project(tmp_path / "alone")

    done = run(server / "python", "-m", "mlci.stages.generate", cwd=root)

    assert done.returncode == 0, done.stderr
    assert (root / "data" / "demo" / "transactions.parquet").is_file()


def test_main__usage(capsys, tmp_path):
    assert main([str(tmp_path / "absent")]) == 2

    assert "usage: python -m mlci.stages.helpers.forkserver DIR" in capsys.readouterr().err

"""The serving image's Dockerfile: hadolint passes, and its command serves an unpacked release package.

There is no Docker engine here, so the image's command (its CMD, its ENV and its HEALTHCHECK, read from the
Dockerfile) runs outside Docker, in a folder laid out as the image's WORKDIR: `params.yaml` and the package.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from servekit import ROOT, VERSION, Server, free_port, venv_environment

DOCKERFILE = ROOT / "Dockerfile"


def final_stage(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The (instruction, arguments) of the Dockerfile's last stage: continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#")))
    instructions = [tuple(line.strip().split(None, 1)) for line in text.splitlines() if line.strip()]
    last_from = max(i for i, (name, _) in enumerate(instructions) if name.upper() == "FROM")
    return [(name.upper(), args) for name, args in instructions[last_from:]]


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs = [pair for name, args in stage if name == "ENV" for pair in shlex.split(args)]
    return dict(pair.split("=", 1) for pair in pairs)


def test_dockerfile__hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile__command_matches_make_serve():
    stage = final_stage()
    assert json.loads(dict(stage)["CMD"]) == ["python", "-m", "mlci.serve"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^serve:.*\n\tpython -m mlci\.serve\n", makefile, re.MULTILINE), "make serve runs another command"
    copies = [args.split() for name, args in stage if name == "COPY"]
    assert ["${PACKAGE}", image_env(stage)["PACKAGE"] + "/"] in copies, "PACKAGE is not where the package is copied"
    assert ["params.yaml", "./"] in copies


@pytest.mark.slow
def test_image_command__serves_an_unpacked_release(package, tmp_path):
    stage = final_stage()
    command = json.loads(dict(stage)["CMD"])
    probe = json.loads(dict(stage)["HEALTHCHECK"].split(" CMD ", 1)[1])
    with tarfile.open(package.parent / f"{package.name}.tar.gz") as tar:  # as downloaded from the release
        tar.extractall(tmp_path / "release", filter="data")
    workdir = tmp_path / "app"
    workdir.mkdir()
    shutil.copyfile(ROOT / "params.yaml", workdir / "params.yaml")
    port = free_port()
    settings = {name: value for name, value in image_env(stage).items() if name != "PATH"}  # the venv plays /opt/venv
    unpacked = tmp_path / "release" / package.name
    env = venv_environment(**{**settings, "PACKAGE": str(unpacked), "HOST": "127.0.0.1", "PORT": str(port)})

    server = Server(command, workdir, env, port, tmp_path / "server.log")
    try:
        assert server.wait_healthy().json() == {"status": "ok", "version": VERSION}
        checked = subprocess.run(probe, cwd=workdir, env=env, capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
    finally:
        server.stop()
    # SIGTERM: uvicorn shuts down cleanly, then re-raises the signal so a supervisor sees it
    assert "Finished server process" in server.output() and "Traceback" not in server.output(), server.output()

"""Time the set-up, `make setup` (uv) against the same install through pip, and a fresh clone's `make repro`.

Both start from nothing, a new virtual environment in a temp folder, and install the runtime lock (requirements.txt)
plus the project itself, with the package caches warm, as on any machine that has installed the project once:
- uv: `make setup VENV=<temp>` with the project's own `.venv` left off PATH, so make takes the fresh-clone path
  (bootstrap the pinned uv wheel, then `uv pip install --require-hashes` and the editable install);
- pip: `python -m venv` (with pip), `pip install -r requirements.txt` (pip checks the hashes too) and
  `pip install --no-deps -e .`. pip runs once unmeasured first, to warm its cache.

Then a fresh clone: `git clone` of this repository's HEAD (committed work only) and `make repro` in it, timed from
the clone to the printed metrics: the README's first command on a machine that has set the project up once.

`python benchmarks/setup_bench.py` prints the numbers; `make bench` shows them as its set-up rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_SETUP_RATIO = 0.2  # uv's set-up at most this share of pip's
MAX_FRESH_CLONE_REPRO = 15.0  # seconds for a fresh clone's `make repro`, package cache warm


def clean_env() -> dict[str, str]:
    """This environment without the project's virtualenv on PATH (as in a fresh clone) and without VIRTUAL_ENV."""
    venv_bin = (ROOT / ".venv" / "bin").resolve()
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != venv_bin]
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join(path)
    return env


def base_python() -> str:
    """The interpreter the project's venv was made from (a fresh clone's `python3`)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def timed(commands: list[list[str]], env: dict[str, str]) -> float:
    started = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def uv_setup(work: Path, env: dict[str, str]) -> float:
    venv = work / "uv-venv"
    return timed([["make", "--no-print-directory", "setup", f"VENV={venv}", f"PYTHON={base_python()}"]], env)


def pip_setup(work: Path, env: dict[str, str], name: str) -> float:
    venv = work / name
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return timed(
        [[base_python(), "-m", "venv", str(venv)], [*pip, "-r", "requirements.txt"], [*pip, "--no-deps", "-e", "."]],
        env,
    )


def fresh_clone_repro(work: Path, env: dict[str, str]) -> float:
    clone = work / "clone"
    started = time.perf_counter()
    timed([["git", "clone", "--quiet", str(ROOT), str(clone)]], env)
    done = subprocess.run(["make", "repro"], cwd=clone, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`make repro` in a fresh clone failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def measure() -> dict[str, float]:
    """Seconds for each set-up and uv's share of pip's time; seconds for a fresh clone's `make repro`."""
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-setup-") as tmp:
        work = Path(tmp)
        uv_setup(work / "warm", env)  # warms uv's cache, as on a machine that has set the project up once
        shutil.rmtree(work / "warm")
        uv = uv_setup(work, env)
        pip_setup(work, env, "pip-warm-up")
        pip = pip_setup(work, env, "pip-venv")
        repro = fresh_clone_repro(work, env)
    return {"uv": uv, "pip": pip, "ratio": uv / pip, "fresh_clone_repro": repro}


def main() -> int:
    result = measure()
    print(json.dumps(result))
    print(
        f"setup: make setup (uv) {result['uv']:.1f} s, pip {result['pip']:.1f} s, "
        f"{result['ratio']:.2f}x (target <= {MAX_SETUP_RATIO}x); fresh clone `make repro` "
        f"{result['fresh_clone_repro']:.1f} s (target <= {MAX_FRESH_CLONE_REPRO:g} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

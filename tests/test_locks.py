"""The hash locks: compiled from their `.in` lists, every entry hashed, and `make lock-check` catching a stale one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")
LOCKS = {
    "requirements.txt": "requirements.in",
    "requirements-scale.txt": "requirements-scale.in",
    "requirements-dev.txt": "requirements-dev.in",
}


def entries(lock: Path) -> list[tuple[str, str, int]]:
    """(name, version, number of hashes) of each entry in a lock."""
    text = re.sub(r"\\\n", " ", lock.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found.append((match.group(1).lower(), match.group(2), line.count("--hash=sha256:")))
    return found


def pins(source: Path) -> dict[str, str]:
    """The exact pins a `.in` list names, following `-r` includes."""
    found: dict[str, str] = {}
    for raw in source.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= pins(source.parent / line.split(None, 1)[1])
        elif match := PIN.match(line):
            found[match.group(1).lower()] = match.group(2)
        elif line:
            pytest.fail(f"{source}: {line!r} is not an exact pin; the lists pin every direct dependency exactly")
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock__pins_every_direct_dependency_at_its_listed_version(lock: str) -> None:
    locked = {name: version for name, version, _ in entries(ROOT / lock)}
    for name, version in pins(ROOT / LOCKS[lock]).items():
        assert locked.get(name) == version, f"{LOCKS[lock]} pins {name}=={version}; {lock} has {locked.get(name)}"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock__every_entry_has_hashes(lock: str) -> None:
    unhashed = [f"{name}=={version}" for name, version, hashes in entries(ROOT / lock) if hashes == 0]
    assert not unhashed, f"{lock}: entries without --hash: {unhashed}"


def test_locks__agree_on_shared_packages() -> None:
    runtime, scale, dev = (
        {(name, version) for name, version, _ in entries(ROOT / lock)}
        for lock in ("requirements.txt", "requirements-scale.txt", "requirements-dev.txt")
    )
    assert runtime <= scale, f"the scale lock holds other versions of: {sorted(runtime - scale)}"
    assert scale <= dev, f"the dev lock holds other versions of (or lacks): {sorted(scale - dev)}"


def test_scale_extra__stays_out_of_the_runtime_install() -> None:
    runtime = {name for name, _, _ in entries(ROOT / "requirements.txt")}
    assert not {"lightgbm", "dask", "distributed"} & runtime


def test_locks__pin_the_uv_the_makefile_bootstraps() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "s/^uv==" in makefile and "requirements.txt" in makefile
    assert any(name == "uv" for name, _, _ in entries(ROOT / "requirements.txt"))


@pytest.mark.slow
def test_lock_check__fails_on_an_edited_list_and_names_the_fix(tmp_path: Path) -> None:
    """`make lock-check` re-compiles from PyPI, so it also proves the committed locks are what `make lock` writes."""
    for name in ("Makefile", "pyproject.toml", *LOCKS, *LOCKS.values()):
        shutil.copy2(ROOT / name, tmp_path / name)
    venv = ROOT / ".venv"
    make = ["make", "--no-print-directory", "lock-check", f"VENV={venv}"]

    fresh = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "locks are up to date" in fresh.stdout

    source = tmp_path / "requirements.in"
    source.write_text(source.read_text().replace("pyyaml==6.0.3", "pyyaml==6.0.2"), encoding="utf-8")
    stale = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert stale.returncode != 0
    assert "requirements.txt is out of date with requirements.in; run `make lock`" in stale.stderr
    assert "-pyyaml==6.0.3" in stale.stdout and "+pyyaml==6.0.2" in stale.stdout

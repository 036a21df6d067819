"""Stand-in for `uv` in act runs: offline, it installs nothing it cannot check.

- `uv --version`: the version of the uv package in the test environment (the lock pins it, so `make` accepts it).
- `uv pip install [--quiet] --python PY --require-hashes -r LOCK`: every requirement of LOCK whose marker applies must
  carry at least one `--hash` and already be importable at exactly its pinned version; nothing is downloaded.
- `uv pip install --python PY --no-deps -e DIR`: the project as an editable install, a `.pth` line in PY's
  site-packages pointing at its package folder.
- `uv pip compile [flags] IN -o LOCK` (what `make lock-check` runs): offline it cannot resolve, so it checks what it
  can, that every pin of IN stands in LOCK at the same version, and leaves LOCK as it is.
Every call is recorded for the test to read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import fail, record  # noqa: E402

FLAGS = {"--quiet", "-q", "--no-deps", "--require-hashes"}
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*$")


def requirements(path: Path) -> list[tuple[str, str, str | None, list[str]]]:
    """(name, version, marker, hashes) for each entry of a hash-locked requirements file."""
    if not path.is_file():
        fail(f"uv stand-in: File not found: `{path}`")
    entries: list[tuple[str, str, str | None, list[str]]] = []
    for logical in re.sub(r"\\\n", " ", path.read_text(encoding="utf-8")).splitlines():
        line = logical.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = re.findall(r"--hash=(\S+)", line)
        spec = re.sub(r"\s*--hash=\S+", "", line).strip()
        match = REQUIREMENT.match(spec)
        if match is None:
            fail(f"uv stand-in (offline) takes exact pins only; got {spec!r} in {path}")
        name, _, version, marker = match.groups()
        entries.append((name, version, marker, hashes))
    return entries


def check_lock(path: Path, require_hashes: bool) -> None:
    from packaging.markers import Marker

    for name, version, marker, hashes in requirements(path):
        if marker and not Marker(marker).evaluate():
            continue
        if require_hashes and not hashes:
            fail(f"uv stand-in: in `--require-hashes` mode every requirement needs a hash; {name}=={version} has none")
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            fail(f"uv stand-in is offline: {name}=={version} is not installed in the test environment")
        if found != version:
            fail(f"uv stand-in is offline: {name}=={version} is pinned but the test environment has {found}")


def install_editable(python: str, directory: Path) -> None:
    pyproject = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    name = pyproject["project"]["name"]
    root = pyproject.get("tool", {}).get("uv", {}).get("build-backend", {}).get("module-root", "src")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / f"__editable__.{name}.pth").write_text(str((directory / root).resolve()) + "\n")


def pip_install(args: list[str]) -> None:
    python, locks, editable = sys.executable, [], None
    require_hashes = "--require-hashes" in args
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in FLAGS:
            continue
        if arg == "--python":
            python = rest.pop(0)
        elif arg in ("-r", "--requirement"):
            locks.append(Path(rest.pop(0)))
        elif arg in ("-e", "--editable"):
            editable = Path(rest.pop(0))
        else:
            fail(f"uv stand-in: unsupported argument {arg!r} in `uv pip install {' '.join(args)}`")
    for lock in locks:
        check_lock(lock, require_hashes)
    if editable is not None:
        install_editable(python, editable)
    print(f"Checked {len(locks)} lock(s){' and installed the project' if editable else ''} (stand-in, offline)")


def pip_compile(args: list[str]) -> None:
    inputs = [Path(arg) for arg in args if arg.endswith(".in")]
    output = Path(args[args.index("-o") + 1]) if "-o" in args else None
    if len(inputs) != 1 or output is None:
        fail(f"uv stand-in: `uv pip compile` takes one .in file and -o LOCK here; got {args}")
    locked = {name.lower(): version for name, version, _, _ in requirements(output)}
    for raw in inputs[0].read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        match = REQUIREMENT.match(line)
        if not line or line.startswith("-r ") or match is None:
            continue
        name, _, version, _ = match.groups()
        if locked.get(name.lower()) != version:
            fail(f"uv stand-in: {inputs[0]} pins {name}=={version}; {output} has {locked.get(name.lower())}")


def main(args: list[str]) -> None:
    record("uv", args=args, cwd=os.getcwd())
    if args == ["--version"]:
        print(f"uv {metadata.version('uv')}")
    elif args[:2] == ["pip", "install"]:
        pip_install(args[2:])
    elif args[:2] == ["pip", "compile"]:
        pip_compile(args[2:])
    else:
        fail(f"uv stand-in supports `--version`, `pip install` and `pip compile` only; got {args}")


if __name__ == "__main__":
    main(sys.argv[1:])

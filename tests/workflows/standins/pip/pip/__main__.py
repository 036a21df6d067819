"""`python -m pip install ...`, offline.

- `-r FILE` (recursively): every pinned requirement must already be importable at exactly its pinned version, or
  the step fails as a real pip without a network would. Nothing is downloaded.
- `-e DIR` / `DIR`: installs the project the way an editable install does, with a `.pth` line pointing at its
  package folder (`tool.setuptools.packages.find.where`, else the project root).
Every call is recorded for the test to read.
"""

from __future__ import annotations

import json
import os
import re
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

IGNORED_FLAGS = {"--quiet", "-q", "--disable-pip-version-check", "--no-deps", "--upgrade", "-U", "--no-input"}
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;#]+)")


def record(args: list[str]) -> None:
    path = Path(os.environ["STANDIN_STATE"]) / "calls.jsonl"
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"tool": "pip", "args": args, "cwd": os.getcwd()}) + "\n")


def fail(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def check_requirements(path: Path) -> None:
    if not path.is_file():
        fail(f"Could not open requirements file: [Errno 2] No such file or directory: '{path}'")
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            check_requirements(path.parent / line.split(None, 1)[1])
            continue
        match = PIN.match(line)
        if match is None:
            fail(f"stand-in pip (offline) takes exact pins only; got {line!r} in {path}")
        name, _, version = match.groups()
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            fail(f"stand-in pip is offline: {name}=={version} is not installed in the test environment")
        if found != version:
            fail(f"stand-in pip is offline: {name}=={version} is pinned but the test environment has {found}")


def install_project(directory: Path) -> None:
    pyproject = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    name = pyproject["project"]["name"]
    where = pyproject.get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {}).get("where", ["."])
    site = Path(sysconfig.get_paths()["purelib"])
    (site / f"__editable__.{name}.pth").write_text(str((directory / where[0]).resolve()) + "\n", encoding="utf-8")
    print(f"Successfully installed {name}")


def main(args: list[str]) -> None:
    record(args)
    if not args or args[0] != "install":
        fail(f"stand-in pip supports `install` only; got {args}")
    rest = args[1:]
    while rest:
        arg = rest.pop(0)
        if arg in IGNORED_FLAGS:
            continue
        if arg in ("-r", "--requirement"):
            check_requirements(Path(rest.pop(0)))
        elif arg in ("-e", "--editable"):
            install_project(Path(rest.pop(0)))
        elif arg == "pip":
            continue  # `--upgrade pip`: keep the one there is
        elif Path(arg).is_dir():
            install_project(Path(arg))
        else:
            fail(f"stand-in pip (offline) cannot install {arg!r}")


main(sys.argv[1:])

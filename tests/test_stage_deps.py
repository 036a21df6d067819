"""Each DVC stage depends on exactly the package code it runs: its module and everything that module imports.

A change to shared code (say, how Parquet files are written) then re-runs the stages that use it and no others.
Imports are read with `ast`, including those inside functions (the stages import heavy modules lazily).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
STAGE_MODULE = re.compile(r"python -m (mlci(?:\.\w+)+)")


def module_file(name: str) -> Path | None:
    """The file of package module `name`, or None when it is not a module of ours."""
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """The `mlci` modules that the file imports anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("mlci"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("mlci"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                # `from mlci.core import cli` imports a module; `from mlci import __version__` reads a package.
                found.add(submodule if module_file(submodule) else node.module)
    return found


def closure(module: str) -> set[str]:
    """Repository paths of `module`'s file and of every package file it imports, transitively.

    A package's `__init__.py` counts only when code is read from it (a bare docstring runs nothing that matters).
    """
    seen: set[str] = set()
    todo = [module]
    files: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        assert path is not None, f"{name} is not a module under src/"
        files.add(path.relative_to(ROOT).as_posix())
        todo.extend(imported_modules(path))
    return files


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_deps__cover_the_import_closure(name: str) -> None:
    stage = stages()[name]
    match = STAGE_MODULE.search(stage["cmd"])
    assert match, f"stage {name}: cmd {stage['cmd']!r} does not run a package module"
    code_deps = {dep for dep in stage.get("deps", []) if isinstance(dep, str) and dep.startswith("src/")}
    needed = closure(match.group(1))
    assert code_deps == needed, (
        f"stage {name}: dvc.yaml deps should list exactly the code it runs; "
        f"missing {sorted(needed - code_deps)}, not imported {sorted(code_deps - needed)}"
    )


def test_closure__follows_function_level_imports() -> None:
    files = closure("mlci.stages.train")
    assert "src/mlci/model/pipeline.py" in files
    assert "src/mlci/__init__.py" in files  # train reads __version__ from it
    assert not any(f.startswith("src/mlci/review/") for f in files)


def test_artifact_layout__matches_dvc_yaml() -> None:
    from mlci.core import paths

    declared: set[str] = set()
    for stage in stages().values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                declared.add(entry if isinstance(entry, str) else next(iter(entry)))
    layout = {
        value.as_posix()
        for name, value in vars(paths).items()
        if name.isupper() and isinstance(value, Path) and value.suffix and value not in (paths.PARAMS, paths.LOCK)
    }
    assert layout <= declared, f"paths.py names outputs that dvc.yaml does not declare: {sorted(layout - declared)}"

"""The package's layers: `core` is the ground, `model` above it, `evaluation` above that, the capabilities on top.

Every module under `src/mlci/` is read with `ast` (imports inside functions count too): a module imports only its
own package and the layers below it. `model` imports `core`; `evaluation` imports `model` and `core`; a capability
(`stages`, `review`, `deploy`, `serve`, `monitor`) imports the three layers and itself, never a sibling.
A top-level module (`mlci/__main__.py`, the front door) stands above them all and may import any package;
`mlci/__init__.py` imports nothing, so importing any module of ours costs no more than that module's own imports.
`review/comment.py` runs alone from a sparse checkout under `python3 -I`, and `serve/healthcheck.py` is the
container's health probe, run every few seconds: they import nothing of ours at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mlci"
LAYERS = ("core", "model", "evaluation")  # from the ground up
CAPABILITIES = ("stages", "review", "deploy", "serve", "monitor")
STANDALONE = {"review/comment.py", "serve/healthcheck.py", "__init__.py"}


def imports(path: Path) -> set[str]:
    """The `mlci` modules `path` imports, anywhere in it (relative imports resolved against its package)."""
    package = ".".join(("mlci", *path.relative_to(PACKAGE).parent.parts))
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return {name for name in found if name == "mlci" or name.startswith("mlci.")}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_folder_is_a_known_layer():
    folders = {path.relative_to(PACKAGE).parts[0] for path in MODULES if len(path.relative_to(PACKAGE).parts) > 1}
    assert folders == {*LAYERS, *CAPABILITIES}, "a new package needs its place in the layers (this test)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_point_down_only(path: Path):
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0] if len(relative.parts) > 1 else None
    used = imports(path)
    if relative.as_posix() in STANDALONE:
        assert used == set(), f"{relative} must stay standalone (stdlib only): {sorted(used)}"
        return
    if own in LAYERS:
        allowed = set(LAYERS[: LAYERS.index(own) + 1])
    elif own is None:
        allowed = {*LAYERS, *CAPABILITIES}
    else:
        allowed = {*LAYERS, own}
    wrong = sorted(name for name in used if layer(name) not in allowed and name != "mlci")
    assert wrong == [], f"{relative} ({own or 'top'}) imports {wrong}: only {sorted(allowed)} may be imported"

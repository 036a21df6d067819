"""The monitor imports only the core (and itself): arrows point down, never to a sibling capability."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MONITOR = Path(__file__).resolve().parents[2] / "src" / "mlci" / "monitor"


@pytest.mark.parametrize("path", sorted(MONITOR.glob("*.py")), ids=lambda p: p.name)
def test_monitor_imports_only_the_core(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    ours = {name for name in imported if name.startswith("mlci")}
    assert all(name.startswith(("mlci.core", "mlci.monitor")) for name in ours), sorted(ours)

"""core/io: outputs are written atomically, with the mode of any new file."""

from __future__ import annotations

import os
import stat

import pytest

from mlci.core.io import atomic_path, write_json


def test_atomic_path__failure_keeps_previous_file(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    write_json(target, {"roc_auc": 0.9})
    before = target.read_bytes()

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half a fi", encoding="utf-8")
        raise RuntimeError("the writer failed half-way")

    assert target.read_bytes() == before
    assert os.listdir(target.parent) == ["metrics.json"]


def test_atomic_path__file_mode(tmp_path):
    """Outputs get the mode of any new file (umask applied), not the private 0600 of a temp file."""
    mask = os.umask(0o022)
    try:
        write_json(tmp_path / "metrics.json", {})
    finally:
        os.umask(mask)

    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == 0o644

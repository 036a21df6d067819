"""Fixtures for the deploy tests: a git repository as the working directory, isolated from the user's settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from projectkit import isolated_repo


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the working directory, with a fixed identity and no user settings."""
    return isolated_repo(tmp_path, monkeypatch)

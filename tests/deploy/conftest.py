"""Fixtures for the deploy tests: a git repository as the working directory, isolated from the user's settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from projectkit import GIT_ENV


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the working directory, with a fixed identity and no user settings."""
    for key in [key for key in os.environ if key.startswith("GIT_")]:
        monkeypatch.delenv(key)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    git("init", "--quiet", "--initial-branch=main")
    return tmp_path

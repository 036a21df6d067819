"""Fixtures for the workflow tests; the harness itself is in `actkit.py`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from actkit import (
    Project,
    PushedMain,
    Toolbox,
    Workspace,
    build_project,
    build_toolbox,
    make_workspace,
    push_main,
    write_github,
)


@pytest.fixture(scope="session")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    return build_toolbox(tmp_path_factory.mktemp("act-toolbox"))


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, toolbox: Toolbox) -> Project:
    """The project with its results on main, built once per session."""
    return build_project(tmp_path_factory.mktemp("project"), toolbox)


@pytest.fixture(scope="session")
def pushed_main(tmp_path_factory: pytest.TempPathFactory, project: Project, toolbox: Toolbox) -> PushedMain:
    """The push of main through train.yml, run once: pull request tests start from the cache it saved."""
    return push_main(tmp_path_factory.mktemp("push-main"), project, toolbox)


@pytest.fixture
def workspace(project: Project, toolbox: Toolbox, tmp_path: Path) -> Workspace:
    """A fresh clone of the project for one test, with its own state folder."""
    return make_workspace(tmp_path, project, toolbox)


@pytest.fixture
def fake_github(workspace: Workspace) -> Callable[..., dict]:
    """`fake_github(pulls={...}, comments={...})` writes the GitHub that `gh` and `cml` see in this test."""
    return partial(write_github, workspace.state)

"""Stand-in for actions/download-artifact (by name).

As the real action: without `github-token`, `run-id` is ignored and the current run's artifact is looked up; a
missing artifact fails the step. The files land in `path` (default: the workspace).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, record, set_outputs, state, workspace  # noqa: E402


def main() -> None:
    inputs = action_inputs("name", "path", "github-token", "repository", "run-id")
    token = inputs["github-token"]
    run_id = inputs["run-id"] if token else os.environ.get("GITHUB_RUN_ID", "")
    record("download-artifact", inputs={**inputs, "github-token": "***" if token else ""}, run_id=run_id)
    if not inputs["name"]:
        fail("download-artifact stand-in: only downloads by name are supported")
    source = state() / "artifacts" / run_id / inputs["name"]
    if not source.is_dir():
        fail(f"Unable to download artifact(s): Artifact not found for name: {inputs['name']}")
    target = Path(os.path.expanduser(inputs["path"])) if inputs["path"] else workspace()
    if not target.is_absolute():
        target = workspace() / target
    shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
    set_outputs(download_path=target)
    print(f"Artifact download completed successfully: {inputs['name']} -> {target}")


if __name__ == "__main__":
    main()

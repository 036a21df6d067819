"""Stand-in for actions/upload-artifact: one folder per artifact, under the run's id.

A directory path uploads its contents (the real action strips the common root); hidden files are left out unless
`include-hidden-files` is true; a second upload under the same name in a run fails unless `overwrite` is true.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, state, workspace  # noqa: E402


def main() -> None:
    inputs = action_inputs("name", "path", "if-no-files-found", "retention-days", "overwrite", "include-hidden-files")
    record("upload-artifact", inputs=inputs, run_id=os.environ.get("GITHUB_RUN_ID"))
    hidden = inputs["include-hidden-files"] == "true"
    files: dict[str, Path] = {}
    for entry in lines(inputs["path"]):
        source = workspace() / entry
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(source)
                if path.is_file() and (hidden or not any(part.startswith(".") for part in relative.parts)):
                    files[str(relative)] = path
        elif source.is_file():
            files[source.name] = source
    if not files:
        message = f"No files were found with the provided path: {inputs['path']}. No artifacts will be uploaded."
        if inputs["if-no-files-found"] == "error":
            fail(message)
        print(f"::warning::{message}")
        return
    target = state() / "artifacts" / os.environ["GITHUB_RUN_ID"] / inputs["name"]
    if target.exists():
        if inputs["overwrite"] != "true":
            fail(f"Failed to CreateArtifact: an artifact named {inputs['name']} already exists on the workflow run")
        shutil.rmtree(target)
    for relative, path in files.items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
    set_outputs(artifact_id=abs(hash(str(target))) % 10**9)
    print(f"Artifact {inputs['name']} has been successfully uploaded! Final size is {len(files)} files")


if __name__ == "__main__":
    main()

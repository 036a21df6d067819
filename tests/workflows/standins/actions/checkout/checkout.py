"""Stand-in for actions/checkout, for the steps act does not check out itself: those with a `ref:` input.

act copies the local repository only when a checkout names no `ref:` (or literally `github.ref`); a step such as
comment.yml's `ref: ${{ github.sha }}` comes here. The commit `ref` of the repository act runs in (`STANDIN_REPO`)
is extracted into the workspace: only the `sparse-checkout` paths when given, taken as exact paths (as in
`sparse-checkout-cone-mode: false`). No `.git` folder is left, so no credentials either. The inputs are recorded.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, workspace  # noqa: E402

NAMES = ("repository", "ref", "path", "persist-credentials", "sparse-checkout", "sparse-checkout-cone-mode")


def main() -> None:
    inputs = action_inputs(*NAMES)
    record("checkout", inputs=inputs)
    if inputs["repository"] != os.environ["GITHUB_REPOSITORY"]:
        fail(f"checkout stand-in: only this repository can be checked out; got {inputs['repository']!r}")
    repo, ref = os.environ["STANDIN_REPO"], inputs["ref"] or os.environ["GITHUB_SHA"]
    archive = subprocess.run(
        ["git", "-C", repo, "archive", "--format=tar", ref, "--", *lines(inputs["sparse-checkout"])],
        capture_output=True,
    )
    if archive.returncode != 0:
        fail(f"checkout stand-in: cannot check out {ref}: {archive.stderr.decode(errors='replace').strip()}")
    target = workspace() / inputs["path"]
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    commit = subprocess.run(["git", "-C", repo, "rev-parse", f"{ref}^{{commit}}"], capture_output=True, text=True)
    set_outputs(commit=commit.stdout.strip())
    print(f"checked out {ref} ({', '.join(lines(inputs['sparse-checkout'])) or 'every file'}) into {target}")


if __name__ == "__main__":
    main()

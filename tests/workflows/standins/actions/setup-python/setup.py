"""Stand-in for actions/setup-python.

Creates a venv (without pip) from the base interpreter of the test environment, makes that environment's packages
importable in it through a `.pth` line (nothing is installed or changed there), gives it copies of the environment's
console scripts (`dvc`, `ruff`, ...) that run in the new venv, then puts it on PATH and exports `pythonLocation`, as
the real action does. `uv` is left out: the stand-in uv on PATH checks the locks instead of installing them.
"""

from __future__ import annotations

import glob
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, workspace  # noqa: E402

SKIP_SCRIPTS = ("python", "pip", "uv", "activate", "Activate")


def main() -> None:
    inputs = action_inputs(
        "python-version", "python-version-file", "cache", "cache-dependency-path", "update-environment"
    )
    record("setup-python", inputs=inputs)
    wanted, have = inputs["python-version"], platform.python_version()
    if wanted and not (have == wanted or have.startswith(wanted + ".")):
        fail(f"setup-python stand-in: the workflow asks for Python {wanted}; this machine has {have}")
    if inputs["cache"]:
        if inputs["cache"] != "pip":
            fail(f"setup-python stand-in: only `cache: pip` is supported; got {inputs['cache']!r}")
        patterns = lines(inputs["cache-dependency-path"]) or ["**/requirements.txt"]
        if not any(glob.glob(str(workspace() / p), recursive=True) for p in patterns):
            fail(f"No file in {workspace()} matched to [{', '.join(patterns)}]; check out the repository first")

    venv = Path(tempfile.mkdtemp(prefix="python-", dir=os.environ["RUNNER_TEMP"]))
    subprocess.run([os.environ["STANDIN_BASE_PYTHON"], "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "standin-packages.pth").write_text(os.environ["STANDIN_SITE_PACKAGES"] + "\n", encoding="utf-8")
    link_scripts(Path(os.environ["STANDIN_SCRIPTS"]), venv / "bin")

    with open(os.environ["GITHUB_PATH"], "a", encoding="utf-8") as out:
        out.write(f"{venv / 'bin'}\n")
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as out:
        out.write(f"pythonLocation={venv}\n")
    set_outputs(python_version=have, python_path=venv / "bin" / "python", cache_hit="false")
    print(f"Successfully set up CPython ({have}) (stand-in)")


def link_scripts(source: Path, target: Path) -> None:
    """Copy Python console scripts with the new interpreter in their shebang; symlink native executables."""
    for script in sorted(source.iterdir()):
        # Dotfiles are make's install markers (.runtime, .dev): a copy would tell `make setup` the new venv is set up.
        if script.name.startswith((".", *SKIP_SCRIPTS)) or not script.is_file() or (target / script.name).exists():
            continue
        head = script.read_bytes()[:2]
        if head == b"#!":
            first, _, rest = script.read_text(encoding="utf-8").partition("\n")
            if "python" in first:
                (target / script.name).write_text(f"#!{target / 'python'}\n{rest}", encoding="utf-8")
                (target / script.name).chmod(0o755)
                continue
        (target / script.name).symlink_to(script)


if __name__ == "__main__":
    main()

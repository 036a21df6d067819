"""Stand-in for npm: `npm install --global @dvcorg/cml@<version>` puts the `cml` stand-in on the global bin path.

Anything else fails. The global bin folder (`STANDIN_NPM_BIN`) is on PATH from the start and empty until then, so a
workflow that forgot to install CML finds no `cml`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import record  # noqa: E402


def main(args: list[str]) -> None:
    record("npm", args=args)
    packages = [a for a in args[1:] if not a.startswith("-")]
    if (
        args[:1] != ["install"]
        or not ({"--global", "-g"} & set(args))
        or [p.rpartition("@")[0] for p in packages] != ["@dvcorg/cml"]
    ):
        sys.exit(f"npm stand-in: only `npm install --global @dvcorg/cml@<version>` is supported; got {args}")
    target = Path(os.environ["STANDIN_NPM_BIN"]) / "cml"
    target.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("cml.py")}" "$@"\n', encoding="utf-8"
    )
    target.chmod(0o755)
    print(f"added 1 package ({packages[0]}, stand-in)")


if __name__ == "__main__":
    main(sys.argv[1:])

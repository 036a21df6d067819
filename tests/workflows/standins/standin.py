"""What every stand-in shares: recording its call for the test to read, failing the step, writing step outputs.

Stand-ins run on the host inside `act` jobs. They find their state through environment variables the test passes to
`act`: `STANDIN_STATE` (a folder per test: `calls.jsonl`, the fake GitHub, the artifacts) and `STANDIN_CACHE` (a
folder per session: the Actions cache, shared so that a pull request can restore what a push to main saved).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn


def state() -> Path:
    return Path(os.environ["STANDIN_STATE"])


def record(tool: str, **data: object) -> None:
    """Append one call to `calls.jsonl`: the tool, then whatever it was given."""
    with (state() / "calls.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"tool": tool, **data}) + "\n")


def fail(message: str) -> NoReturn:
    print(f"::error::{message}", flush=True)
    sys.exit(1)


def set_outputs(**values: object) -> None:
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        for name, value in values.items():
            out.write(f"{name.replace('_', '-')}={value}\n")


def action_inputs(*names: str) -> dict[str, str]:
    """The inputs a composite stand-in passed as `INPUT_<NAME>` variables (as a JavaScript action would see them)."""
    return {name: os.environ.get("INPUT_" + name.upper().replace("-", "_"), "") for name in names}


def workspace() -> Path:
    return Path(os.environ["GITHUB_WORKSPACE"])


def lines(value: str) -> list[str]:
    """A multi-line action input as its non-empty lines."""
    return [line.strip() for line in value.splitlines() if line.strip()]

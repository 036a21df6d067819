"""The boundary between stage code and the shell: our errors become one line and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlci.core.errors import PipelineError

EXIT_USER_ERROR = 2


def run(stage: Callable[[], None], name: str) -> int:
    """Run `stage`; print `error: <name>: <reason>` and return 2 on a `PipelineError`, else return 0."""
    try:
        stage()
    except PipelineError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0

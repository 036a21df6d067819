"""The boundary between our commands and the shell: our errors become one line and exit code 2.

Every command's `main(argv) -> int` wears `@command(name)` and returns its own exit code: 0 done, `EXIT_FAILED` when
a check ran and said no (the gate failed, drift was found), `EXIT_USER_ERROR` for a user error. A `PipelineError`
raised anywhere inside becomes one line on stderr, `error: <name>: <reason>`, and `EXIT_USER_ERROR`; anything else is
a bug and keeps its traceback. (`review/comment.py` and `serve/healthcheck.py` keep their own few lines: they run
with nothing of ours imported.)

A stage that DVC runs (`DVC_STAGE` is set) also records what it cost when it succeeds: wall time since its process
started (imports included), CPU time and peak memory, in `.mlci/cost/<stage>.json`. Git ignores that folder and no
stage declares it, so timings never reach `dvc.lock`; the report reads it (`mlci.review.runcost`).
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

from mlci.core.errors import PipelineError

if TYPE_CHECKING:
    import argparse

EXIT_FAILED = 1  # a check ran and said no: the gate failed, drift was found
EXIT_USER_ERROR = 2  # the user's input or params are wrong: one line says what and how to fix it
COST_DIR = Path(".mlci/cost")
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB elsewhere

P = ParamSpec("P")


def command(name: str) -> Callable[[Callable[P, int]], Callable[P, int]]:
    """Wrap a command's `main`: a `PipelineError` is `error: <name>: <reason>` on stderr and exit code 2.

    The code `main` returns passes through; on 0 a stage run by DVC records its cost under `name`. A command with
    subcommands wraps the chosen one at run time, `command(f"deploy {sub}")(handler)(args)`, so the line names it.
    """

    def wrap(main: Callable[P, int]) -> Callable[P, int]:
        @functools.wraps(main)
        def bounded(*args: P.args, **kwargs: P.kwargs) -> int:
            started = time.monotonic()
            try:
                code = main(*args, **kwargs)
            except PipelineError as exc:
                print(f"error: {name}: {exc}", file=sys.stderr)
                return EXIT_USER_ERROR
            if code == 0 and os.environ.get("DVC_STAGE"):
                record_cost(name, time.monotonic() - started)
            return code

        return bounded

    return wrap


def no_options(argv: Sequence[str], module: str, doc: str | None) -> argparse.Namespace:
    """Parse the arguments of a command that takes none, a stage: `--help` shows `doc`'s first line.

    An argument given anyway is argparse's usage error (exit 2) rather than silently ignored.
    """
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").partition("\n")[0])
    return parser.parse_args(list(argv))


def record_cost(name: str, since_run: float, folder: Path = COST_DIR) -> Path:
    """Write this process's cost so far to `folder/<name>.json`; `since_run` stands in where the start is unknown."""
    from mlci.core.io import write_json

    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cost = {
        "stage": name,
        "wall_seconds": round(process_seconds() or since_run, 3),
        "cpu_seconds": round(sum(usage.ru_utime + usage.ru_stime for usage in usages), 3),
        "peak_rss_bytes": max(usage.ru_maxrss for usage in usages) * RSS_UNIT,  # the largest process
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = folder / f"{name}.json"
    write_json(path, cost)
    return path


def process_seconds() -> float | None:
    """Seconds since this process started, interpreter start-up and imports included (Linux; None elsewhere)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time in clock ticks after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None

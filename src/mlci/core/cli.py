"""The boundary between stage code and the shell: our errors become one line and exit code 2.

A stage that DVC runs (`DVC_STAGE` is set) also records what it cost when it succeeds: wall time since its process
started (imports included), CPU time and peak memory, in `.mlci/cost/<stage>.json`. Git ignores that folder and no
stage declares it, so timings never reach `dvc.lock`; the report reads it (`mlci.review.runcost`).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mlci.core.errors import PipelineError

EXIT_USER_ERROR = 2
COST_DIR = Path(".mlci/cost")
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB elsewhere


def run(stage: Callable[[], None], name: str) -> int:
    """Run `stage`; print `error: <name>: <reason>` and return 2 on a `PipelineError`, else return 0."""
    started = time.monotonic()
    try:
        stage()
    except PipelineError as exc:
        print(f"error: {name}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    if os.environ.get("DVC_STAGE"):
        record_cost(name, time.monotonic() - started)
    return 0


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

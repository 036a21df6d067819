"""The data stages run in bounded memory: their peak RSS hardly changes between two data sizes.

Each stage runs as its own process (`python -m mlci.stages.<name>`) on demo data, and `os.wait4` gives its peak RSS.
The sizes are modest so the test stays quick, yet large enough that the buffers are full at both (a row group per
output, `BATCH_ROWS` rows: the test split's fills after BATCH_ROWS / test_size rows). `make bench` measures the same
at tens of millions of rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlci.core.io import BATCH_ROWS

pytestmark = pytest.mark.slow

SIZES = (500_000, 1_500_000)
STAGES = ("ingest", "validate", "split")
MAX_GROWTH = 1.2
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere


def peak_rss(root: Path, module: str) -> int:
    """Run `python -m <module>` in `root`; return its peak RSS in bytes."""
    process = subprocess.Popen(
        [sys.executable, "-m", module], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, f"{module} failed: {process.stderr.read().decode()}"
    process.stderr.close()
    return usage.ru_maxrss * RSS_UNIT


@pytest.fixture(scope="module", params=["timestamp", None], ids=["time-split", "hash-split"])
def peaks(request, tmp_path_factory) -> dict[str, list[int]]:
    assert min(SIZES) > BATCH_ROWS
    result: dict[str, list[int]] = {stage: [] for stage in STAGES}
    for rows in SIZES:
        root = tmp_path_factory.mktemp(f"rows-{rows}")
        params = {"demo": {"n_rows": rows, "seed": 3}, "data": {"time_column": request.param}}
        (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        peak_rss(root, "mlci.stages.generate")
        for stage in STAGES:
            result[stage].append(peak_rss(root, f"mlci.stages.{stage}"))
    return result


@pytest.mark.parametrize("stage", STAGES)
def test_peak_memory_is_flat(peaks, stage):
    small, large = peaks[stage]
    mib = [round(peak / 2**20) for peak in (small, large)]
    assert large < small * MAX_GROWTH, (
        f"{stage}: peak RSS {mib[0]} MiB at {SIZES[0]:,} rows, {mib[1]} MiB at {SIZES[1]:,}"
    )

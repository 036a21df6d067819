"""The suite in parts of equal measured time for parallel CI jobs, whole test files each, the longest files first.

A pytest plugin (tests/conftest.py loads it) with two options:

- `--part I/N`: run the I-th of N parts. Files are dealt out longest first, each to the part with the least time so
  far, by the times in `tests/durations.json`; a file not measured yet counts as its tests times the mean test.
  Whole files, because a file's module- and session-scoped fixtures (a project built and reproduced once) are paid
  again by every part that draws one of its tests: cutting between tests, as pytest-split does, cost the four parts
  a third more than the suite itself.
- `--store-durations`: write each test's time (set-up, call and tear-down) into `tests/durations.json` (`make
  durations`), keeping the entries of files this run left out, while they exist.

Either way the tests are ordered longest file first, a file's tests in their own order. With `--dist loadfile
--no-loadscope-reorder`, xdist hands each worker a whole file in that order, so the longest files start first and
the short ones fill the gaps at the end, instead of a long file starting last.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def load_durations(path: Path = DURATIONS) -> dict[str, float]:
    """Seconds per test id; empty when the file is missing."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def file_seconds(nodeids: list[str], durations: dict[str, float]) -> dict[str, float]:
    """Each file's expected seconds: its tests' measured times, the mean test's for one not measured yet."""
    known = [durations[nodeid] for nodeid in nodeids if nodeid in durations]
    unmeasured = statistics.fmean(known) if known else 1.0
    totals: dict[str, float] = defaultdict(float)
    for nodeid in nodeids:
        totals[file_of(nodeid)] += durations.get(nodeid, unmeasured)
    return dict(totals)


def deal(seconds: dict[str, float], count: int) -> list[list[str]]:
    """The files in `count` parts: longest first, each to the part with the least time so far (ties: the first)."""
    parts: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for name in sorted(seconds, key=lambda name: (-seconds[name], name)):
        lightest = loads.index(min(loads))
        parts[lightest].append(name)
        loads[lightest] += seconds[name]
    return parts


def parse_part(value: str) -> tuple[int, int]:
    """`"2/4"` -> (2, 4); a usage error naming the form otherwise."""
    index, slash, count = value.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise pytest.UsageError(f"--part {value}: expected I/N with 1 <= I <= N, e.g. --part 2/4")
    return int(index), int(count)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parts", "the suite in parts of equal measured time (tests/partskit.py)")
    group.addoption("--part", metavar="I/N", help="run the I-th of N parts, whole test files, by tests/durations.json")
    group.addoption("--store-durations", action="store_true", help="write each test's time into tests/durations.json")


@pytest.hookimpl(trylast=True)  # after the markers' deselection: the parts share out what this run selected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = file_seconds([item.nodeid for item in items], load_durations())
    part = config.getoption("part")
    if part:
        index, count = parse_part(part)
        kept = set(deal(seconds, count)[index - 1])
        deselected = [item for item in items if file_of(item.nodeid) not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if file_of(item.nodeid) in kept]
    items.sort(key=lambda item: -seconds[file_of(item.nodeid)])  # stable: a file's tests keep their order


class DurationRecorder:
    """Adds up each test's phases as their reports arrive (from every worker under xdist); writes them at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        root = session.config.rootpath
        ran = {file_of(nodeid) for nodeid in self.seconds}
        kept = {  # the files this run left out, while they exist
            nodeid: value
            for nodeid, value in load_durations(self.path).items()
            if file_of(nodeid) not in ran and (root / file_of(nodeid)).is_file()
        }
        merged = dict(sorted({**kept, **self.seconds}.items()))
        self.path.write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("store_durations") and not hasattr(config, "workerinput"):  # the controller writes, once
        config.pluginmanager.register(DurationRecorder(DURATIONS), "partskit-durations")

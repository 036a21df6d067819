"""The suite's parts for parallel CI jobs (`partskit.py`): whole files, equal measured time, none run twice or lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from partskit import deal, file_seconds, load_durations, parse_part

ROOT = Path(__file__).resolve().parents[1]


def test_file_seconds__adds_up_each_file_and_counts_an_unmeasured_test_as_the_mean():
    durations = {"a.py::x": 4.0, "a.py::y": 2.0, "b.py::z": 3.0}

    seconds = file_seconds(["a.py::x", "a.py::y", "b.py::z", "b.py::new", "c.py::new"], durations)

    assert seconds == {"a.py": 6.0, "b.py": 6.0, "c.py": 3.0}


def test_deal__longest_first_to_the_lightest_part():
    seconds = {"a": 10.0, "b": 6.0, "c": 5.0, "d": 4.0, "e": 1.0}

    parts = deal(seconds, 2)

    assert parts == [["a", "d"], ["b", "c", "e"]]  # 14 s and 12 s
    assert deal(seconds, 7)[5:] == [[], []], "more parts than files: the last ones are empty"


@pytest.mark.parametrize("value", ["0/4", "5/4", "4", "a/b", "1/", "/4"])
def test_parse_part__refuses_anything_but_i_of_n(value):
    with pytest.raises(pytest.UsageError, match=r"expected I/N with 1 <= I <= N, e\.g\. --part 2/4"):
        parse_part(value)


def collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_part__the_parts_hold_every_test_once_whole_files_longest_first():
    everything = collected("tests/core")
    parts = [collected("tests/core", "--part", f"{index}/2") for index in (1, 2)]

    assert sorted(test for part in parts for test in part) == sorted(everything)
    files = [{test.split("::")[0] for test in part} for part in parts]
    assert files[0].isdisjoint(files[1]) and all(files), files
    order = [test.split("::")[0] for test in everything]
    assert order == sorted(order, key=order.index), "a file's tests run together"
    seconds = file_seconds(everything, load_durations())
    starts = [seconds[name] for name in dict.fromkeys(order)]
    assert starts == sorted(starts, reverse=True), "the longest file first"

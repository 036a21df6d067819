"""Stage `split`: the latest rows as the test set when there is a time column, else a seeded hash of each row."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core import paths
from mlci.core.errors import DataError
from mlci.core.params import SplitParams
from mlci.stages import split as stage
from mlci.stages import validate
from mlci.stages.split import TimeCut, check_classes, class_counts, order_keys, row_hashes, split_indices


def test_split_indices__time_based():
    rng = np.random.default_rng(0)
    times = rng.permutation(1000)
    target = (rng.random(1000) < 0.1).astype(np.int8)

    train, test = split_indices(target, times, SplitParams(test_size=0.25))

    assert (len(train), len(test)) == (750, 250)
    assert times[train].max() < times[test].min()
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1000))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted: rows keep their file order


def test_split_indices__time_ties_are_stable():
    times = np.array([5, 1, 5, 5, 2, 5])

    train, test = split_indices(np.zeros(6), times, SplitParams(test_size=0.5))

    assert train.tolist() == [0, 1, 4]  # of the rows tied at the cut, the earliest in the file go to train
    assert test.tolist() == [2, 3, 5]


def _rows(n: int, positive_rate: float, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"x": rng.random(n), "y": (rng.random(n) < positive_rate).astype(np.int8)})


def test_split_indices__stratified():
    table = _rows(20_000, 0.05)
    target = table.column("y").to_numpy()

    train, test = split_indices(target, None, SplitParams(test_size=0.2), row_hashes(table, seed=3))

    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(target)))
    for label in (0, 1):  # each class keeps test_size of its rows in test, within 4 binomial standard deviations
        rows = np.flatnonzero(target == label)
        share = np.isin(rows, test).mean()
        assert abs(share - 0.2) < 4 * (0.2 * 0.8 / len(rows)) ** 0.5, (label, len(rows), share)


def test_split_indices__seeded():
    table = _rows(1000, 0.25)
    target = table.column("y").to_numpy()

    first = split_indices(target, None, SplitParams(seed=1), row_hashes(table, 1))
    again = split_indices(target, None, SplitParams(seed=1), row_hashes(table, 1))
    other = split_indices(target, None, SplitParams(seed=2), row_hashes(table, 2))

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


def test_split_indices__hash_ignores_row_order():
    table = _rows(5000, 0.1)
    shuffled = table.take(np.random.default_rng(1).permutation(table.num_rows))

    def test_rows(rows: pa.Table) -> set[float]:
        _, test = split_indices(rows.column("y").to_numpy(), None, SplitParams(), row_hashes(rows, 42))
        return set(rows.column("x").take(test).to_pylist())

    assert test_rows(table) == test_rows(shuffled)


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_time_cut__in_batches(dtype):
    """The cut found in passes over batches, and applied batch by batch, is the one on the whole column."""
    rng = np.random.default_rng(7)
    times = rng.integers(-50, 50, 10_000).astype(dtype)  # many ties, negative values
    keys = order_keys(times)
    batches = np.array_split(keys, 7)

    cut = TimeCut(lambda: iter(batches), len(keys), 0.3)
    test = np.concatenate([cut.is_test(batch) for batch in batches])

    order = np.argsort(times, kind="stable")
    expected = np.zeros(len(times), bool)
    expected[order[int(round(len(times) * 0.7)) :]] = True
    assert np.array_equal(test, expected)


@pytest.mark.parametrize(
    ("counts", "by_time", "message"),
    [
        pytest.param(
            {"train": [76, 4], "test": [20, 0]},
            True,
            "the test split has no positive rows (20 rows in all); the time-based split puts the latest rows in test; "
            "use more data, a larger split.test_size, or unset data.time_column for a stratified split",
            id="time-based-no-positive-in-test",
        ),
        pytest.param(
            {"train": [80, 0], "test": [0, 20]},
            True,
            "the train split has no positive rows (80 rows in all); the time-based split puts the latest rows in test",
            id="time-based-no-positive-in-train",
        ),
        pytest.param(
            {"train": [79, 1], "test": [20, 0]},
            False,
            "the test split has no positive rows (20 rows in all); use more data or a larger split.test_size",
            id="stratified-single-positive",
        ),
        pytest.param(
            {"train": [1, 79], "test": [0, 20]},
            False,
            "the test split has no negative rows (20 rows in all); use more data or a larger split.test_size",
            id="stratified-single-negative",
        ),
    ],
)
def test_check_classes__bad(counts, by_time, message):
    with pytest.raises(DataError) as caught:
        check_classes(counts, by_time=by_time)

    assert message in str(caught.value)


def test_class_counts():
    target = np.array([0, 1, 1, 0, 0])

    assert class_counts(target, np.array([0, 1]), np.array([2, 3, 4])) == {"train": [1, 1], "test": [2, 1]}


def _validated_project(tmp_dir, write_params, table: pa.Table, **data):
    (tmp_dir / "data/raw").mkdir(parents=True)
    pq.write_table(table, tmp_dir / paths.RAW)
    write_params(data={"target": "y", **data}, validate={"min_rows": 10}, split={"test_size": 0.25, "seed": 4})
    assert validate.main() == 0


N = 80
START = dt.datetime(2026, 1, 1)


@pytest.mark.parametrize(
    "times",
    [
        pa.array([START + dt.timedelta(hours=7 * i) for i in range(N)][::-1], pa.timestamp("s")),
        pa.array([(START + dt.timedelta(days=i)).date() for i in range(N)][::-1]),
        pa.array([(START + dt.timedelta(hours=7 * i)).isoformat() for i in range(N)][::-1]),
        pa.array(list(range(N))[::-1], pa.int64()),
        pa.array([i / 4 for i in range(N)][::-1], pa.float64()),
    ],
    ids=["timestamp", "date", "iso-text", "integer", "float"],
)
def test_main__time_based(tmp_dir, write_params, times):
    table = pa.table({"x": [float(i % 7) for i in range(N)], "when": times, "y": [1, 0, 0, 0] * (N // 4)})
    _validated_project(tmp_dir, write_params, table, time_column="when")

    assert stage.main() == 0

    train, test = pq.read_table(tmp_dir / paths.TRAIN_SPLIT), pq.read_table(tmp_dir / paths.TEST_SPLIT)
    assert (train.num_rows, test.num_rows) == (60, 20)
    assert train.column_names == test.column_names == pq.read_table(tmp_dir / paths.VALIDATED).column_names
    # Rows are stored newest first, so the test set is the first 20 rows.
    assert test.column("x").to_pylist() == [float(i % 7) for i in range(20)]


def test_main__stratified(tmp_dir, write_params):
    rows = 2000
    table = pa.table({"x": [float(i) for i in range(rows)], "y": ["yes", "no", "no", "no"] * (rows // 4)})
    _validated_project(tmp_dir, write_params, table)

    assert stage.main() == 0
    first = (tmp_dir / paths.TEST_SPLIT).read_bytes()
    assert stage.main() == 0

    test = pq.read_table(tmp_dir / paths.TEST_SPLIT).column("y").to_numpy()
    train = pq.read_table(tmp_dir / paths.TRAIN_SPLIT).column("y").to_numpy()
    assert len(test) + len(train) == rows
    assert abs(len(test) / rows - 0.25) < 0.03
    assert abs(test.mean() - 0.25) < 0.03  # stratified: the positive rate is about the same in both
    assert (tmp_dir / paths.TEST_SPLIT).read_bytes() == first


def test_main__hash_split_ignores_row_order(tmp_dir, write_params):
    """The same rows in another order (another machine, a shuffled file) are in the same splits."""
    rows = 400
    table = pa.table({"x": [float(i) for i in range(rows)], "y": ["yes", "no", "no", "no"] * (rows // 4)})
    members = []
    for order in (np.arange(rows), np.random.default_rng(0).permutation(rows)):
        _validated_project(tmp_dir, write_params, table.take(order))
        assert stage.main() == 0
        members.append(sorted(pq.read_table(tmp_dir / paths.TEST_SPLIT).column("x").to_pylist()))
        for path in ("data/raw", "data/validated", "data/split"):
            shutil.rmtree(tmp_dir / path)

    assert members[0] == members[1]


def test_main__no_positives_in_test(tmp_dir, write_params, capsys):
    table = pa.table({"x": [float(i) for i in range(N)], "t": list(range(N)), "y": [1] * 10 + [0] * (N - 10)})
    _validated_project(tmp_dir, write_params, table, time_column="t")

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: split: the test split has no positive rows (20 rows in all); the time-based split puts the latest "
        "rows in test; use more data, a larger split.test_size, or unset data.time_column for a stratified split\n"
    )
    assert not (tmp_dir / paths.TEST_SPLIT).exists()


def test_main__no_input(write_params, capsys):
    write_params()

    assert stage.main() == 2

    assert capsys.readouterr().err == (
        "error: split: 'data/validated/schema.json' not found; run `dvc repro` so the earlier stages produce it\n"
    )

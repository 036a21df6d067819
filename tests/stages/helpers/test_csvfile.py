"""stages/helpers/csvfile: the delimiter of a CSV file, found from its first lines."""

from __future__ import annotations

from mlci.stages.helpers.csvfile import detect_delimiter


def test_detect_delimiter__uneven_lines(tmp_dir):
    """No candidate splits every line evenly: the one that splits the header most wins."""
    (tmp_dir / "data.csv").write_text("a;b;c\n1;2;3\n4;5\n", encoding="utf-8")

    assert detect_delimiter(tmp_dir / "data.csv") == ";"


def test_detect_delimiter__reads_only_the_start(tmp_dir):
    """A long file: the sample ends at the last whole line in the first block, and a cut line does not count."""
    (tmp_dir / "data.csv").write_text("a;b\n" + "1;2\n" * 100_000, encoding="utf-8")

    assert detect_delimiter(tmp_dir / "data.csv") == ";"

"""Stage `ingest`: reading CSV and Parquet sources, refusing bad ones, and writing atomically."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core import paths
from mlci.core.errors import DataError
from mlci.core.params import CsvParams
from mlci.stages import ingest

MIXED_CSV = """id,amount,plan,score,active,signup,churned
1,10.5,basic,,true,2026-01-02,yes
2,,premium,0.3,false,2026-01-03,no
3,7,basic,0.9,true,2026-01-04,no
"""


def test_read_source__csv(tmp_dir):
    (tmp_dir / "data.csv").write_text(MIXED_CSV, encoding="utf-8")

    table = ingest.read_source("data.csv")

    assert table.num_rows == 3
    kinds = dict(zip(table.column_names, table.schema.types, strict=True))
    assert pa.types.is_integer(kinds["id"])
    assert pa.types.is_floating(kinds["amount"])
    assert pa.types.is_string(kinds["plan"])
    assert pa.types.is_boolean(kinds["active"])
    assert pa.types.is_date(kinds["signup"]) or pa.types.is_timestamp(kinds["signup"])
    assert table.column("amount").to_pylist() == [10.5, None, 7.0]  # a blank number is missing, not zero
    assert table.column("churned").to_pylist() == ["yes", "no", "no"]


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".PARQUET"])
def test_read_source__parquet(tmp_dir, suffix):
    source = pa.table(
        {
            "plan": pa.array(["basic", "premium", "basic"]).dictionary_encode(),
            "note": pa.array(["a", "b", "c"], pa.large_string()),
            "amount": [1.0, None, 3.5],
        }
    )
    pq.write_table(source, tmp_dir / f"data{suffix}")

    table = ingest.read_source(f"data{suffix}")

    assert table.schema == pa.schema([("plan", pa.string()), ("note", pa.string()), ("amount", pa.float64())])
    assert table.column("plan").to_pylist() == ["basic", "premium", "basic"]


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, pa.Table):
        pq.write_table(content, path)
    elif content is not None:
        path.write_text(content, encoding="utf-8")


BAD_SOURCES = [
    pytest.param(
        "missing.csv", None, "data file 'missing.csv' not found; check data.source in params.yaml", id="missing-file"
    ),
    pytest.param(
        "empty.csv",
        "",
        "data file 'empty.csv' is empty; point data.source at a file with a header and rows",
        id="empty",
    ),
    pytest.param(
        "header.csv", "id,amount,churned\n", "data file 'header.csv' has columns but no rows", id="header-only"
    ),
    pytest.param(
        "empty.parquet",
        pa.table({"a": pa.array([], pa.int64())}),
        "data file 'empty.parquet' has columns but no rows",
        id="parquet-without-rows",
    ),
    pytest.param(
        "garbage.parquet",
        bytes(range(256)) * 8,
        "cannot read 'garbage.parquet' as PARQUET (",
        id="garbage-parquet",
    ),
    pytest.param("csv-as.parquet", MIXED_CSV, "cannot read 'csv-as.parquet' as PARQUET (", id="csv-named-parquet"),
    pytest.param("binary.csv", bytes(range(256)) * 8, "cannot read 'binary.csv' as CSV", id="binary-csv"),
    pytest.param(
        "latin1.csv",
        "id,city,churned\n1,Zürich,yes\n2,Genève,no\n".encode("latin-1"),
        "cannot read 'latin1.csv' as CSV: column 'city' is not utf-8 text; set data.csv.encoding in params.yaml to "
        "the file's encoding (e.g. latin-1 or cp1252), or save the file as UTF-8",
        id="not-utf8",
    ),
    pytest.param(
        "latin1-header.csv",
        "id,cité,churned\n1,Zurich,yes\n".encode("latin-1"),
        "cannot read 'latin1-header.csv' as utf-8 text; set data.csv.encoding to the "
        "file's encoding (e.g. latin-1 or cp1252) in params.yaml, or save the file as UTF-8",
        id="not-utf8-header",
    ),
    pytest.param(
        "utf16.csv",
        "id,city\n1,Zürich\n2,Genève\n".encode("utf-16"),
        "cannot read 'utf16.csv' as UTF-8 CSV: the file starts like UTF-16 text: set data.csv.encoding: utf-16",
        id="utf-16",
    ),
    pytest.param(
        "ragged.csv",
        "a,b\n1,2\n3\n",
        "cannot read 'ragged.csv' as CSV (CSV parse error: Row #3: Expected 2 columns, got 1: 3); rows have different "
        "numbers of fields with the delimiter ',' (detected from the first lines): set data.csv.delimiter to the "
        "character between fields, and check that text holding it is quoted",
        id="ragged",
    ),
    pytest.param(
        "data.xlsx",
        b"PK\x03\x04",
        "data.source 'data.xlsx' has an unsupported extension; use a .csv (.tsv, .txt) or .parquet file",
        id="unsupported-extension",
    ),
    pytest.param("table", "a\n1\n", "data.source 'table' has an unsupported extension", id="no-extension"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_SOURCES)
def test_read_source__bad(tmp_dir, name, content, message):
    _write(tmp_dir / name, content)

    with pytest.raises(DataError) as caught:
        ingest.read_source(name)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


MARKERS = ["", "NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "#N/A", "None", "<NA>", '"NA"', '""']


def test_read_source__missing_markers(tmp_dir):
    """Blanks and the usual markers, quoted or not, are missing in text, number and boolean columns alike."""
    n = len(MARKERS)
    lines = ["plan,amount,active,label"]
    lines += [f"{m},{m},{m},{m}" for m in MARKERS]
    lines += ["basic,1.5,true,yes", "NAN,2,false,no"]  # markers match whole cells, case and all (in text)
    (tmp_dir / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    table = ingest.read_source("data.csv")

    assert table.column("plan").to_pylist() == [None] * n + ["basic", "NAN"]
    assert table.column("amount").to_pylist() == [None] * n + [1.5, 2.0]
    assert table.column("active").to_pylist() == [None] * n + [True, False]
    assert table.column("label").to_pylist() == [None] * n + ["yes", "no"]


def test_read_source__own_na_values(tmp_dir):
    """`data.na_values` replaces the markers; an empty cell stays missing."""
    (tmp_dir / "data.csv").write_text("plan,score\n?,?\nNA,1\n,2\n", encoding="utf-8")

    table = ingest.read_source("data.csv", na_values=["?"])

    assert table.column("plan").to_pylist() == [None, "NA", None]
    assert table.column("score").to_pylist() == [None, 1, 2]


DIALECTS = [
    pytest.param("id;amount;plan\n1;2.5;basic\n2;3;pro\n", {}, id="semicolon"),
    pytest.param("id\tamount\tplan\n1\t2.5\tbasic\n2\t3\tpro\n", {}, id="tab"),
    pytest.param("id|amount|plan\n1|2.5|basic\n2|3|pro\n", {}, id="pipe"),
    pytest.param('id,amount,plan\n1,2.5,"basic; b|c"\n2,3,pro\n', {}, id="comma-with-others-quoted"),
    pytest.param("id;amount;plan\n1;2,5;basic\n2;3;pro\n", {"decimal": ","}, id="decimal-comma"),
    pytest.param("\ufeffid,amount,plan\n1,2.5,basic\n2,3,pro\n", {}, id="utf-8-bom"),
    pytest.param("\ufeffid;amount;plan\n1;2,5;basic\n2;3;pro\n", {"decimal": ","}, id="bom-semicolon-decimal"),
    pytest.param("id;amount;plan\n1;2.5;basic\n2;3;pro\n", {"delimiter": ";"}, id="delimiter-set"),
    pytest.param("id,amount,plan\r\n1,2.5,basic\r\n2,3,pro\r\n", {}, id="crlf"),
]


@pytest.mark.parametrize(("text", "options"), DIALECTS)
def test_read_source__dialects(tmp_dir, text, options):
    (tmp_dir / "data.csv").write_text(text, encoding="utf-8", newline="")

    table = ingest.read_source("data.csv", CsvParams(**options))

    assert table.to_pydict() == {"id": [1, 2], "amount": [2.5, 3.0], "plan": [table.column("plan")[0].as_py(), "pro"]}
    assert table.column("plan")[0].as_py().startswith("basic")


@pytest.mark.parametrize("name", ["data.tsv", "data.TXT"])
def test_read_source__tab_separated_names(tmp_dir, name):
    (tmp_dir / name).write_text("id\tplan\n1\tbasic\n", encoding="utf-8")

    assert ingest.read_source(name).to_pydict() == {"id": [1], "plan": ["basic"]}


def test_read_source__encoding(tmp_dir):
    (tmp_dir / "data.csv").write_bytes("id;ville;prix\n1;Genève;2,5\n2;Zürich;3\n".encode("latin-1"))

    table = ingest.read_source("data.csv", CsvParams(encoding="latin-1", decimal=","))

    assert table.to_pydict() == {"id": [1, 2], "ville": ["Genève", "Zürich"], "prix": [2.5, 3.0]}


def test_read_source__single_column(tmp_dir):
    (tmp_dir / "data.csv").write_text("amount\n1.5\n2\n", encoding="utf-8")

    assert ingest.read_source("data.csv").column_names == ["amount"]


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        pytest.param(
            "id;amount\n1;2,5\n2;3,0\n",
            {"delimiter": ","},
            "CSV parse error: Row #2: Expected 1 columns, got 2: 1;2,5); rows have different numbers of fields with "
            "the delimiter ',' (as set in data.csv.delimiter): set data.csv.delimiter",
            id="wrong-delimiter-set",
        ),
        pytest.param(
            "id,amount\n1,2\n2,3\n",
            {"decimal": ","},
            "data.csv.decimal is ',' and 'data.csv' separates fields by ',' too; set data.csv.delimiter to the "
            "character between fields (';' is usual with decimal commas)",
            id="decimal-is-detected-delimiter",
        ),
    ],
)
def test_read_source__bad_dialect(tmp_dir, text, options, message):
    (tmp_dir / "data.csv").write_text(text, encoding="utf-8")

    with pytest.raises(DataError) as caught:
        ingest.read_source("data.csv", CsvParams(**options))

    assert message in str(caught.value)


def test_read_source__directory(tmp_dir):
    (tmp_dir / "folder.csv").mkdir()

    with pytest.raises(DataError, match="data file 'folder.csv' not found"):
        ingest.read_source("folder.csv")


def test_main(write_params, tmp_dir):
    (tmp_dir / "data.csv").write_text(MIXED_CSV, encoding="utf-8")
    write_params(data={"source": "data.csv"})

    assert ingest.main() == 0

    written = pq.read_table(tmp_dir / paths.RAW)
    assert written.equals(ingest.read_source("data.csv"))
    assert written.schema.metadata is None  # no writer metadata: the bytes depend on the data only


def test_main__csv_settings(write_params, tmp_dir):
    (tmp_dir / "data.csv").write_bytes("id|prix|ville\n1|2,5|Genève\n2|?|NA\n".encode("cp1252"))
    write_params(
        data={"source": "data.csv", "na_values": ["?"], "csv": {"delimiter": "|", "decimal": ",", "encoding": "cp1252"}}
    )

    assert ingest.main() == 0

    written = pq.read_table(tmp_dir / paths.RAW)
    assert written.to_pydict() == {"id": [1, 2], "prix": [2.5, None], "ville": ["Genève", "NA"]}


def test_main__same_bytes_twice(write_params, tmp_dir):
    (tmp_dir / "data.csv").write_text(MIXED_CSV, encoding="utf-8")
    write_params(data={"source": "data.csv"})

    ingest.main()
    first = (tmp_dir / paths.RAW).read_bytes()
    ingest.main()

    assert (tmp_dir / paths.RAW).read_bytes() == first


@pytest.mark.parametrize(("name", "content", "message"), BAD_SOURCES)
def test_main__bad_source_keeps_previous_output(write_params, tmp_dir, capsys, name, content, message):
    (tmp_dir / "good.csv").write_text(MIXED_CSV, encoding="utf-8")
    write_params(data={"source": "good.csv"})
    assert ingest.main() == 0
    before = (tmp_dir / paths.RAW).read_bytes()
    _write(tmp_dir / name, content)
    write_params(data={"source": name})

    assert ingest.main() == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ingest: ")
    assert message in err
    assert err.count("\n") == 1
    assert (tmp_dir / paths.RAW).read_bytes() == before
    assert sorted(os.listdir(tmp_dir / paths.RAW.parent)) == [paths.RAW.name], "no temp file left behind"

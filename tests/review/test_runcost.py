"""The run cost section: the records the stages wrote, in pipeline order, head against base, with the total."""

from __future__ import annotations

import json
from pathlib import Path

from mlci.review import runcost


def record(folder: Path, stage: str, wall: float, cpu: float, mib: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cost = {"stage": stage, "wall_seconds": wall, "cpu_seconds": cpu, "peak_rss_bytes": mib * 1024**2}
    (folder / f"{stage}.json").write_text(json.dumps(cost))


def test_read__pipeline_order_and_total(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages:\n  split: {cmd: x}\n  train: {cmd: y}\n  evaluate: {cmd: z}\n")
    record(tmp_path / "head", "train", 3.5, 4.25, 300)
    record(tmp_path / "head", "split", 0.75, 0.5, 120)
    record(tmp_path / "base", "train", 12.0, 20.0, 900)
    (tmp_path / "head" / "broken.json").write_text("{not json")

    cost = runcost.read(tmp_path / "head", tmp_path / "base", tmp_path / "dvc.yaml")

    assert cost.stages == ["split", "train"]
    assert runcost.markdown(cost) == [
        "| stage | wall time | CPU time | peak memory |",
        "|---|---:|---:|---:|",
        "| `split` | – → 0.75 s | – → 0.50 s | – → 120 MiB |",
        "| `train` | 12.0 s → 3.50 s | 20.0 s → 4.25 s | 900 MiB → 300 MiB |",
        "| **total** | **12.0 s → 4.25 s** | **20.0 s → 4.75 s** | **900 MiB → 300 MiB** |",
    ]
    assert runcost.notes(cost)[0].startswith("_base → head.")


def test_read__head_only(tmp_path):
    record(tmp_path / "head", "train", 3.5, 4.25, 300)

    cost = runcost.read(tmp_path / "head", None, tmp_path / "missing.yaml")

    assert runcost.markdown(cost)[2:] == [
        "| `train` | 3.50 s | 4.25 s | 300 MiB |",
        "| **total** | **3.50 s** | **4.25 s** | **300 MiB** |",
    ]
    assert "head only" in runcost.notes(cost)[0]


def test_read__no_records(tmp_path):
    assert runcost.read(tmp_path / "nothing") is None


def test_main__prints_the_section(tmp_dir, capsys):
    record(tmp_dir / ".mlci/cost", "evaluate", 2.0, 1.5, 200)

    assert runcost.main([]) == 0

    out = capsys.readouterr().out
    assert out.startswith("## Run cost\n\n| stage | wall time | CPU time | peak memory |\n")
    assert "| `evaluate` | 2.00 s | 1.50 s | 200 MiB |" in out


def test_main__nothing_ran(tmp_dir, capsys):
    assert runcost.main([]) == 0
    assert "No stage ran here" in capsys.readouterr().out


def test_read__base_and_head_cover_the_same_stages(tmp_path):
    for side, scale in (("base", 1), ("head", 2)):
        record(tmp_path / side, "split", 0.5 * scale, 0.25 * scale, 100 * scale)
        record(tmp_path / side, "train", 2.0 * scale, 3.0 * scale, 200 * scale)

    cost = runcost.read(tmp_path / "head", tmp_path / "base", tmp_path / "missing.yaml")

    assert runcost.markdown(cost)[2:] == [
        "| `split` | 0.50 s → 1.00 s | 0.25 s → 0.50 s | 100 MiB → 200 MiB |",
        "| `train` | 2.00 s → 4.00 s | 3.00 s → 6.00 s | 200 MiB → 400 MiB |",
        "| **total** | **2.50 s → 5.00 s** | **3.25 s → 6.50 s** | **200 MiB → 400 MiB** |",
    ]
    assert len(runcost.notes(cost)) == 1, "the totals compare like with like: nothing to add"


def test_notes__stages_one_side_lacks_get_a_like_for_like_total(tmp_path):
    """A pull request's run restores unchanged stages from DVC's cache: only the stages both ran compare."""
    for stage, wall in (("ingest", 1.0), ("split", 0.5), ("train", 12.0)):
        record(tmp_path / "base", stage, wall, wall * 2, 150)
    record(tmp_path / "head", "train", 9.5, 11.0, 140)

    cost = runcost.read(tmp_path / "head", tmp_path / "base", tmp_path / "missing.yaml")

    assert (
        runcost.markdown(cost)[-1]
        == "| **total** | **13.5 s → 9.50 s** | **27.0 s → 11.0 s** | **150 MiB → 140 MiB** |"
    )
    assert runcost.notes(cost)[1] == (
        "_The stages both sides record (`train`): wall 12.0 s → 9.50 s, CPU 24.0 s → 11.0 s, peak 150 MiB → 140 MiB._"
    )


def test_read__no_base_says_why(tmp_path):
    record(tmp_path / "head", "train", 3.5, 4.25, 300)
    (tmp_path / "empty").mkdir()

    def said(base: Path | None) -> str:
        cost = runcost.read(tmp_path / "head", base, tmp_path / "missing.yaml")
        assert cost.base is None and runcost.markdown(cost)[2] == "| `train` | 3.50 s | 4.25 s | 300 MiB |"
        return runcost.notes(cost)[0].split(". Wall time")[0]

    assert said(None) == "_head only: no record of the base's run here: no base records were given (`--base-cost DIR`)"
    assert (
        said(tmp_path / "empty")
        == f"_head only: no record of the base's run here: `{tmp_path}/empty/` holds no stage records"
    )
    assert said(tmp_path / "gone") == (
        f"_head only: no record of the base's run here: `{tmp_path}/gone/` is missing (in CI, main's run of the base "
        "commit saved none to the Actions cache yet, or it expired there; locally, copy `.mlci/cost/` from a run of "
        "the base there)"
    )


def test_main__base_cost_beside_the_head(tmp_dir, capsys):
    record(tmp_dir / ".mlci/cost", "evaluate", 2.0, 1.5, 200)
    record(tmp_dir / ".mlci/base-cost", "evaluate", 2.5, 2.0, 180)

    assert runcost.main(["--base-cost", ".mlci/base-cost"]) == 0

    out = capsys.readouterr().out
    assert "| `evaluate` | 2.50 s → 2.00 s | 2.00 s → 1.50 s | 180 MiB → 200 MiB |" in out
    assert "_base → head." in out

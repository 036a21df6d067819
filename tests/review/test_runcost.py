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

"""`make models`: the registry as a table, newest version first: its stages, key metrics, commit and date."""

from __future__ import annotations

from mlci.core.metric_names import KEY_METRICS
from mlci.deploy import registry

COLUMNS = ("version", "stages", "family", *KEY_METRICS, "commit", "registered")


def table(name: str) -> str:
    versions = registry.versions(name)
    if not versions:
        return f"{name}: no versions yet (the deploy workflow registers one on each release from main)"
    stages: dict[str, list[str]] = {}
    for stage, version in registry.stages(name).items():
        stages.setdefault(version.tag, []).append(stage)
    rows = []
    for version in reversed(versions):
        metrics = version.record.get("metrics", {})
        rows.append(
            [
                version.text,
                ", ".join(sorted(stages.get(version.tag, []))) or "-",
                str(version.record.get("family", "-")),
                *(str(metrics.get(key, "-")) for key in KEY_METRICS),
                version.commit[:12],
                version.created[:10],
            ]
        )
    widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([f"{name}", line(COLUMNS), *(line(row) for row in rows)])

"""The retrain pull request's title and body: the drift report, then the model report, within GitHub's limit.

`python -m mlci.monitor.pullrequest --drift reports/drift --report report/report.md --out retrain-pr` writes
`title.txt` and `body.md`. The body is at most 65,536 characters (GitHub rejects longer ones): when the two reports
do not fit, the model report is cut at a line and the body says where the full reports are (the run's artifact).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlci.core import cli
from mlci.core.errors import DataError
from mlci.core.io import write_bytes
from mlci.core.markdown import GITHUB_BODY_LIMIT
from mlci.monitor.result import DriftResult
from mlci.monitor.result import read as read_result

SEPARATOR = "\n\n---\n\n"
# GitHub refuses a pull request title over 256 characters; the workflow also reads the title as one line.
TITLE_LIMIT = 256


def title(result: DriftResult) -> str:
    """One line naming why: feature names come from the data, so any line break in them becomes a space."""
    drifted = [" ".join(name.split()) for name in result.drifted_features]
    reasons = []
    if drifted:
        reasons.append(
            "drift in " + ", ".join(drifted[:4]) + (f" and {len(drifted) - 4} more" if len(drifted) > 4 else "")
        )
    elif result.score.drifted:
        score = result.score
        reasons.append(f"drift in the model's scores (PSI {score.psi:.2f}, corrected p {score.p_adjusted:.2g})")
    if result.decay.decayed:
        reasons.append("decay in " + ", ".join(n for n, m in result.decay.metrics.items() if m.decayed))
    text = f"Retrain on new data: {'; '.join(reasons) or result.verdict}"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def body(drift_md: str, report_md: str, where: str, limit: int = GITHUB_BODY_LIMIT) -> str:
    """Both reports, the model report cut at a line when the whole would pass `limit` characters."""
    intro = (
        "Opened by the retrain workflow: new data drifted or the model decayed, so the batch joined the training data "
        "and the pipeline ran again. The drift check below compares the batch with the data `main`'s model was "
        "trained on; the model report compares the retrained model with `main`'s, gate included.\n\n"
    )
    whole = intro + drift_md.rstrip() + SEPARATOR + report_md
    if len(whole) <= limit:
        return whole
    pointer = f"\n\n**Shortened to fit GitHub's limit.** The full reports are in {where}.\n"
    budget = limit - len(pointer) - len(intro) - len(SEPARATOR)
    drift_part = drift_md.rstrip()[: budget // 2]
    report_part = report_md[: budget - len(drift_part)]
    drift_part, report_part = (_cut(part) for part in (drift_part, report_part))
    return intro + drift_part + SEPARATOR + report_part + pointer


def _cut(text: str) -> str:
    return text[: text.rfind("\n") + 1] if "\n" in text else text


@cli.command("pullrequest")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.monitor.pullrequest", description=__doc__.splitlines()[0])
    parser.add_argument("--drift", type=Path, default=Path("reports/drift"), help="the drift check's report folder")
    parser.add_argument("--report", type=Path, default=Path("report/report.md"), help="the model report")
    parser.add_argument("--out", type=Path, required=True, help="folder for title.txt and body.md")
    parser.add_argument("--where", default="the run's `retrain-reports` artifact", help="where the full reports are")
    args = parser.parse_args(argv)

    for path in (args.drift / "drift.json", args.drift / "drift.md", args.report):
        if not path.is_file():
            raise DataError(f"{path} not found; run the drift check and the report first")
    result = read_result(args.drift / "drift.json")
    drift_md = (args.drift / "drift.md").read_text(encoding="utf-8")
    report_md = args.report.read_text(encoding="utf-8")
    write_bytes(args.out / "title.txt", (title(result) + "\n").encode())
    write_bytes(args.out / "body.md", body(drift_md, report_md, args.where).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

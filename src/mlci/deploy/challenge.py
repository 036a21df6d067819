"""Champion vs challenger: the production model and the new one, scored on the same test rows, judged by the gate.

The champion is the model of the version that holds `deploy.champion_stage` (production), loaded from its release
package (checksums verified). Both models score the test split `dvc repro` just produced, each at its own threshold,
and `evaluation.gate.check` (the pull requests' gate) compares them: floors, and the most a metric may lose against the
champion. Numbers committed months ago play no part. Without a champion, or when the champion reads fields the test
split no longer has, only the floors apply, and the result says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlci.core.params import GateParams
from mlci.evaluation.gate import GateResult, check
from mlci.evaluation.metrics import scores
from mlci.evaluation.samerows import SameRows, compare
from mlci.model.release import Release


@dataclass(frozen=True)
class Challenge:
    passed: bool
    verdict: str  # one line
    challenger: dict[str, float]
    champion: dict[str, float] | None
    champion_version: str | None
    rows: int
    note: str | None  # why only the floors applied, when they did
    gate: GateResult
    same_rows: SameRows | None = None  # both models on the test rows, with the interval of each change

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "verdict": self.verdict,
            "rows": self.rows,
            "challenger": self.challenger,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "note": self.note,
            "reasons": self.gate.reasons,
            "comparison": self.same_rows.to_json() if self.same_rows else None,
        }


def challenge(
    challenger: Any,
    threshold: float,
    test: Any,
    y: Any,
    gate: GateParams,
    features: list[str],
    champion: Release | None,
    segments: Any | None = None,
) -> Challenge:
    """Score `challenger` (at `threshold`) and `champion` on the same rows of `test` (a DataFrame) and judge. Pure.

    `segments` (one value per row) adds the per-segment comparison.
    """
    p_new = challenger.predict_proba(test[features])[:, 1]
    new = scores(y, p_new, threshold)
    old, note, same = None, None, None
    if champion is None:
        note = "no production model yet: only the floors apply"
    else:
        missing = [name for name in champion.features if name not in test.columns]
        if missing:
            note = (
                f"the production model v{champion.version} reads fields the test split no longer has "
                f"({', '.join(missing)}): only the floors apply"
            )
        else:
            p_old = champion.model.predict_proba(test[champion.features])[:, 1]
            same = compare(np.asarray(y), p_new, p_old, (threshold, champion.threshold), gate, segments)
            old = same.base
    result = check(new, old, gate, same_rows=same)
    if old is not None and champion is not None:
        verdict = f"{result.summary()} (against production v{champion.version} on the same {len(y)} rows)"
    elif result.passed:  # the gate's own wording speaks of a base branch; here the missing baseline is production
        floors = ", ".join(c.metric for c in result.checks if c.kind == "floor")
        verdict = f"gate passed: floors met ({floors or 'none configured'}) on {len(y)} test rows; {note}"
    else:
        verdict = f"{result.summary()} (on {len(y)} test rows; {note})"
    version = champion.version if champion else None
    return Challenge(result.passed, verdict, new, old, version, len(y), note, result, same)

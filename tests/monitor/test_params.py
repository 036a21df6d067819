"""The `monitor:` section: defaults equal params.yaml's, and bad values fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.core.errors import ParamsError
from mlci.monitor import params
from mlci.monitor.params import MonitorParams

ROOT = Path(__file__).resolve().parents[2]


def test_load_monitor_params__the_projects_params_are_the_defaults() -> None:
    assert params.load_monitor_params(ROOT / "params.yaml") == MonitorParams()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"drift": {"psi": 0.3}}, "monitor.drift: psi_major (0.25) must be at least psi (0.3)"),
        ({"drift": {"correction": "holm"}}, "monitor.drift.correction must be 'benjamini_hochberg' or 'bonferroni'"),
        ({"decay": {"max_drop": {"auc": 0.1}}}, "monitor.decay.max_drop.auc"),
        ({"retrain": {"policy": "window"}}, "policy window needs exactly one of window_rows and window_days"),
        ({"retrain": {"window_days": 30}}, "window_rows and window_days apply only to policy window"),
        ({"max_rows": 10}, "monitor.max_rows must be greater than or equal to 1000; got 10."),
        ({"thresholds": 1}, "unknown key monitor.thresholds"),
    ],
)
def test_load_monitor_params__bad_values_name_the_key(write_params, section: dict, message: str) -> None:
    path = write_params(monitor=section)
    with pytest.raises(ParamsError, match=None) as caught:
        params.load_monitor_params(path)
    assert message in str(caught.value)

"""A user's own data in a project copy: fixture files, a generated churn CSV, and the params.yaml edits for them.

The files are those of `tests/fixtures/own_data` (written by its make_files.py). `test_own_data.py`,
`test_bad_input.py` and the report's test share them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from projectkit import edit_params, merge


def write_customers(path: Path, rows: int = 600, seed: int = 0, churned: str | None = None) -> None:
    """A CSV of mixed types: ints, floats with blanks, strings, a yes/no target and a date column."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 72, rows)
    calls = rng.poisson(1.5, rows)
    fee = np.round(rng.normal(30, 8, rows) + np.where(plan == "pro", 25, 0), 2)
    logit = -1.0 + 0.5 * calls - 0.04 * tenure + np.where(plan == "basic", 0.8, 0.0) + rng.normal(0, 0.8, rows)
    label = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    days = np.sort(rng.integers(0, 365, rows))
    lines = ["customer_id,signup_date,plan,region,monthly_fee,tenure_months,support_calls,churned"]
    for i in range(rows):
        fee_text = "" if i % 13 == 5 else f"{fee[i]:.2f}"  # blanks: missing values
        date = np.datetime64("2025-01-01") + np.timedelta64(int(days[i]), "D")
        region = ["north", "south", "east", "west"][i % 4]
        target = churned or label[i]
        lines.append(f"{1000 + i},{date},{plan[i]},{region},{fee_text},{tenure[i]},{calls[i]},{target}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CUSTOMERS = {
    "data": {
        "source": "data/customers.csv",
        "target": "churned",
        "time_column": "signup_date",
        "id_column": "customer_id",
        "segment_column": "plan",
    }
}


OWN_DATA = Path(__file__).parent / "fixtures/own_data"  # written by its make_files.py
PENGUINS = {
    "data": {
        "target": "sex",
        "positive_label": "female",
        "time_column": None,
        "id_column": "Sample ID",
        "segment_column": "Site / Île",
    },
    "evaluate": {"min_segment_rows": 10},
}
PENGUIN_FEATURES = {
    "numeric": ["Bill Length (mm)", "Flipper length, mm", "Body Mass (g)"],
    "categorical": ["Site / Île"],
}
SITES = {"Biscoe", "Dream", "Île Torgersen"}


def use_own_data(root: Path, name: str, changes: dict | None = None) -> None:
    """Copy a fixture file into `root`'s data/ and point params.yaml at it, with the penguin roles and `changes`."""
    shutil.copyfile(OWN_DATA / name, root / "data" / name)
    edit_params(root, merge(merge(PENGUINS, {"data": {"source": f"data/{name}"}}), changes or {}))

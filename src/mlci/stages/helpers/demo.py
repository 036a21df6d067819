"""A synthetic card-transaction fraud data set, deterministic from a seed and a row count.

The generating model, in short: every transaction has an amount (log-normal around the account's 30-day average), a
timestamp, a merchant category, a channel, and a few account signals. Fraud follows a logistic model of those
signals (amount far above the account's average, foreign card use, night hours, risky categories, new accounts,
bursts of activity, card-not-present) plus unobserved noise, so a good model reaches a ROC AUC near 0.9, not 1.0.
About 3% of transactions are fraud in the `normal` season.

`season: holiday` shifts the distribution the way a December batch would: larger amounts, more online and mobile
spend, more electronics and jewellery, and a fraud pattern that leans on those categories and less on night hours.
It is the drift that the monitoring and retraining journeys detect.

Rows are produced in fixed-size chunks, each from its own seeded generator, so memory stays bounded for any row
count and the output for a given (seed, n_rows, season) is always the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

CHUNK_ROWS = 500_000
START = np.datetime64("2026-01-01T00:00:00", "s")
HOLIDAY_START = np.datetime64("2026-11-25T00:00:00", "s")
SPAN_SECONDS = 60 * 24 * 3600  # each batch covers 60 days

CATEGORIES = np.array(
    [
        "grocery",
        "restaurants",
        "fuel",
        "apparel",
        "pharmacy",
        "travel",
        "online_services",
        "electronics",
        "jewelry",
        "gaming",
    ]
)
CHANNELS = np.array(["in_store", "online", "mobile"])


@dataclass(frozen=True)
class Season:
    """The knobs that differ between a normal batch and a holiday batch."""

    start: np.datetime64
    amount_shift: float  # added to the log of the amount
    category_weights: tuple[float, ...]
    channel_weights: tuple[float, float, float]
    category_risk: tuple[float, ...]  # added to the fraud logit, per category
    night_risk: float
    intercept: float


SEASONS = {
    "normal": Season(
        start=START,
        amount_shift=0.0,
        category_weights=(0.22, 0.16, 0.12, 0.1, 0.08, 0.06, 0.1, 0.08, 0.03, 0.05),
        channel_weights=(0.55, 0.3, 0.15),
        category_risk=(-0.6, -0.4, -0.3, 0.0, -0.4, 0.5, 0.4, 0.8, 1.0, 0.7),
        night_risk=1.6,
        intercept=-6.0,
    ),
    "holiday": Season(
        start=HOLIDAY_START,
        amount_shift=0.3,
        category_weights=(0.15, 0.13, 0.07, 0.16, 0.05, 0.08, 0.1, 0.14, 0.07, 0.05),
        channel_weights=(0.4, 0.4, 0.2),
        category_risk=(-0.6, -0.4, -0.3, 0.3, -0.4, 0.3, 0.4, 1.3, 1.5, 0.7),
        night_risk=0.8,
        intercept=-5.7,
    ),
}

SCHEMA = pa.schema(
    [
        ("transaction_id", pa.int64()),
        ("timestamp", pa.timestamp("s")),
        ("amount", pa.float64()),
        ("merchant_category", pa.string()),
        ("channel", pa.string()),
        ("card_present", pa.bool_()),
        ("country_mismatch", pa.bool_()),
        ("account_age_days", pa.float64()),
        ("txn_count_24h", pa.int64()),
        ("avg_amount_30d", pa.float64()),
        ("distance_from_home_km", pa.float64()),
        ("is_fraud", pa.bool_()),
    ]
)


def generate(n_rows: int, seed: int, season: str = "normal") -> Iterator[pa.Table]:
    """Yield the data set as tables of at most `CHUNK_ROWS` rows."""
    for index, start in enumerate(range(0, n_rows, CHUNK_ROWS)):
        rng = np.random.default_rng([seed, index, list(SEASONS).index(season)])
        yield _chunk(rng, start, min(CHUNK_ROWS, n_rows - start), SEASONS[season])


def _chunk(rng: np.random.Generator, first_id: int, n: int, season: Season) -> pa.Table:
    category = rng.choice(len(CATEGORIES), size=n, p=_normalised(season.category_weights))
    channel = rng.choice(len(CHANNELS), size=n, p=_normalised(season.channel_weights))
    in_store = channel == 0

    seconds = np.sort(rng.integers(0, SPAN_SECONDS, size=n)) if n else np.zeros(0, dtype=np.int64)
    # More activity by day than by night: shift a share of night-time transactions into the afternoon.
    hour = (seconds // 3600) % 24
    night = (hour < 6) & (rng.random(n) < 0.6)
    seconds = np.where(night, seconds + 12 * 3600, seconds) % SPAN_SECONDS
    hour = (seconds // 3600) % 24
    timestamp = season.start + seconds.astype("timedelta64[s]")

    avg_amount = np.round(np.exp(rng.normal(3.6, 0.7, n)), 2)
    ratio_log = rng.normal(0.0, 0.6, n) + season.amount_shift
    account_age = np.round(rng.gamma(2.0, 400.0, n))
    txn_count = rng.poisson(2.5, n)
    distance = np.round(rng.lognormal(2.0, 1.2, n), 1)
    card_present = in_store & (rng.random(n) < 0.97)
    country_mismatch = rng.random(n) < np.where(in_store, 0.02, 0.08)

    logit = (
        season.intercept
        + 1.6 * np.clip(ratio_log, -1, 3)
        + 2.2 * country_mismatch
        + season.night_risk * ((hour >= 0) & (hour < 5))
        + np.asarray(season.category_risk)[category]
        + 1.8 * (account_age < 60)
        + 0.5 * np.clip(txn_count - 3, 0, 6)
        + 1.0 * (~card_present)
        + 0.4 * (distance > 100)
        + rng.normal(0.0, 1.3, n)  # what the features cannot explain
    )
    fraud = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    # Fraudsters test with larger amounts and bursts of activity: make the fraud rows a little more extreme.
    ratio_log = np.where(fraud, ratio_log + rng.normal(0.3, 0.3, n), ratio_log)
    txn_count = np.where(fraud, txn_count + rng.poisson(1.0, n), txn_count)
    amount = np.round(avg_amount * np.exp(ratio_log), 2)

    # Real data has holes: a few account ages and distances are unknown.
    account_age = np.where(rng.random(n) < 0.02, np.nan, account_age)
    distance = np.where(rng.random(n) < 0.05, np.nan, distance)

    columns = [
        np.arange(first_id, first_id + n, dtype=np.int64),
        timestamp,
        amount,
        CATEGORIES[category],
        CHANNELS[channel],
        card_present,
        country_mismatch,
        account_age,
        txn_count.astype(np.int64),
        avg_amount,
        distance,
        fraud,
    ]
    arrays = [
        pa.array(values, type=field.type, from_pandas=True) for values, field in zip(columns, SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _normalised(weights: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()

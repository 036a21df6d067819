"""The `serve:` section of `params.yaml`, validated by the service's own model (no stage reads it).

Changing a limit here re-runs no stage of the pipeline: `dvc.yaml` never lists these keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from mlci.core.params import PARAMS_FILE, Section, load_section

KIB = 1024
MIB = 1024 * KIB
# Bytes allowed per field of a record when the body limit is sized to the batch limit: a value, its quotes, the
# separators and some whitespace (a demo record of 12 fields takes about 300 bytes compact, the allowance 900).
FIELD_BYTES = 64
MIN_BODY_BYTES = 64 * KIB


class ServeParams(Section):
    """Limits of `POST /predict`, its timeouts and the opt-in prediction log."""

    # The most records one request may hold; a larger batch is a 422 that says to split it.
    max_batch_rows: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # The largest request body, checked before it is parsed (from Content-Length, then while it is read): a 413.
    # None: sized to the batch limit, `max_batch_rows` records of the release's fields (`body_limit`).
    max_body_bytes: Annotated[int, Field(ge=KIB, le=1024 * MIB)] | None = None
    # The longest string value a record may hold (a category or a date-time); longer is a 422 before validation.
    max_string_chars: Annotated[int, Field(ge=32, le=1_000_000)] = 256
    # A request whose body has not fully arrived after this many seconds is answered 408 and its connection closed.
    body_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # An idle keep-alive connection is closed after this many seconds (uvicorn's timeout_keep_alive).
    keep_alive_seconds: Annotated[int, Field(ge=1, le=300)] = 5
    # JSON Lines of every prediction (inputs, probability, label, model version) for the drift check; null: off.
    log_path: str | None = None
    # When the log would grow past this, logging stops with one warning (predictions go on); move the file away and
    # restart the service to log again. The drift check reads one whole file, so nothing is rotated away unseen.
    log_max_bytes: Annotated[int, Field(ge=KIB)] = 100 * MIB

    def body_limit(self, field_names: list[str]) -> int:
        """`max_body_bytes`, or when unset: `max_batch_rows` records whose every value takes `FIELD_BYTES`."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        record = sum(len(name.encode()) + FIELD_BYTES for name in field_names)
        return max(MIN_BODY_BYTES, self.max_batch_rows * record)


def load_serve_params(path: Path | str = PARAMS_FILE) -> ServeParams:
    """The validated `serve:` section; `ParamsError` naming the key on a bad value or an unknown key."""
    return load_section("serve", ServeParams, path)

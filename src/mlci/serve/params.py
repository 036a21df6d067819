"""The `serve:` section of `params.yaml`, validated by the service's own model (no stage reads it).

Changing a limit here re-runs no stage of the pipeline: `dvc.yaml` never lists these keys.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mlci.core.params import load_section

KIB = 1024
MIB = 1024 * KIB


class ServeParams(BaseModel):
    """Limits of `POST /predict` and the opt-in prediction log."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    # The most records one request may hold; a larger batch is a 422 that says to split it.
    max_batch_rows: Annotated[int, Field(ge=1, le=100_000)] = 1000
    # The largest request body, checked before it is parsed (from Content-Length, then while it is read): a 413.
    max_body_bytes: Annotated[int, Field(ge=KIB, le=1024 * MIB)] = 4 * MIB
    # JSON Lines of every prediction (inputs, probability, label, model version) for the drift check; null: off.
    log_path: str | None = None
    # When the log would grow past this, logging stops with one warning (predictions go on); move the file away and
    # restart the service to log again. The drift check reads one whole file, so nothing is rotated away unseen.
    log_max_bytes: Annotated[int, Field(ge=KIB)] = 100 * MIB


def load_serve_params(path: str = "params.yaml") -> ServeParams:
    """The validated `serve:` section; `ParamsError` naming the key on a bad value or an unknown key."""
    return load_section("serve", ServeParams, path)

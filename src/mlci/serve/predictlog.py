"""The opt-in prediction log: one JSON line per predicted record, for the drift check (`serve.log_path`).

Each line holds the time (UTC), the model version, the record as sent (after validation), the probability and the
label. The file is bounded by `serve.log_max_bytes`: when the next request's lines would pass it, logging stops with
one warning and predictions go on. Nothing is rotated away: the drift check reads one whole file, and a rotation would
drop the oldest records unseen. To log again, move the file away (the drift check takes it from there) and restart.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("mlci.serve")


class PredictionLog:
    """Append-only JSON Lines, thread-safe, that stops at `max_bytes`."""

    def __init__(self, path: Path | str, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        self._size = self._file.tell()
        self._lock = threading.Lock()
        self.stopped = False

    def write(self, version: str, records: list[dict[str, Any]], probabilities: list[float], labels: list[str]) -> None:
        if self.stopped:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [
            json.dumps({"time": now, "version": version, "input": record, "probability": p, "label": label})
            for record, p, label in zip(records, probabilities, labels, strict=True)
        ]
        data = ("\n".join(lines) + "\n").encode()
        with self._lock:
            if self.stopped:
                return
            if self._size + len(data) > self.max_bytes:
                self.stopped = True
                LOGGER.warning(
                    "prediction log %s reached serve.log_max_bytes (%d bytes): logging stopped, predictions go on; "
                    "move the file away and restart the service to log again",
                    self.path,
                    self.max_bytes,
                )
                return
            self._file.write(data)
            self._file.flush()
            self._size += len(data)

    def close(self) -> None:
        with self._lock:
            self._file.close()

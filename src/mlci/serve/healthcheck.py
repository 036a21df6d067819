"""`python -m mlci.serve.healthcheck`: exit 0 when the local service answers `GET /health` with 200, else 1.

The container's HEALTHCHECK. Standard library only (no curl in the image), and nothing heavy is imported.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 3.0


# Its own boundary rather than `mlci.core.cli.command`: the probe runs every few seconds and imports nothing of ours.
# 1 is `cli.EXIT_FAILED` (the check ran and the service said no); it raises no error of ours, so there is no exit 2.
def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

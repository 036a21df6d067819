"""The fake GitHub that the `gh` and `cml` stand-ins share: pull requests and their comments in one JSON file.

`STANDIN_STATE/github.json` holds `{"repository": "owner/name", "pulls": {"<n>": {...}}, "comments": {"<n>": [...]}}`,
and `"labels"` and `"releases"` once something creates them.
Comments are listed oldest first, 30 to a page, as the REST API does.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import state  # noqa: E402

PAGE = 30
# Who a pull request is by, from the token that opened it, as `gh pr list --json author` prints bots.
AUTHORS = {
    "token-of-the-run": {"login": "app/github-actions", "is_bot": True},
    "ghs_app-installation-token": {"login": "app/mlci-retrain", "is_bot": True},
}


def load() -> dict:
    return json.loads((state() / "github.json").read_text(encoding="utf-8"))


def save(data: dict) -> None:
    (state() / "github.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def create_comment(data: dict, number: str, body: str) -> dict:
    comment_id = max([c["id"] for cs in data["comments"].values() for c in cs], default=1000) + 1
    comment = {"id": comment_id, "body": body, "user": {"login": "github-actions[bot]"}}
    data["comments"].setdefault(number, []).append(comment)
    return comment


def find_comment(data: dict, comment_id: int) -> dict | None:
    return next((c for cs in data["comments"].values() for c in cs if c["id"] == comment_id), None)

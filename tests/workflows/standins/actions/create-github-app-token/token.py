"""Stand-in for actions/create-github-app-token: fails without a client id or key, as the real one does."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, record, set_outputs  # noqa: E402

TOKEN = "ghs_app-installation-token"


def main() -> None:
    inputs = action_inputs("client-id", "private-key", "permission-contents", "permission-pull-requests")
    key = inputs.pop("private-key")
    record("create-github-app-token", inputs=inputs, private_key_given=bool(key))
    if not inputs["client-id"] or not key:
        fail("[@octokit/auth-app] appId option is required")
    print(f"::add-mask::{TOKEN}")
    set_outputs(token=TOKEN, installation_id=42, app_slug="mlci-retrain")


if __name__ == "__main__":
    main()

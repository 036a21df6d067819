"""Stand-in for docker/login-action: records the registry and user; fails without a password, as a login would."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, record  # noqa: E402

inputs = action_inputs("registry", "username", "password")
if not inputs["username"] or not inputs["password"]:
    fail("Username and password required")
record("docker-login", registry=inputs["registry"], username=inputs["username"], password_given=True)

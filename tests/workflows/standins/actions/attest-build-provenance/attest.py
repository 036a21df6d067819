"""Stand-in for actions/attest-build-provenance: records the subject and each file's SHA-256; signs nothing."""

from __future__ import annotations

import glob
import hashlib
import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, workspace  # noqa: E402

inputs = action_inputs("subject-path", "subject-digest", "subject-name", "subject-checksums", "push-to-registry")
given = [name for name in ("subject-path", "subject-digest", "subject-checksums") if inputs[name]]
if len(given) != 1:
    fail(f"exactly one of subject-path, subject-digest, subject-checksums is required; got {given or 'none'}")
if inputs["subject-digest"] and not inputs["subject-name"]:
    fail("subject-name is required with subject-digest")
files = {}
for pattern in lines(inputs["subject-path"]):
    matches = sorted(glob.glob(pattern, root_dir=workspace())) if not os.path.isabs(pattern) else glob.glob(pattern)
    if not matches:
        fail(f"subject-path {pattern!r} matches no file")
    for match in matches:
        path = workspace() / match
        files[os.path.basename(match)] = hashlib.sha256(path.read_bytes()).hexdigest()
record("attest-build-provenance", inputs=inputs, files=files)
set_outputs(
    bundle_path="attestation.jsonl", attestation_id="1", attestation_url="https://github.invalid/attestations/1"
)

"""Stand-in for docker/build-push-action: a build that checks its inputs, and a push to a fake registry.

The context must hold the Dockerfile and every `COPY` source outside `--from=` (with `ARG` defaults and the given
build args substituted), so a release package missing from the context fails here as it would in Docker. The digest
is the SHA-256 of the Dockerfile and the copied files: the same inputs give the same digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, state, workspace  # noqa: E402

inputs = action_inputs("context", "file", "build-args", "tags", "labels", "push", "provenance")
context = workspace() / (inputs["context"] or ".")
dockerfile = Path(inputs["file"]) if inputs["file"] else context / "Dockerfile"
if not dockerfile.is_file():
    fail(f"failed to read dockerfile: open {dockerfile}: no such file or directory")
args = dict(line.split("=", 1) for line in lines(inputs["build-args"]))
text = dockerfile.read_text(encoding="utf-8")
defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
values = {**defaults, **args}
digest = hashlib.sha256(text.encode())
sources = []
for match in re.finditer(r"^COPY\s+(?!--from=)(.+)$", text, re.MULTILINE):
    *paths, _target = match.group(1).split()
    for raw in paths:
        source = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), raw)
        path = context / source
        if not path.exists():
            fail(f'failed to compute cache key: "/{source}": not found')
        sources.append(source)
        files = sorted(p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file())
        for file in files:
            digest.update(file.relative_to(context).as_posix().encode() + file.read_bytes())
tags = lines(inputs["tags"].replace(",", "\n"))
image_digest = f"sha256:{digest.hexdigest()}"
record("build-push", inputs=inputs, build_args=args, copied=sources, digest=image_digest, tags=tags)
if inputs["push"] == "true":
    registry_file = state() / "registry.json"
    registry = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    registry.update(dict.fromkeys(tags, image_digest))
    registry_file.write_text(json.dumps(registry, indent=2))
set_outputs(digest=image_digest, imageid=image_digest, metadata=json.dumps({"containerimage.digest": image_digest}))

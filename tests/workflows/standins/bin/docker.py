"""Stand-in for the docker CLI: `docker buildx imagetools create --tag NEW SOURCE` against the fake registry.

Points NEW at SOURCE's digest in `STANDIN_STATE/registry.json` (the build-push stand-in writes it), as retagging a
pushed image in a registry does; fails for an image that was never pushed. Anything else fails.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import record, state  # noqa: E402


def main(args: list[str]) -> None:
    record("docker", args=args)
    if args[:3] != ["buildx", "imagetools", "create"]:
        sys.exit(f"docker stand-in: only `docker buildx imagetools create` is supported; got {args}")
    rest, tags, sources = list(args[3:]), [], []
    while rest:
        arg = rest.pop(0)
        if arg in ("--tag", "-t"):
            tags.append(rest.pop(0))
        elif arg.startswith("-"):
            sys.exit(f"docker stand-in: unsupported flag {arg}")
        else:
            sources.append(arg)
    registry_file = state() / "registry.json"
    registry = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    if len(sources) != 1 or sources[0] not in registry:
        sys.exit(f"ERROR: {sources}: not found")
    for tag in tags:
        registry[tag] = registry[sources[0]]
    registry_file.write_text(json.dumps(registry, indent=2))
    print(registry[sources[0]])


if __name__ == "__main__":
    main(sys.argv[1:])

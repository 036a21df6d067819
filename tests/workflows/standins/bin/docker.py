"""Stand-in for the docker CLI: `docker buildx imagetools inspect|create` against the fake registry.

The registry is `STANDIN_STATE/registry.json`, image tag to digest (the build-push stand-in writes it).
`imagetools inspect NAME --format '{{json .Manifest}}'` prints NAME's manifest descriptor (media type, digest, size);
`imagetools create --tag NEW SOURCE` points NEW at SOURCE's digest, as retagging a pushed image in a registry does.
SOURCE is `name:tag` or `name@sha256:...`; an image that was never pushed fails both. Anything else fails.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import record, state  # noqa: E402

MANIFEST_FORMAT = "{{json .Manifest}}"


def registry() -> dict[str, str]:
    path = state() / "registry.json"
    return json.loads(path.read_text()) if path.exists() else {}


def resolve(images: dict[str, str], reference: str) -> str:
    """The digest `reference` (`name:tag` or `name@digest`) names in the registry, or exit as buildx does."""
    name, at, digest = reference.partition("@")
    if at and any(tag.rpartition(":")[0] == name and found == digest for tag, found in images.items()):
        return digest
    if not at and reference in images:
        return images[reference]
    sys.exit(f"ERROR: {reference}: not found")


def main(args: list[str]) -> None:
    record("docker", args=args)
    if args[:2] != ["buildx", "imagetools"] or args[2:3] not in (["create"], ["inspect"]):
        sys.exit(f"docker stand-in: only `docker buildx imagetools create|inspect` is supported; got {args}")
    rest, tags, sources, template = list(args[3:]), [], [], None
    while rest:
        arg = rest.pop(0)
        if arg in ("--tag", "-t"):
            tags.append(rest.pop(0))
        elif arg == "--format":
            template = rest.pop(0)
        elif arg.startswith("-"):
            sys.exit(f"docker stand-in: unsupported flag {arg}")
        else:
            sources.append(arg)
    images = registry()
    if len(sources) != 1:
        sys.exit(f"ERROR: one source image expected; got {sources}")
    digest = resolve(images, sources[0])
    if args[2] == "inspect":
        if template != MANIFEST_FORMAT:
            sys.exit(f"docker stand-in: only --format '{MANIFEST_FORMAT}' is supported; got {template!r}")
        print(json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": 856}))
        return
    for tag in tags:
        images[tag] = digest
    (state() / "registry.json").write_text(json.dumps(images, indent=2))
    print(digest)


if __name__ == "__main__":
    main(sys.argv[1:])

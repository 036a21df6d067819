"""The model registry: annotated git tags in GTO's grammar, read and written with plain git.

- `<name>@v<major>.<minor>.<patch>` registers a version at a commit. Its message starts with a summary line; the
  rest is a JSON record (model family, input fields and types, key metrics) that the next version's bump and
  `make models` read, so the registry needs nothing but git.
- `<name>#<stage>#<N>` assigns a stage to the version registered at the same commit; N is one more than the highest
  counter among the name's stage tags, so the newest assignment of a stage wins (rollback is a new, higher N).
- Written by `gto deprecate`, and honoured here: `<name>@v<semver>!` deregisters a version, `<name>#<stage>!#<N>`
  unassigns a stage.

`gto show` and `gto history` read the same tags. Writing them with git rather than through GTO's API keeps the
record in the message and works in any clone, including a shallow-free CI checkout with `persist-credentials: false`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlci.core.errors import ReleaseError
from mlci.core.revisions import run

SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_FIELDS = ["%(refname:short)", "%(objecttype)", "%(*objectname)", "%(objectname)", "%(taggerdate:iso-strict)"]
_FORMAT = "%00".join([*_FIELDS, "%(contents)"]) + "%00%00"


@dataclass(frozen=True)
class Version:
    name: str
    number: tuple[int, int, int]
    commit: str
    tag: str
    created: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "v{}.{}.{}".format(*self.number)


@dataclass(frozen=True)
class Assignment:
    name: str
    stage: str
    counter: int
    commit: str
    tag: str
    created: str
    unassigned: bool = False  # `<name>#<stage>!#<N>`: the stage was taken away


def git(*args: str) -> str:
    """Run git for the registry: a failure is a `ReleaseError` naming the command and the fix."""
    return run("git", *args, error=ReleaseError, purpose="use the model registry")


def parse_version(text: str) -> tuple[int, int, int]:
    match = SEMVER.match(text.strip())
    if not match:
        raise ReleaseError(f"version {text!r} is not a semantic version such as 1.2.0 or v1.2.0")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _tags(name: str) -> list[dict[str, Any]]:
    out = git("for-each-ref", f"--format={_FORMAT}", "refs/tags")
    tags = []
    for entry in out.split("\0\0"):
        parts = entry.lstrip("\n").split("\0")
        if len(parts) < 6 or not parts[0].startswith(name):
            continue
        tag, kind, peeled, target, created, message = parts[:6]
        commit = peeled if kind == "tag" else target
        tags.append({"tag": tag, "annotated": kind == "tag", "commit": commit, "created": created, "message": message})
    return tags


def versions(name: str) -> list[Version]:
    """Every registered version of `name`, oldest first (by semantic version). Deregistered ones (`!`) are left out."""
    pattern = re.compile(rf"^{re.escape(name)}@(v\d+\.\d+\.\d+)(!?)$")
    tags = _tags(name)
    deregistered = {m.group(1) for t in tags if (m := pattern.match(t["tag"])) and m.group(2)}
    found = []
    for tag in tags:
        match = pattern.match(tag["tag"])
        if match and not match.group(2) and match.group(1) not in deregistered and tag["annotated"]:
            found.append(
                Version(
                    name,
                    parse_version(match.group(1)),
                    tag["commit"],
                    tag["tag"],
                    tag["created"],
                    _record(tag["message"]),
                )
            )
    return sorted(found, key=lambda v: v.number)


def assignments(name: str) -> list[Assignment]:
    """Every stage assignment `<name>#<stage>#<N>` and unassignment `<name>#<stage>!#<N>`, in counter order."""
    pattern = re.compile(rf"^{re.escape(name)}#([^#!]+)(!?)#(\d+)$")
    found = []
    for tag in _tags(name):
        match = pattern.match(tag["tag"])
        if match:
            stage, unassigned, counter = match.group(1), bool(match.group(2)), int(match.group(3))
            found.append(Assignment(name, stage, counter, tag["commit"], tag["tag"], tag["created"], unassigned))
    return sorted(found, key=lambda a: a.counter)


def stages(name: str) -> dict[str, Version]:
    """Each stage's current version: the version at the commit of the stage's newest (un)assignment."""
    by_commit = {v.commit: v for v in versions(name)}
    current: dict[str, Version] = {}
    for assignment in assignments(name):
        if assignment.unassigned:
            current.pop(assignment.stage, None)
        elif assignment.commit in by_commit:
            current[assignment.stage] = by_commit[assignment.commit]
    return current


def find(name: str, version: str) -> Version:
    number = parse_version(version)
    for candidate in versions(name):
        if candidate.number == number:
            return candidate
    known = ", ".join(v.text for v in versions(name)) or "none yet"
    raise ReleaseError(f"{name} has no version v{'.'.join(map(str, number))} (registered: {known})")


def register(name: str, number: tuple[int, int, int], commit: str, summary: str, record: dict[str, Any]) -> str:
    """Create the annotated version tag at `commit`; refuse a version or a commit that is already registered."""
    tag = f"{name}@v{number[0]}.{number[1]}.{number[2]}"
    existing = versions(name)
    if any(v.number == number for v in existing):
        raise ReleaseError(f"{tag} already exists; versions are immutable, so release a new one")
    same = [v.text for v in existing if v.commit == commit]
    if same:
        raise ReleaseError(f"commit {commit[:12]} is already registered as {name} {same[0]}; nothing new to release")
    git("tag", "--annotate", tag, "--message", f"{summary}\n\n{json.dumps(record, sort_keys=True)}", commit)
    return tag


def assign(name: str, version: str, stage: str) -> str:
    """Create `<name>#<stage>#<N>` at the commit of `version`; N one more than the highest so far."""
    target = find(name, version)
    counter = max((a.counter for a in assignments(name)), default=0) + 1
    tag = f"{name}#{stage}#{counter}"
    git("tag", "--annotate", tag, "--message", f"Assign stage {stage} to {name} {target.text}", target.commit)
    return tag


def _record(message: str) -> dict[str, Any]:
    _, _, rest = message.partition("\n\n")
    try:
        record = json.loads(rest.strip() or "{}")
    except json.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}

"""`gh release create|download|view` against the fake GitHub: releases in `github.json`, assets in a folder.

`create TAG FILE... [--verify-tag] [--title T] [--notes-file F]` copies the assets to `STANDIN_STATE/releases/TAG/`
and records the notes; with `--verify-tag` it fails, as gh does, unless the tag exists on `origin` (read with
`git ls-remote`, so the test's redirection of origin applies). `download TAG [--pattern P] [--dir D]` copies the
matching assets out; `view TAG` fails for an unknown release.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
import github  # noqa: E402
from standin import record, state  # noqa: E402


def _options(rest: list[str], flags: set[str], switches: set[str]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    while rest:
        arg = rest.pop(0)
        if arg in flags:
            options[arg] = rest.pop(0)
        elif arg in switches:
            options[arg] = "true"
        elif arg.startswith("-"):
            sys.exit(f"gh stand-in: unsupported flag {arg} for gh release")
        else:
            positional.append(arg)
    return positional, options


def main(args: list[str]) -> None:
    if not os.environ.get("GH_TOKEN") and not os.environ.get("GITHUB_TOKEN"):
        sys.exit(4)
    command, rest = args[1], list(args[2:])
    data = github.load()
    releases = data.setdefault("releases", {})
    if command == "create":
        positional, options = _options(rest, {"--title", "--notes-file", "--notes", "--target"}, {"--verify-tag"})
        tag, files = positional[0], positional[1:]
        record("gh", args=args, command="release create", tag=tag, options=options)
        if tag in releases:
            sys.exit(f"a release with tag {tag} already exists")
        if "--verify-tag" in options:
            found = subprocess.run(["git", "ls-remote", "--tags", "origin", f"refs/tags/{tag}"], capture_output=True)
            if not found.stdout.strip():
                sys.exit(f"tag {tag} doesn't exist in the repo, aborting due to --verify-tag flag")
        folder = state() / "releases" / tag.replace("/", "_")
        folder.mkdir(parents=True)
        for file in files:
            shutil.copy(file, folder / Path(file).name)
        notes = Path(options["--notes-file"]).read_text(encoding="utf-8") if "--notes-file" in options else ""
        releases[tag] = {
            "title": options.get("--title", tag),
            "notes": notes or options.get("--notes", ""),
            "assets": sorted(Path(f).name for f in files),
            "folder": str(folder),
        }
        github.save(data)
        print(f"https://github.com/{data['repository']}/releases/tag/{tag}")
    elif command == "download":
        positional, options = _options(rest, {"--pattern", "-p", "--dir", "-D"}, {"--clobber"})
        tag = positional[0]
        record("gh", args=args, command="release download", tag=tag, options=options)
        if tag not in releases:
            sys.exit("release not found")
        pattern = options.get("--pattern", options.get("-p", "*"))
        target = Path(options.get("--dir", options.get("-D", ".")))
        target.mkdir(parents=True, exist_ok=True)
        matched = [name for name in releases[tag]["assets"] if fnmatch.fnmatch(name, pattern)]
        if not matched:
            sys.exit("no assets match the file pattern")
        for name in matched:
            shutil.copy(Path(releases[tag]["folder"]) / name, target / name)
    elif command == "view":
        record("gh", args=args, command="release view", tag=rest[0])
        if rest[0] not in releases:
            sys.exit("release not found")
        print(releases[rest[0]]["title"])
    else:
        sys.exit(f"gh stand-in: gh release {command} is not supported")

"""Stand-in for the GitHub CLI: the few `gh api` endpoints and `gh pr` commands the workflows use, on the fake GitHub.

Supported: `gh api repos/O/R/pulls/N`, `gh api [--paginate] repos/O/R/issues/N/comments` (one JSON array per page,
concatenated, as gh prints them), `gh api --method POST repos/O/R/issues/N/comments --input F` and
`gh api --method PATCH repos/O/R/issues/comments/ID --input F`; `gh pr list --state open [--base B] [--label L]
--json F,...`, `gh pr create --base B --head H --title T --body-file F [--label L]` and
`gh pr edit N --title T --body-file F`, `gh label create NAME [--color C] [--description D] [--force]` (each with
`--repo O/R`); `gh release create|download|view` (releases.py); `gh attestation verify oci://NAME@DIGEST --repo O/R
[--signer-workflow W]`, which finds an attestation only where the attest-build-provenance stand-in recorded one for
that name and digest. Anything else fails, so a workflow that starts relying on something new shows up here. Needs
GH_TOKEN, as gh does in Actions. Every call is recorded with its body, and `gh pr` calls with the token they ran with
(a pull request's author is the identity of the token that opened it: `github.AUTHORS`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
import github  # noqa: E402
import releases  # noqa: E402
from standin import record, state  # noqa: E402


def http_error(status: int, message: str) -> None:
    print(json.dumps({"message": message, "status": str(status)}))
    print(f"gh: {message} (HTTP {status})", file=sys.stderr)
    sys.exit(1)


PR_FLAGS = {"--repo", "--state", "--base", "--head", "--title", "--body-file", "--json", "--label"}
LABEL_FLAGS = {"--repo", "--color", "--description"}


def pr(args: list[str]) -> None:
    """`gh pr list|create|edit`: pull requests of the fake GitHub, as gh prints them."""
    command, rest, flags, positional = args[1] if len(args) > 1 else "", list(args[2:]), {}, []
    while rest:
        arg = rest.pop(0)
        if arg in PR_FLAGS:
            flags[arg] = rest.pop(0)
        elif arg.startswith("-"):
            record("gh", args=args, error="unsupported flag")
            sys.exit(f"gh stand-in: unsupported flag {arg}")
        else:
            positional.append(arg)
    body = Path(flags["--body-file"]).read_text(encoding="utf-8") if "--body-file" in flags else None
    token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
    record("gh", args=args, command=f"pr {command}", flags=flags, body=body, token=token)
    if not token:
        sys.exit(4)
    data = github.load()
    if flags.get("--repo", data["repository"]) != data["repository"]:
        http_error(404, "Not Found")
    pulls = data["pulls"]
    if command == "list":
        fields = flags.get("--json", "number").split(",")
        found = [
            p for p in pulls.values()
            if p.get("state", "open") == flags.get("--state", "open")
            and flags.get("--base", p.get("baseRefName")) == p.get("baseRefName")
            and ("--label" not in flags or flags["--label"] in [label["name"] for label in p.get("labels", [])])
        ]  # fmt: skip
        print(json.dumps([{field: p.get(field) for field in fields} for p in found]))
    elif command == "create":
        number = max([int(n) for n in pulls] or [0]) + 1
        head = flags["--head"]
        ours = [p for p in pulls.values() if not p.get("isCrossRepository")]
        if any(p.get("headRefName") == head and p.get("state") == "open" for p in ours):
            sys.exit(f'a pull request for branch "{head}" into branch "{flags["--base"]}" already exists')
        labels = [flags["--label"]] if "--label" in flags else []
        missing = [name for name in labels if name not in data.get("labels", {})]
        if missing:
            sys.exit(f"could not add label: '{missing[0]}' not found")
        pulls[str(number)] = {
            "number": number,
            "state": "open",
            "title": flags["--title"],
            "body": body,
            "headRefName": head,
            "baseRefName": flags["--base"],
            "head": {"ref": head},
            "isCrossRepository": False,
            "author": github.AUTHORS.get(token, {"login": "someone", "is_bot": False}),
            "labels": [{"name": name} for name in labels],
        }
        github.save(data)
        print(f"https://github.com/{data['repository']}/pull/{number}")
    elif command == "edit" and positional and positional[0] in pulls:
        pull = pulls[positional[0]]
        pull.update({"title": flags.get("--title", pull.get("title")), "body": body or pull.get("body")})
        github.save(data)
        print(f"https://github.com/{data['repository']}/pull/{positional[0]}")
    else:
        http_error(404, "Not Found")


def label(args: list[str]) -> None:
    """`gh label create NAME`: fails for an existing label unless `--force` (which updates it), as gh does."""
    rest, flags, positional = list(args[2:]), {}, []
    while rest:
        arg = rest.pop(0)
        if arg in LABEL_FLAGS:
            flags[arg] = rest.pop(0)
        elif arg == "--force":
            flags[arg] = "true"
        elif arg.startswith("-") or args[1:2] != ["create"]:
            record("gh", args=args, error="unsupported")
            sys.exit(f"gh stand-in: unsupported: gh label {' '.join(args[1:])}")
        else:
            positional.append(arg)
    record("gh", args=args, command="label create", flags=flags, name=positional[0])
    if not (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        sys.exit(4)
    data = github.load()
    labels = data.setdefault("labels", {})
    if positional[0] in labels and "--force" not in flags:
        sys.exit(f'label with name "{positional[0]}" already exists; use `--force` to update its color and description')
    labels[positional[0]] = {"color": flags.get("--color", ""), "description": flags.get("--description", "")}
    github.save(data)


def attestation(args: list[str]) -> None:
    """`gh attestation verify oci://NAME@DIGEST --repo O/R`: passes only for a digest attested under that name."""
    rest, flags, positional = list(args[2:]), {}, []
    while rest:
        arg = rest.pop(0)
        if arg in ("--repo", "--signer-workflow"):
            flags[arg] = rest.pop(0)
        elif arg.startswith("-") or args[1:2] != ["verify"]:
            record("gh", args=args, error="unsupported")
            sys.exit(f"gh stand-in: unsupported: gh attestation {' '.join(args[1:])}")
        else:
            positional.append(arg)
    subject = positional[0] if positional else ""
    record("gh", args=args, command="attestation verify", subject=subject, flags=flags)
    if not (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        sys.exit(4)
    name, _, digest = subject.removeprefix("oci://").partition("@")
    if not subject.startswith("oci://") or not digest.startswith("sha256:"):
        sys.exit(f"gh stand-in: only oci://NAME@sha256:DIGEST subjects are supported; got {subject!r}")
    if flags.get("--repo") != github.load()["repository"]:
        sys.exit("✗ Loading attestations from GitHub API failed: HTTP 404")
    calls = (state() / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    attested = [json.loads(line) for line in calls if '"attest-build-provenance"' in line]
    if not any(c["inputs"]["subject-name"] == name and c["inputs"]["subject-digest"] == digest for c in attested):
        print(f"✗ Loading attestations from GitHub API failed\n\nError: no attestations found for subject: {digest}")
        sys.exit(1)
    print(f"Loaded 1 attestation from GitHub API\n✓ Verification succeeded!\n\n{digest} was attested by:")


def main(args: list[str]) -> None:
    if args[:1] == ["label"]:
        label(args)
        return
    if args[:1] == ["attestation"]:
        attestation(args)
        return
    if args[:1] == ["release"]:
        releases.main(args)
        return
    if args[:1] == ["pr"]:
        pr(args)
        return
    method, paginate, body_file, endpoint, rest = "GET", False, None, None, list(args[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("--method", "-X"):
            method = rest.pop(0).upper()
        elif arg == "--paginate":
            paginate = True
        elif arg == "--input":
            body_file = rest.pop(0)
        elif arg.startswith("-"):
            record("gh", args=args, error="unsupported flag")
            sys.exit(f"gh stand-in: unsupported flag {arg}")
        else:
            endpoint = arg
    body = Path(body_file).read_text(encoding="utf-8") if body_file else None
    record("gh", args=args, method=method, endpoint=endpoint, paginate=paginate, body=body)
    if args[:1] != ["api"] or endpoint is None:
        sys.exit(f"gh stand-in: only `gh api <endpoint>` is supported; got {args}")
    if not os.environ.get("GH_TOKEN") and not os.environ.get("GITHUB_TOKEN"):
        sys.exit(4)  # gh: "To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable."

    data = github.load()
    match = re.fullmatch(r"repos/([^/]+/[^/]+)/(pulls/(\d+)|issues/(\d+)/comments|issues/comments/(\d+))", endpoint)
    if match is None or match.group(1) != data["repository"]:
        http_error(404, "Not Found")
    pull, issue, comment_id = match.group(3), match.group(4), match.group(5)
    if pull and method == "GET":
        if pull not in data["pulls"]:
            http_error(404, "Not Found")
        print(json.dumps(data["pulls"][pull]))
    elif issue and method == "GET":
        comments = data["comments"].get(issue, [])
        pages = [comments[i : i + github.PAGE] for i in range(0, len(comments), github.PAGE)] or [[]]
        for page in pages if paginate else pages[:1]:
            sys.stdout.write(json.dumps(page))
        sys.stdout.write("\n")
    elif issue and method == "POST":
        comment = github.create_comment(data, issue, json.loads(body)["body"])
        github.save(data)
        print(json.dumps(comment))
    elif comment_id and method == "PATCH":
        comment = github.find_comment(data, int(comment_id))
        if comment is None:
            http_error(404, "Not Found")
        comment["body"] = json.loads(body)["body"]
        github.save(data)
        print(json.dumps(comment))
    else:
        http_error(404, "Not Found")


if __name__ == "__main__":
    main(sys.argv[1:])

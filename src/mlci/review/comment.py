"""Post a `train` run's report as the pull request's one comment: `validate` the artifact, then `post` it.

comment.yml runs this with a token that can write to pull requests, on an artifact that the pull request's own code
produced. So the workflow takes this file from the default branch, never from the pull request, and runs it with the
runner's bare `python3`: standard library only, nothing imported from `mlci` or any installed package. The report's
writer, `mlci.review.render`, imports `MARKER` from here, so writer and checker cannot disagree; `COMMENT_LIMIT` is
`mlci.core.markdown.GITHUB_BODY_LIMIT`, written out here (tests/review/test_comment.py holds the two equal).

- `python3 comment.py validate` reads the `pr-report` artifact in `REPORT_DIR` (`pr.json`, `report.md`) as untrusted
  data, checks it against the train run (`RUN_HEAD_SHA`, `RUN_PULL_REQUESTS`) and against the pull request itself
  (`gh api` with `REPO`, `GH_TOKEN`), and writes `pr-number` and `post` to `$GITHUB_OUTPUT`. A refusal is one
  `::error title=report artifact refused::<reason>` line and exit code 1.
- `python3 comment.py post` creates or updates the one report comment on pull request `PR_NUMBER` with
  `REPORT_DIR/report.md`: CML first (`cml comment update`, images never uploaded; `REPO_TOKEN`, `SERVER_URL`), and
  the GitHub API (`gh api`) when CML could not see the existing comment or failed.

The report's text is the pull request's: it could claim that every check passed, or @mention people through the bot.
So `post` puts a header above it that the artifact cannot write, from the train run's own conclusion
(`RUN_CONCLUSION`) and a link to that run (`RUN_ID`), and posts the report's text below it with every `@` mention
broken, report markers removed and any copy of the header's opening made visible as a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MARKER = "<!-- mlci:pr-report -->"  # the report's first line: how the comment is recognised on the next push
COMMENT_LIMIT = 65_536  # GitHub rejects longer comment bodies (core.markdown.GITHUB_BODY_LIMIT: no imports here)
RECORD_MAX_BYTES = 1_024  # pr.json holds two short fields
REPORT_MAX_BYTES = 4 * COMMENT_LIMIT  # a character is at most 4 bytes: bounds the read before counting characters
PR_NUMBER_BOUND = 2**31  # pull request numbers are positive 32-bit integers
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
BOT = "github-actions[bot]"  # the author of comments posted with the workflow's token
WATERMARK_LABEL = "mlci-pr-report"  # CML's `--watermark-title`: how CML recognises its own comment
CML_PAGE = 30  # CML 0.20.6 reads only the first page of comments
WATERMARK_ROOM = 256  # CML appends its watermark (about 110 characters) to what it posts
RUN_ID = re.compile(r"[0-9]+")
VERDICTS = {"success": "passed", "failure": "failed"}  # the conclusions comment.yml posts for
# GitHub links @name and @org/team in any text node; a word joiner after the @ stops it and shows nothing. The same
# rule as `mlci.core.markdown.escape`, which this script cannot import.
WORD_JOINER = "\u2060"
_MENTION = re.compile("@(?!" + WORD_JOINER + ")")
_MARKERS = re.compile(r"<!--\s*mlci.*?-->", re.IGNORECASE | re.DOTALL)  # ours, or any other mlci marker
_MARKER_OPENING = re.compile(r"<!--(?=\s*mlci)", re.IGNORECASE)  # one left unclosed
_HEADER_COPY = re.compile(r"^([ \t>]*)\*\*Checks:", re.MULTILINE)

Comment = Mapping[str, Any]


class ArtifactRefused(Exception):
    """The artifact is not what a train run of this pull request uploads; the message says what is wrong."""


# --- validate ---------------------------------------------------------------------------------------------------


def read_regular_file(root: Path, name: str, max_bytes: int) -> str:
    """The UTF-8 text of `root/name`, refused unless it is a regular file of at most `max_bytes` bytes.

    The artifact is attacker-controlled: a symlink could make us read (and post) a file of the runner, and a huge file
    could exhaust memory, so both are refused before anything is read.
    """
    path = root / name
    if path.is_symlink() or not path.is_file():
        raise ArtifactRefused(f"{name} is missing or not a regular file")
    if path.stat().st_size > max_bytes:
        raise ArtifactRefused(f"{name} is larger than {max_bytes} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactRefused(f"{name} is not UTF-8 text") from exc


def parse_record(text: str) -> tuple[int, str]:
    """The pull request number and head commit named by `pr.json`.

    Types are checked, never converted: the number goes into API paths and CML's target, so a string such as
    `"12; rm -rf /"` or a float is refused. `type(...) is int` because JSON `true` loads as a bool, which
    `isinstance` would take for the integer 1.
    """
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ArtifactRefused("pr.json is not JSON") from exc
    if not isinstance(record, dict):
        raise ArtifactRefused("pr.json is not a JSON object")
    number = record.get("pr_number")
    if type(number) is not int or not 0 < number < PR_NUMBER_BOUND:
        raise ArtifactRefused(f"pr.json: pr_number must be a positive integer; got {number!r}")
    head_sha = record.get("head_sha")
    if not isinstance(head_sha, str) or not COMMIT_SHA.fullmatch(head_sha):
        raise ArtifactRefused(f"pr.json: head_sha must be a 40-character commit SHA; got {head_sha!r}")
    return number, head_sha


def check_run(number: int, head_sha: str, run_head_sha: str, run_pull_requests: str) -> None:
    """Refuse a record that speaks for another commit, or another pull request, than the train run that uploaded it.

    `run_pull_requests` is the run's `pull_requests` as JSON (trusted event data). It is empty for pull requests from
    forks, which is why the number travels in the artifact; then the pull request's own head decides (`validate`).
    """
    if head_sha != run_head_sha:
        raise ArtifactRefused(f"pr.json: head_sha {head_sha} is not the head commit of the train run")
    listed = [pull.get("number") for pull in json.loads(run_pull_requests or "[]") or []]
    if listed and number not in listed:
        raise ArtifactRefused(f"pr.json: pull request #{number} is not among the train run's pull requests {listed}")


def check_report(report: str) -> None:
    """Refuse a report GitHub would reject as a comment, or one that is not ours (no marker on its first line)."""
    if len(report) > COMMENT_LIMIT:
        raise ArtifactRefused(f"report.md has {len(report)} characters; a comment holds at most {COMMENT_LIMIT}")
    if not report.startswith(MARKER):
        raise ArtifactRefused("report.md does not start with the report marker")


def read_artifact(root: Path, run_head_sha: str, run_pull_requests: str) -> tuple[int, str]:
    """The pull request number and head commit of a valid artifact in `root`; `ArtifactRefused` at the first fault."""
    number, head_sha = parse_record(read_regular_file(root, "pr.json", RECORD_MAX_BYTES))
    check_run(number, head_sha, run_head_sha, run_pull_requests)
    check_report(read_regular_file(root, "report.md", REPORT_MAX_BYTES))
    return number, head_sha


def validate(env: Mapping[str, str]) -> int:
    """Check the artifact, then whether the pull request is still at its commit, and say so in `$GITHUB_OUTPUT`.

    A pull request that moved on is not an error: its newer train run posts the newer report, and posting this one
    now would overwrite it.
    """
    number, head_sha = read_artifact(Path(env["REPORT_DIR"]), env["RUN_HEAD_SHA"], env.get("RUN_PULL_REQUESTS", ""))
    current = pull_head_sha(env["REPO"], number)
    post = current == head_sha
    if not post:
        print(f"::notice::pull request #{number} is now at {current}; its newer run posts the report")
    write_outputs(env["GITHUB_OUTPUT"], {"pr-number": str(number), "post": str(post).lower()})
    return 0


def write_outputs(path: str, values: Mapping[str, str]) -> None:
    """Append step outputs to the `$GITHUB_OUTPUT` file, one `name=value` line each."""
    with open(path, "a", encoding="utf-8") as out:
        out.writelines(f"{name}={value}\n" for name, value in values.items())


# --- the tools ----------------------------------------------------------------------------------------------------


def run(*args: str) -> str:
    """The standard output of a tool, run with an empty standard input (a step's terminal may never close).

    Raises `subprocess.CalledProcessError` when the tool fails and `OSError` when it is missing.
    """
    return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, check=True).stdout


def pull_head_sha(repo: str, number: int | str) -> str:
    """The commit pull request `number` is at now, from the GitHub API."""
    return json.loads(run("gh", "api", f"repos/{repo}/pulls/{number}"))["head"]["sha"]


def list_comments(repo: str, number: int | str) -> list[Comment]:
    """Every comment of the pull request, over all pages (the API gives at most 100 a page, 30 by default)."""
    return parse_pages(run("gh", "api", "--paginate", f"repos/{repo}/issues/{number}/comments"))


# --- the comment's text -------------------------------------------------------------------------------------------


def neutralise_mentions(text: str) -> str:
    """`text` with a word joiner after every `@` that lacks one: `@name` shows as before and notifies no one."""
    return _MENTION.sub("@" + WORD_JOINER, text)


def untrusted_body(report: str) -> str:
    """The report's text as it may appear under our header: no marker of ours, no header of ours, no mention."""
    text = _MARKER_OPENING.sub("&lt;!--", _MARKERS.sub("", report))
    text = _HEADER_COPY.sub(lambda match: match.group(1) + "\\*\\*Checks:", text)
    return neutralise_mentions(text).lstrip("\n")


def header(conclusion: str, run_url: str) -> str:
    """The trusted first line: what the train run itself concluded, with a link to it."""
    verdict = VERDICTS.get(conclusion, "did not finish")
    shown = conclusion if re.fullmatch(r"[a-z_]+", conclusion) else "unknown"
    return (
        f"**Checks: {verdict}** \u2014 the `train` run concluded `{shown}` ([its log]({run_url})). "
        "The text below was produced by the pull request's own code."
    )


def compose(report: str, conclusion: str, run_url: str) -> str:
    """The comment: our marker and header, a rule, then the report's text, cut to fit a comment with CML's watermark."""
    top = f"{MARKER}\n{header(conclusion, run_url)}\n\n---\n\n"
    body = untrusted_body(report)
    room = COMMENT_LIMIT - WATERMARK_ROOM - len(top)
    if len(body) > room:
        note = "\n\n*(The report was cut here: it is longer than a comment holds.)*\n"
        body = body[: room - len(note)].removesuffix("@") + note  # a cut between `@` and its joiner revives it
    return top + body


def run_url(env: Mapping[str, str]) -> str:
    """The train run's page, from trusted event data (`SERVER_URL`, `REPO`, `RUN_ID`)."""
    if not RUN_ID.fullmatch(env["RUN_ID"]):
        raise ValueError(f"RUN_ID must be the train run's number; got {env['RUN_ID']!r}")
    return f"{env['SERVER_URL']}/{env['REPO']}/actions/runs/{env['RUN_ID']}"


# --- post ---------------------------------------------------------------------------------------------------------


def parse_pages(text: str) -> list[Comment]:
    """The items of `gh api --paginate` output, which prints one JSON array per page back to back, not one array."""
    items: list[Comment] = []
    decoder, at = json.JSONDecoder(), 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        page, at = decoder.raw_decode(text, at)
        items.extend(page)
    return items


def find_report_comment(comments: Sequence[Comment]) -> tuple[int, Comment] | None:
    """The position and the comment of the bot's newest report comment, or None when there is none yet.

    Only the bot's own comments count: a person quoting the report also starts a comment with the marker, and a
    person's comment is never edited.
    """
    found = [
        (position, comment)
        for position, comment in enumerate(comments)
        if (comment.get("body") or "").startswith(MARKER) and (comment.get("user") or {}).get("login") == BOT
    ]
    return found[-1] if found else None


def cml_can_update(found: tuple[int, Comment] | None) -> bool:
    """Whether `cml comment update` would edit the report comment `found` instead of posting a second one.

    CML only looks at the first page of comments and only recognises its own watermark, so a comment further down,
    or one the API fallback posted (no watermark), is invisible to it. With no report comment yet, CML creates it.
    """
    if found is None:
        return True
    position, comment = found
    return position < CML_PAGE and f"CML watermark {WATERMARK_LABEL}" in comment["body"]


def post_with_cml(repo: str, number: str, report: Path, server_url: str) -> bool:
    """Whether CML posted or updated the comment; its failure is a warning, since the API fallback follows."""
    try:
        run(
            "cml", "comment", "update", f"--target=pr/{number}", "--publish=false",
            f"--watermark-title={WATERMARK_LABEL}", f"--repo={server_url}/{repo}", str(report),
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"::warning::CML could not post the comment ({exc}); using the GitHub API instead")
        return False
    return True


def upsert_with_api(repo: str, number: str, text: str) -> None:
    """Update the report comment through the GitHub API, or create it when there is none.

    The comments are listed again rather than reused: CML may have failed halfway, after posting.
    """
    found = find_report_comment(list_comments(repo, number))
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "body.json"
        body.write_text(json.dumps({"body": text}), encoding="utf-8")
        if found is None:
            run("gh", "api", "--method", "POST", f"repos/{repo}/issues/{number}/comments", "--input", str(body))
            print(f"created the report comment on pull request #{number}")
        else:
            comment_id = found[1]["id"]
            run("gh", "api", "--method", "PATCH", f"repos/{repo}/issues/comments/{comment_id}", "--input", str(body))
            print(f"updated comment {comment_id} on pull request #{number}")


def post(env: Mapping[str, str]) -> int:
    """Post or update the one report comment (`compose`): with CML when it can see the comment, else the API."""
    repo, number = env["REPO"], env["PR_NUMBER"]
    report = (Path(env["REPORT_DIR"]) / "report.md").read_text(encoding="utf-8")
    text = compose(report, env["RUN_CONCLUSION"], run_url(env))
    found = find_report_comment(list_comments(repo, number))
    with tempfile.TemporaryDirectory() as folder:
        comment_file = Path(folder) / "comment.md"
        comment_file.write_text(text, encoding="utf-8")
        if not (cml_can_update(found) and post_with_cml(repo, number, comment_file, env["SERVER_URL"])):
            upsert_with_api(repo, number, text)
    return 0


# Its own boundary and exit codes rather than `mlci.core.cli.command`: this script runs alone under `python3 -I` from a
# sparse checkout of the default branch, where `mlci` cannot be imported. 1 is `EXIT_FAILED` there: a refusal.
def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a refused artifact is an `::error` annotation and exit code 1, anything else a traceback."""
    parser = argparse.ArgumentParser(prog="comment.py", description="Validate and post the PR report comment.")
    parser.add_argument("command", choices=["validate", "post"])
    command = parser.parse_args(argv).command
    if command == "post":
        return post(os.environ)
    try:
        return validate(os.environ)
    except ArtifactRefused as exc:
        print(f"::error title=report artifact refused::{exc}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

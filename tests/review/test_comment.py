"""comment.py, run by comment.yml with a write token: every refusal of `validate`, and how `post` picks CML or API.

`gh` and `cml` are a `FakeGitHub` put in place of the module's subprocess runner. The last tests run the script
itself as the workflow does, with a bare Python and small fake executables on PATH.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlci.core import markdown
from mlci.core.markdown import GITHUB_BODY_LIMIT
from mlci.review import comment, render
from mlci.review.comment import COMMENT_LIMIT, MARKER

REPO = "acme/mlci"
NUMBER = 12
HEAD = "1f" * 20
REPORT = f"{MARKER}\n## Model report\n\n**Quality gate: passed.** floors met.\n"
RECORD = {"pr_number": NUMBER, "head_sha": HEAD}
WATERMARKED = f'{MARKER}\nold report\n\n![](https://cml.dev/watermark.png#{"0" * 40} "CML watermark mlci-pr-report")'
LISTING = f"repos/{REPO}/issues/{NUMBER}/comments"
RUN = "501"
HEADER = (
    "**Checks: passed** \u2014 the `train` run concluded `success` "
    f"([its log](https://github.com/{REPO}/actions/runs/{RUN})). "
    "The text below was produced by the pull request's own code."
)
POSTED = f"{MARKER}\n{HEADER}\n\n---\n\n## Model report\n\n**Quality gate: passed.** floors met.\n"  # REPORT, headed
MISSING, SYMLINK, FOLDER = object(), object(), object()  # what to put in place of a file of the artifact


class FakeGitHub:
    """Answers `gh api` and `cml comment update` as the real ones would for the calls comment.py makes.

    Comments are listed 30 to a page, one JSON array per page as `gh api --paginate` prints them. CML only records
    its call (or raises `cml_error`): which comment it would edit is CML's business, whether it is called is ours.
    """

    def __init__(self, comments: list[dict] | None = None, head: str = HEAD, cml_error: Exception | None = None):
        self.comments = comments or []
        self.head = head
        self.cml_error = cml_error
        self.calls: list[tuple[str, ...]] = []
        self.writes: list[tuple[str, str, str]] = []  # method, endpoint, the --input file's text
        self.cml_posts: list[str] = []  # the text of the file CML was given

    def __call__(self, *args: str) -> str:
        self.calls.append(args)
        if args[0] == "cml":
            self.cml_posts.append(Path(args[-1]).read_text(encoding="utf-8"))
            if self.cml_error:
                raise self.cml_error
            return f"https://github.com/{REPO}/pull/{NUMBER}#issuecomment-1\n"
        assert args[:2] == ("gh", "api"), args
        options, endpoint = args[2:-1], args[-1]
        if "--input" in args:
            method, endpoint, body_file = args[3], args[4], args[6]
            self.writes.append((method, endpoint, Path(body_file).read_text(encoding="utf-8")))
            return "{}"
        if endpoint.startswith(f"repos/{REPO}/pulls/"):
            return json.dumps({"number": int(endpoint.rpartition("/")[2]), "head": {"sha": self.head}})
        if endpoint == LISTING:
            pages = [self.comments[i : i + 30] for i in range(0, len(self.comments), 30)] or [[]]
            return "".join(json.dumps(page) for page in (pages if "--paginate" in options else pages[:1])) + "\n"
        raise subprocess.CalledProcessError(1, args, output='{"message": "Not Found"}')


def chatter(count: int, start: int = 0) -> list[dict]:
    return [{"id": 100 + i, "body": f"comment {i}", "user": {"login": "alice"}} for i in range(start, start + count)]


def bot(comment_id: int, body: str = WATERMARKED) -> dict:
    return {"id": comment_id, "body": body, "user": {"login": "github-actions[bot]"}}


def put(path: Path, content: object) -> None:
    """Write one file of the artifact: text, bytes, JSON, or a symlink, a folder, or nothing in its place."""
    if content is MISSING:
        return
    if content is SYMLINK:
        outside = path.parent.parent / f"outside-{path.name}"
        outside.write_text(json.dumps(RECORD) if path.suffix == ".json" else REPORT, encoding="utf-8")
        path.symlink_to(outside)
    elif content is FOLDER:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fake = FakeGitHub()
    monkeypatch.setattr(comment, "run", fake)
    return fake


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The artifact folder and the step's environment as comment.yml sets it, for a train run of pull request #12."""
    folder = tmp_path / "pr-report"
    folder.mkdir()
    for name, value in {
        "REPORT_DIR": str(folder),
        "REPO": REPO,
        "GH_TOKEN": "token-of-the-run",
        "RUN_HEAD_SHA": HEAD,
        "RUN_PULL_REQUESTS": json.dumps([{"number": NUMBER}]),
        "GITHUB_OUTPUT": str(tmp_path / "github-output"),
        "PR_NUMBER": str(NUMBER),
        "SERVER_URL": "https://github.com",
        "RUN_CONCLUSION": "success",
        "RUN_ID": RUN,
    }.items():
        monkeypatch.setenv(name, value)
    return folder


def outputs(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "github-output"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


# --- validate -----------------------------------------------------------------------------------------------------

REFUSALS = {
    "record-missing": (MISSING, REPORT, "pr.json is missing or not a regular file"),
    "record-symlink": (SYMLINK, REPORT, "pr.json is missing or not a regular file"),
    "record-folder": (FOLDER, REPORT, "pr.json is missing or not a regular file"),
    "record-too-large": (json.dumps(RECORD).ljust(1025), REPORT, "pr.json is larger than 1024 bytes"),
    "record-not-utf8": (b'{"pr_number": 12, "head_sha": "\xff"}', REPORT, "pr.json is not UTF-8 text"),
    "record-empty": ("", REPORT, "pr.json is not JSON"),
    "record-not-json": ("not json", REPORT, "pr.json is not JSON"),
    "record-not-an-object": ("[12]", REPORT, "pr.json is not a JSON object"),
    "number-missing": ({"head_sha": HEAD}, REPORT, "pr_number must be a positive integer; got None"),
    "number-as-string": ({**RECORD, "pr_number": "12"}, REPORT, "pr_number must be a positive integer; got '12'"),
    "number-as-float": ({**RECORD, "pr_number": 12.0}, REPORT, "pr_number must be a positive integer; got 12.0"),
    "number-true": ({**RECORD, "pr_number": True}, REPORT, "pr_number must be a positive integer; got True"),
    "number-false": ({**RECORD, "pr_number": False}, REPORT, "pr_number must be a positive integer; got False"),
    "number-zero": ({**RECORD, "pr_number": 0}, REPORT, "pr_number must be a positive integer; got 0"),
    "number-negative": ({**RECORD, "pr_number": -12}, REPORT, "pr_number must be a positive integer; got -12"),
    "number-too-big": ({**RECORD, "pr_number": 2**31}, REPORT, "pr_number must be a positive integer; got 2147483648"),
    "number-with-shell": ({**RECORD, "pr_number": "12; rm -rf /"}, REPORT, "got '12; rm -rf /'"),
    "number-as-list": ({**RECORD, "pr_number": [12]}, REPORT, "pr_number must be a positive integer; got [12]"),
    "sha-missing": ({"pr_number": NUMBER}, REPORT, "head_sha must be a 40-character commit SHA; got None"),
    "sha-upper-case": ({**RECORD, "head_sha": HEAD.upper()}, REPORT, "head_sha must be a 40-character commit SHA"),
    "sha-short": ({**RECORD, "head_sha": HEAD[:39]}, REPORT, "head_sha must be a 40-character commit SHA"),
    "sha-newline": ({**RECORD, "head_sha": HEAD + "\n"}, REPORT, "head_sha must be a 40-character commit SHA"),
    "sha-as-number": ({**RECORD, "head_sha": 1}, REPORT, "head_sha must be a 40-character commit SHA; got 1"),
    "sha-of-another-commit": (
        {**RECORD, "head_sha": "3d" * 20},
        REPORT,
        f"pr.json: head_sha {'3d' * 20} is not the head commit of the train run",
    ),
    "number-not-in-run": (
        {**RECORD, "pr_number": 13},
        REPORT,
        "pr.json: pull request #13 is not among the train run's pull requests [12]",
    ),
    "report-missing": (RECORD, MISSING, "report.md is missing or not a regular file"),
    "report-symlink": (RECORD, SYMLINK, "report.md is missing or not a regular file"),
    "report-too-large": (RECORD, MARKER + "x" * 4 * COMMENT_LIMIT, "report.md is larger than 262144 bytes"),
    "report-not-utf8": (RECORD, MARKER.encode() + b"\n\xff\xfe", "report.md is not UTF-8 text"),
    "report-too-long": (
        RECORD,
        MARKER + "é" * (COMMENT_LIMIT - len(MARKER) + 1),  # under the byte cap: the characters are counted
        f"report.md has {COMMENT_LIMIT + 1} characters; a comment holds at most 65536",
    ),
    "report-without-marker": (RECORD, "## Model report\n", "report.md does not start with the report marker"),
    "report-marker-not-first": (RECORD, "\n" + REPORT, "report.md does not start with the report marker"),
}


@pytest.mark.parametrize(("record", "report", "reason"), REFUSALS.values(), ids=REFUSALS.keys())
def test_validate__refuses_an_untrusted_artifact(
    artifact: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str], record: object, report: object, reason: str
) -> None:
    put(artifact / "pr.json", record)
    put(artifact / "report.md", report)

    code = comment.main(["validate"])

    (line,) = capsys.readouterr().out.splitlines()
    assert code == 1
    assert line.startswith("::error title=report artifact refused::") and reason in line, line
    assert not github.calls, "a refused artifact never reaches GitHub"
    assert outputs(artifact.parent) == {}, "no outputs: the steps after it do not run"


@pytest.mark.parametrize("listed", [json.dumps([{"number": 7}, {"number": NUMBER}]), "[]", "null", ""])
def test_validate__passes_an_artifact_of_the_run_at_the_pull_requests_head(
    artifact: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, listed: str
) -> None:
    """An empty listing is a pull request from a fork: the pull request's own head commit decides."""
    monkeypatch.setenv("RUN_PULL_REQUESTS", listed)
    put(artifact / "pr.json", RECORD)
    put(artifact / "report.md", REPORT)

    assert comment.main(["validate"]) == 0

    assert outputs(artifact.parent) == {"pr-number": str(NUMBER), "post": "true"}
    assert github.calls == [("gh", "api", f"repos/{REPO}/pulls/{NUMBER}")]


def test_validate__passes_the_largest_number_and_the_longest_report(
    artifact: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = 2**31 - 1
    monkeypatch.setenv("RUN_PULL_REQUESTS", "[]")
    put(artifact / "pr.json", {"pr_number": number, "head_sha": HEAD})
    put(artifact / "report.md", MARKER + "\U0001f4c8" * (COMMENT_LIMIT - len(MARKER)))  # 4 bytes each: at the byte cap

    assert comment.main(["validate"]) == 0

    assert outputs(artifact.parent) == {"pr-number": str(number), "post": "true"}


def test_validate__a_failing_api_call_is_an_error_not_a_refusal(
    artifact: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a refused artifact is an annotation; GitHub failing is a bug or an outage, and keeps its traceback."""
    monkeypatch.setenv("REPO", "acme/elsewhere")
    put(artifact / "pr.json", RECORD)
    put(artifact / "report.md", REPORT)

    with pytest.raises(subprocess.CalledProcessError):
        comment.main(["validate"])

    assert outputs(artifact.parent) == {}


def test_validate__a_pull_request_that_moved_on_is_not_posted(
    artifact: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.head = "4c" * 20
    put(artifact / "pr.json", RECORD)
    put(artifact / "report.md", REPORT)

    assert comment.main(["validate"]) == 0

    assert outputs(artifact.parent) == {"pr-number": str(NUMBER), "post": "false"}
    assert capsys.readouterr().out == (
        f"::notice::pull request #{NUMBER} is now at {'4c' * 20}; its newer run posts the report\n"
    )


# --- finding the comment ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [("[]\n", []), ("", []), ("[1, 2][3]\n", [1, 2, 3]), ('[{"a": 1}]\n[2]  [3]\n', [{"a": 1}, 2, 3])],
    ids=["no-comments", "nothing", "pages-back-to-back", "pages-with-whitespace"],
)
def test_parse_pages(text: str, items: list) -> None:
    assert comment.parse_pages(text) == items


def test_list_comments__reads_every_page(github: FakeGitHub) -> None:
    github.comments = [*chatter(64), bot(9001), *chatter(10, start=64)]

    comments = comment.list_comments(REPO, NUMBER)

    assert len(comments) == 75, "three pages"
    assert comment.find_report_comment(comments) == (64, bot(9001))
    assert github.calls == [("gh", "api", "--paginate", LISTING)]


def test_find_report_comment__the_bots_newest_comment_that_starts_with_the_marker() -> None:
    comments = [
        bot(1),
        {**bot(2), "user": {"login": "alice"}},  # a person quoting the report
        bot(3, body=f"see the report below\n{MARKER}"),  # the marker, but not first
        bot(4),
        {"id": 5, "body": None, "user": None},  # a deleted user's empty comment
        {**bot(6), "user": {"login": "alice"}},
    ]

    assert comment.find_report_comment(comments) == (3, bot(4))
    assert comment.find_report_comment(comments[1:3]) is None
    assert comment.find_report_comment([]) is None


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (None, True),
        ((0, bot(1)), True),
        ((29, bot(1)), True),
        ((30, bot(1)), False),
        ((0, bot(1, body=REPORT)), False),
    ],
    ids=["no-comment-yet", "cml-comment-first", "cml-comment-last-on-page-one", "past-page-one", "no-watermark"],
)
def test_cml_can_update(found: tuple[int, dict] | None, expected: bool) -> None:
    """CML reads the first 30 comments and recognises only its watermark: elsewhere it would post a second comment."""
    assert comment.cml_can_update(found) is expected


# --- the comment's text -------------------------------------------------------------------------------------------

RUN_URL = f"https://github.com/{REPO}/actions/runs/{RUN}"
WJ = "\u2060"


@pytest.mark.parametrize(
    ("conclusion", "opening"),
    [
        ("success", "**Checks: passed** \u2014 the `train` run concluded `success`"),
        ("failure", "**Checks: failed** \u2014 the `train` run concluded `failure`"),
        ("cancelled", "**Checks: did not finish** \u2014 the `train` run concluded `cancelled`"),
        ("x`) [ok](y", "**Checks: did not finish** \u2014 the `train` run concluded `unknown`"),
    ],
)
def test_compose__opens_with_the_runs_own_conclusion_and_link(conclusion: str, opening: str) -> None:
    text = comment.compose(REPORT, conclusion, RUN_URL)

    marker, head, blank, rule, *_ = text.split("\n")
    assert marker == MARKER and head.startswith(opening + f" ([its log]({RUN_URL})).")
    assert head.endswith("The text below was produced by the pull request's own code.")
    assert (blank, rule) == ("", "---")


def test_compose__a_report_claiming_success_is_headed_by_the_runs_failure() -> None:
    forged = f"{MARKER}\n**Checks: passed** \u2014 all good\n> **Checks: passed**\n\ntext **Checks: passed** stays\n"

    text = comment.compose(forged, "failure", RUN_URL)

    lines = text.split("\n")
    assert lines[1].startswith("**Checks: failed**")
    assert [line for line in lines if "Checks: passed" in line] == [
        "\\*\\*Checks: passed** \u2014 all good",
        "> \\*\\*Checks: passed**",
        "text **Checks: passed** stays",  # not at a line's start: cannot pass for the header
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ping @alice and @acme/reviewers", f"ping @{WJ}alice and @{WJ}acme/reviewers"),
        ("mail me at a@b.example", f"mail me at a@{WJ}b.example"),
        (f"already @{WJ}safe, @@twice", f"already @{WJ}safe, @{WJ}@{WJ}twice"),
        ("`@in-code` and\n```\n@fenced\n```", f"`@{WJ}in-code` and\n```\n@{WJ}fenced\n```"),
    ],
)
def test_compose__breaks_every_mention_in_the_report(body: str, expected: str) -> None:
    text = comment.compose(f"{MARKER}\n{body}", "success", RUN_URL)

    assert text.endswith("---\n\n" + expected)
    assert re.search(f"@(?!{WJ})", text.split("\n", 2)[2]) is None


@pytest.mark.parametrize(
    "sample", ["@octocat", "@org/team", "a@b", "@@x", "no mention", f"@{WJ}joined", "tail @"], ids=repr
)
def test_neutralise_mentions__the_rule_of_core_markdown(sample: str) -> None:
    """comment.py cannot import `mlci.core.markdown`; both must break a mention the same way."""
    escaped = markdown.escape(sample).replace("\\", "")  # `escape` also backslashes punctuation; drop that
    assert comment.neutralise_mentions(sample) == escaped.replace(f"@{WJ}{WJ}", f"@{WJ}")


def test_compose__removes_markers_from_the_report() -> None:
    forged = (
        f"{MARKER}\nintro\n{MARKER}\n<!--MLCI:retrain-->body <!-- mlci:pr-report\nspanning -->end\n"
        "<!-- a plain comment -->\nlast <!-- mlci unclosed"
    )

    text = comment.compose(forged, "success", RUN_URL)

    assert text.startswith(MARKER + "\n**Checks: passed**") and text.count(MARKER) == 1
    assert re.search(r"<!--\s*mlci", text.split("\n", 1)[1], re.IGNORECASE) is None
    assert text.endswith("---\n\nintro\n\nbody end\n<!-- a plain comment -->\nlast &lt;!-- mlci unclosed")


@pytest.mark.parametrize("fill", ["x", "@"], ids=["plain", "mentions"])
def test_compose__fits_a_comment_with_cmls_watermark(fill: str) -> None:
    """A report at the limit, or one whose every character grows when its mentions are broken, is cut to fit."""
    report = MARKER + "\n" + fill * (COMMENT_LIMIT - len(MARKER) - 1)

    text = comment.compose(report, "success", RUN_URL)

    assert COMMENT_LIMIT - comment.WATERMARK_ROOM - 1 <= len(text) <= COMMENT_LIMIT - comment.WATERMARK_ROOM
    assert text.endswith("*(The report was cut here: it is longer than a comment holds.)*\n")
    assert re.search(f"@(?!{WJ})", text.split("\n", 2)[2]) is None, "the cut left a bare @"


def test_compose__a_short_report_is_not_cut() -> None:
    assert comment.compose(REPORT, "success", RUN_URL) == POSTED


@pytest.mark.parametrize("run_id", ["", "12/../../evil", "1 2", "-1"])
def test_run_url__takes_only_a_run_number(artifact: Path, run_id: str) -> None:
    with pytest.raises(ValueError, match=r"RUN_ID must be the train run's number; got"):
        comment.run_url({**os.environ, "RUN_ID": run_id})


def test_run_url__the_train_runs_page(artifact: Path) -> None:
    assert comment.run_url(os.environ) == RUN_URL


# --- post ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def report(artifact: Path) -> Path:
    put(artifact / "report.md", REPORT)
    return artifact / "report.md"


@pytest.mark.parametrize("comments", [chatter(3), [*chatter(3), bot(9001), *chatter(26)]], ids=["new", "page-one"])
def test_post__with_cml_when_it_can_see_the_comment(report: Path, github: FakeGitHub, comments: list[dict]) -> None:
    github.comments = comments

    assert comment.main(["post"]) == 0

    cml_call = (
        "cml", "comment", "update", f"--target=pr/{NUMBER}", "--publish=false",
        "--watermark-title=mlci-pr-report", f"--repo=https://github.com/{REPO}",
    )  # fmt: skip
    assert [call[:-1] if call[0] == "cml" else call for call in github.calls] == [
        ("gh", "api", "--paginate", LISTING),
        cml_call,
    ]
    assert github.cml_posts == [POSTED], "CML posts the headed report, not the artifact's file"
    assert not github.writes, "CML posted: nothing through the API"


@pytest.mark.parametrize(
    "comments",
    [[*chatter(30), bot(9001), *chatter(5)], [*chatter(2), bot(9001, body=REPORT), *chatter(2)]],
    ids=["past-page-one", "posted-through-the-api"],
)
def test_post__through_the_api_when_cml_cannot_see_the_comment(
    report: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str], comments: list[dict]
) -> None:
    github.comments = comments

    assert comment.main(["post"]) == 0

    assert not [call for call in github.calls if call[0] == "cml"]
    assert github.writes == [("PATCH", f"repos/{REPO}/issues/comments/9001", json.dumps({"body": POSTED}))]
    assert capsys.readouterr().out == f"updated comment 9001 on pull request #{NUMBER}\n"


@pytest.mark.parametrize(
    ("error", "comments", "write"),
    [
        (subprocess.CalledProcessError(1, ["cml"]), chatter(2), ("POST", LISTING)),
        (
            FileNotFoundError(2, "No such file", "cml"),
            [*chatter(2), bot(9001)],
            ("PATCH", f"repos/{REPO}/issues/comments/9001"),
        ),
        (
            subprocess.CalledProcessError(1, ["cml"]),
            [*chatter(2), {**bot(9002), "user": {"login": "alice"}}],
            ("POST", LISTING),
        ),
    ],
    ids=["fails-no-comment-yet", "missing-comment-exists", "fails-a-persons-quote-is-never-edited"],
)
def test_post__through_the_api_when_cml_fails(
    report: Path,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    comments: list[dict],
    write: tuple[str, str],
) -> None:
    github.comments, github.cml_error = comments, error

    assert comment.main(["post"]) == 0

    listings = [call for call in github.calls if call[-1] == LISTING]
    assert len(listings) == 2, "listed again after CML failed: it may have posted before failing"
    assert [call[0] for call in github.calls].count("cml") == 1, "CML was tried first"
    assert github.writes == [(*write, json.dumps({"body": POSTED}))]
    out = capsys.readouterr().out
    assert out.startswith("::warning::CML could not post the comment (") and "using the GitHub API instead" in out


def test_post__sends_the_report_as_a_json_file(report: Path, github: FakeGitHub) -> None:
    """The body goes in a file (`--input`), never on the command line, where its text could be read as options."""
    text = f'{MARKER}\n--method DELETE "quotes", `ticks` and \u00e9\n'
    report.write_text(text, encoding="utf-8")
    github.cml_error = OSError("cml")

    assert comment.main(["post"]) == 0

    ((_, _, body),) = github.writes
    posted = json.loads(body)["body"]
    assert posted == f"{MARKER}\n{HEADER}\n\n---\n\n{text.removeprefix(MARKER + chr(10))}"
    assert "DELETE" not in " ".join(github.calls[-1])


# --- the script as the workflow runs it ---------------------------------------------------------------------------


def test_comment_py__imports_only_the_standard_library() -> None:
    """comment.yml runs it with the runner's bare python3, before (and without) installing anything."""
    tree = ast.parse(Path(comment.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {name.split(".")[0] for name in imported} <= {*sys.stdlib_module_names, "__future__"}, imported


def test_render_and_comment_py_agree_on_the_marker_and_the_limit() -> None:
    assert render.MARKER is comment.MARKER
    assert comment.COMMENT_LIMIT == GITHUB_BODY_LIMIT, "comment.py spells core's limit out: it imports no mlci"
    assert render.MAX_CHARS < GITHUB_BODY_LIMIT, "room for CML's watermark"


def test_run__gives_the_tool_an_empty_stdin() -> None:
    """A step's standard input may be a terminal that never closes (act's is): a tool reading it would hang."""
    tool = "import sys; print(repr(sys.stdin.read()))"
    code = f"from mlci.review import comment; import sys; print(comment.run(sys.executable, '-c', {tool!r}), end='')"
    never_closed, writer = os.pipe()
    try:
        done = subprocess.run([sys.executable, "-c", code], stdin=never_closed, capture_output=True, timeout=30)
    finally:
        os.close(never_closed)
        os.close(writer)
    assert done.stdout == b"''\n", done.stderr


def test_run__raises_when_the_tool_fails_or_is_missing(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        comment.run(sys.executable, "-c", "raise SystemExit(3)")
    with pytest.raises(OSError):
        comment.run(str(tmp_path / "no-such-tool"))


FAKE_TOOL = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_CALLS"], "a", encoding="utf-8") as out:
    out.write(json.dumps([os.path.basename(sys.argv[0]), *args]) + "\\n")
if os.path.basename(sys.argv[0]) == "cml":
    sys.exit("error: HttpError: Resource not accessible by integration")
if args[-1].endswith("/pulls/12"):
    print(json.dumps({{"head": {{"sha": "{head}"}}}}))
elif "--paginate" in args:
    print("[]")
else:
    print("{{}}")
"""


def test_comment_py__runs_alone_with_a_bare_python_and_the_tools_on_path(artifact: Path, tmp_path: Path) -> None:
    """As in comment.yml: only this file checked out, `python3 -I`, `gh` and `cml` found on PATH (here `-S` too)."""
    checkout = tmp_path / "workspace"
    script = checkout / "src" / "mlci" / "review" / "comment.py"
    script.parent.mkdir(parents=True)
    shutil.copy(comment.__file__, script)
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("gh", "cml"):
        (tools / name).write_text(FAKE_TOOL.format(python=sys.executable, head=HEAD), encoding="utf-8")
        (tools / name).chmod(0o755)
    put(artifact / "pr.json", RECORD)
    put(artifact / "report.md", REPORT)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "FAKE_CALLS": str(tmp_path / "calls")}

    for command in ("validate", "post"):
        done = subprocess.run(
            [sys.executable, "-I", "-S", "src/mlci/review/comment.py", command],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    calls = [json.loads(line) for line in (tmp_path / "calls").read_text(encoding="utf-8").splitlines()]
    assert outputs(tmp_path) == {"pr-number": str(NUMBER), "post": "true"}
    assert [call[:4] for call in calls] == [
        ["gh", "api", f"repos/{REPO}/pulls/{NUMBER}"],
        ["gh", "api", "--paginate", LISTING],
        ["cml", "comment", "update", f"--target=pr/{NUMBER}"],
        ["gh", "api", "--paginate", LISTING],
        ["gh", "api", "--method", "POST"],
    ]

"""comment.yml through act: the artifact of a train run becomes the pull request's one comment, or nothing at all.

The artifacts here are written by the tests (the end-to-end path from a real train run is in
test_train.py), so that each case is exactly the data an attacker or a race could produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from actkit import ActRun, Workspace, workflow_run_event

from mlci.review.comment import MARKER

pytestmark = pytest.mark.slow

HEAD = "1f" * 20
NUMBER = 12
REPORT = f"{MARKER}\n## Model report\n\n**Quality gate: passed.** floors met.\n"
WATERMARK = '![](https://cml.dev/watermark.png#{} "CML watermark mlci-pr-report")'
VERDICT = {"success": "passed", "failure": "failed"}


def headed(report: str, conclusion: str, run_id: str) -> str:
    """What comment.py posts for `report`: the train run's own verdict and link above the report's text."""
    return (
        f"{MARKER}\n**Checks: {VERDICT[conclusion]}** \u2014 the `train` run concluded `{conclusion}` "
        f"([its log](https://github.com/acme/mlci/actions/runs/{run_id})). "
        "The text below was produced by the pull request's own code.\n\n---\n\n" + report.removeprefix(MARKER + "\n")
    )


def write_artifact(space: Workspace, run_id: str, record: object, report: str = REPORT) -> Path:
    """The `pr-report` artifact of train run `run_id`, as the download stand-in serves it."""
    folder = space.state / "artifacts" / run_id / "pr-report"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text(report, encoding="utf-8")
    (folder / "pr.json").write_text(record if isinstance(record, str) else json.dumps(record), encoding="utf-8")
    (folder / "roc.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder


def comment_run(space: Workspace, run_id: str, head: str = HEAD, listed: int | None = NUMBER, **kw) -> ActRun:
    return space.act("workflow_run", "comment.yml", workflow_run_event(run_id, head, listed, **kw))


def gh_writes(run: ActRun) -> list[dict]:
    return [call for call in run.calls_of("gh") if call["method"] != "GET"]


def report_comments(run: ActRun, number: int = NUMBER) -> list[dict]:
    return [c for c in run.github["comments"].get(str(number), []) if MARKER in c["body"]]


def chatter(count: int) -> list[dict]:
    return [{"id": 100 + i, "body": f"comment {i}", "user": {"login": "alice"}} for i in range(count)]


def bot_report(comment_id: int) -> dict:
    """A report comment CML posted on an earlier push."""
    body = f"{MARKER}\nold report\n\n{WATERMARK.format('0' * 40)}"
    return {"id": comment_id, "body": body, "user": {"login": "github-actions[bot]"}}


def test_comment__posts_once_with_cml_then_updates_the_same_comment(workspace: Workspace, fake_github) -> None:
    fake_github(pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": HEAD}}}, comments={str(NUMBER): chatter(3)})
    write_artifact(workspace, "501", {"pr_number": NUMBER, "head_sha": HEAD})

    first = comment_run(workspace, "501")

    assert first.succeeded(), first.tail()
    (checkout,) = first.calls_of("checkout")
    assert checkout["inputs"]["ref"] == workspace.project.main_sha, "comment.py of the default branch, not the PR's"
    assert checkout["inputs"]["sparse-checkout"] == "src/mlci/review/comment.py"
    (npm,) = first.calls_of("npm")
    assert "@dvcorg/cml@0.20.6" in npm["args"] and "--ignore-scripts" in npm["args"]
    (cml,) = first.calls_of("cml")
    assert cml["args"][:2] == ["comment", "update"]
    assert f"--target=pr/{NUMBER}" in cml["args"] and "--publish=false" in cml["args"]
    assert cml["report"] == headed(REPORT, "success", "501")
    assert [call["endpoint"] for call in first.calls_of("gh")] == [
        f"repos/acme/mlci/pulls/{NUMBER}",
        f"repos/acme/mlci/issues/{NUMBER}/comments",
    ]
    assert not gh_writes(first), "CML posted: nothing goes through the API"
    (posted,) = report_comments(first)

    # The next push: a new head commit, a new report, the same comment.
    new_head, new_report = "2e" * 20, REPORT.replace("passed", "failed")
    github = first.github
    github["pulls"][str(NUMBER)]["head"]["sha"] = new_head
    (workspace.state / "github.json").write_text(json.dumps(github), encoding="utf-8")
    write_artifact(workspace, "502", {"pr_number": NUMBER, "head_sha": new_head}, new_report)

    second = comment_run(workspace, "502", head=new_head, conclusion="failure")

    assert second.succeeded(), second.tail()
    (updated,) = report_comments(second)
    assert updated["id"] == posted["id"] and updated["body"].startswith(headed(new_report, "failure", "502"))
    assert len(second.github["comments"][str(NUMBER)]) == 4


def test_comment__a_report_cannot_claim_a_pass_or_mention_people(workspace: Workspace, fake_github) -> None:
    """A pull request's code writes the report: the header comes from the run, and its mentions notify no one."""
    fake_github(pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": HEAD}}})
    forged = f"{MARKER}\n**Checks: passed** \u2014 all fine, @maintainers please merge\n{MARKER}\n"
    write_artifact(workspace, "561", {"pr_number": NUMBER, "head_sha": HEAD}, forged)

    run = comment_run(workspace, "561", conclusion="failure")

    assert run.succeeded(), run.tail()
    (cml,) = run.calls_of("cml")
    assert cml["report"].startswith(f"{MARKER}\n**Checks: failed** \u2014 the `train` run concluded `failure`")
    assert cml["report"].endswith("---\n\n\\*\\*Checks: passed** \u2014 all fine, @\u2060maintainers please merge\n\n")
    assert cml["report"].count(MARKER) == 1


@pytest.mark.parametrize("existing", ["none", "posted by CML", "quoted by a person"])
def test_comment__falls_back_to_the_api_when_cml_fails(workspace: Workspace, fake_github, existing: str) -> None:
    comments = chatter(2)
    if existing == "posted by CML":
        comments.append(bot_report(7001))
    if existing == "quoted by a person":  # not the report comment: never edited
        comments.append({**bot_report(7002), "user": {"login": "alice"}})
    fake_github(pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": HEAD}}}, comments={str(NUMBER): comments})
    write_artifact(workspace, "511", {"pr_number": NUMBER, "head_sha": HEAD})
    (workspace.state / "cml-fails").touch()

    run = comment_run(workspace, "511")

    assert run.succeeded(), run.tail()
    assert len(run.calls_of("cml")) == 1, "CML was tried first"
    listing = f"repos/acme/mlci/issues/{NUMBER}/comments"
    calls = [(c["method"], c["endpoint"], c["paginate"]) for c in run.calls_of("gh")]
    patch = ("PATCH", "repos/acme/mlci/issues/comments/7001", False)
    write = patch if existing == "posted by CML" else ("POST", listing, False)
    assert calls[1:] == [("GET", listing, True), ("GET", listing, True), write], calls
    assert gh_writes(run)[0]["body"] == json.dumps({"body": headed(REPORT, "success", "511")})
    (comment,) = [c for c in report_comments(run) if c["user"]["login"] == "github-actions[bot]"]
    assert comment["body"] == headed(REPORT, "success", "511")


def test_comment__a_report_comment_past_cmls_first_page_is_updated_through_the_api(
    workspace: Workspace, fake_github
) -> None:
    """CML only reads 30 comments and would post a second one; the paginated search finds the first."""
    ours = bot_report(9001)
    fake_github(
        pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": HEAD}}},
        comments={str(NUMBER): [*chatter(31), ours, *chatter(5)]},
    )
    write_artifact(workspace, "521", {"pr_number": NUMBER, "head_sha": HEAD})

    run = comment_run(workspace, "521")

    assert run.succeeded(), run.tail()
    assert not run.calls_of("cml")
    (write,) = gh_writes(run)
    assert (write["method"], write["endpoint"]) == ("PATCH", "repos/acme/mlci/issues/comments/9001")
    (comment,) = report_comments(run)
    assert comment["body"] == headed(REPORT, "success", "521") and len(run.github["comments"][str(NUMBER)]) == 37


@pytest.mark.parametrize(
    ("record", "report", "listed", "reason"),
    [
        ({"pr_number": "12", "head_sha": HEAD}, REPORT, NUMBER, "pr_number must be a positive integer"),
        ({"pr_number": 12.0, "head_sha": HEAD}, REPORT, NUMBER, "pr_number must be a positive integer"),
        ({"pr_number": True, "head_sha": HEAD}, REPORT, NUMBER, "pr_number must be a positive integer"),
        ({"pr_number": -12, "head_sha": HEAD}, REPORT, NUMBER, "pr_number must be a positive integer"),
        ({"pr_number": "12; rm -rf /", "head_sha": HEAD}, REPORT, NUMBER, "pr_number must be a positive integer"),
        ({"pr_number": NUMBER, "head_sha": "3d" * 20}, REPORT, NUMBER, "is not the head commit of the train run"),
        ({"pr_number": NUMBER, "head_sha": HEAD.upper()}, REPORT, NUMBER, "must be a 40-character commit SHA"),
        ({"pr_number": 13, "head_sha": HEAD}, REPORT, NUMBER, "is not among the train run's pull requests"),
        ("[12]", REPORT, NUMBER, "pr.json is not a JSON object"),
        ("not json", REPORT, NUMBER, "pr.json is not JSON"),
        ({"pr_number": NUMBER, "head_sha": HEAD}, "## Model report\n", NUMBER, "does not start with the report marker"),
        ({"pr_number": NUMBER, "head_sha": HEAD}, REPORT + "x" * 65536, NUMBER, "a comment holds at most 65536"),
    ],
    ids=[
        "number-as-string",
        "number-as-float",
        "number-as-bool",
        "negative-number",
        "number-with-shell",
        "other-head-sha",
        "malformed-head-sha",
        "number-not-in-run",
        "not-an-object",
        "not-json",
        "no-marker",
        "too-long",
    ],
)
def test_comment__refuses_an_untrusted_artifact(
    workspace: Workspace, fake_github, record: object, report: str, listed: int, reason: str
) -> None:
    before = fake_github(
        pulls={str(n): {"number": n, "head": {"sha": HEAD}} for n in (12, 13)}, comments={str(NUMBER): chatter(1)}
    )
    write_artifact(workspace, "531", record, report)

    run = comment_run(workspace, "531", listed=listed)

    assert run.returncode != 0 and "Job failed" in run.log, run.tail()
    assert "report artifact refused" in run.log and reason in run.log, run.tail()
    assert not run.calls_of("npm") and not run.calls_of("cml") and not gh_writes(run)
    assert run.github["comments"] == before["comments"]


def test_comment__a_fork_pr_without_listed_pull_requests_is_checked_against_the_pull_request(
    workspace: Workspace, fake_github
) -> None:
    """`workflow_run.pull_requests` is empty for forks; the PR's own head commit must match instead."""
    fake_github(pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": "4c" * 20}}})
    write_artifact(workspace, "541", {"pr_number": NUMBER, "head_sha": HEAD})

    run = comment_run(workspace, "541", listed=None)

    assert run.succeeded(), run.tail()
    assert f"pull request #{NUMBER} is now at {'4c' * 20}" in run.log
    assert not run.calls_of("cml") and not gh_writes(run)


def test_comment__a_cancelled_train_run_posts_nothing(workspace: Workspace, fake_github) -> None:
    fake_github(pulls={str(NUMBER): {"number": NUMBER, "head": {"sha": HEAD}}})
    write_artifact(workspace, "551", {"pr_number": NUMBER, "head_sha": HEAD})

    run = comment_run(workspace, "551", conclusion="cancelled")

    assert run.returncode == 0, run.tail()
    assert not run.calls_of("download-artifact") and not run.calls_of("cml")

"""Stand-in for CML 0.20.6's `cml comment create|update`, against the fake GitHub.

Behaves as CML's source does: appends the watermark `![](https://cml.dev/watermark.png#<sha> "CML watermark
<title>")` to the report; `update` edits the newest comment carrying that watermark among the first 30 comments of
the target, else creates one. Refuses what would leak or misfire here: `--publish` left on (it uploads local images
to a third-party host) and a target other than `pr/<N>` (under workflow_run the automatic target is wrong). Fails on
purpose when the test created `STANDIN_STATE/cml-fails`. Records the arguments and the report it was given.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
import github  # noqa: E402
from standin import record, state  # noqa: E402


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cml", exit_on_error=False)
    parser.add_argument("command", choices=["comment"])
    parser.add_argument("action", choices=["create", "update"])
    parser.add_argument("markdown_file")
    parser.add_argument("--target", default="auto")
    parser.add_argument("--publish", default="true", choices=["true", "false"])
    parser.add_argument("--watermark-title", default="")
    parser.add_argument("--repo")
    parser.add_argument("--token")
    parser.add_argument("--log", default="info")
    return parser.parse_args(args)


def main(args: list[str]) -> None:
    opts = parse(args)
    report = Path(opts.markdown_file).read_text(encoding="utf-8")
    record("cml", args=args, report=report)
    if (state() / "cml-fails").exists():
        sys.exit("error: HttpError: Resource not accessible by integration (stand-in failure)")
    if not (opts.token or os.environ.get("REPO_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        sys.exit("error: token not found")
    if opts.publish != "false":
        sys.exit("cml stand-in: --publish would upload the report's local images to a third-party host")
    if not opts.target.startswith("pr/") or not opts.target[3:].isdigit():
        sys.exit(f"cml stand-in: expected --target=pr/<N>; got {opts.target!r}")
    data = github.load()
    if not opts.repo or opts.repo.removesuffix(".git").split("/")[-2:] != data["repository"].split("/"):
        sys.exit(f"cml stand-in: --repo {opts.repo!r} is not https://github.com/{data['repository']}")
    number = opts.target[3:]
    title = f"CML watermark {opts.watermark_title}".strip()
    body = f'{report}\n\n![](https://cml.dev/watermark.png#{os.environ.get("GITHUB_SHA", "0" * 40)} "{title}")'
    first_page = data["comments"].get(number, [])[: github.PAGE]
    mine = [c for c in first_page if f'"{title}")' in c["body"]]
    if opts.action == "update" and mine:
        mine[-1]["body"] = body
    else:
        github.create_comment(data, number, body)
    github.save(data)
    print(f"https://github.com/{data['repository']}/pull/{number}#issuecomment")


if __name__ == "__main__":
    main(sys.argv[1:])

"""`python -m mlci.deploy <command>`: the release and the registry from the command line (and the Makefile).

  package   champion vs challenger, then the package under dist/ (nothing tagged)      make package
  release   the same, then the version tag (annotated, local: push it with git)         make release
  models    versions, their stages and key metrics                                      make models
  promote   assign a stage to a version; rollback = promote an earlier one              make promote
  verify    check a package's checksums                                                 make verify-package
  current   the version tag holding a stage (default: the champion stage), or nothing

Exit codes: 0 done; 1 the gate failed (nothing packaged or tagged); 2 a user error, in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlci.core import cli
from mlci.core.errors import ReleaseError
from mlci.deploy import registry
from mlci.deploy.build import GateFailed, build, register, write_outputs
from mlci.deploy.params import STAGE_PATTERN, load_deploy_params


def _package(args: argparse.Namespace, tag: bool) -> int:
    settings = load_deploy_params()
    try:
        built = build(settings, args.champion)
    except GateFailed as failed:
        print(f"{failed.result.verdict}; nothing packaged or tagged", file=sys.stderr)
        return cli.EXIT_FAILED
    created = register(settings, built) if tag else None
    print(built.summary)
    print(f"package: {built.folder} and {built.archive}")
    challenge = built.meta.challenge
    print(f"gate: {challenge.verdict if challenge else 'not judged'}")
    if created and built.existing:
        print(f"this commit is already {created}: package rebuilt, nothing new tagged")
    elif created:
        print(f"tagged {created}; publish it with: git push origin 'refs/tags/{created}'")
    if os.environ.get("GITHUB_OUTPUT"):
        write_outputs(Path(os.environ["GITHUB_OUTPUT"]), built, created)
    return 0


def _models(args: argparse.Namespace) -> int:
    from mlci.deploy.listing import table

    print(table(load_deploy_params().model_name))
    return 0


def _promote(args: argparse.Namespace) -> int:
    import re

    settings = load_deploy_params()
    if not re.match(STAGE_PATTERN, args.stage) or args.stage not in settings.stages:
        raise ReleaseError(
            f"stage {args.stage!r} is not one of deploy.stages in params.yaml ({', '.join(settings.stages)})"
        )
    tag = registry.assign(settings.model_name, args.version, args.stage)
    print(f"tagged {tag}; publish it with: git push origin 'refs/tags/{tag}'")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from mlci.model.release import load_release

    loaded = load_release(args.package)
    print(f"{args.package}: checksums match; {loaded.metadata.name} v{loaded.version}")
    return 0


def _current(args: argparse.Namespace) -> int:
    settings = load_deploy_params()
    current = registry.stages(settings.model_name).get(args.stage or settings.champion_stage)
    print(current.tag if current else "")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.deploy", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("package", "release"):
        sub = commands.add_parser(name, help=f"{name} the workspace model")
        sub.add_argument("--champion", help="the production release package (folder or .tar.gz); default: dist/")
    commands.add_parser("models", help="list versions, stages and key metrics")
    promote = commands.add_parser("promote", help="assign a stage to a version")
    promote.add_argument("--version", required=True)
    promote.add_argument("--stage", required=True)
    verify = commands.add_parser("verify", help="check a release package")
    verify.add_argument("package")
    current = commands.add_parser("current", help="print the version tag that holds a stage")
    current.add_argument("--stage", help="default: deploy.champion_stage")
    args = parser.parse_args(argv)
    handlers = {
        "package": lambda a: _package(a, tag=False),
        "release": lambda a: _package(a, tag=True),
        "models": _models,
        "promote": _promote,
        "verify": _verify,
        "current": _current,
    }
    bounded = cli.command(f"deploy {args.command}")(handlers[args.command])  # the error line names the subcommand
    return bounded(args)


if __name__ == "__main__":
    raise SystemExit(main())

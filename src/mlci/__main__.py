"""`python -m mlci <command> [args]`: every command of the package behind one front door.

`python -m mlci --help` lists the commands, each with the first line of its module's docstring, read from the file:
only the command that runs is imported, so the list comes quickly. The arguments after the command's name go to its
module's `main` (`python -m mlci gate --help` is the gate's own help). Each command stays its own module too
(`python -m mlci.stages.train`), which is what `dvc.yaml`, the workflows and the Makefile run.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {  # name: module; the pipeline's stages first, then the journeys that follow them
    "generate": "mlci.stages.generate",
    "ingest": "mlci.stages.ingest",
    "validate": "mlci.stages.validate",
    "split": "mlci.stages.split",
    "train": "mlci.stages.train",
    "evaluate": "mlci.stages.evaluate",
    "report": "mlci.review.report",
    "gate": "mlci.review.gate",
    "sweep": "mlci.review.sweep",
    "run-cost": "mlci.review.runcost",
    "deploy": "mlci.deploy.__main__",
    "serve": "mlci.serve.__main__",
    "drift": "mlci.monitor.drift",
    "intake": "mlci.monitor.intake",
    "retrain-pr": "mlci.monitor.pullrequest",
    "new-batch": "mlci.stages.helpers.batch",
}
PACKAGE = os.path.dirname(__file__)  # os.path, not pathlib: this module imports next to nothing, for a quick --help
USAGE = "usage: python -m mlci <command> [args]; python -m mlci <command> --help for a command's own options"


def describe(module: str) -> str:
    """The first line of `module`'s docstring, read from its file, without the label some start with."""
    path = os.path.join(PACKAGE, *module.split(".")[1:]) + ".py"
    with open(path, encoding="utf-8") as source:
        first = source.readline().strip().removeprefix('"""').removesuffix('"""')
    label, colon, rest = first.partition("`: ")  # "Stage `train`: fit ...", "`make gate`: may ..."
    if colon and label.removeprefix("Stage ").startswith("`") and label.count("`") == 1:
        first = rest
    return first[:1].upper() + first[1:]


def help_text() -> str:
    width = max(map(len, COMMANDS))
    lines = [USAGE, "", "commands:"]
    lines += [f"  {name:<{width}}  {describe(module)}" for name, module in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["-h"], ["--help"]):
        print(help_text())
        return 0
    if args and args[0] in COMMANDS:
        import importlib

        return importlib.import_module(COMMANDS[args[0]]).main(args[1:])
    from mlci.core.cli import EXIT_USER_ERROR

    if not args:
        print(help_text(), file=sys.stderr)
    else:
        print(f"error: mlci: unknown command {args[0]!r}; the commands are {', '.join(COMMANDS)}", file=sys.stderr)
    return EXIT_USER_ERROR


if __name__ == "__main__":
    raise SystemExit(main())

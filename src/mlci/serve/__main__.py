"""`python -m mlci.serve`: verify and load the model, then serve it with uvicorn. `make serve` and the image run this.

Which model: `--package PATH` (a package directory or its .tar.gz), else `--version V` (the package for version V under
`dist/`), else the workspace model `dvc repro` trained. Each option falls back to an environment variable (PACKAGE,
VERSION, HOST, PORT, WEB_CONCURRENCY for `--workers`), which is how `make serve PACKAGE=...` and the container pass
them. The `serve:` section of `params.yaml` sets the limits, the timeouts and the prediction log. When SERVE_API_KEY
is set, every endpoint but `/health` and the API docs needs that key.

With more than one worker, uvicorn starts that many processes, each loading its own copy of the model through
`app_factory` (the options reach them through the environment); the package is loaded once here first, so a bad one
stops before anything listens.

A missing or tampered package, bad params or a bad port is one line on stderr and exit code 2, before anything
listens.
"""

from __future__ import annotations

import argparse
import os

from mlci.core import cli
from mlci.core.errors import ParamsError
from mlci.model.pipeline import set_openmp_wait_policy

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_WORKERS = 64
API_KEY_VARIABLE = "SERVE_API_KEY"  # pragma: allowlist secret (the variable's name, not a key)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = {name: os.environ.get(name) or None for name in ("PACKAGE", "VERSION", "HOST", "PORT", "WEB_CONCURRENCY")}
    parser = argparse.ArgumentParser(prog="python -m mlci.serve", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--package", default=env["PACKAGE"], help="release package directory or .tar.gz [PACKAGE]")
    which.add_argument("--version", default=env["VERSION"], help="serve dist/<model>-v<version>/ [VERSION]")
    parser.add_argument("--host", default=env["HOST"] or DEFAULT_HOST, help=f"[HOST, default {DEFAULT_HOST}]")
    parser.add_argument("--port", default=env["PORT"] or str(DEFAULT_PORT), help=f"[PORT, default {DEFAULT_PORT}]")
    parser.add_argument(
        "--workers", default=env["WEB_CONCURRENCY"] or "1", help="processes [WEB_CONCURRENCY, default 1]"
    )
    return parser.parse_args(argv)


def load(args: argparse.Namespace):
    """The params, the release and the app; our errors for anything the user can fix."""
    from mlci.model.release import find_package, load_release, workspace_release
    from mlci.serve.app import create_app
    from mlci.serve.params import load_serve_params

    if not args.port.isdigit() or not 0 < int(args.port) < 65536:
        raise ParamsError(f"PORT must be a port number between 1 and 65535; got {args.port!r}")
    if not args.workers.isdigit() or not 0 < int(args.workers) <= MAX_WORKERS:
        raise ParamsError(f"WEB_CONCURRENCY (--workers) must be between 1 and {MAX_WORKERS}; got {args.workers!r}")
    if args.package and args.version:
        raise ParamsError(f"both a package ({args.package}) and a version ({args.version}) are given; give one")
    params = load_serve_params()
    if args.package:
        release = load_release(args.package)
    elif args.version:
        release = load_release(find_package(args.version))
    else:
        release = workspace_release()
    return create_app(release, params, api_key=os.environ.get(API_KEY_VARIABLE) or None), params


def app_factory():
    """The app for one of several uvicorn workers, from the options the first process put in the environment."""
    return load(parse_args([]))[0]


@cli.command("serve")
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Before scikit-learn loads OpenMP: idle threads sleep, and threads created later start with one OpenMP thread.
    set_openmp_wait_policy()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    app, params = load(args)
    import uvicorn

    options = {"host": args.host, "port": int(args.port), "timeout_keep_alive": params.keep_alive_seconds}
    if int(args.workers) == 1:
        uvicorn.run(app, log_level="info", **options)
        return 0
    del app  # each worker loads its own
    for name, value in (("PACKAGE", args.package), ("VERSION", args.version)):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    uvicorn.run("mlci.serve.__main__:app_factory", factory=True, workers=int(args.workers), log_level="info", **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

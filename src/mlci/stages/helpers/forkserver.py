"""Stage commands started warm: one process imports what the stages import, then forks a child per command.

A stage is a new Python process that spends more CPU importing scikit-learn, pandas and pyarrow than training the
demo's model (about 1.3 s of CPU against 0.5 s). A sweep runs train and evaluate once per point, so
`mlci.review.sweep` starts `python -m mlci.stages.helpers.forkserver DIR` for the length of its runs and puts DIR
first on the PATH of the `dvc exp run`s: DIR holds a `python` that hands `python -m mlci.stages.<stage>` (the form
of every command in dvc.yaml) to this process over the Unix socket DIR/socket, with its working directory, its
environment and its standard streams, and exits with the stage's exit code. Anything else it runs with the real
`python`, and so it does when this process is gone. DVC still runs each command, hashes its outputs and records
the experiment; only the imports are shared.

The child runs the stage module as `python -m` would (`runpy`, as `__main__`) after taking the command's working
directory, environment and streams. This process imports but runs nothing, so it holds no OpenMP or Arrow threads
that a fork could leave half-copied; it serves one command at a time and exits when the process that started it
does. Prints `ready` once listening.
"""

from __future__ import annotations

import atexit
import importlib
import os
import re
import socket
import sys
from pathlib import Path

SOCKET = "socket"
STAGE = re.compile(r"mlci\.stages\.[a-z_]+")  # a stage module, not a helper
# Imported before serving: the stage modules, and what train and evaluate import inside their functions.
WARM = (
    "mlci.stages.generate",
    "mlci.stages.ingest",
    "mlci.stages.validate",
    "mlci.stages.split",
    "mlci.stages.train",
    "mlci.stages.evaluate",
    "pyarrow.parquet",
    "pandas",
    "threadpoolctl",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.inspection",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.pipeline",
    "sklearn.preprocessing",
)
SHIM = """#!{python} -S
# Written by mlci.stages.helpers.forkserver: hands `python -m mlci.stages.<stage>` to it; runs anything else as is.
import os, re, socket, sys

args = sys.argv[1:]
if len(args) == 2 and args[0] == "-m" and re.fullmatch({pattern!r}, args[1]):
    client = socket.socket(socket.AF_UNIX)
    try:
        client.connect({socket!r})
    except OSError:
        client = None  # the server is gone: run the stage here
    if client is not None:
        request = {{"module": args[1], "cwd": os.getcwd(), "env": dict(os.environ)}}
        socket.send_fds(client, [repr(request).encode()], [0, 1, 2])
        client.shutdown(socket.SHUT_WR)
        reply = client.recv(64)
        sys.exit(int(reply) if reply else 1)
os.execv({python!r}, [{python!r}, *args])
"""


def warm_up() -> None:
    from mlci.model.pipeline import _skops_io, set_openmp_wait_policy

    set_openmp_wait_policy()  # as each stage does, before scikit-learn loads its OpenMP library
    for name in WARM:
        importlib.import_module(name)
    _skops_io()


def write_shim(folder: Path, python: str) -> Path:
    shim = folder / "python"
    shim.write_text(SHIM.format(python=python, pattern=STAGE.pattern, socket=str(folder / SOCKET)), encoding="utf-8")
    shim.chmod(0o700)
    return shim


def serve(folder: Path) -> None:
    """Listen on `folder`/socket and run each stage command sent there in a forked child; return when orphaned."""
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / SOCKET))
    server.listen(1)
    server.settimeout(1.0)
    write_shim(folder, sys.executable)
    print("ready", flush=True)
    while os.getppid() == parent:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        with connection:
            code = handle(connection, server)
            connection.sendall(str(code).encode())


def handle(connection: socket.socket, server: socket.socket) -> int:
    """Run one command in a forked child and wait for it: its exit code (128 + N when signal N ended it)."""
    import ast

    message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    while chunk := connection.recv(1 << 16):  # the rest of a large environment, up to the client's end of writing
        message += chunk
    request = ast.literal_eval(message.decode())
    if len(fds) != 3 or not STAGE.fullmatch(str(request.get("module"))):
        for fd in fds:
            os.close(fd)
        return 2
    pid = os.fork()
    if pid == 0:  # the child: becomes the stage command
        server.close()
        connection.close()
        os._exit(run_stage(request, fds))
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def run_stage(request: dict, fds: list[int]) -> int:
    import runpy

    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.modules.pop(request["module"], None)  # run afresh as `__main__`, as `python -m` runs it (what it imports stays)
    del sys.argv[1:]  # `python -m mlci.stages.<stage>` has no arguments; this process's own (DIR) are not the stage's
    code = 0
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  # a bug in the stage: its traceback, as `python -m` would print it
        import traceback

        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m mlci.stages.helpers.forkserver DIR (an existing, private folder)", file=sys.stderr)
        return 2
    warm_up()
    serve(Path(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A real S3-compatible server for DVC remotes in tests: moto_server on a free loopback port, stopped by its pid.

Used by `test_remote.py` and the deploy workflow test. `moto_s3(scratch)` starts it with isolated AWS settings (no
developer profiles or keys), creates the bucket, yields the endpoint URL, and stops the server's process group when
the block ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from projectkit import venv_tool

BUCKET = "mlci-dvc-remote"
PREFIX = "store"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret (moto accepts any)
    "AWS_DEFAULT_REGION": "us-east-1",
    "NO_PROXY": "127.0.0.1",
    "no_proxy": "127.0.0.1",
}
AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answers(url: str, server: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never through a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"moto_server exited with code {server.returncode}:\n{log.read_text()}")
        try:
            with opener.open(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # an error status is still an answer
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"moto_server did not answer at {url} within {timeout:.0f} s:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    """Stop the server and anything it spawned: its own process group, by id; SIGKILL if SIGTERM is not enough."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)  # start_new_session: the group id is the server's pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
            return


@contextlib.contextmanager
def moto_s3(scratch: Path) -> Iterator[str]:
    """A moto S3 server on a free loopback port with the bucket created; yields its URL, stops it at the end."""
    import boto3

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = scratch / "moto_server.log"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        for name, file in (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE", "credentials")):
            (scratch / file).touch()  # empty: never a developer's own profiles or keys
            patch.setenv(name, str(scratch / file))
        for name in AWS_UNSET:
            patch.delenv(name, raising=False)
        with log.open("wb") as out:
            server = subprocess.Popen(
                [venv_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_answers(url, server, log)
            boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
            yield url
        finally:
            stop(server)

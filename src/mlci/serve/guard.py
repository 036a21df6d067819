"""ASGI middleware in front of the app: the API key, the body size and the body's read timeout, before any parsing.

- With an API key (`SERVE_API_KEY`), every path but `/health` (and the API docs) needs it, as
  `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time; otherwise a 401, before the body
  is read.
- A body over `max_bytes` is a 413, from its Content-Length or while it is read. What the client still sends is read
  and dropped (for `timeout` seconds at most) before the 413 goes out: a server that closes a connection with unread
  bytes makes the kernel reset it, and the reset can destroy the 413 before the client reads it. A client that asked
  for `100-continue` is answered at once, since it sends nothing more.
- A body that has not fully arrived within `timeout` seconds is a 408, and the connection is closed: a client that
  sends slowly holds a connection for `timeout` seconds at most.

The body is read here and handed on to the app whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def error_response(
    status: int, detail: str, errors: list[Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status, headers=headers)


class Guard:
    def __init__(self, app: Any, max_bytes: int, timeout: float, api_key: str | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.api_key = hashlib.sha256(api_key.encode()).digest() if api_key else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.api_key is not None and scope["path"] not in OPEN_PATHS and not self._authorized(headers):
            detail = "this service needs an API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            closing = {"www-authenticate": "Bearer", "connection": "close"}
            return await error_response(401, detail, headers=closing)(scope, receive, send)
        declared = headers.get(b"content-length", b"")
        deadline = time.monotonic() + self.timeout
        if declared.isdigit() and int(declared) > self.max_bytes:
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await _drain(receive, deadline)
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                detail = f"the body did not arrive within {self.timeout:g} s (serve.body_timeout_seconds)"
                response = error_response(408, detail, headers={"connection": "close"})
                return await response(scope, receive, send)
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await _drain(receive, deadline)
                return await self._too_large(scope, receive, send)
            more = message.get("more_body", False)
        body, handed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal handed
            if handed:
                return await receive()
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        bearer = headers.get(b"authorization", b"")
        scheme, _, token = bearer.partition(b" ")
        given = token.strip() if scheme.lower() == b"bearer" else headers.get(b"x-api-key", b"")
        digest = hashlib.sha256(given).digest()  # equal lengths: no length leak
        return self.api_key is not None and hmac.compare_digest(digest, self.api_key)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        detail = f"the body is larger than {self.max_bytes} bytes (serve.max_body_bytes); send smaller batches"
        await error_response(413, detail, headers={"connection": "close"})(scope, receive, send)


async def _drain(receive: Any, deadline: float) -> None:
    """Read and drop the rest of a request's body until it ends, the client goes away or `deadline` passes."""
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return

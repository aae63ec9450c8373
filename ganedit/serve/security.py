"""The server's promises, as one ASGI middleware in front of every route.

In order, for each HTTP request:

1. **Host allow-list** (DNS rebinding): the ``Host`` header must be ``127.0.0.1:PORT``,
   ``localhost:PORT`` or ``[::1]:PORT`` (plus the bound address when ``--host`` names another
   one); anything else gets 403.
2. **Token**: ``Authorization: Bearer TOKEN``, the ``ganedit_token`` cookie, or ``?token=`` in
   the URL of a GET (the page's URL; the response then sets the cookie, HttpOnly,
   SameSite=Strict). Compared in constant time. Missing or wrong: 401.
3. **Origin** (cross-site requests): a request that is not GET/HEAD and carries an ``Origin``
   must carry the page's own (``http://`` + the allowed Host); one authenticated by the cookie
   must carry it (an API client with the Bearer header may omit it). Otherwise 403.
4. **Body limit**: a ``Content-Length`` over the limit gets 413 before the body is read (and
   the body is counted as it arrives, in case); a body without a length (chunked) gets 411.
5. **Headers** on every response: ``Content-Security-Policy: default-src 'self'``,
   ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
   no-referrer``, ``Cache-Control: no-store``. No ``Access-Control-*`` header is ever sent.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

__all__ = ["COOKIE", "CSP", "BodyTooLarge", "Guard", "GuardSettings", "allowed_hosts"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The cookie the page's URL token becomes.
COOKIE = "ganedit_token"
#: The Content-Security-Policy of every response.
CSP = "default-src 'self'"
_SAFE_METHODS = {"GET", "HEAD"}
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def allowed_hosts(port: int, bound: str = "127.0.0.1") -> frozenset[str]:
    """The ``Host`` header values accepted: the loopback names with ``port`` (and the bound
    address when it is not a loopback or wildcard one)."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if bound not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""):
        names.add(f"[{bound}]" if ":" in bound else bound)
    return frozenset(f"{n}:{port}".lower() for n in names)


@dataclass
class GuardSettings:
    """What the guard checks against.

    Attributes:
        token: the per-launch secret.
        hosts: accepted ``Host`` values (:func:`allowed_hosts`).
        max_body: the largest request body in bytes.
    """

    token: str
    hosts: frozenset[str]
    max_body: int


class BodyTooLarge(Exception):
    """A chunked request body went past the limit while it was read."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == COOKIE:
            return value
    return None


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _auth(scope: Scope, token: str) -> str | None:
    """How the request proved the token: ``"bearer"``, ``"cookie"``, ``"query"``, or None."""
    auth = _header(scope, b"authorization") or ""
    if auth[:7].lower() == "bearer " and _same(auth[7:].strip(), token):
        return "bearer"
    if _same(_cookie(scope), token):
        return "cookie"
    if scope["method"] in _SAFE_METHODS:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if _same((query.get("token") or [None])[0], token):
            return "query"
    return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + _HEADERS})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The ASGI middleware (module docstring).

    Args:
        app: the application behind it.
        settings: token, hosts and body limit.
    """

    def __init__(self, app: ASGIApp, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings

    def _check(self, scope: Scope) -> tuple[int, str] | str:
        """``(status, why)`` to refuse, else how the request authenticated."""
        s = self.settings
        host = (_header(scope, b"host") or "").lower()
        if host not in s.hosts:
            return 403, f"Host {host!r} is not allowed (DNS rebinding guard)"
        how = _auth(scope, s.token)
        if how is None:
            return 401, "a token is required: open the URL `ganedit serve` printed"
        if scope["method"] not in _SAFE_METHODS:
            origin = _header(scope, b"origin")
            own = f"http://{host}"
            if origin is not None and origin.lower() != own:
                return 403, f"Origin {origin!r} is not this page's"
            if origin is None and how == "cookie":
                return 403, "a cookie-authenticated request must carry this page's Origin"
        length = _header(scope, b"content-length")
        if length is None and _header(scope, b"transfer-encoding"):
            return 411, "a request body must declare its Content-Length (no chunked uploads)"
        if length is not None and (not length.strip().isdigit() or int(length) > s.max_body):
            return 413, f"the request body is over the limit ({s.max_body} bytes)"
        return how

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":  # none are served; refuse before any handshake
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        checked = self._check(scope)
        if isinstance(checked, tuple):
            await _refuse(send, *checked)
            return
        started = False
        seen = 0
        cookie = checked == "query"

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.settings.max_body:
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                headers += _HEADERS
                if cookie:
                    value = f"{COOKIE}={self.settings.token}; HttpOnly; SameSite=Strict; Path=/"
                    headers.append((b"set-cookie", value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"the request body is over the limit "
                                         f"({self.settings.max_body} bytes)")  # fmt: skip

"""Helpers of the ``ganedit serve`` tests (a module of its own name, so that test files never
import a ``conftest``): a real server on a loopback port in a thread of the test process, a raw
HTTP client that can send any Host/Origin, multipart bodies, and the skip-or-fail rule (without
the ``serve`` extra or the browser these tests skip, except under ``CI``, where they fail)."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SERVE_PLUGINS = HERE / "plugins"  # tiny-upscale, tiny-inpaint, tiny-generate, tiny-slow
THIRD_PARTY = HERE.parent / "fixtures" / "plugins"  # ganedit-tiny: tiny-sr, tiny-gen, tiny-fill
TOKEN = "test-token-0123456789"
CHROMIUM = os.environ.get("GANEDIT_CHROMIUM", "/usr/bin/chromium")
VERSIONS: dict[str, str] = {}


def need(what: str, reason: str) -> None:
    """Skip, or fail under ``CI`` (where the extra and the browser must be installed)."""
    message = f"{what} unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must install it: pip install -e '.[test]', .ci/run)")
    pytest.skip(message)


def require_extra() -> None:
    from ganedit.serve import missing_extra

    missing = missing_extra()
    if missing:
        need("the serve extra", f"missing {', '.join(missing)}")


@dataclass
class Server:
    """A running server: ``port``, ``url`` (with token), ``root``, ``app``."""

    port: int
    root: Path
    app: Any
    server: Any
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={TOKEN}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
        host: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """``(status, headers (lower-case names), body)``; ``auth``: send the Bearer token."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Host": host or f"127.0.0.1:{self.port}"}
        if auth:
            sent["Authorization"] = f"Bearer {TOKEN}"
        sent.update(headers or {})
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in sent.items():
            conn.putheader(k, v)
        if body is not None and "Content-Length" not in sent:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        out = {k.lower(): v for k, v in response.getheaders()}
        conn.close()
        return response.status, out, data

    def json(self, method: str, path: str, payload: Any = None, **kw: Any) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, data = self.request(method, path, body, headers, **kw)
        return status, json.loads(data) if data else None

    def events(self, job_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Every record of a job's event stream, until the server closes it."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(
            "GET",
            f"/api/jobs/{job_id}/events",
            headers={"Host": f"127.0.0.1:{self.port}", "Authorization": f"Bearer {TOKEN}"},
        )
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("content-type", "").startswith("text/event-stream")
        records, event = [], None
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "close":
                    break
                records.append(json.loads(line[6:]))
            elif not line:
                event = None
        conn.close()
        return records


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """``(body, content type)``; a value ``(filename, bytes)`` is a file part."""
    boundary = "ganedit-test-boundary-7f3a"
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data = value
            head = (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            )
        else:
            head, data = f'Content-Disposition: form-data; name="{name}"\r\n\r\n', str(value)
            data = data.encode()
        parts.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def start_server(root: Path, **options: Any) -> Server:
    import uvicorn

    from ganedit.serve import bind, create_app

    sock, port = bind("127.0.0.1", 0)
    app = create_app(roots=[root], token=TOKEN, port=port, device="cpu", **options)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    return Server(port, root, app, server, thread)

"""``ganedit serve``: one local page for every family (optional extra ``ganedit[serve]``).

Example::

    from ganedit.serve import bind, create_app, run_server
    sock, port = bind("127.0.0.1", 0)
    app = create_app(roots=["/photos"], token="s3cret", port=port)
    run_server(app, sock)                  # serves http://127.0.0.1:PORT/?token=s3cret

The page (``static/``: plain HTML, CSS and JavaScript, no build step, nothing from the network)
is generated from ``GET /api/models``; the JSON API and the promises the server keeps are in
:mod:`ganedit.serve.app` and :mod:`ganedit.serve.security`; jobs in :mod:`ganedit.serve.jobs`
and :mod:`ganedit.serve.work`; folders under ``--root`` in :mod:`ganedit.serve.paths`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Sequence
from typing import Any

__all__ = ["EXTRA_MODULES", "bind", "create_app", "missing_extra", "run_server", "url_for"]

#: The modules the ``serve`` extra installs.
EXTRA_MODULES = ("starlette", "uvicorn", "multipart")


def missing_extra() -> list[str]:
    """The modules of the ``serve`` extra that are not installed (empty when all are)."""
    return [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]


def bind(host: str = "127.0.0.1", port: int = 0) -> tuple[socket.socket, int]:
    """A listening socket on ``host:port`` (``port`` 0: a free one) and its port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock, sock.getsockname()[1]


def url_for(port: int, token: str) -> str:
    """The page's URL with its token: ``http://127.0.0.1:PORT/?token=TOKEN``."""
    return f"http://127.0.0.1:{port}/?token={token}"


def create_app(
    *,
    roots: Sequence[str | os.PathLike[str]] = (),
    token: str,
    port: int,
    host: str = "127.0.0.1",
    device: str = "auto",
    max_upload_mb: float = 256,
) -> Any:
    """The ASGI application: the routes behind the guard (:mod:`ganedit.serve.security`).

    Args:
        roots: the folders the page may read and write (folder runs), resolved now.
        token: the secret every request must carry.
        port: the bound port (for the Host allow-list).
        host: the bound address.
        device: where models run (``ganedit.load``'s ``device``).
        max_upload_mb: the largest request body, in MiB.

    Raises:
        ValueError: a root that is not a folder, an empty token, a limit <= 0.
    """
    from ganedit.serve.app import ServeState, create_routes
    from ganedit.serve.paths import Roots
    from ganedit.serve.security import Guard, GuardSettings, allowed_hosts
    from ganedit.serve.work import Workspace

    if not token:
        raise ValueError("the token must not be empty")
    if max_upload_mb <= 0:
        raise ValueError(f"max_upload_mb must be > 0, got {max_upload_mb}")
    served = Roots(roots)
    max_body = int(max_upload_mb * 2**20)
    state = ServeState(served, Workspace(device, served), max_body, device)
    app = create_routes(state)
    guarded = Guard(app, GuardSettings(token, allowed_hosts(port, host), max_body))
    guarded.state = state  # type: ignore[attr-defined]  # for tests and clean-up
    return guarded


def run_server(app: Any, sock: socket.socket, *, log_level: str = "warning") -> Any:
    """Serve ``app`` on the bound ``sock`` with uvicorn until stopped (Ctrl-C)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.closing = True  # open event streams end now instead of holding Ctrl-C up
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, log_level=log_level, lifespan="off", access_log=False, timeout_graceful_shutdown=5
    )
    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        app.state.close()
    return server

"""``ganedit serve``: the local page (:mod:`ganedit.serve`; needs ``pip install 'ganedit[serve]'``).

The first line printed is the page's URL with its token; ``--open`` also opens it in a browser.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from ganedit.infer.options import DEVICE_HELP

__all__ = ["serve_cmd"]


@click.command("serve")
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder the page may run folders in and write to (repeatable); none: single "
    "images only.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to bind; 0 picks a free one.")  # fmt: skip
@click.option("--token", default=None, help="The secret every request must carry "
              "[default: a new random one per launch].")  # fmt: skip
@click.option("--open/--no-open", "open_browser", default=False, show_default=True,
              help="Open the page in the default browser.")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--max-upload-mb", default=256.0, show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Largest request body (an uploaded image and its mask), in MiB.")  # fmt: skip
def serve_cmd(
    roots: tuple[Path, ...],
    host: str,
    port: int,
    token: str | None,
    open_browser: bool,
    device: str,
    max_upload_mb: float,
) -> None:
    """Serve one local page: pick a family, drop an image, brush a mask, compare before and
    after, run a folder under --root with a live table.

    \b
    The page and its JSON API answer only requests carrying the token (the printed URL sets
    it as a cookie), for Host 127.0.0.1/localhost/[::1] with this port.
    """
    from ganedit.serve import missing_extra

    missing = missing_extra()
    if missing:
        raise click.UsageError(
            f"`ganedit serve` needs the optional extra 'serve' (missing: {', '.join(missing)}); "
            "install it with: pip install 'ganedit[serve]'"
        )
    from ganedit.serve import bind, create_app, run_server, url_for

    token = token or secrets.token_urlsafe(24)
    try:
        sock, bound = bind(host, port)
    except OSError as exc:
        raise click.UsageError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    try:
        app = create_app(roots=roots, token=token, port=bound, host=host, device=device,
                         max_upload_mb=max_upload_mb)  # fmt: skip
    except ValueError as exc:
        sock.close()
        raise click.UsageError(str(exc)) from None
    url = url_for(bound, token)
    click.echo(url)
    sys.stdout.flush()  # the first line, at once, also when stdout is a pipe
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: bound to {host}; anyone who can reach it and has the token can "
                   "use the page", err=True)  # fmt: skip
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    run_server(app, sock)

"""The ``ganedit`` command line.

Every model command (``run``, ``train``, ``sample``, ``eval``) is a group whose sub-commands are
the installed model families, built on demand from the family's ``Config`` so that
``ganedit run MODEL --help`` lists that model's options. Plugin commands (hook
``ganedit_register_commands``) are added lazily and in isolation: a broken plugin never blocks
``ganedit --help``.

Exit codes: 0 all done, 1 some items failed (or an error), 2 usage error, 130 interrupted by
SIGINT (Ctrl-C), 143 stopped by SIGTERM (a folder run finishes its files in flight and writes
its manifest first).

This module holds the root group and ``main``; each command lives in its own module
(``common``: shared options and error mapping; ``plugins_cmd``: ``plugins`` and ``models``;
``run``, ``train``, ``sample``, ``evaluate``, ``plot``, ``export``; ``roles``: the
``--data [ROLE=]PATH`` options) and is added here.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence

import click

from ganedit import __version__
from ganedit.cli.common import CONTEXT, ENV_EPILOG
from ganedit.cli.evaluate import eval_cmd
from ganedit.cli.export import export_cmd
from ganedit.cli.import_cmd import import_cmd
from ganedit.cli.model_commands import ModelGroup as ModelGroup
from ganedit.cli.plot import plot_cmd
from ganedit.cli.plugins_cmd import models_cmd, plugins_cmd
from ganedit.cli.run import run_cmd
from ganedit.cli.sample import make_grid as make_grid
from ganedit.cli.sample import sample_cmd
from ganedit.cli.sample import slerp as slerp
from ganedit.cli.serve import serve_cmd
from ganedit.cli.train import train_cmd

__all__ = ["cli", "main"]


class GaneditGroup(click.Group):
    """The root group: built-in commands plus plugin commands, loaded only when asked for."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from ganedit.plugins import plugin_commands

        try:
            return plugin_commands(self.commands)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never block the CLI
            click.echo(f"warning: plugin commands unavailable: {exc}", err=True)
            return {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands) + sorted(self._plugin_commands())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return self._plugin_commands().get(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; Ctrl-C anywhere exits 130 (Click's own handling would exit 1)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted (SIGINT)", err=True)
            sys.exit(130)


@click.group(
    cls=GaneditGroup,
    context_settings={**CONTEXT, "auto_envvar_prefix": "GANEDIT"},
    epilog=ENV_EPILOG,
)
@click.version_option(
    __version__, "--version", prog_name="ganedit", help="Show the version and exit."
)
def cli() -> None:
    """ganedit: GAN image editing (super-resolution, synthesis, inpainting...) as plugins.

    \b
    Examples:
      ganedit run srgan photos/ out/           upscale a folder, keeping sub-folders
      ganedit sample dcgan samples/ -n 16      draw 16 images
      ganedit train dcgan --data clothes/ --out runs/dcgan --steps 20000
      ganedit plugins                          what is installed, and what failed to load
    """


cli.add_command(plugins_cmd)
cli.add_command(models_cmd)
cli.add_command(run_cmd)
cli.add_command(train_cmd)
cli.add_command(sample_cmd)
cli.add_command(eval_cmd)
cli.add_command(plot_cmd)
cli.add_command(export_cmd)
cli.add_command(import_cmd)
cli.add_command(serve_cmd)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: exit 0 all done, 1 some failed / error, 2 usage error, 130 SIGINT,
    143 SIGTERM."""
    from ganedit.infer.run.signals import exit_on_sigterm

    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, exit_on_sigterm)
    cli.main(
        args=list(argv) if argv is not None else None,
        prog_name="ganedit",
        auto_envvar_prefix="GANEDIT",
    )

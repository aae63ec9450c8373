"""``ganedit plugins`` and ``ganedit models``: what is installed, and what failed to load."""

from __future__ import annotations

import json as jsonlib
from typing import Any

import click

from ganedit.cli.model_commands import _safe_families


@click.command("plugins")
@click.option("--json", "json", is_flag=True, help="Print the records as a JSON list.")
def plugins_cmd(json: bool) -> None:
    """List every plugin found: where it comes from, its models, and any load error."""
    from ganedit.cli import cli  # the root group, complete by the time a command runs
    from ganedit.plugins import plugin_commands, plugin_records

    try:
        plugin_commands(cli.commands)  # records command refusals too
    except Exception as exc:  # noqa: BLE001 - still list what loaded
        click.echo(f"warning: {exc}", err=True)
    records = plugin_records()
    if json:
        click.echo(jsonlib.dumps([r.to_dict() for r in records], indent=2))
        return
    if not records:
        click.echo("no plugins installed (entry-point group 'ganedit')")
        return
    for r in records:
        version = f" {r.version}" if r.version else ""
        click.echo(f"{r.name}  [{r.status}]  {r.source}{version}  ({r.module})")
        if r.families:
            click.echo(f"    models:   {', '.join(r.families)}")
        if r.commands:
            click.echo(f"    commands: {', '.join(r.commands)}")
        if r.error:
            click.echo(f"    error:    {r.error}")


@click.command("models")
@click.option("--json", "json", is_flag=True, help="Print the models as a JSON list.")
def models_cmd(json: bool) -> None:
    """List the model families: name, kind, plugin and one-line summary."""
    from ganedit.plugins import family_plugin

    rows: list[dict[str, Any]] = []
    for cls in _safe_families():
        rows.append(
            {
                "name": cls.name,
                "kind": cls.kind.value,
                "plugin": family_plugin(cls.name).name,
                "trainable": cls.is_trainable(),
                "generators": list(cls.generators),
                "data_roles": list(cls.data_roles),
                "summary": cls.summary,
            }
        )
    if json:
        click.echo(jsonlib.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no models installed; see `ganedit plugins` for load errors")
        return
    width = max(len(str(r["name"])) for r in rows)
    pw = max(len(str(r["plugin"])) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['kind']:<10}  {r['plugin']:<{pw}}  {r['summary']}")

"""One test per hook spec (test_design_rules checks that every hook has one), through the
fixture plugin ganedit-tiny loaded by its real entry point."""

from __future__ import annotations

import click
from click.testing import CliRunner

from ganedit.plugins import get_family, get_plugin_manager, list_models, plugin_commands


def test_ganedit_register_models(plugin_path) -> None:
    assert {"tiny-sr", "tiny-gen"} <= set(list_models())
    assert get_family("tiny-gen").kind.value == "generate"


def test_ganedit_register_commands(plugin_path) -> None:
    cmds = plugin_commands({"run"})
    cmd = cmds["tiny-info"]
    assert isinstance(cmd, click.Command)
    result = CliRunner().invoke(cmd, ["--upper"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "TINY FAMILIES: TINY-SR TINY-GEN"


def test_ganedit_train_callbacks(plugin_path) -> None:
    from ganedit_tiny import CALLBACK_LOG, RecordSteps

    fam = get_family("tiny-sr")
    results = get_plugin_manager().hook.ganedit_train_callbacks(family=fam, config=fam.Config())
    callbacks = [cb for group in results if group for cb in group]
    assert len(callbacks) == 1 and isinstance(callbacks[0], RecordSteps)
    callbacks[0].on_step_end(step=3, metrics={"g": 1.0})
    assert CALLBACK_LOG[-1] == (3, {"g": 1.0})
    other = type("Other", (), {"name": "other"})()
    assert not any(get_plugin_manager().hook.ganedit_train_callbacks(family=other, config=None))

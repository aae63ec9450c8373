"""One test per hook spec (test_design_rules checks that every hook has one), through the
fixture plugin ganedit-tiny loaded by its real entry point."""

from __future__ import annotations

import inspect
import re
import types

import click
from click.testing import CliRunner

from ganedit import hookspecs
from ganedit.plugins import get_family, get_plugin_manager, list_models, plugin_commands


def register_example(hook: str, heading: str, module: str, plugin: str) -> types.ModuleType:
    """The ``::`` block after ``heading`` in hook spec ``hook``'s docstring, run as a module
    named ``module`` and registered as plugin ``plugin`` (the example exactly as documented)."""
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    code = doc.split(heading, 1)[1].split("::", 1)[1]
    example = types.ModuleType(module)
    source = re.sub(r"(?m)^    ", "", code)
    exec(compile(source, "example", "exec", dont_inherit=True), example.__dict__)  # noqa: S102
    get_plugin_manager().register(example, name=plugin)
    return example


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


def test_ganedit_register_executors(tmp_path) -> None:
    """The hook's own example, registered as a plugin: ``executor="backwards"`` runs it, and
    the driver still records every input once, in input order in the report."""
    import numpy as np

    import ganedit
    from ganedit.io import Manifest, read_image, write_image
    from ganedit.plugins import executor_classes
    from ganedit.testing import TinyUpscale

    module = register_example(
        "ganedit_register_executors", "Example (an executor",
        "ganedit_backwards_example", "backwards-example",
    )  # fmt: skip
    assert executor_classes()["backwards"] is module.Backwards
    src = tmp_path / "in"
    for i in range(5):
        write_image(src / f"{i}.png", np.full((8, 8, 3), 40 * i, np.uint8))
    events: list[dict] = []
    report = ganedit.run_folder(
        TinyUpscale, src, tmp_path / "out", weights=False, progress=False,
        on_event=events.append, executor="backwards", executor_options={"chunk": 2},
    )  # fmt: skip
    assert report.exit_code == 0 and [p.name for p in report.done] == [f"{i}.png" for i in range(5)]
    order = [e["input"] for e in events if e["event"] == "file"]
    assert [p.rsplit("/", 1)[1] for p in order] == [f"{i}.png" for i in reversed(range(5))]
    man = Manifest.load(tmp_path / "out")
    assert man.run["parameters"]["executor"] == {"name": "backwards", "chunk": 2}
    assert len(man.records) == 5 and read_image(tmp_path / "out" / "3.png").shape == (16, 16, 3)


def test_ganedit_register_importers(tmp_path) -> None:
    from pathlib import Path

    import torch

    from ganedit.importing import ImportRefused, SourceState, importer_for, list_importers
    from ganedit.plugins import plugin_records

    register_example(
        "ganedit_register_importers", "Example (a family",
        "ganedit_foo_importer_example", "foo-example",
    )  # fmt: skip
    assert list_importers()["foo"] == "foo-example"
    assert list_importers()["pix2pix"] == "translate"  # the built-in plugin's
    src = SourceState(Path("f.pth"), "0" * 64, "zip", "", {"body.0.weight": torch.ones(5, 3)})
    mapped = importer_for("foo")([src], {})
    assert mapped.config == {"width": 5}
    assert list(mapped.generators["generator"]) == ["net.body.0.weight"]
    bad = SourceState(Path("g.pth"), "0" * 64, "zip", "", {"x": torch.ones(1)})
    try:
        importer_for("foo")([bad], {})
        raise AssertionError("expected a refusal")
    except ImportRefused as exc:
        assert "not a foo checkpoint" in str(exc)
    assert not any(r.error and "importer" in r.error for r in plugin_records())

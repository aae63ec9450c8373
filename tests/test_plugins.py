"""Plugin loading: real entry points from fixture distributions, isolation, switches."""

from __future__ import annotations

import pytest

from ganedit import plugins
from ganedit.plugins import (
    DuplicateFamilyError,
    PluginError,
    UnknownModelError,
    get_family,
    get_plugin_manager,
    list_models,
    plugin_commands,
    plugin_records,
)

BROKEN = ("broken-import", "broken-hook", "bad-hookname", "bad-argname")


def records() -> dict[str, plugins.PluginRecord]:
    return {r.name: r for r in plugin_records()}


def strict(monkeypatch: pytest.MonkeyPatch, load: str | None = None) -> None:
    """Strict loading (a plugin failure raises) of the plugins ``load`` (``None``: all), the
    built-ins srgan and dcgan left out (they may be mid-work)."""
    monkeypatch.setenv("GANEDIT_STRICT_PLUGINS", "1")
    if load is not None:
        monkeypatch.setenv("GANEDIT_LOAD_PLUGINS", load)
    monkeypatch.setenv("GANEDIT_DISABLE_PLUGINS", "srgan,dcgan")


def test_builtin_plugins_come_from_the_ganedit_distribution() -> None:
    recs = records()
    for name in ("srgan", "dcgan"):
        assert recs[name].dist == "ganedit"
        assert recs[name].source == "built-in"
        assert recs[name].version
    builtins = [n for n, r in recs.items() if r.source == "built-in"]
    assert {"dcgan", "srgan"} <= set(builtins)
    assert list(recs)[: len(builtins)] == sorted(builtins)  # built-ins load first, by name


def test_good_fixture_plugin_is_found_through_its_entry_point(plugin_path) -> None:
    rec = records()["tiny"]
    assert (rec.dist, rec.version, rec.source, rec.module) == (
        "ganedit-tiny",
        "0.1.0",
        "ganedit-tiny",
        "ganedit_tiny",
    )
    assert rec.status == "loaded" and rec.error is None
    assert rec.families == ["tiny-sr", "tiny-gen", "tiny-fill"]
    assert {"tiny-sr", "tiny-gen"} <= set(list_models())
    assert list_models() == sorted(list_models())


def test_get_family_returns_one_shared_instance(plugin_path) -> None:
    from ganedit_tiny.family import TinySR

    fam = get_family("tiny-sr")
    assert isinstance(fam, TinySR)
    assert get_family("tiny-sr") is fam
    assert get_family("TINY-SR") is fam


def test_unknown_model_lists_known_names_and_failed_plugins(plugin_path) -> None:
    with pytest.raises(KeyError) as info:
        get_family("tiny-srr")
    err = info.value
    assert isinstance(err, UnknownModelError)
    text = str(err)
    assert "unknown model 'tiny-srr'" in text
    assert "tiny-sr" in text and "tiny-gen" in text
    assert "did you mean 'tiny-sr'" in text
    assert "broken-import" in text  # failed plugins as a hint


def test_import_failure_is_isolated(plugin_path) -> None:
    rec = records()["broken-import"]
    assert rec.status == "failed"
    assert "import of 'ganedit_broken_import' failed" in rec.error
    assert "ganedit_dependency_that_is_not_installed" in rec.error
    assert rec.dist == "ganedit-broken-import" and rec.families == []


def test_raising_hook_loses_only_its_own_families(plugin_path) -> None:
    rec = records()["broken-hook"]
    assert rec.status == "failed"
    assert "ganedit_register_models raised RuntimeError" in rec.error
    assert "model table is corrupt" in rec.error
    assert rec.families == []
    assert "broken-half" not in list_models()  # registered before the raise, then dropped
    assert {"tiny-sr", "tiny-gen"} <= set(list_models())
    assert get_plugin_manager().get_plugin("broken-hook") is None  # unregistered


def test_misspelled_hook_is_refused_and_attributed(plugin_path) -> None:
    rec = records()["bad-hookname"]
    assert rec.status == "failed"
    assert "'ganedit_register_model'" in rec.error
    assert "did you mean 'ganedit_register_models'" in rec.error
    pm = get_plugin_manager()
    assert pm.get_plugin("bad-hookname") is None
    pm.check_pending()  # nothing unknown left behind
    assert records()["tiny"].error is None  # not blamed on anyone else


def test_wrong_argument_name_is_refused_by_pluggy(plugin_path) -> None:
    rec = records()["bad-argname"]
    assert rec.status == "failed"
    assert "ganedit_register_models" in rec.error and "registrar" in rec.error
    assert get_plugin_manager().get_plugin("bad-argname") is None


def test_every_failed_plugin_has_a_record(plugin_path) -> None:
    recs = records()
    assert set(BROKEN) <= set(recs)
    assert all(recs[n].status == "failed" and recs[n].error for n in BROKEN)
    loaded = {r.name for r in plugin_records() if r.status == "loaded"}
    assert "tiny" in loaded and not loaded & set(BROKEN)


def test_rescue_mode_empty_allow_list_loads_builtins_only(plugin_path, monkeypatch) -> None:
    monkeypatch.setenv("GANEDIT_LOAD_PLUGINS", "")
    recs = records()
    assert recs["tiny"].status == "disabled"
    assert all(recs[n].status == "disabled" and recs[n].error is None for n in BROKEN)
    assert recs["srgan"].status != "disabled" and recs["dcgan"].status != "disabled"
    assert "tiny-sr" not in list_models()


@pytest.mark.parametrize("allow", ["tiny", "ganedit-tiny", " tiny , nothing-else "])
def test_allow_list_by_entry_point_or_dist_name(plugin_path, monkeypatch, allow) -> None:
    monkeypatch.setenv("GANEDIT_LOAD_PLUGINS", allow)
    recs = records()
    assert recs["tiny"].status == "loaded"
    assert all(recs[n].status == "disabled" for n in BROKEN)


def test_disable_list(plugin_path, monkeypatch) -> None:
    monkeypatch.setenv("GANEDIT_DISABLE_PLUGINS", "tiny,broken-hook,srgan")
    recs = records()
    assert recs["tiny"].status == recs["broken-hook"].status == recs["srgan"].status == "disabled"
    assert recs["broken-import"].status == "failed"
    assert "tiny-sr" not in list_models()


def test_strict_mode_raises_at_the_first_failure(plugin_path, monkeypatch) -> None:
    strict(monkeypatch)
    with pytest.raises(PluginError, match=r"bad-argname.*registrar"):
        plugin_records()


def test_strict_mode_raises_on_a_raising_hook(plugin_path, monkeypatch) -> None:
    strict(monkeypatch, load="tiny,broken-hook")
    with pytest.raises(PluginError, match="model table is corrupt"):
        list_models()


def test_trace_prints_steps_and_tracebacks(plugin_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GANEDIT_TRACE_PLUGINS", "1")
    plugin_records()
    err = capsys.readouterr().err
    assert "tiny: importing ganedit_tiny" in err
    assert "tiny: registered family 'tiny-sr'" in err
    assert "broken-import: FAILED" in err
    assert "Traceback (most recent call last)" in err


def test_duplicate_family_is_refused_naming_both_plugins(conflict_path) -> None:
    from ganedit_tiny.family import TinySR

    rec = records()["tiny-clash"]
    assert rec.source == "ganedit-tiny-clash" and rec.version == "2.0.0"
    assert "family 'tiny-sr' is already registered by plugin 'tiny'" in rec.error
    assert "'tiny-clash'" in rec.error
    assert rec.families == ["clash-ok"]  # its other family still registered
    assert "clash-ok" in list_models()
    assert type(get_family("tiny-sr")) is TinySR  # the first one wins


def test_duplicate_family_raises_in_strict_mode(conflict_path, monkeypatch) -> None:
    strict(monkeypatch, load="tiny,tiny-clash")
    with pytest.raises(DuplicateFamilyError, match="tiny-sr"):
        list_models()


def test_plugin_commands_refuse_shadowing(conflict_path) -> None:
    cmds = plugin_commands({"run", "train", "plugins"})
    assert {"tiny-info", "clash-info"} <= set(cmds)  # built-in plugins may add their own
    assert not {"run", "train", "plugins"} & set(cmds)
    recs = records()
    assert recs["tiny"].commands == ["tiny-info"]
    assert recs["tiny-clash"].commands == ["clash-info"]
    assert "command 'run' shadows a built-in command" in recs["tiny-clash"].error
    assert "command 'tiny-info' is already added by plugin 'tiny'" in recs["tiny-clash"].error
    assert plugin_commands(()) is cmds  # computed once per load


def test_strict_mode_raises_on_shadowing(conflict_path, monkeypatch) -> None:
    monkeypatch.setenv("GANEDIT_LOAD_PLUGINS", "tiny,tiny-clash")
    list_models()  # loads (the duplicate family is isolated: not strict yet)
    monkeypatch.setenv("GANEDIT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="shadows a built-in"):
        plugin_commands({"run"})


def test_reset_plugins_reloads(plugin_path, monkeypatch) -> None:
    assert "tiny-sr" in list_models()
    monkeypatch.setenv("GANEDIT_DISABLE_PLUGINS", "tiny")
    assert "tiny-sr" in list_models()  # still the loaded state
    plugins.reset_plugins()
    assert "tiny-sr" not in list_models()


def test_record_to_dict_is_json_safe(plugin_path) -> None:
    import json

    data = json.loads(json.dumps([r.to_dict() for r in plugin_records()]))
    tiny = next(d for d in data if d["name"] == "tiny")
    assert set(tiny) >= {"name", "dist", "version", "source", "families", "error"}


# ------------------------------------------------------------------------- conformance kit
def test_tiny_sr_passes_check_family(plugin_path) -> None:
    from ganedit_tiny.family import TinySR, TinySRConfig

    from ganedit.testing import check_family

    check_family(TinySR, TinySRConfig(channels=4), image_size=(16, 24))


def test_tiny_gen_passes_check_family(plugin_path) -> None:
    from ganedit_tiny.family import TinyGen, TinyGenConfig

    from ganedit.testing import check_family

    check_family(TinyGen, TinyGenConfig(channels=4))


def test_tiny_fill_passes_check_family(plugin_path) -> None:
    from ganedit_tiny.family import TinyFill, TinyFillConfig

    from ganedit.testing import check_family

    check_family(TinyFill, TinyFillConfig())  # IMAGE_MASK path, not trainable

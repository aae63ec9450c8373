"""Plugin-author mistakes reported where they are made: a module with no hook, a Config field
of an unsupported type, a training-callback hook or callback that raises."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import ganedit
from ganedit.plugins import PluginError, list_models, plugin_records, reset_plugins

MORE = Path(__file__).parent / "fixtures" / "more"


@pytest.fixture
def more_plugins(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(MORE))
    importlib.invalidate_caches()
    reset_plugins()
    return MORE


def _record(name: str):
    return next(r for r in plugin_records() if r.name == name)


def test_a_module_without_hooks_is_reported(more_plugins, monkeypatch):
    rec = _record("no-hooks")
    assert rec.status == "failed"
    assert "implements no ganedit hook" in rec.error and "@ganedit.hookimpl" in rec.error
    assert {"srgan", "dcgan"} <= set(list_models())  # the others still load
    monkeypatch.setenv("GANEDIT_STRICT_PLUGINS", "1")
    reset_plugins()
    with pytest.raises(PluginError, match="no-hooks.*implements no ganedit hook"):
        list_models()


def test_unsupported_config_field_is_refused_at_registration(more_plugins, monkeypatch):
    models = set(list_models())
    assert "good-config-family" in models and "bad-config-family" not in models
    rec = _record("bad-config")
    assert "bad-config-family" in rec.error and "'folder'" in rec.error
    assert "unsupported type 'Path'" in rec.error and "supported:" in rec.error
    monkeypatch.setenv("GANEDIT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("GANEDIT_DISABLE_PLUGINS", "no-hooks")
    reset_plugins()
    with pytest.raises(PluginError, match="folder"):
        list_models()


def _train(tmp_path: Path, out: str, steps: int = 4):
    from ganedit.testing.families import write_blobs

    data = tmp_path / "data"
    if not data.exists():
        write_blobs(data, 3, 24)
    return ganedit.train(
        "tiny-upscale",
        data=[data],
        out=tmp_path / out,
        steps=steps,
        device="cpu",
        progress=False,
        sample_every=0,
        checkpoint_every=10,
    )


def test_train_callbacks_are_collected_per_plugin_and_isolated(more_plugins, tmp_path):
    with pytest.warns(RuntimeWarning) as caught:
        result = _train(tmp_path, "run1")
    counter = sys.modules["ganedit_callbacks"]
    assert result.step == 4  # neither the raising hook nor the raising callback ended it
    assert counter.SEEN == [(s, "tiny-upscale") for s in (1, 2, 3, 4)]
    messages = " ".join(str(w.message) for w in caught)
    assert "'callbacks-raise'" in messages and "no callbacks today" in messages
    assert "'callbacks'" in messages and "faulty callback" in messages
    assert "no callbacks today" in _record("callbacks-raise").error
    assert "on_step_end raised RuntimeError: faulty callback" in _record("callbacks").error
    # a second run in the same process gets each plugin's callbacks once, not twice
    counter.SEEN.clear()
    with pytest.warns(RuntimeWarning):
        _train(tmp_path, "run2", steps=2)
    assert counter.SEEN == [(1, "tiny-upscale"), (2, "tiny-upscale")]


def test_train_refuses_roles_the_family_does_not_take(more_plugins, tmp_path):
    with pytest.raises(ganedit.ConfigError, match=r"role\(s\) b not accepted.*--data DIR"):
        ganedit.train("tiny-upscale", data={"b": [tmp_path]}, out=tmp_path / "r", steps=1)

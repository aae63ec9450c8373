"""Issue 13, item 10: a bad value of an environment variable ganedit reads is a usage error
(exit 2) before any file is touched."""

from __future__ import annotations

import pytest
from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.infer import run_folder
from ganedit.infer.limits import EnvVarError
from ganedit.testing import TinyUpscale


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GANEDIT_MAX_PIXELS", "abc"),
        ("GANEDIT_MAX_PIXELS", "0"),
        ("GANEDIT_MAX_PIXELS", "-5"),
        ("GANEDIT_MAX_OUTPUT_PIXELS", "lots"),
        ("GANEDIT_MAX_OUTPUT_PIXELS", "0"),
        ("GANEDIT_MERGE_TIMEOUT", "soon"),
        ("GANEDIT_DIST_TIMEOUT", "-1"),
        ("WORLD_SIZE", "two"),
    ],
)
def test_bad_env_values_are_usage_errors_before_any_file(
    plugin_path, tmp_path, name: str, value: str
) -> None:
    images(tmp_path / "in", n=1)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, tmp_path / "in", tmp_path / "out", env={name: value})
    assert result.exit_code == 2, result.output
    assert name in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_the_python_api_raises_naming_the_variable(tmp_path, monkeypatch) -> None:
    images(tmp_path / "in", n=1)
    monkeypatch.setenv("GANEDIT_MAX_PIXELS", "-5")
    with pytest.raises(EnvVarError, match="GANEDIT_MAX_PIXELS"):
        run_folder(TinyUpscale(), tmp_path / "in", tmp_path / "out", weights=False)
    assert not (tmp_path / "out").exists()

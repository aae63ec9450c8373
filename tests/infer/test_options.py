"""RunOptions: one declaration per run option; validation, parsing, the generated CLI options
and the manifest's parameters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from tiny_kit import TinyInpaint, TinyUp, UpConfig

from ganedit.cli.common import run_option_params
from ganedit.config import ConfigError
from ganedit.family import Kind
from ganedit.infer.options import RunOptions, option_fields, validate_option


def test_every_field_has_help_and_a_stage() -> None:
    for f in dataclasses.fields(RunOptions):
        assert f.metadata.get("help"), f.name
        assert f.metadata.get("stage", "run") in ("load", "editor", "run"), f.name


def test_defaults_and_parameters() -> None:
    opts = RunOptions(weights=Path("w.safetensors"), tile="auto", self_ensemble=None)
    assert opts.tile is None and opts.self_ensemble == 1 and opts.tile_overlap == 32
    params = opts.parameters()
    assert params["weights"] == "w.safetensors"  # JSON-safe
    assert "dry_run" not in params  # marked manifest=False
    assert set(params) == {f.name for f in dataclasses.fields(RunOptions)} - {"dry_run"}


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("quality", 0, "quality must be >= 1 and <= 100"),
        ("quality", 101, "quality must be >= 1"),
        ("jobs", 0, "jobs must be >= 1"),
        ("tile_overlap", -1, "tile_overlap must be >= 0"),
        ("tile", -3, "tile must be an integer >= 0 or 'auto'"),
        ("tile", "big", "tile must be an integer"),
        ("outscale", 0, "outscale must be a positive number"),
        ("self_ensemble", 3, "self_ensemble must be one of 1, 2, 4, 8"),
        ("precision", "fp64", "precision must be one of auto, fp32, bf16, fp16"),
        ("batch_size", -2, "batch_size must be >= 1"),
    ],
)
def test_invalid_values_are_refused_with_the_option_named(name, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        RunOptions(**{name: value})


def test_values_are_normalised() -> None:
    assert validate_option("tile", "64") == 64
    assert validate_option("batch_size", 0) is None  # 0 = automatic
    assert validate_option("self_ensemble", "4") == 4
    assert validate_option("outscale", "3.5") == 3.5
    with pytest.raises(ValueError, match="not both"):
        RunOptions(mask="m.png", masks="dir")


def test_parse_splits_run_options_and_config_fields() -> None:
    opts, config, given = RunOptions.parse(
        {"tile": 64, "scale": 4, "skip-existing": True}, UpConfig
    )
    assert opts.tile == 64 and opts.skip_existing and config == {"scale": 4}
    assert given == {"tile", "skip_existing"}
    with pytest.raises(ConfigError, match="unknown option 'tyle'") as info:
        RunOptions.parse({"tyle": 64}, UpConfig)
    assert "tile_overlap" in str(info.value) and "channels" in str(info.value)


def test_mask_options_only_apply_to_mask_families() -> None:
    image = {f.name for f in option_fields(kind=Kind.IMAGE)}
    masked = {f.name for f in option_fields(kind="image_mask")}
    assert masked - image == {"mask", "masks"}
    assert {f.name for f in option_fields(stage="editor")} == {
        "batch_size",
        "tile",
        "tile_overlap",
        "outscale",
        "self_ensemble",
        "memory_format",
    }


def _option(params: list[click.Option], flag: str) -> click.Option:
    return next(p for p in params if flag in p.opts)


def test_cli_options_are_generated_from_the_fields() -> None:
    params = run_option_params(TinyUp.kind)
    flags = [p.opts[0] for p in params]
    assert flags == ["--" + f.name.replace("_", "-") for f in option_fields(kind=Kind.IMAGE)]
    assert "--mask" in {p.opts[0] for p in run_option_params(TinyInpaint.kind)}
    ctx = click.Context(click.Command("x"))
    se = _option(params, "--self-ensemble")
    assert isinstance(se.type, click.Choice) and se.process_value(ctx, "4") == 4
    tile = _option(params, "--tile")
    assert tile.process_value(ctx, "auto") is None and tile.process_value(ctx, "64") == 64
    assert _option(params, "--skip-existing").is_flag
    quality = _option(params, "--quality")
    with pytest.raises(click.BadParameter):
        quality.process_value(ctx, "0")
    assert list(_option(params, "--format").type.choices) == ["png", "jpg", "webp", "bmp", "tiff"]
    for p in params:
        assert p.help


def test_a_subclass_field_becomes_an_option_and_a_parameter() -> None:
    @dataclass
    class More(RunOptions):
        denoise: int = field(
            default=2, metadata={"help": "Denoise strength (a test field).", "min": 0, "max": 9}
        )

    params = run_option_params(Kind.IMAGE, options_cls=More)
    opt = _option(params, "--denoise")
    assert opt.default == 2 and "Denoise" in (opt.help or "")
    assert More(denoise=5).parameters()["denoise"] == 5
    with pytest.raises(ValueError, match="denoise must be >= 0 and <= 9"):
        More(denoise=10)
    opts, _config, given = More.parse({"denoise": 3}, UpConfig)
    assert opts.denoise == 3 and given == {"denoise"}

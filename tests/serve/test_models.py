"""``GET /api/models``: the form of a family shows its Config fields, but not the options of
``ganedit train`` (``train_only``) or of ``ganedit eval`` (``eval_only``) alone."""

from __future__ import annotations

import json
from dataclasses import dataclass

from serving import Server

from ganedit.config import option
from ganedit.serve.models import family_row
from ganedit.testing import TinyUpscale
from ganedit.testing.families import TinyUpscaleConfig


@dataclass
class _Config(TinyUpscaleConfig):
    """TinyUpscale's fields (width, scale; lr, batch_size, ema_decay, crop train_only) and a
    setting of evaluate."""

    eval_noise: float = option(0.1, "Noise that ganedit eval adds.", eval_only=True)


class _WithEvalSettings(TinyUpscale):
    name = "tiny-upscale-eval"
    Config = _Config


def _config_fields(row: dict) -> list[str]:
    return [f["name"] for f in row["fields"] if f["group"] == "config"]


def test_train_only_and_eval_only_fields_stay_off_the_form() -> None:
    assert _config_fields(family_row(_WithEvalSettings, "test")) == ["width", "scale"]


def test_the_served_inpaint_form_has_no_eval_settings(served: Server) -> None:
    status, _, body = served.request("GET", "/api/models")
    assert status == 200
    rows = {row["name"]: row for row in json.loads(body)}
    names = _config_fields(rows["inpaint"])
    assert "dilate" in names and "max_side" in names
    assert not {"eval_masks", "eval_size", "eval_sheets", "lr", "batch_size"} & set(names)

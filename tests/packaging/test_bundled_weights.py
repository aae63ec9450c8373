"""Where bundled weights live: a family's ``default_weights(config)`` names
``"<the family's own package>:weights/<file>.safetensors"``, package data of the plugin that ships
it, with its ``.json`` card beside it; the core ships only the shared metrics' Fashion-MNIST
classifiers (``ganedit.metrics``, under ``ganedit/metric_weights``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ganedit
from ganedit.metrics import CLASSIFIER_64_WEIGHTS, CLASSIFIER_WEIGHTS
from ganedit.weights import card_path, file_sha256, resolve_resource

# the built-ins with bundled weights
SHIPPING = {"srgan", "dcgan", "pix2pix", "cyclegan", "cut", "inpaint"}


def _checked(spec: str, package: str, folder: str) -> tuple[Path, dict]:
    """The file ``spec`` names, after checking it lies in ``package``'s ``folder`` and matches
    the sha256 its card records; returns ``(path, card)``."""
    owner, _, rel = spec.partition(":")
    assert (owner, rel.rpartition("/")[0]) == (package, folder), spec
    path = resolve_resource(spec)
    assert path.is_file() and card_path(path).is_file(), path
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    assert card["sha256"] == file_sha256(path), f"{path}: not the file its card describes"
    return path, card


def test_each_family_ships_its_weights_in_its_own_package() -> None:
    shipping = set()
    for name in ganedit.list_models():
        family = ganedit.get_family(name)
        spec = family.default_weights(family.Config())
        if spec is None:
            continue
        package = type(family).__module__.partition(".")[0]
        _, card = _checked(spec, package, "weights")
        assert card["family"] == name, spec
        shipping.add(name)
    assert shipping >= SHIPPING


@pytest.mark.parametrize("spec", [CLASSIFIER_WEIGHTS, CLASSIFIER_64_WEIGHTS])
def test_shared_metric_classifiers_are_core_package_data(spec: str) -> None:
    _, card = _checked(spec, "ganedit", "metric_weights")
    assert card["family"] == "fashion-classifier"

"""Helpers of the ray executor tests (a module of its own: ``conftest`` is a taken name)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PLUGINS = Path(__file__).parents[1] / "fixtures" / "plugins"
KIT = Path(__file__).parents[1]  # tests/: tiny_kit.py, which ray-probe builds on


def import_ray():
    """``ray`` (with ray.data), or skip; in CI (``CI`` set) a missing extra fails."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the ray tests need ganedit[ray] in CI: {exc}")
        pytest.skip(f"ray[data] is not installed: {exc}")
    return ray


def save_probe_weights(path: Path) -> Path:
    """Weights for ``ray-probe`` (seeded), so a subprocess driver can name them."""
    import torch

    from ganedit.config import config_to_dict
    from ganedit.plugins import get_family
    from ganedit.weights import save_weights

    fam = get_family("ray-probe")
    cfg = fam.Config()
    torch.manual_seed(0)
    gen = fam.build(cfg)["generator"]
    return save_weights(path, gen.state_dict(), {"family": fam.name, "config": config_to_dict(cfg)})

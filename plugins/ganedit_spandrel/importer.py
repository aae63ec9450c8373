"""``ganedit import MODEL.pth OUT.safetensors --to spandrel``: detect the architecture with
spandrel (from the state dict ganedit read safely) and record what it found in the card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganedit.importing import ImportRefused, Mapped, SourceState
from ganedit_spandrel.family import load_descriptor

__all__ = ["import_spandrel"]


def _generator_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A Lightning inpainting checkpoint (LaMa's ``best.ckpt``) also holds discriminators and
    loss networks: keep the generator's tensors."""
    if any(k.startswith("generator.") for k in state) and any(
        not k.startswith("generator.") for k in state
    ):
        return {k: v for k, v in state.items() if k.startswith("generator.")}
    return state


def import_spandrel(sources: Sequence[SourceState], settings: dict[str, str]) -> Mapped:
    """One spandrel-supported checkpoint -> ``spandrel`` or ``spandrel-inpaint`` weights."""
    if len(sources) != 1:
        raise ImportRefused("spandrel imports one file")
    src = sources[0]
    desc, non_commercial = load_descriptor(_generator_keys(src.tensors))
    if desc.input_channels not in (1, 3) or desc.output_channels not in (1, 3):
        raise ImportRefused(
            f"{src.path}: {desc.architecture.id} takes {desc.input_channels} and gives "
            f"{desc.output_channels} channels; ganedit runs 1- and 3-channel models"
        )
    inpaint = desc.purpose == "Inpainting"
    tiling = "tiled" if desc.tiling.name == "SUPPORTED" else "untiled"
    config: dict[str, Any] = {
        "architecture": str(desc.architecture.id),
        "scale": int(desc.scale),
        "in_channels": int(desc.input_channels),
        "out_channels": int(desc.output_channels),
        "size_multiple": int(desc.size_requirements.multiple_of),
        "tiling": tiling,
        "supports_half": bool(desc.supports_half),
        "supports_bfloat16": bool(desc.supports_bfloat16),
        "non_commercial": bool(non_commercial),
    }
    state = {k: v.detach().clone() for k, v in desc.model.state_dict().items()}
    tags = ", ".join(desc.tags)
    layout = (
        f"{desc.architecture.name} ({desc.purpose}, x{desc.scale}{', ' + tags if tags else ''})"
    )
    card = {
        "architecture": str(desc.architecture.id),
        "purpose": str(desc.purpose),
        "tags": list(desc.tags),
        "size_requirements": {
            "minimum": int(desc.size_requirements.minimum),
            "multiple_of": int(desc.size_requirements.multiple_of),
            "square": bool(desc.size_requirements.square),
        },
        "spandrel_tiling": desc.tiling.name,
    }
    family = "spandrel-inpaint" if inpaint else "spandrel"
    return Mapped({"generator": state}, config, layout, family, bool(non_commercial), card)

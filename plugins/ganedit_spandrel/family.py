"""The ``spandrel`` and ``spandrel-inpaint`` families: community architectures run by the
`spandrel <https://github.com/chaiNNer-org/spandrel>`_ library (optional extra
``ganedit[spandrel]``) through ganedit's folder runner (tiling, alpha, 16-bit, gray,
manifests, resume).

Weights are always a ganedit ``.safetensors`` file written by ``ganedit import MODEL.pth
OUT.safetensors --to spandrel``: spandrel only ever sees a state dict that ganedit read itself
(``ModelLoader().load_from_state_dict``), never a file, so its pickle loader is never used.
The card's Config records what spandrel detected: the architecture, scale, channels, size
multiple, tiling advice and half-precision support, so :meth:`io` answers without loading
anything. Loading re-detects the architecture and refuses a file whose architecture differs.

Mapping onto the contract:

* spandrel ``ImageModelDescriptor`` -> ``spandrel`` (Kind.IMAGE); ``MaskedImageModelDescriptor``
  (LaMa...) -> ``spandrel-inpaint`` (Kind.IMAGE_MASK, mask 1 = fill, as spandrel's).
* ``size_requirements.multiple_of`` -> ``IOSpec.size_multiple`` (the core pads, reflect);
  a minimum size or a square requirement is met by spandrel's own padding inside the call.
* ``ModelTiling.SUPPORTED`` -> ``Tiling.needs_context(overlap)`` (crossfaded tiles with
  ``overlap`` input pixels, default 32); ``DISCOURAGED`` / ``INTERNAL`` -> ``Tiling.UNTILED``.
* ``supports_half`` / ``supports_bfloat16``: under an fp16 / bf16 autocast that the
  architecture does not support, :meth:`predict` runs in fp32 instead.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

import ganedit
from ganedit.config import ConfigError, option

__all__ = [
    "EXTRA_HINT",
    "MissingExtraError",
    "Spandrel",
    "SpandrelConfig",
    "SpandrelInpaint",
    "SpandrelNet",
    "load_descriptor",
]

EXTRA_HINT = "spandrel models need the optional extra 'spandrel': pip install 'ganedit[spandrel]'"


class MissingExtraError(ConfigError):
    """The ``spandrel`` package is not installed (a usage error naming the extra)."""


_Keys = collections.namedtuple("_Keys", "missing_keys unexpected_keys")


@dataclass
class SpandrelConfig:
    """What ``ganedit import --to spandrel`` detected; set by the importer, not by hand."""

    architecture: str = option("", "spandrel architecture id (ESRGAN...).")
    scale: int = option(1, "Output size / input size.")
    in_channels: int = option(3, "Input channels (1 gray, 3 RGB).")
    out_channels: int = option(3, "Output channels.")
    size_multiple: int = option(1, "H and W are padded to a multiple.")
    tiling: Literal["tiled", "untiled"] = option("untiled", "tiled: spandrel says tiling is fine.")
    overlap: int = option(32, "Tile overlap in input pixels.")
    supports_half: bool = option(False, "The architecture runs in fp16.")
    supports_bfloat16: bool = option(False, "It runs in bf16.")
    non_commercial: bool = option(False, "The architecture's licence is non-commercial.")


def _spandrel() -> Any:
    try:
        import spandrel
    except ImportError:
        raise MissingExtraError(EXTRA_HINT) from None
    return spandrel


def _registry() -> tuple[Any, set[str]]:
    """spandrel's main registry plus ``spandrel-extra-arches`` when installed, and the ids
    of the extra (all non-commercial) architectures."""
    spandrel = _spandrel()
    reg = spandrel.MAIN_REGISTRY.copy()
    try:
        from spandrel_extra_arches import EXTRA_REGISTRY
    except ImportError:
        return reg, set()
    added = reg.add(*EXTRA_REGISTRY, ignore_duplicates=True)
    return reg, {str(a.architecture.id) for a in added}


def load_descriptor(state: Mapping[str, torch.Tensor]) -> tuple[Any, bool]:
    """``(spandrel descriptor, non_commercial)`` for a state dict (on the CPU).

    Raises:
        MissingExtraError: spandrel is not installed.
        ganedit.importing.ImportRefused: spandrel does not recognise the architecture, or
            the tensors do not fit it.
    """
    from ganedit.importing import ImportRefused

    spandrel = _spandrel()
    reg, extra = _registry()
    try:
        desc = spandrel.ModelLoader("cpu", registry=reg).load_from_state_dict(dict(state))
    except spandrel.UnsupportedModelError:
        raise ImportRefused(
            "spandrel does not recognise this architecture (spandrel "
            f"{spandrel.__version__} knows {len(reg)}: {', '.join(sorted(str(a.architecture.id) for a in reg)[:12])}...)"
        ) from None
    except (RuntimeError, KeyError, ValueError, AssertionError, IndexError) as exc:
        raise ImportRefused(
            f"spandrel could not build the model ({type(exc).__name__}: {exc})"
        ) from None
    arch = desc.architecture
    non_commercial = str(arch.id) in extra or type(arch).__module__.startswith(
        "spandrel_extra_arches"
    )
    return desc, non_commercial


class SpandrelNet(nn.Module):
    """A spandrel model behind the module interface ganedit loads weights into.

    Built empty; :meth:`load_state_dict` detects the architecture, builds it and loads the
    tensors (strictly, by spandrel). ``forward(image[, mask])``: ``(N, C, H, W)`` float in
    ``[0, 1]`` (mask ``(N, 1, H, W)``, 1 = fill) -> ``(N, C_out, H * scale, W * scale)`` in
    ``[0, 1]``.
    """

    def __init__(self, config: SpandrelConfig) -> None:
        super().__init__()
        _spandrel()  # the usage error comes here, before any file is read
        self.expected = str(config.architecture)
        self.descriptor: Any = None
        self.model: nn.Module | None = None

    def load_state_dict(  # type: ignore[override]
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        desc, _ = load_descriptor(state_dict)
        found = str(desc.architecture.id)
        if self.expected and found != self.expected:
            raise RuntimeError(f"the card says {self.expected}, the tensors are {found}")
        self.descriptor = desc
        self.model = desc.model
        return _Keys([], [])

    def state_dict(  # type: ignore[override]
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> Any:
        """The spandrel model's own state dict (the keys :meth:`load_state_dict` takes)."""
        if self.model is None:
            return {} if destination is None else destination
        return self.model.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)

    def forward(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the model (see the class docstring for shapes)."""
        if self.descriptor is None:
            raise RuntimeError(
                "spandrel models have no random initialisation: import weights with "
                "`ganedit import MODEL.pth OUT.safetensors --to spandrel`"
            )
        # the descriptor runs in inference mode; a clone is an ordinary tensor again
        if mask is None:
            return self.descriptor(image).clone()
        outs = [self.descriptor(image[i : i + 1], mask[i : i + 1]) for i in range(len(image))]
        return torch.cat(outs, 0).clone()


@contextlib.contextmanager
def _supported_precision(device: torch.device, config: SpandrelConfig) -> Iterator[None]:
    """Leave autocast on only for a half precision the architecture supports."""
    kind = device.type
    if torch.is_autocast_enabled(kind):
        dtype = torch.get_autocast_dtype(kind)
        ok = (dtype == torch.float16 and config.supports_half) or (
            dtype == torch.bfloat16 and config.supports_bfloat16
        )
        if not ok:
            with torch.autocast(kind, enabled=False):
                yield
            return
    yield


class Spandrel(ganedit.ModelFamily[SpandrelConfig]):
    """Image -> image models of spandrel (Real-ESRGAN, SwinIR, HAT, DAT, SPAN, Compact...)."""

    name = "spandrel"
    kind = ganedit.Kind.IMAGE
    Config = SpandrelConfig
    summary = (
        "Community super-resolution and restoration models (Real-ESRGAN, SwinIR, HAT, ...) "
        "through spandrel; ganedit import MODEL.pth OUT.safetensors --to spandrel."
    )

    def io(self, config: SpandrelConfig) -> ganedit.IOSpec:
        """Channels, scale and size multiple as detected; tiled (crossfaded, ``overlap``
        px) where spandrel says tiling is fine, else untiled."""
        tiling = (
            ganedit.Tiling.needs_context(int(config.overlap))
            if config.tiling == "tiled"
            else ganedit.Tiling.UNTILED
        )
        return ganedit.IOSpec(
            int(config.in_channels),
            int(config.out_channels),
            scale=int(config.scale),
            size_multiple=max(1, int(config.size_multiple)),
            tiling=tiling,
        )

    def build_generator(self, name: str, config: SpandrelConfig) -> nn.Module:
        """An empty :class:`SpandrelNet` (it is built when its weights are loaded)."""
        return SpandrelNet(config)

    def build(self, config: SpandrelConfig) -> dict[str, nn.Module]:
        """``{"generator": SpandrelNet}`` (inference only)."""
        return {"generator": self.build_generator("generator", config)}

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: SpandrelConfig
    ) -> torch.Tensor:
        """Run the model.

        Args:
            net: a loaded :class:`SpandrelNet`.
            inputs: ``{"image": (N, in_channels, H, W)}`` float32 in ``[0, 1]`` (plus
                ``"mask": (N, 1, H, W)``, 1 = fill, for ``spandrel-inpaint``).
            config: the Config.

        Returns:
            ``(N, out_channels, H * scale, W * scale)`` float in ``[0, 1]``.
        """
        image = inputs["image"]
        with _supported_precision(image.device, config):
            return net(image, inputs.get("mask"))


class SpandrelInpaint(Spandrel):
    """Inpainting models of spandrel (LaMa...): image + mask (1 = fill) -> image."""

    name = "spandrel-inpaint"
    kind = ganedit.Kind.IMAGE_MASK
    summary = (
        "Community inpainting models (LaMa, ...) through spandrel; "
        "ganedit import big-lama.ckpt OUT.safetensors --to spandrel --lenient."
    )

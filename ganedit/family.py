"""The model-family spec that every plugin subclasses.

A :class:`ModelFamily` is a *stateless* description of one kind of model: how to build its
networks from a config, how to train them for one step, and how to run the generator on a
batch. All state (devices, precision, optimiser state, files, tiling, batching) belongs to the
core (:mod:`ganedit.infer`) and the engine (:mod:`ganedit.engine`), never to a family.

Example (a complete, if useless, image family)::

    from dataclasses import dataclass, field
    import torch
    from torch import nn
    import ganedit

    @dataclass
    class IdentityConfig:
        channels: int = field(default=8, metadata={"help": "Hidden channels."})

    class Identity(ganedit.ModelFamily):
        name = "identity"
        kind = ganedit.Kind.IMAGE
        Config = IdentityConfig
        summary = "Returns its input through a 3x3 convolution."

        def build(self, config):
            return {"generator": nn.Conv2d(3, 3, 3, padding=1)}

        def predict(self, generator, x, mask=None):
            return generator(x).clamp(0, 1)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from ganedit.engine import Engine

__all__ = ["Kind", "ModelFamily"]


class Kind(str, enum.Enum):
    """What a family's generator consumes.

    * ``GENERATE``: a latent batch from :meth:`ModelFamily.latent`; produces images.
    * ``IMAGE``: an image batch; produces an image batch (same size times ``scale``).
    * ``IMAGE_MASK``: an image batch plus a mask batch (1 = fill); produces an image batch.
    """

    GENERATE = "generate"
    IMAGE = "image"
    IMAGE_MASK = "image_mask"


class ModelFamily:
    """Base class of every model family (built-in or third-party).

    Class attributes a subclass sets:

    * ``name``: ``[a-z0-9-]+``, unique across all installed plugins.
    * ``kind``: a :class:`Kind`.
    * ``Config``: a dataclass whose defaults are the paper's; each field carries
      ``metadata={"help": "..."}``. It becomes CLI options, ``--help`` and the weights card.
    * ``summary``: one line shown by ``ganedit plugins`` and ``--help``.
    * ``scale``: output size / input size for IMAGE families (default 1). A config field named
      ``scale`` overrides it (see :meth:`scale_for`).
    * ``size_multiple``: the generator needs H and W to be multiples of this; the core pads
      (reflect) and crops, a family never does.
    * ``channels``: colour channels the generator works in (3 = RGB, 1 = gray).

    Methods a subclass implements: :meth:`build` and :meth:`predict` always; :meth:`latent` for
    GENERATE; :meth:`optimizers`, :meth:`dataset` and :meth:`training_step` to be trainable;
    :meth:`default_weights` to ship weights; :meth:`evaluate` for ``ganedit eval``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[Kind] = Kind.IMAGE
    Config: ClassVar[type] = object
    summary: ClassVar[str] = ""
    scale: ClassVar[int] = 1
    size_multiple: ClassVar[int] = 1
    channels: ClassVar[int] = 3

    # ----------------------------------------------------------------- networks and inference
    def build(self, config: Any) -> dict[str, nn.Module]:
        """Build the networks. ``"generator"`` is required; others (``"discriminator"``, ...)
        are only needed for training and may be skipped when ``training`` is false."""
        raise NotImplementedError

    def predict(
        self, generator: nn.Module, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Run the generator on one batch.

        Args:
            generator: the module ``build(config)["generator"]`` returned, on its device.
            x: IMAGE / IMAGE_MASK: ``(N, C, H, W)`` float in ``[0, 1]``, H and W multiples of
                ``size_multiple``. GENERATE: the latent batch :meth:`latent` returned.
            mask: IMAGE_MASK only: ``(N, 1, H, W)`` float, 1 = pixel to fill, 0 = keep.

        Returns:
            ``(N, C, H * s, W * s)`` float in ``[0, 1]`` where ``s = scale_for(config)``.
        """
        raise NotImplementedError

    def latent(self, n: int, config: Any, generator: torch.Generator) -> torch.Tensor:
        """GENERATE only: ``n`` latents drawn with ``generator`` (a CPU ``torch.Generator``),
        float32 on the CPU; the core moves them to the device."""
        raise NotImplementedError(f"{self.name} is not a GENERATE family")

    def scale_for(self, config: Any) -> int:
        """Output size / input size for ``config`` (``config.scale`` if it has one)."""
        return int(getattr(config, "scale", self.scale))

    def output_size(self, config: Any) -> tuple[int, int] | None:
        """GENERATE only: ``(H, W)`` of the images :meth:`predict` returns."""
        size = getattr(config, "image_size", None)
        return (int(size), int(size)) if size is not None else None

    def default_weights(self, config: Any) -> str | None:
        """The bundled weights for ``config`` as ``"package:relative/path.safetensors"``
        (read with :mod:`importlib.resources`), or ``None`` when none ship."""
        return None

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: Any
    ) -> dict[str, torch.optim.Optimizer]:
        """One optimiser per trained network, keyed like ``nets``."""
        raise NotImplementedError(f"{self.name} cannot be trained")

    def dataset(self, paths: Sequence[Path], config: Any) -> Any:
        """A dataset from :mod:`ganedit.io.datasets` built on ``paths`` (training data)."""
        raise NotImplementedError(f"{self.name} cannot be trained")

    def training_step(
        self,
        nets: Mapping[str, nn.Module],
        opts: Mapping[str, torch.optim.Optimizer],
        batch: Any,
        engine: Engine,
    ) -> dict[str, torch.Tensor]:
        """One discriminator + generator update through ``engine.backward`` / ``engine.step``.

        Returns the scalar losses (detached or not) by name, e.g. ``{"d": ..., "g": ...}``.
        """
        raise NotImplementedError(f"{self.name} cannot be trained")

    def validation_inputs(self, batch: Any) -> Any:
        """Fixed inputs for the sample grid, taken from a first training/validation batch.
        IMAGE families return an ``(N, C, H, W)`` tensor; GENERATE families ignore it."""
        return batch

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(self, editor: Any, data: Sequence[Path], options: Mapping[str, Any]) -> dict:
        """``ganedit eval``: return ``{"rows": [dict, ...], "summary": {name: float}}``."""
        raise NotImplementedError(f"{self.name} has no evaluation")

    # ------------------------------------------------------------------------------- helpers
    @classmethod
    def is_trainable(cls) -> bool:
        """True when the subclass implements the training methods."""
        return cls.training_step is not ModelFamily.training_step

    @classmethod
    def is_evaluable(cls) -> bool:
        """True when the subclass implements :meth:`evaluate`."""
        return cls.evaluate is not ModelFamily.evaluate

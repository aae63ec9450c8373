"""The model-family contract (v2): what every plugin implements, and nothing else.

A :class:`ModelFamily` is a *stateless* spec of one kind of model: which networks it builds
from a config, which of them are generators, what images go in and out (:class:`IOSpec`), how
one training step updates them, and which data roles it trains on. All state (devices,
precision, optimiser state, checkpoints, files, tiling, batching, layouts) belongs to the
core (:mod:`ganedit.infer`) and the engine (:mod:`ganedit.engine`). Every method receives the
config it needs; nothing reads a config from the engine.

The shapes a family can take (see :mod:`ganedit.testing.families` for a tiny one of each):

* GENERATE (DCGAN): ``latent`` -> image; ``sample`` in the CLI and the editor.
* IMAGE (SRGAN x2/x4, pix2pix gray -> colour, CycleGAN with two generators): image -> image.
* IMAGE_MASK (inpainting): image + mask (1 = fill) -> image.

Example (a complete, trainable gray -> colour family)::

    from dataclasses import dataclass
    import torch
    from torch import nn
    import ganedit
    from ganedit.config import option
    from ganedit.nn import adam

    @dataclass
    class ColorizeConfig:
        width: int = option(16, "Hidden channels.")
        lr: float = option(2e-4, "Adam rate.", train_only=True)
        batch_size: int = option(8, "Batch.", train_only=True)

    class Colorize(ganedit.ModelFamily):
        name = "colorize"
        kind = ganedit.Kind.IMAGE
        Config = ColorizeConfig
        summary = "Gray to colour with a 3-layer convnet."
        data_roles = ("a", "b")                       # --data a=GRAY/ --data b=COLOUR/

        def io(self, config):
            return ganedit.IOSpec(in_channels=1, out_channels=3,
                                  tiling=ganedit.Tiling.supported(radius=3))

        def build(self, config):
            w = config.width
            return {"generator": nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.ReLU(),
                                               nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
                                               nn.Conv2d(w, 3, 3, padding=1))}

        def predict(self, net, inputs, config):
            return net(inputs["image"]).sigmoid()

        def optimizers(self, nets, config):
            return {"g": adam(nets["generator"].parameters(), config.lr)}

        def dataset(self, data, config):               # both sides load as RGB
            return ganedit.data.paired_folders(data["a"], data["b"], channels=3)

        def training_step(self, step, batch):
            x, y = batch["input"].mean(1, keepdim=True), batch["target"]   # gray input
            step.opts["g"].zero_grad(set_to_none=True)
            with step.engine.autocast():
                loss = (self.predict(step.nets["generator"], {"image": x}, step.config)
                        - y).abs().mean()
            step.engine.backward(loss)
            step.engine.step(step.opts["g"])
            return {"l1": loss.detach()}

        def validation_inputs(self, batch, config):
            return {"image": batch["input"].mean(1, keepdim=True), "target": batch["target"]}
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypedDict, TypeVar

import torch
from torch import nn

if TYPE_CHECKING:
    from ganedit.data import TrainData
    from ganedit.infer.editor import Editor

__all__ = [
    "EvalResult",
    "IOSpec",
    "Kind",
    "ModelFamily",
    "Step",
    "Tiling",
    "TilingMode",
    "TrainingEngine",
]

C = TypeVar("C")


class Kind(str, enum.Enum):
    """What a family's generator consumes.

    * ``GENERATE``: ``{"latent": ...}`` from :meth:`ModelFamily.latent`; produces images.
    * ``IMAGE``: ``{"image": (N, C_in, H, W)}``; produces ``(N, C_out, H * s, W * s)``.
    * ``IMAGE_MASK``: ``{"image", "mask": (N, 1, H, W)}`` (1 = fill); produces an image.
    """

    GENERATE = "generate"
    IMAGE = "image"
    IMAGE_MASK = "image_mask"


class TilingMode(str, enum.Enum):
    """How the core may cut a large input into tiles (see :class:`Tiling`)."""

    SUPPORTED = "supported"
    NEEDS_CONTEXT = "needs_context"
    UNTILED = "untiled"


@dataclass(frozen=True)
class Tiling:
    """A family's tiling policy: what the core may do with an input too large to run whole.

    * ``Tiling.supported(radius)``: fully convolutional with a receptive radius of ``radius``
      input pixels. Blended tiles equal the untiled result (within 1e-4) when neighbouring
      tiles overlap by at least ``4 * radius`` pixels (the blend ignores the outer quarter of
      each overlap), so the core never uses less overlap than that.
    * ``Tiling.needs_context(px)``: tiles work but are not exact (a receptive field too large
      to cover, or batch statistics): the core overlaps them by at least ``px`` pixels and
      crossfades the seams.
    * ``Tiling.UNTILED``: image-wide statistics or receptive field (instance norm, Fourier
      convolutions): the core runs the image whole and, when it does not fit, says so and
      falls back to the family's documented strategy (never tiles silently).

    Attributes:
        mode: a :class:`TilingMode`.
        min_overlap: the least overlap between neighbouring tiles, in input pixels.
    """

    mode: TilingMode = TilingMode.SUPPORTED
    min_overlap: int = 0

    UNTILED: ClassVar[Tiling]

    @classmethod
    def supported(cls, radius: int = 0) -> Tiling:
        """Exact tiling for a receptive radius of ``radius`` input pixels."""
        return cls(TilingMode.SUPPORTED, 4 * max(0, int(radius)))

    @classmethod
    def needs_context(cls, px: int) -> Tiling:
        """Approximate (crossfaded) tiling with at least ``px`` pixels of overlap."""
        return cls(TilingMode.NEEDS_CONTEXT, max(0, int(px)))

    @property
    def tileable(self) -> bool:
        """False for :attr:`UNTILED`."""
        return self.mode is not TilingMode.UNTILED

    def describe(self) -> str:
        """One line for ``ganedit models`` and error messages."""
        if self.mode is TilingMode.UNTILED:
            return "untiled"
        return f"{self.mode.value} (overlap >= {self.min_overlap} px)"


Tiling.UNTILED = Tiling(TilingMode.UNTILED, 0)


@dataclass(frozen=True)
class IOSpec:
    """What a family's generator consumes and produces, for one config.

    Attributes:
        in_channels: colour channels of ``inputs["image"]`` (1 = gray, 3 = RGB); 0 for a
            GENERATE family. Alpha is never given to the model; the core carries it beside.
        out_channels: colour channels of the output.
        scale: output size / input size (IMAGE kinds; 1 for GENERATE).
        size_multiple: the generator needs H and W to be multiples of this; the core pads
            (reflect) and crops back, a family never does.
        tiling: the :class:`Tiling` policy.
        image_size: GENERATE only: ``(H, W)`` of the generated images.
    """

    in_channels: int = 3
    out_channels: int = 3
    scale: int = 1
    size_multiple: int = 1
    tiling: Tiling = field(default_factory=Tiling.supported)
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name in ("out_channels", "scale", "size_multiple"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"IOSpec.{name} must be an int >= 1, got {value!r}")
        if not isinstance(self.in_channels, int) or self.in_channels < 0:
            raise ValueError(f"IOSpec.in_channels must be an int >= 0, got {self.in_channels!r}")


class TrainingEngine(Protocol):
    """The verbs of the engine a family may use in :meth:`ModelFamily.training_step`
    (``step.engine``): :class:`ganedit.engine.Engine` provides them; a family needs nothing
    else of it (the engine owns devices, precision, checkpoints and the loop).

    Attributes:
        device: where the networks and the batches live.
        should_stop: set it to end training after this step (with a checkpoint); a field of
            the current run's state (:class:`ganedit.engine.run_state.RunState`), which
            :func:`ganedit.engine.fit` starts afresh for every run.
    """

    device: torch.device
    should_stop: bool

    def autocast(self) -> AbstractContextManager[Any]:
        """The forward passes' precision context (``with step.engine.autocast(): ...``)."""
        ...

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate a scalar ``loss`` (float32 or autocast dtype), scaled if needed."""
        ...

    def step(self, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        """Apply ``optimizer``'s step unless a gradient is not finite; returns a bool tensor
        (on the device, no host sync): True when the step was applied."""
        ...

    def next_batch(self) -> dict[str, torch.Tensor]:
        """One more training batch (for a step that needs two, e.g. a critic update)."""
        ...

    def batches(self, first: dict[str, torch.Tensor], n: int) -> Iterator[dict[str, torch.Tensor]]:
        """``first``, then ``n - 1`` more training batches (``n`` critic steps per step)."""
        ...


class EvalResult(TypedDict):
    """What :meth:`ModelFamily.evaluate` returns (``ganedit eval`` prints and saves it).

    Attributes:
        rows: one dict per measured item (an image, a mask kind, a direction): column name
            -> number or string.
        summary: name -> number (or a path, e.g. a sample sheet): the figures a card or a
            bar quotes.
    """

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


@dataclass
class Step(Generic[C]):
    """Everything :meth:`ModelFamily.training_step` may use, handed over by the engine.

    Attributes:
        nets: the networks :meth:`ModelFamily.build` returned, on the device, in train mode
            (wrapped for DDP/compile where enabled; call them as usual).
        opts: the optimisers :meth:`ModelFamily.optimizers` returned (same keys as there).
        config: the family's Config instance.
        engine: the engine's verbs (:class:`TrainingEngine`): ``autocast()``,
            ``backward(loss)``, ``step(opt)``, ``next_batch()``, ``batches(first, n)``,
            ``device``.
        state: the family's training state (:meth:`ModelFamily.training_state`), a dict of
            tensors the family may update or replace entries of; saved with every checkpoint
            and restored on resume.
        index: the number of steps done before this one (0-based).
    """

    nets: Mapping[str, nn.Module]
    opts: Mapping[str, torch.optim.Optimizer]
    config: C
    engine: TrainingEngine
    state: dict[str, torch.Tensor]
    index: int = 0


class ModelFamily(Generic[C]):
    """Base class of every model family (built-in or third-party).

    Class attributes a subclass sets:

    * ``name``: ``[a-z0-9-]+``, unique across all installed plugins.
    * ``kind``: a :class:`Kind`.
    * ``Config``: a dataclass whose defaults are the paper's; each field carries
      ``metadata={"help": "..."}`` (:func:`ganedit.config.option` writes it), with
      ``"train_only": True`` for training options (``ganedit train`` only) and
      ``"eval_only": True`` for settings of :meth:`evaluate` (``ganedit eval`` only, never
      both). It becomes CLI options, ``--help`` and the weights card. Field types: ``int``,
      ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None`` of those,
      ``tuple[X, ...]`` / ``tuple[X, X]`` / ``list[X]`` of those (checked when the family
      registers).
    * ``summary``: one line shown by ``ganedit models`` and ``--help``.
    * ``generators``: the networks of :meth:`build` that are generators: exported, EMA'd and
      loadable; :meth:`generator_for` picks the one to run (default ``("generator",)``).
    * ``data_roles``: the training-data roles :meth:`dataset` accepts (``--data ROLE=DIR``);
      a plain ``--data DIR`` is role ``"data"`` (default ``("data",)``).

    Methods: :meth:`io`, :meth:`build`, :meth:`predict` always; :meth:`latent` for GENERATE;
    :meth:`optimizers`, :meth:`dataset`, :meth:`training_step` to be trainable, with
    :meth:`training_state`, :meth:`validation_inputs` and :meth:`sample_columns` as needed;
    :meth:`default_weights` to ship weights; :meth:`evaluate` for ``ganedit eval``;
    :meth:`example_data` for the conformance kit.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[Kind] = Kind.IMAGE
    Config: ClassVar[type] = object
    summary: ClassVar[str] = ""
    generators: ClassVar[tuple[str, ...]] = ("generator",)
    data_roles: ClassVar[tuple[str, ...]] = ("data",)

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: C) -> IOSpec:
        """The :class:`IOSpec` for ``config`` (default: RGB -> RGB, scale 1, exact tiling
        with radius 0, i.e. a per-pixel model)."""
        return IOSpec()

    def build(self, config: C) -> dict[str, nn.Module]:
        """Build every network for ``config``: each name in :attr:`generators`, plus what
        training needs (discriminators...)."""
        raise NotImplementedError

    def build_generator(self, name: str, config: C) -> nn.Module:
        """Only the generator ``name`` (inference). Default: ``build(config)[name]``; override
        to skip building discriminators."""
        nets = self.build(config)
        if name not in nets:
            raise KeyError(f"{self.name}: build() returned no network {name!r}")
        return nets[name]

    def inference_net(self, net: nn.Module, config: C) -> nn.Module:
        """An inference-only equivalent of the generator ``net``, weights already loaded.

        :func:`ganedit.load` runs the returned module instead of ``net``: it must compute the
        same function up to float rounding (a fused or re-arranged form that is faster), and
        is never trained or saved (weights files keep the training layout). Default: ``net``
        itself.
        """
        return net

    def generator_for(self, config: C) -> str:
        """The generator that ``run``/``load``/``sample`` use for ``config`` (e.g. from a
        ``direction`` field). Default: the first of :attr:`generators`."""
        return self.generators[0]

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: C
    ) -> torch.Tensor:
        """Run a generator on one batch.

        Args:
            net: the generator :meth:`generator_for` named, on its device, in eval mode for
                inference (train mode when called from :meth:`training_step`).
            inputs: IMAGE: ``{"image": (N, C_in, H, W)}``; IMAGE_MASK: also ``{"mask":
                (N, 1, H, W)}`` with 1 = fill; float32 in ``[0, 1]``, H and W multiples of
                ``io(config).size_multiple``. GENERATE: ``{"latent": latent(...)}``.
            config: the Config.

        Returns:
            ``(N, C_out, H * scale, W * scale)`` (GENERATE: ``(N, C_out, *image_size)``)
            float in ``[0, 1]``.
        """
        raise NotImplementedError

    def latent(self, n: int, config: C, generator: torch.Generator) -> torch.Tensor:
        """GENERATE only: ``n`` latents drawn with ``generator`` (a CPU ``torch.Generator``),
        float32 on the CPU; the core moves them to the device."""
        raise NotImplementedError(f"{self.name} is not a GENERATE family")

    def default_weights(self, config: C) -> str | None:
        """The bundled weights for ``config`` as ``"package:relative/path.safetensors"``
        (read with :mod:`importlib.resources`), or ``None`` when none ship."""
        return None

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: C
    ) -> dict[str, torch.optim.Optimizer]:
        """The optimisers (keys are free, e.g. ``"g"`` and ``"d"``)."""
        raise NotImplementedError(f"{self.name} cannot be trained")

    def dataset(self, data: Mapping[str, Sequence[Path]], config: C) -> TrainData:
        """A :class:`ganedit.data.TrainData` from ``data`` (role -> paths; roles from
        :attr:`data_roles`). Raise :class:`ganedit.data.DatasetError` for a wrong set of
        roles, naming the roles expected."""
        raise NotImplementedError(f"{self.name} cannot be trained")

    def training_state(self, config: C) -> dict[str, torch.Tensor]:
        """Initial per-run state that is not a network (e.g. an image pool): checkpointed
        with every step's state and restored on resume, so resume is exact. Default: none."""
        return {}

    def training_step(
        self, step: Step[C], batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One update of every network through ``step.engine.backward`` / ``.step``.

        Args:
            step: the :class:`Step` (nets, opts, config, engine, state).
            batch: the dataset's batch (see :mod:`ganedit.data`): image fields
                ``(N, C, H, W)`` float32 in ``[0, 1]`` on the device.

        Returns:
            Scalar losses by name (detached or not), e.g. ``{"d": ..., "g": ...}``.
        """
        raise NotImplementedError(f"{self.name} cannot be trained")

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: C
    ) -> dict[str, torch.Tensor]:
        """Fixed sample-grid inputs from a first (validation or training) batch: the
        ``inputs`` of :meth:`predict`, plus optional extra image fields (``"target"``) shown
        in the grid. Default: ``{"image": batch["image"]}`` (and ``"mask"`` for IMAGE_MASK).
        GENERATE families get latents from the engine and this is not called."""
        out = {"image": batch["image"]}
        if self.kind is Kind.IMAGE_MASK:
            out["mask"] = batch["mask"]
        return out

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: C
    ) -> list[torch.Tensor]:
        """The columns of a training sample grid, each ``(N, C, H, W)`` float in ``[0, 1]``
        (any C in 1, 3; any H, W: the grid scales them to one height). Default: the input,
        the output of :meth:`generator_for`'s network, then any extra fields of ``inputs``
        (e.g. ``"target"``). ``nets`` are the EMA generators where EMA is on, in eval mode."""
        net = nets[self.generator_for(config)]
        given = {k: v for k, v in inputs.items() if k in ("image", "mask")}
        cols = [inputs["image"], self.predict(net, given, config)]
        cols += [v for k, v in inputs.items() if k not in ("image", "mask")]
        return cols

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> EvalResult:
        """``ganedit eval``: return ``{"rows": [dict, ...], "summary": {name: float}}``.

        Args:
            editor: the loaded model (what :func:`ganedit.load` returns). The eval settings
                arrive in ``editor.config``: ``ganedit eval``'s ``--FIELD`` options (the
                ``eval_only`` fields among them) are applied there.
            data: ``{role: [paths]}`` from ``--data``; it may be empty. Then use your own
                default data, or call ``ganedit.data.role(data, name)``, whose
                :class:`~ganedit.data.DatasetError` ``ganedit eval`` reports as "--data is
                required".
            options: ``{"n": int | None, "seed": int, "sheets": Path | None}`` from
                ``--n``, ``--seed`` and ``--sheets``.
        """
        raise NotImplementedError(f"{self.name} has no evaluation")

    def example_data(self, folder: Path, config: C) -> dict[str, list[Path]]:
        """Write a few tiny training files under ``folder`` and return them by role (for the
        conformance kit and smoke tests). Default: none (the kit skips training checks)."""
        raise NotImplementedError(f"{self.name} has no example data")

    # ------------------------------------------------------------------------------- helpers
    @classmethod
    def is_trainable(cls) -> bool:
        """True when the subclass implements the training methods."""
        return cls.training_step is not ModelFamily.training_step

    @classmethod
    def is_evaluable(cls) -> bool:
        """True when the subclass implements :meth:`evaluate`."""
        return cls.evaluate is not ModelFamily.evaluate

    @classmethod
    def has_example_data(cls) -> bool:
        """True when the subclass implements :meth:`example_data`."""
        return cls.example_data is not ModelFamily.example_data

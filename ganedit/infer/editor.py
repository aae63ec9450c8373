"""What :func:`ganedit.load` returns: a ready-to-use model with numpy or tensor in and out.

Example::

    import ganedit
    up = ganedit.load("srgan")                    # bundled weights, bf16 on a capable GPU
    img = ganedit.read_image("cat.png")           # HxWxC uint8/uint16, RGB(A)
    big = up(img)                                 # same dtype and channels, scale x larger
    fixed = ganedit.load("inpaint")(img, mask=ganedit.read_mask("hole.png"))
    items = ganedit.load("dcgan").sample(16)      # (16, H, W, C) uint8

The editor runs one generator of a family (:meth:`~ganedit.ModelFamily.generator_for`) and
owns everything around its ``predict``: device, precision, padding to the size multiple,
tiling (the policy of :mod:`ganedit.infer.plan`), batching, CUDA out-of-memory back-off,
self-ensemble, output rescaling and image layouts (:mod:`ganedit.infer.layouts`). What a
family consumes and produces comes from its :meth:`~ganedit.ModelFamily.io`.

Masks follow the one project convention (:mod:`ganedit.io.masks`): a numpy mask is "fill"
where it is bright (bool as is; uint8/uint16 any colour channel above half range; float
> 0.5); an RGBA image given to an IMAGE_MASK family without a mask is filled where it is
transparent (alpha == 0), and the result is then opaque.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganedit.devices import PrecisionChoice, autocast_for
from ganedit.family import IOSpec, Kind, ModelFamily
from ganedit.infer import layouts
from ganedit.infer.assemble import edit_tiled
from ganedit.infer.autotune import FormatChoice, editor_settings, to_format
from ganedit.infer.ensemble import self_ensemble
from ganedit.infer.inputs import (
    check_output_size,
    model_input,
    numpy_mask,
    numpy_pixels,
    tensor_mask,
)
from ganedit.infer.options import (
    check_memory_format,
    check_outscale,
    check_tile,
    check_views,
    validate_option,
)
from ganedit.infer.plan import OOMBackoff, TilePlan, pixel_budget, plan_call, plan_tiling
from ganedit.infer.tiling import tiled_forward

__all__ = ["Editor", "NonFiniteOutputError", "tensor_mask"]


class NonFiniteOutputError(ValueError):
    """The model's output holds NaN or Inf (damaged weights or an unstable model): that
    image fails instead of being written black."""


#: Latents per generator call in :meth:`Editor.generate` when no batch size is set.
GENERATE_BATCH = 64


class Editor:
    """A family's generator on a device, with everything needed to run it on real images.

    Attributes:
        family: the :class:`~ganedit.ModelFamily`.
        config: the resolved Config (card config overridden by options).
        io: ``family.io(config)``: channels, scale, size multiple, tiling policy.
        generator: the generator module, in eval mode, on ``device``.
        generator_name: its name in ``family.generators``.
        card: the weights card (``{"weights": "random", ...}`` for a random init).
        device, precision: where and how it runs (:class:`~ganedit.devices.PrecisionChoice`).
        weights_path, weights_sha256: the weights file and its hash (``None`` for random).
        tile, tile_overlap, batch_size, outscale, self_ensemble, memory_format: runtime
            settings (see :class:`~ganedit.infer.options.RunOptions`); setting one validates
            it (``memory_format`` ``"auto"`` measures, or recalls, the faster layout).
        precisions: the precision candidates ``memory_format``'s measurement chose
            :attr:`precision` from (:func:`ganedit.devices.precision_candidates`).
        memory: the :class:`~ganedit.measured.FormatChoice` the generator runs in.
        tiling: the :class:`~ganedit.infer.plan.TilePlan` the tile settings became.
    """

    def __init__(
        self,
        family: ModelFamily,
        config: Any,
        generator: torch.nn.Module,
        *,
        device: torch.device,
        precision: PrecisionChoice,
        generator_name: str | None = None,
        card: dict[str, Any] | None = None,
        weights_path: Path | None = None,
        weights_sha256: str | None = None,
        tile: int | str | None = None,
        tile_overlap: int = 32,
        batch_size: int | None = None,
        outscale: float | None = None,
        self_ensemble: int | None = 1,
        memory_format: str = "auto",
        precisions: Sequence[PrecisionChoice] | None = None,
    ) -> None:
        self.family = family
        self.config = config
        self.io: IOSpec = family.io(config)
        self.generator = generator
        self.generator_name = generator_name or family.generator_for(config)
        self.device = device
        self.precision = precision
        self.precisions = tuple(precisions or (precision,))
        self.card = dict(card or {})
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self._tile, self._tile_overlap = check_tile(tile), int(tile_overlap)
        self.tiling: TilePlan = self._plan_tiling()
        self._backoff = OOMBackoff(self.tiling, family.name)
        self._reported: set[str] = set()
        self._batch_size: int | None = None
        self.batch_size = batch_size
        self._outscale: float | None = None
        self.outscale = outscale
        self._self_ensemble = 1
        self.self_ensemble = self_ensemble  # type: ignore[assignment]
        self.memory: FormatChoice = FormatChoice("contiguous", "requested")
        self.memory_format = memory_format

    # ------------------------------------------------------------------------------ settings
    def _plan_tiling(self) -> TilePlan:
        if self.family.kind is Kind.GENERATE:
            return TilePlan(0, 0, tileable=False)
        return plan_tiling(self._tile, self._tile_overlap, self.io, self.family.name)

    def _replan(self) -> None:
        self.tiling = self._plan_tiling()
        self._backoff.tiling = self.tiling

    @property
    def tile(self) -> int | None:
        """The requested tile: ``None`` = automatic, 0 = never, else input pixels."""
        return self._tile

    @tile.setter
    def tile(self, value: int | str | None) -> None:
        self._tile = check_tile(value)
        self._replan()

    @property
    def tile_overlap(self) -> int:
        """The requested overlap between tiles (input pixels)."""
        return self._tile_overlap

    @tile_overlap.setter
    def tile_overlap(self, value: int) -> None:
        self._tile_overlap = int(value)
        self._replan()

    @property
    def batch_size(self) -> int | None:
        """Images (or tiles) per model call; ``None`` = chosen from the device memory."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int | None) -> None:
        self._batch_size = validate_option("batch_size", value)

    @property
    def self_ensemble(self) -> int:
        """Views averaged per model call: 1 (off), 2, 4 or 8."""
        return self._self_ensemble

    @self_ensemble.setter
    def self_ensemble(self, value: int | None) -> None:
        n = 1 if value is None else check_views(value)
        if n > 1 and self.family.kind == Kind.GENERATE:
            raise ValueError(
                f"self_ensemble averages views of an input image; {self.family.name} "
                "generates images"
            )
        self._self_ensemble = n

    @property
    def memory_format(self) -> str:
        """The requested layout: ``"auto"``, ``"channels_last"`` or ``"contiguous"`` (what
        runs is :attr:`memory`). Setting it measures (or recalls) the layout and, with
        several :attr:`precisions`, the precision in the same probe
        (:mod:`ganedit.infer.autotune`)."""
        return self._memory_format

    @memory_format.setter
    def memory_format(self, value: str) -> None:
        self._memory_format = check_memory_format(value)
        self.memory, self.precision = editor_settings(self)

    @property
    def outscale(self) -> float | None:
        """Final output size / input size (``None``: the model's ``scale``)."""
        return self._outscale

    @outscale.setter
    def outscale(self, value: float | None) -> None:
        v = check_outscale(value)
        if v is not None and self.family.kind == Kind.GENERATE:
            raise ValueError(f"outscale resizes edited images; {self.family.name} generates images")
        self._outscale = v

    @property
    def scale(self) -> int:
        """The model's output size / input size (1 for GENERATE)."""
        return 1 if self.family.kind is Kind.GENERATE else self.io.scale

    @property
    def in_channels(self) -> int:
        """Colour channels the model takes (1 or 3; 0 for GENERATE)."""
        return self.io.in_channels

    @property
    def out_channels(self) -> int:
        """Colour channels the model gives (1 or 3)."""
        return self.io.out_channels

    @property
    def notes(self) -> tuple[str, ...]:
        """What the tiling policy changed in the requested settings, and why."""
        return self.tiling.notes

    def pending_notes(self) -> list[str]:
        """The :attr:`notes` not reported yet; they count as reported from now on (the
        runner reports them once; the editor warns about the rest on its first call)."""
        new = [n for n in self.notes if n not in self._reported]
        self._reported.update(new)
        return new

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` of the result for an input of ``height`` x ``width``:
        ``round(size * outscale)`` when ``outscale`` is set, else ``size * scale``."""
        if self._outscale is None:
            return height * self.scale, width * self.scale
        return max(1, round(height * self._outscale)), max(1, round(width * self._outscale))

    def __repr__(self) -> str:
        w = self.weights_path.name if self.weights_path else "random"
        out = "" if self._outscale is None else f", outscale={self._outscale:g}"
        if self._self_ensemble > 1:
            out += f", self_ensemble={self._self_ensemble}"
        gen = "" if len(self.family.generators) == 1 else f", generator={self.generator_name!r}"
        return (
            f"Editor({self.family.name!r}{gen}, weights={w}, device={self.device}, "
            f"precision={self.precision.name}, scale={self.scale}{out})"
        )

    # ------------------------------------------------------------------------------ planning
    def pixel_budget(self) -> int:
        """Output pixels one generator call may produce (over the whole batch)."""
        return pixel_budget(self.device, self.precision.dtype)

    def plan(self, height: int, width: int) -> tuple[int | None, int]:
        """``(tile, batch)`` for images of ``height`` x ``width``: ``tile`` is ``None`` when
        the whole image runs at once; ``batch`` images (or tiles) go through one call."""
        return plan_call(
            height,
            width,
            tiling=self.tiling,
            scale=self.scale,
            budget=self.pixel_budget(),
            batch_size=self.batch_size,
            oom_tile=self._backoff.tile,
        )

    # ------------------------------------------------------------------------------- running
    def _predict_once(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """One ``family.predict`` call on the inputs dict (as ``model_input`` makes it):
        ``"image"`` ``(B, C_in, h, w)`` float32 in [0, 1] on the device (plus ``"mask"``
        ``(B, 1, h, w)``, 1.0 = fill), h and w multiples of ``size_multiple`` ->
        ``(B, C_out, h * s, w * s)`` float32 clamped to ``[0, 1]``."""
        x = inputs["image"]
        inputs = {k: to_format(v, self.memory.channels_last) for k, v in inputs.items()}
        with torch.no_grad(), autocast_for(self.device, self.precision):
            y = self.family.predict(self.generator, inputs, self.config)
        h, w = x.shape[-2:]
        want = (x.shape[0], self.out_channels, h * self.scale, w * self.scale)
        if tuple(y.shape) != want:
            raise ValueError(
                f"{self.family.name}.predict returned shape {tuple(y.shape)} for an input of "
                f"{tuple(inputs['image'].shape)}; its io() promises {want}"
            )
        y = y.float()
        if not bool(torch.isfinite(y).all()):
            raise NonFiniteOutputError(
                f"{self.family.name}'s output is not finite (NaN or Inf) for this image; the "
                "weights or the model are broken, so nothing was written"
            )
        return y.clamp_(0, 1)

    def _predict(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """:meth:`_predict_once`, averaged over the self-ensemble's views when asked."""
        if self._self_ensemble > 1:
            return self_ensemble(self._predict_once, inputs, self._self_ensemble).clamp_(0, 1)
        return self._predict_once(inputs)

    def _attempt(
        self, inputs: Mapping[str, torch.Tensor], tile: int | None, batch: int
    ) -> torch.Tensor:
        """The whole batch (the inputs dict): ``batch`` images per call, whole (padded and
        cropped back), or one image at a time in tiles with ``batch`` tiles per call."""
        step, per_call = (batch, 1) if tile is None else (1, batch)
        outs = [
            tiled_forward(
                self._predict,
                {k: v[i : i + step] for k, v in inputs.items()},
                scale=self.scale,
                tile=tile,
                overlap=self.tiling.overlap,
                multiple=self.io.size_multiple,
                tiles_per_batch=per_call,
            )
            for i in range(0, inputs["image"].shape[0], step)
        ]
        return outs[0] if len(outs) == 1 else torch.cat(outs, 0)

    def _rescale(self, y: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Resize the model's ``(N, C, h * scale, w * scale)`` result to :meth:`output_size`
        (antialiased bicubic, clamped to ``[0, 1]``); unchanged when that is its size."""
        size = self.output_size(h, w)
        if tuple(y.shape[-2:]) == size:
            return y
        y = F.interpolate(y, size=size, mode="bicubic", antialias=True, align_corners=False)
        return y.clamp_(0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the model on an image batch in the model's own channel layout.

        Args:
            x: ``(N, in_channels, H, W)`` float in ``[0, 1]`` on any device; any H and W
                (reflect-padded to ``size_multiple`` and cropped back).
            mask: IMAGE_MASK only: ``(N, 1, H, W)`` or ``(N, H, W)``: bool, float (``> 0.5``)
                or uint8 (``> 127``); True = fill.

        Returns:
            ``(N, out_channels, H * scale, W * scale)`` float32 in ``[0, 1]`` on the
            editor's device; with ``outscale`` set, ``(N, out_channels, round(H *
            outscale), round(W * outscale))``: the model's result resized with antialiased
            bicubic interpolation (after tiling, so tiles stay exact), clamped to ``[0, 1]``.
            Large images are tiled (see :meth:`plan`); on CUDA out-of-memory the batch, then
            the tile, is halved and the work retried; the smaller tile is kept for later calls.
        """
        for note in self.pending_notes():
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        inputs = model_input(self, x, mask)
        h, w = inputs["image"].shape[-2:]
        tile, batch = self.plan(h, w)
        y = self._backoff.run(lambda t, b: self._attempt(inputs, t, b), tile, batch, (h, w))
        return self._rescale(y, h, w)

    # ------------------------------------------------------------------ layouts: gray, RGB(A)
    def edit_tensor(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Like :meth:`forward`, for any image layout (:mod:`ganedit.infer.layouts`).

        Args:
            x: ``(N, C, H, W)`` float in ``[0, 1]``, C in 1, 2, 3, 4 (gray, gray + alpha,
                RGB, RGBA).
            mask: as in :meth:`forward`. IMAGE_MASK without a mask: the transparent pixels
                (alpha == 0) of an image with alpha are filled, and the result is opaque.

        Returns:
            ``(N, C', H_out, W_out)`` float32 in ``[0, 1]`` on the editor's device, the size
            :meth:`forward` returns; C' is the file's layout (alpha kept, resized to the
            output), except that a model changing its channel count (1 -> 3) gives its own.
        """
        colour, alpha = layouts.split_alpha(x.to(self.device, torch.float32, non_blocking=True))
        if self.family.kind is Kind.IMAGE_MASK and mask is None and alpha is not None:
            mask, alpha = alpha == 0, None
        y = self.forward(layouts.to_model(colour, self.in_channels), mask)
        y = layouts.from_model(y, colour.shape[1], self.in_channels)
        return layouts.merge_alpha(y, alpha)

    def edit_pixels(self, batch: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Integer images in, integer images out, quantised on the device.

        An image that is tiled is never held whole in float: the tiles are blended row by
        row, and each finished strip is resized (``outscale``), given its alpha and
        quantised into the integer output (:mod:`ganedit.infer.resize`), so memory is the
        output itself plus one row of tiles. The result equals quantising
        :meth:`edit_tensor`'s float result to within one level.

        Args:
            batch: ``(N, H, W, C)`` uint8 (0-255) or uint16 (0-65535; int32 is read as 16-bit
                too), C in 1, 2, 3, 4, on any device.
            mask: as in :meth:`edit_tensor` (``(N, H, W)`` or ``(N, 1, H, W)``, True = fill).

        Returns:
            ``(N, H_out, W_out, C')`` (see :meth:`edit_tensor`) of ``batch``'s dtype on the
            editor's device; a tiled result is on the CPU, and 16-bit (uint16 or int32 in) is
            uint16 there.
        """
        check_output_size(self, int(batch.shape[1]), int(batch.shape[2]))
        tile, per_call = self.plan(int(batch.shape[1]), int(batch.shape[2]))
        if tile is None or self.family.kind is Kind.GENERATE:
            x = layouts.to_float(batch, self.device)
            return layouts.to_integer(self.edit_tensor(x, mask), batch.dtype)
        return edit_tiled(self, batch, mask, tile, per_call)

    def __call__(self, image: np.ndarray | torch.Tensor, mask: Any = None) -> Any:
        """Edit one image (numpy) or a batch (tensor).

        Args:
            image: numpy ``HxWxC`` (C in 1, 2, 3, 4) or ``HxW``, uint8 or uint16, RGB(A)
                order; or a torch ``(N, C, H, W)`` float tensor in ``[0, 1]``.
            mask: IMAGE_MASK only (optional for an image with alpha: its transparent pixels
                are filled). For a numpy image a numpy ``HxW`` or ``HxWxC`` mask image under
                the project convention (:func:`ganedit.io.mask_from_pixels`: bool as is,
                uint8/uint16 bright = fill, float > 0.5) of the image's size; for a tensor,
                ``(N, 1, H, W)`` / ``(N, H, W)`` as in :meth:`forward`.

        Returns:
            numpy in -> numpy out with the same dtype and layout (see :meth:`edit_tensor`),
            ``scale`` (or ``outscale``) times larger; tensor in -> float32 tensor in
            ``[0, 1]`` on the editor's device.
        """
        if self.family.kind == Kind.GENERATE:
            raise TypeError(f"{self.family.name} generates images: use .sample(n)")
        if isinstance(image, torch.Tensor):
            return self.edit_tensor(image, None if mask is None else torch.as_tensor(mask))
        arr, t, squeeze = numpy_pixels(image)
        m = None if mask is None else numpy_mask(mask, arr.shape[:2])
        y = self.edit_pixels(t[None], m)[0].cpu().numpy().astype(arr.dtype, copy=False)
        return y[:, :, 0] if squeeze and y.shape[2] == 1 else y

    # ------------------------------------------------------------------------------ GENERATE
    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` latents from ``seed`` (a CPU generator, so the same on every device)."""
        g = torch.Generator().manual_seed(int(seed))
        return self.family.latent(int(n), self.config, g)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Run a GENERATE family on latents.

        Args:
            z: the latent batch :meth:`latents` returns (float32, any device).

        Returns:
            ``(N, out_channels, H, W)`` float32 in ``[0, 1]`` on the editor's device
            (``(H, W)`` = ``io.image_size`` when the family gives it).
        """
        if self.family.kind != Kind.GENERATE:
            raise TypeError(f"{self.family.name} edits images: call the editor on an image")
        z = z.to(self.device)
        bs = self.batch_size or GENERATE_BATCH
        outs = []
        for i in range(0, z.shape[0], bs):
            with torch.no_grad(), autocast_for(self.device, self.precision):
                latent = to_format(z[i : i + bs], self.memory.channels_last)
                y = self.family.predict(self.generator, {"latent": latent}, self.config)
            size = self.io.image_size
            if y.ndim != 4 or y.shape[1] != self.out_channels or (size and y.shape[-2:] != size):
                raise ValueError(
                    f"{self.family.name}.predict returned shape {tuple(y.shape)}; its io() "
                    f"promises (N, {self.out_channels}, {size or 'H, W'})"
                )
            outs.append(y.float().clamp(0, 1))
        return torch.cat(outs, 0)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` generated images as ``(n, H, W, C)`` uint8 (a fixed ``seed`` reproduces).

        Raises:
            ValueError: ``n`` is not a whole number >= 1.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: the number of images must be a whole number >= 1, got {n!r}")
        y = self.generate(self.latents(n, seed))
        return layouts.to_integer(y, torch.uint8).cpu().numpy()

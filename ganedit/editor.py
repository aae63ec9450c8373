"""What :func:`ganedit.load` returns: a ready-to-use model with numpy or tensor in and out.

Example::

    import ganedit
    up = ganedit.load("srgan")                    # bundled weights, bf16 on a capable GPU
    img = ganedit.read_image("cat.png")           # HxWxC uint8/uint16, RGB(A)
    big = up(img)                                 # same dtype and channels, scale x larger
    items = ganedit.load("dcgan").sample(16)      # (16, H, W, C) uint8

The editor owns everything around the family's ``predict``: device, precision, padding to the
family's size multiple, tiling with blended seams, batching, CUDA out-of-memory back-off, and the
conversions between image layouts (gray, RGB, RGBA, 8/16 bit) and what the model consumes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganedit.config import config_from_dict, config_to_dict, update_config
from ganedit.devices import PrecisionChoice, autocast_for, resolve_device, resolve_precision
from ganedit.family import Kind, ModelFamily
from ganedit.infer.ensemble import check_views, self_ensemble
from ganedit.infer.tiling import pad_to_multiple, tiled_forward
from ganedit.weights import WeightsError, file_sha256, load_weights, resolve_resource

__all__ = ["Editor", "RUNTIME_OPTIONS", "load"]

#: Options of :func:`load` that are not Config fields.
RUNTIME_OPTIONS = ("tile", "tile_overlap", "batch_size", "outscale", "self_ensemble")

#: Memory the automatic tile/batch choice plans for on the CPU (bytes).
CPU_MEMORY_BUDGET = 2 << 30
#: Estimated peak bytes per *output* pixel while a generator runs (activations, several live
#: feature maps of a few dozen channels in fp32). Deliberately pessimistic; the CUDA path backs
#: off on out-of-memory anyway.
BYTES_PER_OUTPUT_PIXEL = 2048
#: Upper bound for an automatic batch size.
MAX_AUTO_BATCH = 16
#: The smallest tile the out-of-memory back-off tries before giving up (input pixels).
MIN_TILE = 32

_RANDOM = ("random", "none", "")


def _as_family(name_or_family: str | ModelFamily | type[ModelFamily]) -> ModelFamily:
    if isinstance(name_or_family, ModelFamily):
        return name_or_family
    if isinstance(name_or_family, type) and issubclass(name_or_family, ModelFamily):
        return name_or_family()
    if isinstance(name_or_family, str):
        from ganedit.plugins import get_family

        return get_family(name_or_family)
    raise TypeError(
        f"load() expects a model name or a ModelFamily, got {type(name_or_family).__name__}"
    )


def _default_config(family: ModelFamily) -> Any:
    try:
        return family.Config()
    except TypeError as exc:
        raise TypeError(f"{family.name}: Config() needs defaults for every field ({exc})") from None


def _generator_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept a generator-only state dict or one with ``generator.``-prefixed keys; cast
    floating tensors to fp32 (shipped weights are often stored as fp16)."""
    prefix = "generator."
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def load(
    name_or_family: str | ModelFamily | type[ModelFamily],
    weights: str | Path | bool | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    **options: Any,
) -> Editor:
    """Load a model family with weights, ready for inference.

    Args:
        name_or_family: an installed family's name (``"srgan"``), or a :class:`ModelFamily`
            instance or subclass (handy in tests and notebooks; no plugin discovery).
        weights: a ``.safetensors`` path (its JSON card beside it), a ``"package:rel/path"``
            resource, ``None`` for the family's bundled weights, or ``False`` / ``"random"``
            for a randomly initialised generator (seeded with 0, so reproducible; for tests and
            smoke runs, the output is noise).
        device: ``"auto"`` (first CUDA GPU, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        precision: ``"auto"`` (bf16 on a capable GPU, fp32 on the CPU), ``"fp32"``, ``"bf16"``,
            ``"fp16"``. A half precision the device cannot run falls back to fp32 with a warning.
        **options: Config fields of the family (e.g. ``scale=2``), overriding the weights
            card's config; plus runtime ``tile`` (``"auto"``, ``None`` = auto, ``0`` = never,
            or an input tile size in pixels), ``tile_overlap`` (default 32) and ``batch_size``
            (``None`` = automatic), and ``outscale`` (IMAGE / IMAGE_MASK families: the final
            size relative to the input, e.g. ``3.5`` with an x4 model; the model runs at its
            own ``scale``, tiled as usual, and the whole result is then resized with
            antialiased bicubic interpolation to ``round(H * outscale) x round(W * outscale)``;
            ``None`` = the model's scale), and ``self_ensemble`` (IMAGE / IMAGE_MASK
            families: run the model on 1, 2, 4 or 8 flipped/transposed views of each input
            and average, see :mod:`ganedit.infer.ensemble`; default 1 = off).

    Returns:
        An :class:`Editor`.

    Raises:
        WeightsError: no weights are bundled and none were given, or the file is unusable.
        ConfigError: an option that is neither a Config field nor a runtime option.
        ValueError: ``outscale`` is not positive, or ``self_ensemble`` not 1, 2, 4 or 8, or
            either is set for a GENERATE family.
    """
    family = _as_family(name_or_family)
    runtime = {k: options.pop(k) for k in RUNTIME_OPTIONS if k in options}
    requested = update_config(_default_config(family), options, strict=True)

    random_init = weights is False or (isinstance(weights, str) and weights.lower() in _RANDOM)
    path: Path | None = None
    if not random_init:
        if weights is None or weights is True:
            spec = family.default_weights(requested)
            if spec is None:
                raise WeightsError(
                    f"{family.name}: no bundled weights for this configuration; pass "
                    "weights=PATH.safetensors (or weights=False for a random, untrained "
                    "generator)"
                )
            path = resolve_resource(spec)
        else:
            path = Path(weights)  # type: ignore[arg-type]
            if not path.exists() and isinstance(weights, str) and ":" in weights:
                path = resolve_resource(weights)

    card: dict[str, Any]
    if path is not None:
        state, card = load_weights(path)
        card_family = card.get("family")
        if card_family and card_family != family.name:
            raise WeightsError(
                f"{path}: these weights are for {card_family!r}, not {family.name!r}"
            )
        base = config_from_dict(type(requested), card.get("config") or {}, strict=False)
        config = update_config(base, options, strict=True)
        generator = family.build(config)["generator"]
        try:
            generator.load_state_dict(_generator_state(state))
        except RuntimeError as exc:
            raise WeightsError(
                f"{path}: weights do not fit {family.name}'s generator for this config ({exc})"
            ) from None
        sha = card.get("sha256") or file_sha256(path)
    else:
        config = requested
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            generator = family.build(config)["generator"]
        card = {"family": family.name, "config": config_to_dict(config), "weights": "random"}
        sha = None

    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    if prec.note:
        warnings.warn(prec.note, RuntimeWarning, stacklevel=2)
    generator = generator.to(dev).eval().requires_grad_(False)
    if dev.type == "cuda":
        generator = generator.to(memory_format=torch.channels_last)
    return Editor(
        family,
        config,
        generator,
        device=dev,
        precision=prec,
        card=card,
        weights_path=path,
        weights_sha256=sha,
        **runtime,
    )


class Editor:
    """A family's generator on a device, with everything needed to run it on real images.

    Attributes:
        family: the :class:`ModelFamily`.
        config: the resolved Config (card config overridden by options).
        card: the weights card (``{"weights": "random", ...}`` for a random init).
        device, precision: where and how it runs (:class:`~ganedit.devices.PrecisionChoice`).
        generator: the module, in eval mode, on ``device``.
        weights_path, weights_sha256: the weights file and its hash (``None`` for random).
        scale: the model's output size / input size (IMAGE kinds).
        outscale: final output size / input size when it differs from ``scale`` (the model's
            result is resized), else ``None``; see :func:`load`. Setting it validates it.
        tile, tile_overlap, batch_size: runtime settings (see :func:`load`).
        self_ensemble: views averaged per model call (1 = off; 2, 4, 8: see
            :mod:`ganedit.infer.ensemble`). Setting it validates it.
    """

    def __init__(
        self,
        family: ModelFamily,
        config: Any,
        generator: torch.nn.Module,
        *,
        device: torch.device,
        precision: PrecisionChoice,
        card: dict[str, Any] | None = None,
        weights_path: Path | None = None,
        weights_sha256: str | None = None,
        tile: int | str | None = "auto",
        tile_overlap: int = 32,
        batch_size: int | None = None,
        outscale: float | None = None,
        self_ensemble: int = 1,
    ) -> None:
        self.family = family
        self.config = config
        self.generator = generator
        self.device = device
        self.precision = precision
        self.card = dict(card or {})
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self.tile = "auto" if tile is None else tile
        if isinstance(self.tile, str) and self.tile != "auto":
            self.tile = int(self.tile)
        self.tile_overlap = int(tile_overlap)
        self.batch_size = None if batch_size in (None, 0, "auto") else int(batch_size)
        self.scale = family.scale_for(config) if family.kind != Kind.GENERATE else 1
        self.multiple = max(1, int(getattr(family, "size_multiple", 1) or 1))
        self.channels = int(getattr(family, "channels", 3) or 3)
        self._oom_tile: int | None = None  # a tile size that is known to fit after OOM
        self._outscale: float | None = None
        self.outscale = outscale
        self._self_ensemble = 1
        self.self_ensemble = self_ensemble

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
    def outscale(self) -> float | None:
        """Final output size / input size (``None``: the model's ``scale``)."""
        return self._outscale

    @outscale.setter
    def outscale(self, value: float | None) -> None:
        if value is None:
            self._outscale = None
            return
        if self.family.kind == Kind.GENERATE:
            raise ValueError(f"outscale resizes edited images; {self.family.name} generates images")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"outscale must be a positive number, got {value!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"outscale must be a positive number, got {value!r}")
        self._outscale = v

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` of the result for an input of ``height`` x ``width``:
        ``round(size * outscale)`` when ``outscale`` is set, else ``size * scale``."""
        if self._outscale is None:
            return height * self.scale, width * self.scale
        return (
            max(1, round(height * self._outscale)),
            max(1, round(width * self._outscale)),
        )

    def __repr__(self) -> str:
        w = self.weights_path.name if self.weights_path else "random"
        out = "" if self._outscale is None else f", outscale={self._outscale:g}"
        if self._self_ensemble > 1:
            out += f", self_ensemble={self._self_ensemble}"
        return (
            f"Editor({self.family.name!r}, weights={w}, device={self.device}, "
            f"precision={self.precision.name}, scale={self.scale}{out})"
        )

    # ------------------------------------------------------------------------------ planning
    def memory_budget(self) -> int:
        """Bytes the automatic tile and batch sizes plan for on this device."""
        if self.device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(self.device)
            return int(free * 0.6)
        return CPU_MEMORY_BUDGET

    def pixel_budget(self) -> int:
        """Output pixels one generator call may produce (over the whole batch)."""
        per = BYTES_PER_OUTPUT_PIXEL
        if self.precision.dtype != torch.float32:
            per //= 2
        return max(1, self.memory_budget() // per)

    def plan(self, height: int, width: int) -> tuple[int | None, int]:
        """``(tile, batch)`` for images of ``height`` x ``width``: ``tile`` is ``None`` when
        the whole image runs at once; ``batch`` images (or tiles) go through one call."""
        out_px = height * width * self.scale * self.scale
        budget = self.pixel_budget()
        tile: int | None
        if isinstance(self.tile, int) and not isinstance(self.tile, bool):
            tile = self.tile if self.tile > 0 and max(height, width) > self.tile else None
        elif self.tile is False:
            tile = None
        else:
            if out_px <= budget:
                tile = None
            else:
                side = int(math.sqrt(budget) // self.scale)
                tile = max(self.multiple, (side // self.multiple) * self.multiple, MIN_TILE)
        if tile is not None and self._oom_tile is not None:
            tile = min(tile, self._oom_tile)
        elif tile is None and self._oom_tile is not None and max(height, width) > self._oom_tile:
            tile = self._oom_tile
        if self.batch_size is not None:
            batch = self.batch_size
        else:
            px = out_px if tile is None else (tile * self.scale) ** 2
            batch = int(max(1, min(MAX_AUTO_BATCH, budget // max(1, px))))
        return tile, batch

    # ------------------------------------------------------------------------------- running
    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        """Model call on padded input: ``x`` (B, C[+1 mask], h, w) float32 on the device ->
        ``(B, C_out, h * scale, w * scale)`` float32 in [0, 1], self-ensembled when asked."""
        if self._self_ensemble > 1:
            return self_ensemble(self._predict_once, x, self._self_ensemble).clamp_(0, 1)
        return self._predict_once(x)

    def _predict_once(self, x: torch.Tensor) -> torch.Tensor:
        """One call of the family's ``predict`` on ``x`` (B, C[+1 mask], h, w)."""
        mask = None
        if self.family.kind == Kind.IMAGE_MASK:
            x, mask = x[:, :-1], x[:, -1:]
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), autocast_for(self.device, self.precision):
            y = self.family.predict(self.generator, x, mask)
        return y.float().clamp_(0, 1)

    def _run(self, x: torch.Tensor, tile: int | None, tiles_per_batch: int) -> torch.Tensor:
        if tile is None:
            xp, (h, w) = pad_to_multiple(x, self.multiple)
            return self._predict(xp)[..., : h * self.scale, : w * self.scale]
        return tiled_forward(
            self._predict,
            x,
            scale=self.scale,
            tile=tile,
            overlap=self.tile_overlap,
            multiple=self.multiple,
            tiles_per_batch=tiles_per_batch,
        )

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
            x: ``(N, C, H, W)`` float in ``[0, 1]`` on any device, ``C == family.channels``;
                any H and W (reflect-padded to ``size_multiple`` and cropped back).
            mask: IMAGE_MASK only: ``(N, 1, H, W)`` or ``(N, H, W)`` float/bool, 1 = fill.

        Returns:
            ``(N, C_out, H * scale, W * scale)`` float32 in ``[0, 1]`` on the editor's device;
            with ``outscale`` set, ``(N, C_out, round(H * outscale), round(W * outscale))``:
            the model's result resized with antialiased bicubic interpolation (after tiling,
            so the tiles stay exact) and clamped to ``[0, 1]``. Large images are tiled (see :meth:`plan`); on out-of-memory (CUDA) the batch, then
            the tile, is halved and the work retried; the smaller tile is kept for later calls.
        """
        if self.family.kind == Kind.GENERATE:
            raise TypeError(f"{self.family.name} generates images: use sample() or generate()")
        if x.ndim != 4:
            raise ValueError(f"forward expects (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.channels:
            raise ValueError(
                f"{self.family.name} works on {self.channels}-channel images, got {x.shape[1]} "
                "(call the editor itself to convert gray/RGBA)"
            )
        x = x.to(self.device, torch.float32, non_blocking=True)
        if self.family.kind == Kind.IMAGE_MASK:
            if mask is None:
                raise ValueError(f"{self.family.name} needs a mask (1 = fill)")
            mask = mask.to(self.device)
            if mask.ndim == 3:
                mask = mask[:, None]
            if mask.shape[0] != x.shape[0] or mask.shape[-2:] != x.shape[-2:]:
                raise ValueError(
                    f"mask shape {tuple(mask.shape)} does not match image {tuple(x.shape)}"
                )
            x = torch.cat([x, (mask > 0.5 if mask.is_floating_point() else mask > 0).float()], 1)
        n, _, h, w = x.shape
        tile, batch = self.plan(h, w)
        while True:
            try:
                outs = []
                step = batch if tile is None else 1
                for i in range(0, n, step):
                    outs.append(self._run(x[i : i + step], tile, 1 if tile is None else batch))
                y = outs[0] if len(outs) == 1 else torch.cat(outs, 0)
                return self._rescale(y, h, w)
            except torch.OutOfMemoryError:
                outs = []
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if batch > 1:
                    batch //= 2
                    continue
                current = tile if tile is not None else max(h, w)
                new = (current // 2 // self.multiple) * self.multiple
                if new < max(MIN_TILE, self.multiple):
                    raise
                warnings.warn(
                    f"CUDA out of memory; retrying with {new}px tiles", RuntimeWarning, stacklevel=2
                )
                tile = self._oom_tile = new

    # -------------------------------------------------------------- layouts: gray, RGB, RGBA
    def edit_tensor(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Like :meth:`forward`, for any image layout.

        Args:
            x: ``(N, C, H, W)`` float in ``[0, 1]``, C in {1, 3, 4} (gray, RGB, RGBA).
            mask: as in :meth:`forward`.

        Returns:
            ``(N, C, H_out, W_out)`` float32 in ``[0, 1]`` on the editor's device (the size
            :meth:`forward` returns: ``H * scale`` or ``round(H * outscale)``), with the
            input's channel layout: the model sees the colour channels only; alpha is resized
            bicubically to the final size when that differs (else passed through); gray is replicated
            to RGB for an RGB model and converted back with ``rgb_to_grayscale``.
        """
        import kornia

        c = x.shape[1]
        if c not in (1, 2, 3, 4):
            raise ValueError(f"expected 1, 3 or 4 channels, got {c}")
        x = x.to(self.device, torch.float32, non_blocking=True)
        alpha = None
        if c in (2, 4):
            x, alpha = x[:, :-1], x[:, -1:]
        color = x.shape[1]
        if color == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        elif color == 3 and self.channels == 1:
            x = kornia.color.rgb_to_grayscale(x)
        y = self.forward(x, mask)
        if color == 1 and y.shape[1] == 3:
            y = kornia.color.rgb_to_grayscale(y)
        elif color == 3 and y.shape[1] == 1:
            y = y.expand(-1, 3, -1, -1)
        if alpha is not None:
            if alpha.shape[-2:] != y.shape[-2:]:
                alpha = F.interpolate(
                    alpha,
                    size=y.shape[-2:],
                    mode="bicubic",
                    antialias=alpha.shape[-2] > y.shape[-2] or alpha.shape[-1] > y.shape[-1],
                    align_corners=False,
                ).clamp_(0, 1)
            y = torch.cat([y, alpha], 1)
        return y

    def edit_pixels(self, batch: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Integer images in, integer images out, quantised on the device.

        Args:
            batch: ``(N, H, W, C)`` uint8 (0-255) or uint16 (0-65535; int32 is read as 16-bit
                too), C in {1, 3, 4}, on any device.
            mask: as in :meth:`forward` (``(N, H, W)``, nonzero = fill).

        Returns:
            ``(N, H_out, W_out, C)`` (``H * scale``, or ``round(H * outscale)``) tensor of
            ``batch``'s dtype on the editor's device.
        """
        dtype = batch.dtype
        peak = 255.0 if dtype == torch.uint8 else 65535.0
        x = batch.to(self.device, non_blocking=True)
        x = x.to(torch.float32).permute(0, 3, 1, 2).div_(peak)
        y = self.edit_tensor(x, mask)
        y = y.mul_(peak).round_().clamp_(0, peak)
        y = y.permute(0, 2, 3, 1)
        if dtype == torch.uint8:
            return y.to(torch.uint8).contiguous()
        out = y.to(torch.int32)
        return (out.to(torch.uint16) if dtype == torch.uint16 else out).contiguous()

    def __call__(self, image: np.ndarray | torch.Tensor, mask: Any = None) -> Any:
        """Edit one image.

        Args:
            image: numpy ``HxWxC`` (C in 1, 3, 4) or ``HxW``, uint8 or uint16, RGB(A) order;
                or a torch ``(N, C, H, W)`` float tensor in ``[0, 1]`` (C in 1, 3, 4).
            mask: IMAGE_MASK only: numpy ``HxW`` bool/uint8 (True/nonzero = fill) for a numpy
                image, ``(N, 1, H, W)`` / ``(N, H, W)`` for a tensor.

        Returns:
            numpy in -> numpy out with the same dtype and layout, ``scale`` (or ``outscale``)
            times larger;
            tensor in -> float32 tensor in ``[0, 1]`` on the editor's device.
        """
        if self.family.kind == Kind.GENERATE:
            raise TypeError(f"{self.family.name} generates images: use .sample(n)")
        if isinstance(image, torch.Tensor):
            m = torch.as_tensor(mask) if mask is not None else None
            return self.edit_tensor(image, m)
        arr = np.asarray(image)
        if arr.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"expected a uint8 or uint16 image, got {arr.dtype}")
        squeeze = arr.ndim == 2
        if squeeze:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
            raise ValueError(f"expected an HxW or HxWxC image with C in 1, 3, 4; got {arr.shape}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
        if arr.dtype == np.uint16:
            t = t.to(torch.int32)  # uint16 tensors lack most CPU kernels
        m = None
        if mask is not None:
            mk = np.asarray(mask)
            if mk.ndim == 3:
                mk = mk[..., 0]
            if mk.shape != arr.shape[:2]:
                raise ValueError(f"mask shape {mk.shape} does not match image {arr.shape[:2]}")
            m = torch.from_numpy(mk != 0)[None, None].float()
        y = self.edit_pixels(t[None], m)[0].cpu().numpy().astype(arr.dtype)
        return y[:, :, 0] if squeeze else y

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
            ``(N, C, H, W)`` float32 in ``[0, 1]`` on the editor's device.
        """
        if self.family.kind != Kind.GENERATE:
            raise TypeError(f"{self.family.name} edits images: call the editor on an image")
        z = z.to(self.device)
        bs = self.batch_size or 64
        outs = []
        for i in range(0, z.shape[0], bs):
            with torch.no_grad(), autocast_for(self.device, self.precision):
                y = self.family.predict(self.generator, z[i : i + bs])
            outs.append(y.float().clamp(0, 1))
        return torch.cat(outs, 0)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` generated images as ``(n, H, W, C)`` uint8 (fixed ``seed`` reproduces)."""
        y = self.generate(self.latents(n, seed))
        y = y.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        return y.cpu().numpy()

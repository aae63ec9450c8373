"""Every option of a folder run, declared once: :class:`RunOptions`.

Each field of :class:`RunOptions` carries its help text, type, default and command-line
metadata. From these fields are generated

* the options of ``ganedit run MODEL`` (:func:`ganedit.cli.common.run_option_params`),
* the keywords :func:`ganedit.run_folder` accepts (:meth:`RunOptions.parse`: a keyword that is
  neither a run option nor a field of the family's Config is an error naming both lists),
* the runtime options of :func:`ganedit.load` (the fields whose ``stage`` is ``"editor"``),
* the ``parameters`` of the run manifest (:meth:`RunOptions.parameters`).

Adding a run option is one new field here; the code that acts on it reads
``options.<name>``. Field metadata keys (all optional but ``help``):

* ``help``: the help text (``--help`` and the docs).
* ``stage``: ``"load"`` (an argument of :func:`ganedit.load`), ``"editor"`` (a runtime
  setting of the :class:`~ganedit.infer.editor.Editor`) or ``"run"`` (the folder run; the
  default).
* ``kinds``: the family kinds the option applies to (``("image_mask",)`` for masks); the CLI
  shows it only for those, and :func:`run_folder` refuses it for others.
* ``choices``: the allowed values (validated, and a ``click.Choice`` on the command line);
  ``cli_choices``: choices for the command line only (the Python API validates elsewhere).
* ``min``, ``max``, ``min_open``: numeric bounds (validated; ``click.IntRange`` /
  ``click.FloatRange``).
* ``path``: ``"file"`` or ``"dir"``: an existing file or folder on the command line.
* ``tile``: the value is a tile size: an int >= 0 or ``"auto"`` (``None``).
* ``check``: a callable ``value -> value`` that validates and normalises (raises ValueError).
* ``manifest``: False to leave the option out of the manifest's parameters.

This module imports neither torch nor click, so the command line stays fast.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedit.config import MEMORY_FORMATS, check_memory_format, option  # shared with training

__all__ = [
    "FORMAT_CHOICES",
    "MEMORY_FORMATS",
    "PRECISION_CHOICES",
    "SELF_ENSEMBLE_VIEWS",
    "RunOptions",
    "check_memory_format",
    "check_outscale",
    "check_threads",
    "check_tile",
    "check_views",
    "option_fields",
    "validate_option",
    "value_type",
]

#: Output formats offered on the command line (the Python API also takes aliases: ``jpeg``).
FORMAT_CHOICES = ("png", "jpg", "webp", "bmp", "tiff")
#: Compute precisions (see :func:`ganedit.devices.resolve_precision`).
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
#: The allowed numbers of self-ensemble views (see :mod:`ganedit.infer.ensemble`).
SELF_ENSEMBLE_VIEWS = (1, 2, 4, 8)

DEVICE_HELP = "Device: auto (first CUDA GPU, else CPU), cpu, cuda or cuda:N."
PRECISION_HELP = (
    "Compute precision: auto (bf16 on a capable GPU; on a CPU fp32, or bf16/fp16 where the CPU "
    "has them and they measure faster within a quality guard), fp32, bf16, fp16."
)


def check_views(views: Any) -> int:
    """``views`` as an int, or ``ValueError`` when it is not one of 1, 2, 4, 8."""
    n = -1
    if views is not None and not isinstance(views, bool):
        try:
            n = int(views)
        except (TypeError, ValueError):
            n = -1
        if isinstance(views, float) and not views.is_integer():
            n = -1
    if n not in SELF_ENSEMBLE_VIEWS:
        raise ValueError(f"self_ensemble must be one of 1, 2, 4, 8, got {views!r}")
    return n


def _check_views_or_default(views: Any) -> int:
    """Like :func:`check_views`; ``None`` means 1 (off)."""
    return 1 if views is None else check_views(views)


def check_outscale(value: Any) -> float | None:
    """``None`` or a finite positive float; ``ValueError`` otherwise."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"outscale must be a positive number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"outscale must be a positive number, got {value!r}")
    return v


def check_tile(value: Any) -> int | None:
    """A tile setting: ``None`` / ``"auto"`` -> ``None`` (automatic), an int >= 0 (0 = never
    tile) -> that int; ``ValueError`` otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("auto", "")):
        return None
    if isinstance(value, bool):
        raise ValueError(f"tile must be an integer >= 0 or 'auto', got {value!r}")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"tile must be an integer >= 0 or 'auto', got {value!r}") from None
    if n < 0 or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"tile must be an integer >= 0 or 'auto', got {value!r}")
    return n


def _check_batch(value: Any) -> int | None:
    """``None`` / 0 / ``"auto"`` -> automatic; else an int >= 1."""
    if value in (None, 0, "auto"):
        return None
    return value


_THREAD_LAYOUT = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\d+)\s*$")


def check_threads(value: object) -> str:
    """A thread layout: ``"auto"``, ``"T"`` (one worker, T threads) or ``"WxT"``, normalised to
    ``"auto"`` or ``"WxT"``; ``ValueError`` otherwise (:mod:`ganedit.infer.threads`)."""
    text = "auto" if value is None else str(value).strip().lower()
    if text == "auto":
        return text
    found = _THREAD_LAYOUT.match(text)
    workers, threads = (int(found.group(1) or 1), int(found.group(2))) if found else (0, 0)
    if workers < 1 or threads < 1:
        raise ValueError(f"threads must be auto, T or WxT (positive integers), got {value!r}")
    return f"{workers}x{threads}"


@dataclass
class RunOptions:
    """Every option of a folder run (``ganedit run``, :func:`ganedit.run_folder`).

    The model-facing ones (``tile``, ``tile_overlap``, ``batch_size``, ``outscale``,
    ``self_ensemble``) are also options of :func:`ganedit.load`. See the module docstring for
    what the field metadata means.
    """

    weights: str | os.PathLike[str] | bool | None = option(
        None,
        "Weights file (.safetensors with its .json card); default: the model's bundled weights.",
        stage="load",
        path="file",
    )
    device: str = option("auto", DEVICE_HELP, stage="load")
    precision: str = option(
        "auto",
        PRECISION_HELP,
        stage="load",
        choices=PRECISION_CHOICES,
        check=lambda v: str(v).strip().lower(),
    )
    batch_size: int | None = option(
        None,
        "Images (or tiles) per forward pass [default: chosen from the image size "
        "and the device memory].",
        stage="editor",
        min=1,
        check=_check_batch,
    )
    tile: int | None = option(
        None,
        "Tile size in input pixels for large images: an integer, 0 = never tile, "
        "or auto (tile only when the image does not fit). Rounded up to what the model "
        "needs (a note says so); models that cannot be tiled run whole.",
        stage="editor",
        tile=True,
        check=check_tile,
    )
    tile_overlap: int = option(
        32,
        "Overlap between tiles in input pixels, blended smoothly; raised to the "
        "model's minimum when smaller.",
        stage="editor",
        min=0,
    )
    outscale: float | None = option(
        None,
        "Final size relative to the input, e.g. 3.5 with an x4 model: the output "
        "is resized (antialiased bicubic) after the model [default: the model's scale].",
        stage="editor",
        min=0,
        min_open=True,
        check=check_outscale,
    )
    self_ensemble: int = option(
        1,
        "Average the model over N flipped/transposed views of each input (EDSR's "
        "self-ensemble): a little more quality for N times the compute; 1 = off.",
        stage="editor",
        choices=SELF_ENSEMBLE_VIEWS,
        check=_check_views_or_default,
    )
    memory_format: str = option(
        "auto",
        "Memory layout of the model's tensors: auto (time both on a small probe "
        "once per machine and keep the faster; remembered in ~/.cache/ganedit), "
        "channels_last or contiguous.",
        stage="editor",
        choices=MEMORY_FORMATS,
        check=check_memory_format,
    )
    threads: str = option(
        "auto",
        "How the model uses the CPU cores: auto (one image at a time on every "
        "core), T (one image at a time, T threads) or WxT (W images at once, T threads "
        "each). GPU runs use one worker.",
        check=check_threads,
    )
    heap_reuse: bool = option(
        False,
        "CPU runs keep freed heap memory for the next image (glibc mallopt: a x4 "
        "super-resolution forward measured 0.81 s -> 0.58 s on the project's CPU); it changes the "
        "whole process for good, so library callers ask for it; `ganedit run` turns it on "
        "(--no-heap-reuse turns it off).",
        cli_default=True,
    )
    skip_existing: bool = option(
        False, "Skip inputs whose output already exists (resume an interrupted run)."
    )
    fail_fast: bool = option(False, "Stop at the first failed image instead of going on.")
    accept_damaged: bool = option(
        False,
        "Process a damaged file whose missing part the decoder had to fill in (a "
        "JPEG cut short) instead of failing it; its record says so.",
    )
    strip_metadata: bool = option(
        False,
        "Do not carry the input's colour profile (ICC) and EXIF to the output "
        "(they are kept by default where the format can hold them: PNG, JPEG, WebP).",
    )
    jobs: int | None = option(None, "Decode/encode worker threads [default: the CPU count].", min=1)
    dry_run: bool = option(
        False,
        "Print what would be written, without running the model.",
        manifest=False,
    )
    format: str | None = option(
        None,
        "Output format [default: the input's, when it can hold the result].",
        cli_choices=FORMAT_CHOICES,
    )
    quality: int | None = option(
        None,
        "JPEG/WebP quality 1-100 [default: the encoder's].",
        min=1,
        max=100,
    )
    mask: str | os.PathLike[str] | None = option(
        None,
        "One mask image used for every input (bright = fill; resized, nearest, "
        "to an image of another size). Without --mask/--masks an image's transparent "
        "pixels are filled.",
        kinds=("image_mask",),
        path="file",
    )
    masks: str | os.PathLike[str] | None = option(
        None,
        "Folder of masks matched to the inputs by relative path (same name; any "
        "image extension; bright = fill).",
        kinds=("image_mask",),
        path="dir",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, validate_option(f.name, getattr(self, f.name), type(self)))
        if self.mask is not None and self.masks is not None:
            raise ValueError("give mask (one file) or masks (a folder), not both")

    # --------------------------------------------------------------------------- generation
    @classmethod
    def parse(
        cls, values: Mapping[str, Any], config_cls: type | None = None
    ) -> tuple[RunOptions, dict[str, Any], frozenset[str]]:
        """Split keyword arguments into run options and Config fields.

        Args:
            values: the keywords given to :func:`run_folder` (dashes may be underscores).
            config_cls: the family's Config dataclass (``None``: no Config fields accepted).

        Returns:
            ``(options, config_values, given)``: the validated :class:`RunOptions`, the
            Config field values, and the names of the run options actually given.

        Raises:
            ConfigError: a keyword that is neither a run option nor a Config field.
            ValueError: a run option's value is invalid.
        """
        from ganedit.config import ConfigError, config_fields

        own = {f.name for f in dataclasses.fields(cls)}
        config_names = {f.name for f in config_fields(config_cls)} if config_cls else set()
        run: dict[str, Any] = {}
        config: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name in own:
                run[name] = value
            elif name in config_names:
                config[name] = value
            else:
                raise ConfigError(
                    f"unknown option {key!r}: not a run option ({', '.join(sorted(own))}) "
                    f"nor a config field ({', '.join(sorted(config_names)) or 'none'})"
                )
        return cls(**run), config, frozenset(run)

    def parameters(self) -> dict[str, Any]:
        """The options as JSON-safe values, for the run manifest (paths as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("manifest", True):
                value = getattr(self, f.name)
                out[f.name] = os.fspath(value) if isinstance(value, os.PathLike) else value
        return out

    def stage(self, stage: str) -> dict[str, Any]:
        """``{name: value}`` of the fields of one ``stage`` (``"load"``, ``"editor"`` or
        ``"run"``)."""
        return {f.name: getattr(self, f.name) for f in option_fields(type(self), stage=stage)}


def option_fields(
    cls: type[RunOptions] = RunOptions, *, kind: str | None = None, stage: str | None = None
) -> list[dataclasses.Field]:
    """The fields of ``cls`` that apply to a family ``kind`` (a :class:`~ganedit.Kind` or its
    value; ``None``: every field) and belong to ``stage`` (``None``: any)."""
    out = []
    for f in dataclasses.fields(cls):
        kinds = f.metadata.get("kinds")
        if (
            kind is not None
            and kinds is not None
            and str(getattr(kind, "value", kind)) not in kinds
        ):
            continue
        if stage is not None and f.metadata.get("stage", "run") != stage:
            continue
        out.append(f)
    return out


def value_type(cls: type, f: dataclasses.Field) -> type:
    """The plain type of a field (``int | None`` -> ``int``; a union of several -> the first)."""
    hint = typing.get_type_hints(cls).get(f.name, str)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if args else str
    return hint if isinstance(hint, type) else str


def validate_option(name: str, value: Any, cls: type[RunOptions] = RunOptions) -> Any:
    """Check (and normalise) the value of run option ``name`` from its field's metadata.

    Raises:
        ValueError: a value outside the field's ``choices``/``min``/``max``, or refused by its
            ``check``; the message names the option.
    """
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    meta = f.metadata
    if "check" in meta:
        value = meta["check"](value)
    if value is None or (isinstance(value, bool) and value_type(cls, f) is bool):
        return value
    if "choices" in meta and value not in meta["choices"]:
        raise ValueError(
            f"{name} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}"
        )
    if isinstance(value, Path) or value_type(cls, f) is str or meta.get("path"):
        return value
    if "min" in meta or "max" in meta:
        value = _check_range(name, value, meta, value_type(cls, f))
    return value


def _check_range(name: str, value: Any, meta: Mapping[str, Any], tp: type) -> Any:
    """A number within ``meta``'s ``min`` / ``max`` (``min_open``: strictly above ``min``)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = tp(value) if tp in (int, float) else value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {tp.__name__}, got {value!r}") from None
    if tp is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    low, high = meta.get("min"), meta.get("max")
    too_low = low is not None and (number <= low if meta.get("min_open") else number < low)
    if too_low or (high is not None and number > high):
        bounds = [f"> {low}" if meta.get("min_open") else f">= {low}"] if low is not None else []
        bounds += [f"<= {high}"] if high is not None else []
        raise ValueError(f"{name} must be {' and '.join(bounds)}, got {value!r}")
    return number

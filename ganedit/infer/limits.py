"""The limits of a folder run and the environment variables that set them, checked up front.

* ``GANEDIT_MAX_PIXELS`` (default 178,956,970): the largest *input* image, in pixels, checked
  from the header before decoding (:func:`ganedit.io.get_max_pixels`).
* ``GANEDIT_MAX_OUTPUT_PIXELS`` (default 1,073,741,824 = 32768 x 32768): the largest *output*
  image, checked from the input's header and the model's scale (or ``outscale``) before the
  file is decoded. Tiles are blended into the integer output in strips, so memory is about
  the output itself (3 bytes a pixel for 8-bit RGB) plus one row of tiles.
* ``GANEDIT_MERGE_TIMEOUT`` (seconds, default 600): how long rank 0 of a torchrun run waits
  for the other ranks' manifests.
* ``GANEDIT_DIST_TIMEOUT`` (seconds, default 60): how long a torchrun rank waits for the
  others to join the process group.

:func:`check_environment` reads every one of them (and torchrun's ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``), so a bad value (``abc``, ``0``, ``-5``) is a usage error before any file is
touched.
"""

from __future__ import annotations

import math
import os

__all__ = [
    "DEFAULT_MAX_OUTPUT_PIXELS",
    "EnvVarError",
    "MAX_OUTPUT_PIXELS_ENV",
    "check_environment",
    "env_number",
    "max_output_pixels",
    "output_limit_reason",
]

MAX_OUTPUT_PIXELS_ENV = "GANEDIT_MAX_OUTPUT_PIXELS"


class EnvVarError(ValueError):
    """An environment variable ganedit reads has a bad value (a usage error, exit 2)."""


DEFAULT_MAX_OUTPUT_PIXELS = 1 << 30


def env_number(name: str, default: float, *, integer: bool = True, minimum: float = 1) -> float:
    """The value of environment variable ``name`` (``default`` when unset or empty).

    Raises:
        EnvVarError: it is set but is not a number >= ``minimum`` (a whole one when
            ``integer``); the message names the variable and the value.
    """
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    kind = "whole number" if integer else "number"
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        raise EnvVarError(
            f"environment variable {name}={os.environ[name]!r} is not valid: it must be a "
            f"{kind} >= {minimum:g} (unset it to use the default, {default:g})"
        )
    return value


def max_output_pixels() -> int:
    """The output-size limit (``GANEDIT_MAX_OUTPUT_PIXELS``, else the default)."""
    return int(env_number(MAX_OUTPUT_PIXELS_ENV, DEFAULT_MAX_OUTPUT_PIXELS))


def output_limit_reason(width: int, height: int, scale: float, out_w: int, out_h: int) -> str:
    """The failure reason for an output over the limit, saying what to do."""
    limit = max_output_pixels()
    return (
        f"its {out_w}x{out_h} output ({out_w * out_h:,} pixels, from a {width}x{height} input "
        f"at x{scale:g}) is over the output limit of {limit:,} pixels; use a smaller "
        f"--outscale, a smaller input, or raise {MAX_OUTPUT_PIXELS_ENV} if the memory "
        "(about 3-8 bytes per output pixel) is there"
    )


def check_environment() -> None:
    """Validate every environment variable a run reads (module docstring).

    Raises:
        EnvVarError: one of them has a bad value.
    """
    from ganedit.io import get_max_pixels

    try:
        get_max_pixels()
    except ValueError as exc:
        raise EnvVarError(str(exc)) from None
    max_output_pixels()
    env_number("GANEDIT_MERGE_TIMEOUT", 600, integer=False, minimum=0)
    env_number("GANEDIT_DIST_TIMEOUT", 60, integer=False, minimum=0.001)
    env_number("WORLD_SIZE", 1)
    env_number("RANK", 0, minimum=0)
    env_number("LOCAL_RANK", 0, minimum=0)

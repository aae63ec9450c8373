"""Image I/O: the only code in ganedit that touches image files.

Reading gives ``(H, W, C)`` RGB(A) uint8/uint16 arrays (C in 1, 3, 4; EXIF orientation applied;
palette and CMYK converted); writing is atomic and never drops alpha or 16-bit depth silently.
Folder walking, output planning, the run manifest and the one mask convention
(:func:`read_mask`: ``(H, W)`` bool, True = fill) live here too. See the sub-modules
:mod:`~ganedit.io.decode`, :mod:`~ganedit.io.encode`, :mod:`~ganedit.io.probe`,
:mod:`~ganedit.io.walk`, :mod:`~ganedit.io.masks` and :mod:`~ganedit.io.manifest` for the rules.
"""

from __future__ import annotations

from ganedit.io.decode import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    apply_orientation,
    decode_image,
    get_max_pixels,
    read_image,
    set_max_pixels,
)
from ganedit.io.encode import (
    DEFAULT_JPEG_QUALITY,
    WRITE_FORMATS,
    encode_image,
    normalize_format,
    output_format_for,
    write_image,
)
from ganedit.io.errors import ImageReadError, ImageWriteError
from ganedit.io.manifest import MANIFEST_NAME, Manifest
from ganedit.io.masks import mask_from_alpha, mask_from_pixels, read_mask
from ganedit.io.probe import ImageInfo, probe_image
from ganedit.io.walk import (
    IMAGE_EXTENSIONS,
    InputItem,
    WalkResult,
    check_output_location,
    plan_output,
    walk_inputs,
)

__all__ = [
    "DEFAULT_JPEG_QUALITY",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "MANIFEST_NAME",
    "MAX_PIXELS_ENV",
    "WRITE_FORMATS",
    "ImageInfo",
    "ImageReadError",
    "ImageWriteError",
    "InputItem",
    "Manifest",
    "WalkResult",
    "apply_orientation",
    "check_output_location",
    "decode_image",
    "encode_image",
    "get_max_pixels",
    "mask_from_alpha",
    "mask_from_pixels",
    "normalize_format",
    "output_format_for",
    "plan_output",
    "probe_image",
    "read_image",
    "read_mask",
    "set_max_pixels",
    "walk_inputs",
    "write_image",
]

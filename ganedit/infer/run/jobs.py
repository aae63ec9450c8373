"""One input file of a folder run: its :class:`Job` record, and decoding it with its mask.

Masks (IMAGE_MASK families) follow the one project convention (:mod:`ganedit.io.masks`) and
come, for each image, from the first of:

1. ``masks=DIR``: the file with the image's relative path under ``DIR`` (any image
   extension); it must have the image's size;
2. ``mask=FILE``: one mask for every image; for an image of another size it is resized
   (nearest neighbour) and the file's record says so;
3. the image's own alpha channel: transparent pixels (alpha == 0) are filled, and the result
   is opaque (the alpha channel, having served as the mask, is not written back).

An image with no mask from any of these fails with the reason; the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganedit.infer.limits import output_limit_reason
from ganedit.infer.run.resume import input_stat
from ganedit.io import IMAGE_EXTENSIONS, ImageReadError, InputItem, probe_image
from ganedit.io.decode import decode_file, read_bytes
from ganedit.io.masks import mask_from_alpha, read_mask
from ganedit.io.metadata import ImageMetadata

__all__ = ["DecodeSettings", "Job", "MaskSource", "decode", "resize_nearest"]


@dataclass
class Job:
    """One input file on its way through the pipeline.

    Attributes:
        index: its position among this rank's inputs (the report keeps that order).
        item: the input (path and relative path).
        started: ``time.monotonic()`` when its decode was queued.
        image: ``(H, W, C)`` uint8/uint16 RGB(A) once decoded (dropped after the model ran).
        mask: ``(H, W)`` bool (True = fill) for IMAGE_MASK families.
        error: why it failed, or ``None``.
        note: a remark for its record (e.g. the mask was resized), or ``None``.
        stat: the input's ``(size, mtime_ns)`` just before it was read, or ``None``.
        metadata: the input's ICC profile and EXIF, to carry to the output, or ``None``.
    """

    index: int
    item: InputItem
    started: float
    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    error: str | None = None
    note: str | None = None
    stat: tuple[int, int] | None = None
    metadata: ImageMetadata | None = None

    def add_note(self, note: str) -> None:
        """Append ``note`` to the record's remark."""
        self.note = note if not self.note else f"{self.note}; {note}"


def resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of an ``(h, w)`` bool mask to ``(height, width)``."""
    h, w = mask.shape
    ys = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    xs = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return mask[ys][:, xs]


class MaskSource:
    """Where an IMAGE_MASK run takes each image's mask from (module docstring).

    Args:
        mask: one mask file for every image, or ``None``.
        masks: a folder of masks matched by relative path, or ``None``.

    Raises:
        ValueError: the mask file cannot be read, or the folder does not exist.
    """

    def __init__(
        self,
        mask: str | os.PathLike[str] | None = None,
        masks: str | os.PathLike[str] | None = None,
    ) -> None:
        self.mask_path = None if mask is None else Path(mask)
        self.masks_dir = None if masks is None else Path(masks)
        self.shared: np.ndarray | None = None
        if self.masks_dir is not None and not self.masks_dir.is_dir():
            raise ValueError(f"masks folder {self.masks_dir} not found")
        if self.mask_path is not None:
            try:
                self.shared = read_mask(self.mask_path)
            except ImageReadError as exc:
                raise ValueError(str(exc)) from None

    def find(self, item: InputItem) -> Path | None:
        """The mask file for ``item`` under the masks folder, or ``None``."""
        if self.masks_dir is None:
            return None
        base = self.masks_dir / item.rel
        if base.is_file():
            return base
        for ext in sorted(IMAGE_EXTENSIONS):
            for cand in (base.with_suffix(ext), base.with_suffix(ext.upper())):
                if cand.is_file():
                    return cand
        return None

    def apply(self, job: Job) -> None:
        """Set ``job.mask`` (and strip the alpha it came from); raise ``ValueError`` saying
        why when the image has no mask."""
        assert job.image is not None
        h, w = job.image.shape[:2]
        found = self.find(job.item)
        if found is not None:
            try:
                job.mask = read_mask(found)
            except ImageReadError as exc:
                raise ValueError(f"its mask {found} cannot be read: {exc.reason}") from None
            if job.mask.shape != (h, w):
                mh, mw = job.mask.shape
                raise ValueError(f"its mask {found} is {mw}x{mh} but the image is {w}x{h}")
        elif self.shared is not None:
            job.mask = self.shared
            if self.shared.shape != (h, w):
                sh, sw = self.shared.shape
                job.mask = resize_nearest(self.shared, h, w)
                job.add_note(f"mask resized (nearest) from {sw}x{sh} to {w}x{h}")
        else:
            job.mask = mask_from_alpha(job.image)
            if job.mask is None:
                raise ValueError(self._no_mask_reason())
            job.image = np.ascontiguousarray(job.image[..., :-1])  # the result is opaque

    def _no_mask_reason(self) -> str:
        if self.masks_dir is not None:
            return (
                f"no mask for it under {self.masks_dir} (same relative path) and no alpha "
                "channel to take the hole from"
            )
        return "no mask given (mask=FILE or masks=DIR) and no alpha channel to take the hole from"


@dataclass(frozen=True)
class DecodeSettings:
    """How the decode workers read each file.

    Attributes:
        accept_damaged: keep a JPEG the decoder had to fill in (with a note).
        metadata: read the ICC profile and EXIF to carry to the output.
        output_size: ``(height, width) -> (out_height, out_width)`` of the model's result,
            for the output-size limit; ``None``: no check.
        max_output: the output-size limit in pixels.
        scale: the effective scale, for the message.
    """

    accept_damaged: bool = False
    metadata: bool = True
    output_size: Callable[[int, int], tuple[int, int]] | None = None
    max_output: int = 0
    scale: float = 1.0


def _read(job: Job, settings: DecodeSettings) -> None:
    """Read and decode ``job``'s file: stat, header (output-size limit), pixels, notes."""
    path = job.item.path
    job.stat = input_stat(path)
    data = read_bytes(path)
    info = probe_image(data)
    if settings.output_size is not None and info.width and info.height:
        oh, ow = settings.output_size(info.height, info.width)
        if oh * ow > settings.max_output:
            raise ValueError(output_limit_reason(info.width, info.height, settings.scale, ow, oh))
    decoded = decode_file(
        data,
        name=str(path),
        accept_damaged=settings.accept_damaged,
        metadata=settings.metadata,
    )
    job.image, job.metadata = decoded.pixels, decoded.metadata
    for note in decoded.notes:
        job.add_note(note)


def decode(job: Job, masks: MaskSource | None, settings: DecodeSettings | None = None) -> Job:
    """Read ``job``'s image (and its mask when ``masks`` is given); a failure becomes
    ``job.error`` (the image and mask are then ``None``). Runs in a decode worker thread."""
    try:
        _read(job, settings or DecodeSettings())
        if masks is not None:
            masks.apply(job)
    except ImageReadError as exc:
        job.image = job.mask = None
        job.error = exc.reason
    except (ValueError, OSError, MemoryError) as exc:
        job.image = job.mask = None
        job.error = str(exc)
    return job

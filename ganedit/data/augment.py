"""Joint augmentation on the device: every image field of a sample gets the same random draw.

An augmentation is any callable ``augment(fields, train) -> fields`` where ``fields`` maps a
field name to an ``(N, C, H, W)`` float32 batch in ``[0, 1]`` on the device (all fields of one
call share ``N``, ``H`` and ``W``; masks are ``(N, 1, H, W)`` in ``{0, 1}``) and ``train`` is
False for previews and validation (then nothing random may happen). :class:`TrainData` calls it
once per group of aligned fields: ``input``/``target`` of a pair or ``image``/``mask`` are one
call (one draw); the unpaired domains ``a`` and ``b`` are separate calls (separate draws).

:class:`JointAugment` is the stock one, built on :mod:`kornia.augmentation`: the fields are
stacked along the channels and go through one kornia pipeline, so input and target (or image
and mask) are flipped, cropped and resized identically by construction. Masks are thresholded
at 0.5 again after any interpolation. Its randomness comes from the global torch RNG (kornia
draws its parameters from it), which the engine saves with every checkpoint.

Example: pix2pix's jitter (resize to 286, random 256 crop) and mirroring::

    aug = JointAugment(flip=True, jitter=(286, 256))
    out = aug({"input": x, "target": y}, train=True)    # both (N, C, 256, 256)

A family can pass its own callable instead (``augment=my_augment``); it only has to keep the
keys, and the shapes equal across fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ganedit.data.pixels import Size, pair

__all__ = ["Augment", "JointAugment"]

#: ``augment(fields, train) -> fields``: ``{name: (N, C, H, W) float32 in [0, 1]}``.
Augment = Callable[[dict[str, torch.Tensor], bool], dict[str, torch.Tensor]]


def _jitter(load: Size, crop: Size) -> tuple[tuple[int, int], tuple[int, int]]:
    (lh, lw), (ch, cw) = pair(load) or (0, 0), pair(crop) or (0, 0)
    if ch > lh or cw > lw:
        raise ValueError(f"jitter crop {ch}x{cw} is larger than its load size {lh}x{lw}")
    return (lh, lw), (ch, cw)


class JointAugment:
    """Flip, jitter (resize then random crop), extra kornia ops and a final resize, jointly.

    Args:
        flip: random horizontal mirror (p = 0.5 per sample).
        vflip: random vertical mirror (p = 0.5 per sample).
        jitter: ``(load, crop)``: resize to ``load`` then take a random ``crop`` window (at
            ``train=False``: the centred window). Ints are squares, e.g. ``(286, 256)``.
        size: a final resize to ``(H, W)`` (an int: a square).
        ops: more :mod:`kornia.augmentation` modules, applied (in training only) after the
            flips to all fields jointly; use geometric ones (masks go through them too).
        mask_fields: the fields that are binary masks (re-thresholded at 0.5).

    Calling it with ``{name: (N, C, H, W) float32 in [0, 1]}`` returns the same keys, each
    ``(N, C, H', W')`` float32 in ``[0, 1]`` (masks in ``{0, 1}``).
    """

    def __init__(
        self,
        flip: bool = True,
        size: Size | None = None,
        jitter: tuple[Size, Size] | None = None,
        *,
        vflip: bool = False,
        ops: Sequence[torch.nn.Module] = (),
        mask_fields: Sequence[str] = ("mask",),
    ) -> None:
        """Check and keep the options; kornia pipelines are built on the first call."""
        self.flip, self.vflip = flip, vflip
        self.size = pair(size)
        self.jitter = None if jitter is None else _jitter(*jitter)
        self.ops = tuple(ops)
        self.mask_fields = frozenset(mask_fields)
        self._pipes: dict[bool, torch.nn.Module | None] = {}

    def __repr__(self) -> str:
        """The options."""
        return (
            f"JointAugment(flip={self.flip}, size={self.size}, jitter={self.jitter}, "
            f"vflip={self.vflip}, ops={len(self.ops)})"
        )

    def _build(self, train: bool) -> torch.nn.Module | None:
        import kornia.augmentation as K

        steps: list[Any] = []
        if self.jitter is not None:
            load, crop = self.jitter
            steps.append(K.Resize(load, antialias=True, align_corners=False))
            steps.append(K.RandomCrop(crop) if train else K.CenterCrop(crop))
        if train and self.flip:
            steps.append(K.RandomHorizontalFlip(p=0.5))
        if train and self.vflip:
            steps.append(K.RandomVerticalFlip(p=0.5))
        if train:
            steps.extend(self.ops)
        if self.size is not None:
            steps.append(K.Resize(self.size, antialias=True, align_corners=False))
        return K.AugmentationSequential(*steps) if steps else None

    def __call__(
        self, fields: dict[str, torch.Tensor], train: bool = True
    ) -> dict[str, torch.Tensor]:
        """Augment ``fields`` jointly (one draw per sample, shared by all fields)."""
        if train not in self._pipes:
            self._pipes[train] = self._build(train)
        pipe = self._pipes[train]
        if pipe is None or not fields:
            return dict(fields)
        keys = list(fields)
        x = torch.cat([fields[k] for k in keys], 1) if len(keys) > 1 else fields[keys[0]]
        y = pipe(x)
        parts = torch.split(y, [fields[k].shape[1] for k in keys], 1)
        out = {}
        for k, part in zip(keys, parts, strict=True):
            out[k] = (part > 0.5).float() if k in self.mask_fields else part.clamp(0, 1)
        return out

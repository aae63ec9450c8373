"""Training data: sources, device-resident batches, joint augmentation, generated masks.

A family turns the paths it is given into a :class:`TrainData` in ``dataset(data, config)``;
the engine owns it from then on (``setup``, ``next_batch``, ``preview``, ``state_dict``).
``data`` maps each of the family's ``data_roles`` to paths: ``{"data": [...]}`` by default,
``{"a": [...], "b": [...]}`` for two domains, ``{"image": [...], "mask": [...]}``...

Example (a complete family method, and what a training step sees)::

    import ganedit.data
    from ganedit.data import JointAugment, MaskGenerator

    class Pix2Pix(ganedit.ModelFamily):
        data_roles = ("a", "b")

        def dataset(self, data, config):
            return ganedit.data.paired_folders(
                data["a"], data["b"], channels=3,
                augment=JointAugment(flip=True, jitter=(286, 256)),
            )

        def training_step(self, step, batch):
            x, y = batch["input"], batch["target"]   # (N, 3, 256, 256) float32 in [0, 1]
            ...

    # others: a folder (or Fashion-MNIST idx files), unpaired domains, images + masks
    ganedit.data.image_folder(data["data"], channels=1, load_size=(64, 64))
    ganedit.data.unpaired(data["a"], data["b"], crop=256, augment=JointAugment(flip=True))
    ganedit.data.image_mask(data["image"], data["mask"], crop=256)
    ganedit.data.image_folder(data["data"], crop=256, masks=MaskGenerator("mixed"))

Batch fields: ``image``, ``label`` (idx / in-memory labels), ``input``/``target`` (pairs),
``a``/``b`` (unpaired), ``mask``. Image fields are ``(N, C, H, W)`` float32 in ``[0, 1]``;
masks ``(N, 1, H, W)`` float32 in ``{0, 1}`` (1 = fill); labels ``(N,)`` int64; all on the
device given to ``setup``.

What happens per sample: decode once (``channels``, ``load_size``) to uint8; keep it on the
device when it fits ``memory_budget``, else stream it through DataLoader workers (the same
batches either way); take the ``crop`` window (a pure function of seed, rank, epoch and index);
convert to float; ``augment`` (one random draw shared by the aligned fields of a sample, e.g.
:class:`JointAugment`; the unpaired domains get separate draws); add generated masks
(:class:`MaskGenerator`, also a pure function of the position). A restored
:meth:`TrainData.state_dict` plus the global torch RNG (which the engine checkpoints) gives the
same batches again. Errors are :class:`DatasetError`, naming the file or folder.

Modules: :mod:`~ganedit.data.sources` (builders), :mod:`~ganedit.data.files` (finding and
matching), :mod:`~ganedit.data.idx`, :mod:`~ganedit.data.pixels`,
:mod:`~ganedit.data.augment`, :mod:`~ganedit.data.masks`, :mod:`~ganedit.data.sampling`,
:mod:`~ganedit.data.store`, :mod:`~ganedit.data.stream`, :mod:`~ganedit.data.traindata`.
"""

from __future__ import annotations

from ganedit.data.augment import Augment, JointAugment
from ganedit.data.errors import DatasetError
from ganedit.data.idx import find_idx, read_idx
from ganedit.data.masks import MASK_KINDS, MaskGenerator, MaskRecipe, seeded_masks
from ganedit.data.pixels import Size
from ganedit.data.sources import (
    Options,
    idx_images,
    image_folder,
    image_mask,
    paired_folders,
    role,
    side_by_side,
    tensor_images,
    unpaired,
)
from ganedit.data.traindata import TrainData

__all__ = [
    "MASK_KINDS",
    "Augment",
    "DatasetError",
    "JointAugment",
    "MaskGenerator",
    "MaskRecipe",
    "Options",
    "Size",
    "TrainData",
    "find_idx",
    "idx_images",
    "image_folder",
    "image_mask",
    "paired_folders",
    "read_idx",
    "role",
    "seeded_masks",
    "side_by_side",
    "tensor_images",
    "unpaired",
]

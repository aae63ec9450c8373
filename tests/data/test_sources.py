"""ganedit.data.sources: the builders, one per layout, and their errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

import ganedit.data as D
from ganedit.io import write_image


def _ids(x: torch.Tensor) -> list[int]:
    """The flat value (0..255) of each sample of a batch of flat images."""
    return [round(float(v.mean()) * 255) for v in x]


def test_image_folder_shapes_and_channels(tmp_path, write_images):
    write_images("a", 3)
    b = D.image_folder(tmp_path / "a").setup("cpu").next_batch(2)["image"]
    assert b.shape == (2, 3, 12, 10) and b.dtype == torch.float32 and 0 <= b.min() <= b.max() <= 1
    g = D.image_folder([tmp_path / "a"], channels=1, load_size=(6, 5)).setup("cpu")
    assert g.next_batch(2)["image"].shape == (2, 1, 6, 5) and g.fields == ("image",)
    s = D.image_folder(str(tmp_path / "a"), load_size=6).setup("cpu")
    assert s.next_batch(1)["image"].shape == (1, 3, 7, 6)  # shorter side 6 (12x10 -> 7x6)


def test_generated_masks_with_image_folder(tmp_path, write_images):
    write_images("a", 3, h=16, w=16)
    d = D.image_folder(tmp_path / "a", crop=12, masks=D.MaskGenerator("thick")).setup("cpu")
    assert d.fields == ("image", "mask")
    b = d.next_batch(3)
    assert b["mask"].shape == (3, 1, 12, 12) and set(b["mask"].unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="duplicate"):
        D.TrainData(d.tables + [d.tables[0]], channels=3)


def test_paired_folders_and_missing_partner(tmp_path, write_images):
    arrs = write_images("a", 3)
    for i, a in enumerate(arrs):
        write_image(tmp_path / "b" / f"im{i:02d}.bmp", a)  # suffix differs: still a pair
    d = D.paired_folders(tmp_path / "a", tmp_path / "b", crop=8).setup("cpu")
    b = d.next_batch(3)
    assert d.fields == ("input", "target") and torch.equal(b["input"], b["target"])
    (tmp_path / "b" / "im01.bmp").unlink()
    with pytest.raises(D.DatasetError) as info:
        D.paired_folders(tmp_path / "a", tmp_path / "b")
    assert "im01.png" in str(info.value) and str(tmp_path / "b") in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(D.DatasetError, match="no images found in .*empty"):
        D.paired_folders(tmp_path / "a", tmp_path / "empty")


def test_an_unreadable_file_is_named(tmp_path, write_images):
    write_images("a", 2)
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png at all")
    d = D.image_folder(tmp_path / "a")
    with pytest.raises(D.DatasetError, match="broken.png"):
        d.setup("cpu")
    streamed = D.image_folder(tmp_path / "a", memory_budget=0, workers=0).setup("cpu")
    with pytest.raises(D.DatasetError, match="broken.png"):
        streamed.next_batch(3)


def test_side_by_side(tmp_path):
    left = np.zeros((6, 6, 3), np.uint8)
    right = np.full((6, 6, 3), 255, np.uint8)
    write_image(tmp_path / "ab" / "x.png", np.concatenate([left, right], 1))
    b = D.side_by_side(tmp_path / "ab").setup("cpu").next_batch(2)
    assert b["input"].shape == (2, 3, 6, 6) and b["input"].max() == 0 and b["target"].min() == 1
    b = D.side_by_side(tmp_path / "ab", direction="BtoA", load_size=4).setup("cpu").next_batch(1)
    assert b["input"].min() == 1 and b["input"].shape == (1, 3, 4, 4)
    with pytest.raises(ValueError, match="AtoB"):
        D.side_by_side(tmp_path / "ab", direction="up")


def test_side_by_side_odd_or_small_images_are_named(tmp_path):
    write_image(tmp_path / "odd" / "odd.png", np.zeros((6, 7, 3), np.uint8))
    with pytest.raises(D.DatasetError, match="odd.png: .*even width"):
        D.side_by_side(tmp_path / "odd").setup("cpu")
    write_image(tmp_path / "small" / "small.png", np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(D.DatasetError, match="small.png: 4x6 is smaller than the crop 5x5"):
        D.side_by_side(tmp_path / "small", crop=5).setup("cpu")


def test_unpaired_shuffles_each_domain_and_sees_every_file(tmp_path, write_flat):
    a_vals = write_flat("a", [10, 20, 30])
    b_vals = write_flat("b", [100, 110, 120, 130, 140])
    d = D.unpaired(tmp_path / "a", tmp_path / "b", augment=D.JointAugment()).setup("cpu", seed=4)
    assert len(d) == 5 and d.per_rank == 5 and d.fields == ("a", "b")
    orders_a, orders_b, pairs = [], [], set()
    for _ in range(4):  # one epoch per batch
        b = d.next_batch(5)
        ia, ib = _ids(b["a"]), _ids(b["b"])
        assert sorted(ib) == b_vals  # every b once, no repeats (not drawn with replacement)
        assert set(ia) == set(a_vals) and max(Counter(ia).values()) <= 2
        orders_a.append(tuple(ia))
        orders_b.append(tuple(ib))
        pairs |= set(zip(ia, ib, strict=True))
    assert len(set(orders_a)) > 1 and len(set(orders_b)) > 1  # each reshuffled per epoch
    assert len(pairs) > 5  # the domains are not walked in step


def test_unpaired_crops_and_channels(tmp_path, write_images):
    write_images("ua", 3)
    write_images("ub", 5, h=10, w=10, c=1)
    u = D.unpaired(tmp_path / "ua", tmp_path / "ub", crop=8).setup("cpu")
    b = u.next_batch(3)
    assert b["a"].shape == b["b"].shape == (3, 3, 8, 8)
    with pytest.raises(D.DatasetError, match="no images found"):
        (tmp_path / "none").mkdir()
        D.unpaired(tmp_path / "ua", tmp_path / "none")


def test_image_mask_reads_the_mask_convention(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[:2, :, :3] = 200  # bright top half: fill
    mask[:, :, 3] = 0  # all transparent: alpha of a mask file is ignored
    write_image(tmp_path / "i" / "sub" / "p.png", img)
    write_image(tmp_path / "m" / "sub" / "p.png", mask)
    b = D.image_mask(tmp_path / "i", tmp_path / "m").setup("cpu").next_batch(1)
    want = torch.zeros(1, 1, 4, 4)
    want[:, :, :2] = 1
    assert torch.equal(b["mask"], want) and b["image"].shape == (1, 3, 4, 4)
    write_image(tmp_path / "m" / "sub" / "q.png", mask)
    with pytest.raises(D.DatasetError, match="q.png"):
        D.image_mask(tmp_path / "i", tmp_path / "m")


def test_tensor_images_and_role(tmp_path):
    arr = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    d = D.tensor_images(arr, labels=[3, 1, 2, 0]).setup("cpu")
    b = d.preview(4)
    assert b["image"].shape == (4, 1, 3, 3) and b["label"].tolist() == [3, 1, 2, 0]
    rgb = D.tensor_images(np.zeros((2, 5, 5, 4), np.uint16), channels=1).setup("cpu")
    assert rgb.preview(2)["image"].shape == (2, 1, 5, 5)
    with pytest.raises(D.DatasetError, match="shape"):
        D.tensor_images(np.zeros((5, 5), np.uint8))
    with pytest.raises(D.DatasetError, match="float32"):
        D.tensor_images(np.zeros((2, 5, 5), np.float32))
    data = {"a": [tmp_path], "b": []}
    assert D.role(data, "a") == [tmp_path]
    with pytest.raises(
        D.DatasetError, match=r"^data for role 'b' is missing \(roles given: a, b\)$"
    ):
        D.role(data, "b")

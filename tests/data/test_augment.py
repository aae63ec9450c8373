"""ganedit.data.augment: joint kornia augmentation, and pluggable augmentations in TrainData."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganedit.data as D
from ganedit.io import write_image


def _blocky(n, c, h, w, seed=0):
    """Binary images made of 2x2 blocks: a mask equal to channel 0 stays aligned under any
    interpolation followed by a 0.5 threshold."""
    g = torch.Generator().manual_seed(seed)
    small = (torch.rand(n, c, h // 2, w // 2, generator=g) > 0.5).float()
    return small.repeat_interleave(2, 2).repeat_interleave(2, 3)


def test_input_and_target_get_identical_draws():
    aug = D.JointAugment(flip=True, jitter=(20, 12), size=16, vflip=True)
    x = torch.rand(8, 3, 14, 18)
    torch.manual_seed(0)
    out = aug({"input": x, "target": x.clone()}, train=True)
    assert out["input"].shape == out["target"].shape == (8, 3, 16, 16)
    assert torch.equal(out["input"], out["target"])
    torch.manual_seed(0)
    assert torch.equal(aug({"input": x, "target": x.clone()}, True)["input"], out["input"])


def test_flip_is_a_real_mirror_per_sample():
    aug = D.JointAugment(flip=True)
    x = torch.rand(32, 1, 4, 6)
    torch.manual_seed(1)
    y = aug({"image": x}, train=True)["image"]
    flipped = [torch.equal(y[i], x[i].flip(-1)) for i in range(32)]
    kept = [torch.equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 4 < sum(flipped) < 28


def test_jitter_gives_the_crop_and_eval_is_centred_without_rng():
    aug = D.JointAugment(flip=True, jitter=(12, 8))
    x = torch.rand(4, 3, 10, 10)
    assert aug({"image": x}, train=True)["image"].shape == (4, 3, 8, 8)
    state = torch.get_rng_state()
    a, b = aug({"image": x}, train=False), aug({"image": x}, train=False)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a["image"], b["image"]) and a["image"].shape == (4, 3, 8, 8)
    with pytest.raises(ValueError, match="larger than its load size"):
        D.JointAugment(jitter=(8, 12))


def test_mask_stays_aligned_and_binary():
    aug = D.JointAugment(flip=True, jitter=(22, 16), size=12)
    img = _blocky(6, 3, 16, 16)
    torch.manual_seed(2)
    out = aug({"image": img, "mask": img[:, :1].clone()}, train=True)
    m = out["mask"]
    assert m.shape == (6, 1, 12, 12) and set(m.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(m, (out["image"][:, :1] > 0.5).float())
    assert 0.0 <= out["image"].min() and out["image"].max() <= 1.0


def test_identity_and_extra_ops():
    import kornia.augmentation as K

    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(D.JointAugment(flip=False)({"image": x}, True)["image"], x)
    rot = D.JointAugment(flip=False, ops=[K.RandomRotation(30.0, p=1.0)])
    torch.manual_seed(0)
    out = rot({"input": x, "target": x.clone()}, True)
    assert torch.equal(out["input"], out["target"]) and not torch.equal(out["input"], x)
    assert torch.equal(rot({"input": x}, False)["input"], x)  # extra ops: training only


def test_pairs_from_files_stay_identical_through_traindata(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(4):
        a = rng.integers(0, 256, (14, 12, 3), dtype=np.uint8)
        write_image(tmp_path / "a" / f"{i}.png", a)
        write_image(tmp_path / "b" / f"{i}.png", a)
    aug = D.JointAugment(flip=True, jitter=(16, 10))
    d = D.paired_folders(tmp_path / "a", tmp_path / "b", crop=12, augment=aug).setup("cpu")
    for _ in range(3):
        b = d.next_batch(4)
        assert b["input"].shape == (4, 3, 10, 10) and torch.equal(b["input"], b["target"])
    assert d.preview(2)["input"].shape == (2, 3, 10, 10)


def test_image_and_mask_files_stay_aligned_through_traindata(tmp_path):
    img = _blocky(4, 1, 16, 16, seed=3)
    for i in range(4):
        pix = (img[i, 0].numpy() * 255).astype(np.uint8)
        write_image(tmp_path / "img" / f"{i}.png", np.repeat(pix[..., None], 3, 2))
        rgba = np.dstack([pix, pix, pix, np.zeros_like(pix)])  # transparent: alpha ignored
        write_image(tmp_path / "mask" / f"{i}.png", rgba)
    aug = D.JointAugment(flip=True, jitter=(18, 12), size=10)
    d = D.image_mask(tmp_path / "img", tmp_path / "mask", crop=14, augment=aug).setup("cpu")
    for _ in range(3):
        b = d.next_batch(4)
        m = b["mask"]
        assert m.shape == (4, 1, 10, 10) and set(m.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(m, (b["image"][:, :1] > 0.5).float())


def test_a_family_can_plug_its_own_augmentation(tmp_path, write_images):
    write_images("ua", 3, h=8, w=8)
    write_images("ub", 5, h=8, w=8, seed=1)
    calls = []

    def mine(fields, train):
        calls.append((sorted(fields), train))
        return {k: 1 - v for k, v in fields.items()}

    d = D.unpaired(tmp_path / "ua", tmp_path / "ub", augment=mine).setup("cpu")
    plain = D.unpaired(tmp_path / "ua", tmp_path / "ub").setup("cpu")
    b, p = d.next_batch(2), plain.next_batch(2)
    assert calls == [(["a"], True), (["b"], True)]  # one call per domain: separate draws
    assert torch.allclose(b["a"], 1 - p["a"]) and torch.allclose(b["b"], 1 - p["b"])
    d.preview(1)
    assert calls[-2:] == [(["a"], False), (["b"], False)]


def test_unpaired_domains_get_separate_draws(tmp_path):
    ramp = np.tile(np.arange(8, dtype=np.uint8)[None, :, None] * 30, (8, 1, 1))
    for i in range(4):
        write_image(tmp_path / "a" / f"{i}.png", ramp)
        write_image(tmp_path / "b" / f"{i}.png", ramp)
    d = D.unpaired(tmp_path / "a", tmp_path / "b", channels=1, augment=D.JointAugment())
    d.setup("cpu")
    torch.manual_seed(0)
    differ = [not torch.equal(x["a"], x["b"]) for x in (d.next_batch(4) for _ in range(4))]
    assert any(differ)

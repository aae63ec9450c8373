"""ganedit.data.TrainData: resident vs streamed, exact resume, sharding, previews."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganedit.data as D


def _draw(d, n, steps, seed=0):
    torch.manual_seed(seed)
    return [d.next_batch(n) for _ in range(steps)]


def _same(xs, ys):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]), k


def test_resident_and_streaming_give_same_batches(tmp_path, write_images):
    write_images("a", 6)
    aug = D.JointAugment(flip=True)
    gen = D.MaskGenerator("mixed")
    res = D.image_folder(tmp_path / "a", crop=8, augment=aug, masks=gen).setup("cpu", seed=5)
    st = D.image_folder(
        tmp_path / "a", crop=8, augment=aug, masks=gen, memory_budget=0, workers=0
    ).setup("cpu", seed=5)
    assert res.resident and not st.resident
    b1, b2 = _draw(res, 4, 3), _draw(st, 4, 3)
    _same(b1, b2)
    x = b1[0]["image"]
    assert x.shape == (4, 3, 8, 8) and x.dtype == torch.float32 and 0 <= x.min() <= x.max() <= 1
    assert res.state_dict() == st.state_dict() == {"epoch": 1, "index": 6, "seed": 5}
    _same([res.preview(3)], [st.preview(3)])


def test_unpaired_resident_and_streamed_with_a_worker(tmp_path, write_images):
    write_images("ua", 3, h=9, w=9)
    write_images("ub", 5, h=10, w=12, seed=1)
    kw = {"crop": 8, "augment": D.JointAugment(flip=True)}
    res = D.unpaired(tmp_path / "ua", tmp_path / "ub", **kw).setup("cpu", seed=2)
    st = D.unpaired(tmp_path / "ua", tmp_path / "ub", memory_budget=0, workers=1, **kw)
    st.setup("cpu", seed=2)
    _same(_draw(res, 3, 4), _draw(st, 3, 4))


@pytest.mark.parametrize("budget", [None, 0])
def test_position_restores_exactly(tmp_path, write_images, budget):
    write_images("a", 5, h=9, w=14)
    kw = {"crop": (6, 7), "augment": D.JointAugment(flip=True), "masks": D.MaskGenerator()}
    d = D.image_folder(tmp_path / "a", memory_budget=budget, workers=0, **kw).setup("cpu", seed=1)
    d.next_batch(3)
    pos = d.state_dict()
    want = _draw(d, 4, 2, seed=1)
    d2 = D.image_folder(tmp_path / "a", memory_budget=budget, workers=0, **kw)
    d2.setup("cpu", seed=99)
    d2.load_state_dict(pos)
    assert d2.seed == 1
    _same(_draw(d2, 4, 2, seed=1), want)


def test_crops_and_masks_depend_on_the_position_not_the_history(tmp_path, write_images):
    """Batch sizes split differently reach the same samples: windows and generated masks are
    pure functions of (seed, rank, epoch, index)."""
    write_images("a", 4, h=12, w=12)
    kw = {"crop": 7, "masks": D.MaskGenerator("medium")}
    d1 = D.image_folder(tmp_path / "a", **kw).setup("cpu", seed=3)
    d2 = D.image_folder(tmp_path / "a", **kw).setup("cpu", seed=3)
    one = d1.next_batch(6)
    parts = [d2.next_batch(2) for _ in range(3)]
    for k in ("image", "mask"):
        assert torch.equal(one[k], torch.cat([p[k] for p in parts]))
    assert not torch.equal(one["mask"][0], one["mask"][4])  # same image, another position


def test_shards_are_disjoint_and_cover_an_epoch():
    data = np.zeros((10, 4, 4), np.uint8)
    seen = []
    for r in range(2):
        d = D.tensor_images(data, labels=np.arange(10)).setup("cpu", rank=r, world=2, seed=3)
        assert d.per_rank == 5
        seen.append(set(d.next_batch(5)["label"].tolist()))
    assert len(seen[0]) == len(seen[1]) == 5 and not seen[0] & seen[1]
    with pytest.raises(D.DatasetError, match="cannot be shared by 11 ranks"):
        D.tensor_images(data).setup("cpu", world=11)


def test_preview_is_fixed_and_touches_nothing(tmp_path, write_images):
    write_images("a", 3, h=10, w=10)
    d = D.image_folder(tmp_path / "a", crop=6, augment=D.JointAugment(), masks=D.MaskGenerator())
    d.setup("cpu")
    d.next_batch(2)
    pos, rng = d.state_dict(), torch.get_rng_state()
    p1, p2 = d.preview(5), d.preview(5)
    assert d.state_dict() == pos and torch.equal(torch.get_rng_state(), rng)
    _same([p1], [p2])
    assert p1["image"].shape == (3, 3, 6, 6) and p1["mask"].shape == (3, 1, 6, 6)


def test_mixed_sizes_kept_as_list_and_cropped(tmp_path, write_images):
    write_images("a", 2, h=12, w=10)
    write_images("a/sub", 2, h=16, w=20, seed=1)
    d = D.image_folder(tmp_path / "a", crop=8).setup("cpu")
    assert isinstance(d._store["image"], list)
    assert d.next_batch(4)["image"].shape == (4, 3, 8, 8)
    with pytest.raises(D.DatasetError, match="differ in size"):
        D.image_folder(tmp_path / "a").setup("cpu").next_batch(4)
    with pytest.raises(D.DatasetError, match="differ in size"):
        D.image_folder(tmp_path / "a", memory_budget=0, workers=0).setup("cpu").next_batch(4)
    with pytest.raises(D.DatasetError, match="im00.png: 10x12 is smaller than the crop 14x14"):
        D.image_folder(tmp_path / "a", crop=14).setup("cpu")


def test_budget_decides_resident(tmp_path, write_images):
    write_images("a", 4, h=8, w=8)
    assert not D.image_folder(tmp_path / "a", memory_budget=3 * 8 * 8 * 3).setup("cpu").resident
    assert D.image_folder(tmp_path / "a", memory_budget=3 * 8 * 8 * 4).setup("cpu").resident
    big = D.tensor_images(np.zeros((4, 8, 8), np.uint8), memory_budget=10).setup("cpu")
    assert not big.resident and big.next_batch(2)["image"].shape == (2, 1, 8, 8)


def test_empty_tables_are_refused():
    with pytest.raises(D.DatasetError, match="empty"):
        D.TrainData([], channels=3)

import gzip
import struct

import numpy as np
import pytest
import torch

from ganedit.io import datasets as D
from ganedit.io import write_image


def _imgs(folder, n, h=12, w=10, c=3, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrs = []
    for i in range(n):
        a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        write_image(folder / f"im{i:02d}.png", a)
        arrs.append(a)
    return arrs


def test_folder_resident_and_streaming_give_same_batches(tmp_path):
    _imgs(tmp_path / "a", 6)
    res = D.image_folder(tmp_path / "a", crop=8, flip=True).setup("cpu", seed=5)
    st = D.image_folder(tmp_path / "a", crop=8, flip=True, memory_budget=0, workers=0).setup(
        "cpu", seed=5
    )
    assert res.resident and not st.resident
    torch.manual_seed(0)
    b1 = [res.next_batch(4)["image"] for _ in range(3)]
    torch.manual_seed(0)
    b2 = [st.next_batch(4)["image"] for _ in range(3)]
    for x, y in zip(b1, b2, strict=True):
        assert (
            x.shape == (4, 3, 8, 8) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        )
        assert torch.equal(x, y)
    assert res.state_dict() == {"epoch": 1, "index": 6, "seed": 5}  # end of the 2nd epoch


def test_position_restores_exactly(tmp_path):
    _imgs(tmp_path / "a", 5, h=9, w=14)
    d = D.image_folder(tmp_path / "a", crop=(6, 7)).setup("cpu", seed=1)
    d.next_batch(3)
    pos = d.state_dict()
    torch.manual_seed(1)
    want = d.next_batch(4)["image"]
    d2 = D.image_folder(tmp_path / "a", crop=(6, 7)).setup("cpu", seed=99)
    d2.load_state_dict(pos)
    torch.manual_seed(1)
    assert torch.equal(d2.next_batch(4)["image"], want)


def test_shards_are_disjoint():
    data = np.zeros((10, 4, 4), np.uint8)
    seen = []
    for r in range(2):
        d = D.tensor_images(data).setup("cpu", rank=r, world=2, seed=3)
        seen.append(set(d._perm(0)))
    assert len(seen[0]) == len(seen[1]) == 5 and not seen[0] & seen[1]


def test_mixed_sizes_kept_as_list_and_cropped(tmp_path):
    _imgs(tmp_path / "a", 2, h=12, w=10)
    _imgs(tmp_path / "a" / "sub", 2, h=16, w=20, seed=1)
    d = D.image_folder(tmp_path / "a", crop=8).setup("cpu")
    assert isinstance(d._store["image"], list)
    assert d.next_batch(4)["image"].shape == (4, 3, 8, 8)
    with pytest.raises(D.DatasetError, match="differ in size"):
        D.image_folder(tmp_path / "a").setup("cpu").next_batch(4)
    with pytest.raises(D.DatasetError, match="smaller than the crop"):
        D.image_folder(tmp_path / "a", crop=14).setup("cpu")


def test_paired_and_mask_are_augmented_jointly(tmp_path):
    arrs = _imgs(tmp_path / "a", 4)
    for i, a in enumerate(arrs):
        write_image(tmp_path / "b" / f"im{i:02d}.png", a)
        write_image(
            tmp_path / "m" / f"im{i:02d}.png", np.where(a[..., :1] > 127, 255, 0).astype(np.uint8)
        )
    p = D.paired_folders(tmp_path / "a", tmp_path / "b", crop=8, size=16).setup("cpu")
    for _ in range(3):
        b = p.next_batch(4)
        assert b["input"].shape == (4, 3, 16, 16) and torch.equal(b["input"], b["target"])
    m = D.image_mask(tmp_path / "a", tmp_path / "m", crop=8).setup("cpu")
    for _ in range(3):
        b = m.next_batch(4)
        assert b["mask"].shape == (4, 1, 8, 8) and set(b["mask"].unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(b["mask"], (b["image"][:, :1] > 0.5).float())
    (tmp_path / "b" / "im03.png").unlink()
    with pytest.raises(D.DatasetError, match="im03"):
        D.paired_folders(tmp_path / "a", tmp_path / "b")


def test_side_by_side_and_unpaired(tmp_path):
    left = np.zeros((6, 6, 3), np.uint8)
    right = np.full((6, 6, 3), 255, np.uint8)
    write_image(tmp_path / "ab" / "x.png", np.concatenate([left, right], 1))
    d = D.side_by_side(tmp_path / "ab", flip=False).setup("cpu")
    b = d.next_batch(2)
    assert b["input"].max() == 0 and b["target"].min() == 1
    b = D.side_by_side(tmp_path / "ab", direction="BtoA").setup("cpu").next_batch(1)
    assert b["input"].min() == 1
    _imgs(tmp_path / "ua", 3)
    _imgs(tmp_path / "ub", 5, h=10, w=10, c=1)
    u = D.unpaired(tmp_path / "ua", tmp_path / "ub", crop=8).setup("cpu")
    assert len(u) == 5
    b = u.next_batch(3)
    assert b["a"].shape == b["b"].shape == (3, 3, 8, 8)


def test_idx_files(tmp_path):
    imgs = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    raw = struct.pack(">BBBB3I", 0, 0, 8, 3, 3, 4, 5) + imgs.tobytes()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 8, 9])
    )
    assert np.array_equal(D.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    d = D.image_folder(tmp_path, channels=1, flip=False).setup("cpu")
    b = d.preview(3)
    assert b["image"].shape == (3, 1, 4, 5) and b["label"].tolist() == [7, 8, 9]
    assert torch.equal((b["image"][:, 0] * 255).round().to(torch.uint8), torch.from_numpy(imgs))
    (tmp_path / "bad-idx3-ubyte").write_bytes(b"\x01\x02")
    with pytest.raises(D.DatasetError, match="bad-idx3-ubyte"):
        D.read_idx(tmp_path / "bad-idx3-ubyte")

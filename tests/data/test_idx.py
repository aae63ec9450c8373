"""ganedit.data.idx: the MNIST / Fashion-MNIST idx format."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

import ganedit.data as D


def _idx(arr: np.ndarray, code: int = 8) -> bytes:
    return struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape) + arr.tobytes()


def _mnist_folder(folder, n=3, gz=True):
    imgs = np.arange(n * 4 * 5, dtype=np.uint8).reshape(n, 4, 5)
    raw = _idx(imgs)
    name = "train-images-idx3-ubyte"
    if gz:
        (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
    else:
        (folder / name).write_bytes(raw)
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx(np.array([7, 8, 9][:n], np.uint8)))
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(imgs[:1]))
    return imgs


def test_read_plain_gz_and_other_types(tmp_path):
    imgs = _mnist_folder(tmp_path)
    assert np.array_equal(D.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    f4 = np.array([[1.5, -2.0]], ">f4")
    (tmp_path / "f.idx").write_bytes(_idx(f4, 0x0D))
    got = D.read_idx(tmp_path / "f.idx")
    assert got.dtype == np.float32 and got.dtype.isnative and got.tolist() == [[1.5, -2.0]]


def test_find_idx_picks_train_images_and_labels(tmp_path):
    _mnist_folder(tmp_path)
    images, labels = D.find_idx(tmp_path)
    assert images.name == "train-images-idx3-ubyte.gz"
    assert labels is not None and labels.name == "train-labels-idx1-ubyte"
    assert D.find_idx(tmp_path / "train-labels-idx1-ubyte") is None
    (tmp_path / "empty").mkdir()
    assert D.find_idx(tmp_path / "empty") is None


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"\x01\x02", "bad magic"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated idx header"),
        (struct.pack(">BBBB2I", 0, 0, 8, 2, 3, 3) + b"\x00" * 5, "truncated idx data"),
        (b"\x1f\x8b\x08broken-gzip", "cannot read"),
    ],
)
def test_bad_files_name_the_file(tmp_path, raw, why):
    bad = tmp_path / "bad-idx3-ubyte"
    bad.write_bytes(raw)
    with pytest.raises(D.DatasetError, match=why) as info:
        D.read_idx(bad)
    assert "bad-idx3-ubyte" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(D.DatasetError, match="nothere-idx3"):
        D.read_idx(tmp_path / "nothere-idx3")


def test_idx_folder_and_file_as_training_data(tmp_path):
    imgs = _mnist_folder(tmp_path, gz=False)
    d = D.image_folder(tmp_path, channels=1).setup("cpu")
    b = d.preview(3)
    assert b["image"].shape == (3, 1, 4, 5) and b["label"].tolist() == [7, 8, 9]
    assert b["label"].dtype == torch.int64
    assert torch.equal((b["image"][:, 0] * 255).round().to(torch.uint8), torch.from_numpy(imgs))
    one = D.image_folder([tmp_path / "train-images-idx3-ubyte"], channels=3).setup("cpu")
    assert "label" not in one.fields and one.preview(1)["image"].shape == (1, 3, 4, 5)


def test_label_count_must_match(tmp_path):
    _mnist_folder(tmp_path, gz=False)
    (tmp_path / "l2").write_bytes(_idx(np.array([1, 2], np.uint8)))
    with pytest.raises(D.DatasetError, match="2 labels for 3 images"):
        D.idx_images(tmp_path / "train-images-idx3-ubyte", tmp_path / "l2")
    with pytest.raises(D.DatasetError, match=r"expected \(N, H, W\)"):
        D.idx_images(tmp_path / "train-labels-idx1-ubyte")

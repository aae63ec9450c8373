"""The run manifest: records, run-level fields, repeated atomic writes, loading."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import pytest

import ganedit
from ganedit.io import MANIFEST_NAME, Manifest
from ganedit.io.atomic import TEMP_SUFFIX


def test_write_and_load_round_trip(tmp_path):
    m = Manifest(
        tmp_path,
        model="demo",
        weights=tmp_path / "w.safetensors",
        weights_sha256="ab" * 32,
        parameters={"scale": 2, "out": tmp_path / "out", "tile": None},
    )
    m.add(
        {
            "input": tmp_path / "a.png",
            "output": tmp_path / "o" / "a.png",
            "status": "done",
            "seconds": 0.5,
        }
    )
    m.add({"input": "b.png", "status": "failed", "error": "cannot read image 'b.png': empty"})
    m.add({"input": "c.png", "output": "o/c.png", "status": "skipped"})
    m.finish()
    path = m.write()
    assert path == tmp_path / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["model"] == "demo"
    assert data["weights_sha256"] == "ab" * 32
    assert data["parameters"] == {"scale": 2, "out": str(tmp_path / "out"), "tile": None}
    assert data["counts"] == {"done": 1, "skipped": 1, "failed": 1, "total": 3}
    assert data["versions"]["ganedit"] == ganedit.__version__
    assert data["versions"]["opencv"] == cv2.__version__
    assert data["versions"]["torch"]
    assert data["started"] and data["finished"]
    assert data["files"][0] == {
        "input": str(tmp_path / "a.png"),
        "output": str(tmp_path / "o" / "a.png"),
        "status": "done",
        "error": None,
        "seconds": 0.5,
    }
    loaded = Manifest.load(tmp_path)
    assert loaded.path == path
    assert loaded.records == data["files"]
    assert loaded.run["model"] == "demo"
    assert loaded.counts() == data["counts"]
    assert loaded.by_input()["b.png"]["status"] == "failed"


def test_repeated_writes_keep_a_valid_file(tmp_path):
    m = Manifest(tmp_path / "run.json")
    for i in range(5):
        m.add({"input": f"{i}.png", "status": "done"})
        m.write()
        assert len(json.loads((tmp_path / "run.json").read_text())["files"]) == i + 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_folder_that_does_not_exist_yet(tmp_path):
    m = Manifest(tmp_path / "new" / "out")
    assert m.path == tmp_path / "new" / "out" / MANIFEST_NAME
    assert m.write().is_file()


@pytest.mark.parametrize("record", [{"input": "a", "status": "ok"}, {"status": "done"}])
def test_bad_records_refused(tmp_path, record):
    with pytest.raises(ValueError):
        Manifest(tmp_path).add(record)


def test_load_refuses_other_json(tmp_path):
    p = tmp_path / "other.json"
    p.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="other.json"):
        Manifest.load(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="bad JSON"):
        Manifest.load(p)


def test_adds_from_threads(tmp_path):
    m = Manifest(tmp_path)

    def work(k: int) -> None:
        for i in range(50):
            m.add({"input": Path(f"{k}/{i}.png"), "status": "done"})
        m.write()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.write()
    assert Manifest.load(tmp_path).counts()["done"] == 200

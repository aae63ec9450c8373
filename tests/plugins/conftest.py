"""The bundled-weight tests' data, made from the checked-in Fashion-MNIST fixture
(``tests/fixtures/fashion-mnist``, see its README) so that they run on CI and on a fresh
clone: the same items, resized and turned into edges by ``scripts/make_translation_data.py``'s
own functions, as the full data sets under ``data/`` give them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FASHION = ROOT / "tests" / "fixtures" / "fashion-mnist"  # 605 test items (see README.md)


def _make_data() -> ModuleType:
    path = ROOT / "scripts" / "make_translation_data.py"
    spec = importlib.util.spec_from_file_location("make_translation_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fashion_test_split() -> Path:
    """The folder holding the fixture's ``t10k-*-ubyte.gz`` (the test split's first 500
    items, then more sneakers and ankle boots)."""
    assert (FASHION / "t10k-images-idx3-ubyte.gz").is_file(), f"{FASHION} is missing"
    return FASHION


@pytest.fixture(scope="session")
def fashion_cycle(fashion_test_split: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``testA`` (the first 100 test sneakers) and ``testB`` (ankle boots), 64x64 gray, and
    ``classes.json``: ``data/fashion-cycle`` restricted to what the CycleGAN test reads."""
    make = _make_data()
    out = tmp_path_factory.mktemp("fashion-cycle")
    items, labels = make.load_split(fashion_test_split, "t10k")
    make.write_domain(out / "testA", items[labels == make.SNEAKER][:100])
    make.write_domain(out / "testB", items[labels == make.BOOT][:100])
    names = {"a": "Sneaker", "b": "Ankle boot"}
    doc = {"a": make.SNEAKER, "b": make.BOOT, "names": names}  # as make_translation_data writes
    (out / "classes.json").write_text(json.dumps(doc) + "\n")
    return out


@pytest.fixture(scope="session")
def fashion_edges_test(fashion_test_split: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 pix2pix test pairs (edges | item, 128x64 gray) with ``labels.csv``:
    ``data/fashion-edges/test`` restricted to what the pix2pix test reads."""
    make = _make_data()
    out = tmp_path_factory.mktemp("fashion-edges") / "test"
    items, labels = make.load_split(fashion_test_split, "t10k")
    make.write_pairs(out, items[:300], labels[:300])
    return out

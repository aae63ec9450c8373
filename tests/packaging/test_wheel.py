"""A plain (non-editable) install carries the built-in plugins, their entry points and the
bundled assets: build the wheel, install it into an empty folder, and use it from there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # Copy nothing: build from the checkout, with setuptools' temp dirs outside it.
    env = {**os.environ, "TMPDIR": str(build)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    (whl,) = out.glob("ganedit-*.whl")
    return whl


def test_wheel_holds_plugins_entry_points_and_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ganedit/py.typed" in names
    assert "ganedit_srgan/samples/wine.png" in names
    # every bundled weights file and card, each in its own package's data (plugins/ganedit_<x>
    # installs as ganedit_<x>; the core's metric classifiers under ganedit/metric_weights)
    on_disk = {
        p.relative_to(ROOT).as_posix().removeprefix("plugins/")
        for p in [*ROOT.glob("plugins/*/weights/*"), *ROOT.glob("ganedit/metric_weights/*")]
    }
    assert {n for n in on_disk if n.endswith(".safetensors")} >= {
        "ganedit_srgan/weights/srgan-x4.safetensors",
        "ganedit/metric_weights/fashion-classifier.safetensors",
    }
    assert on_disk <= names, sorted(on_disk - names)
    for plugin in ("ganedit_srgan", "ganedit_dcgan"):
        assert f"{plugin}/__init__.py" in names
    (ep,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(ep).decode()
    assert "[ganedit]" in text and "srgan = ganedit_srgan" in text


def test_installed_wheel_finds_bundled_weights(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import json, ganedit, ganedit.weights as w\n"
        "fams = {n: ganedit.get_family(n) for n in ganedit.list_models()}\n"
        "out = {}\n"
        "for n, f in fams.items():\n"
        "    spec = f.default_weights(f.Config())\n"
        "    if spec:\n"
        "        p = w.resolve_resource(spec)\n"
        "        out[n] = [str(p), p.is_file()]\n"
        "print(json.dumps({'file': ganedit.__file__, 'weights': out}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANEDIT_")}
    env["GANEDIT_CACHE_DIR"] = os.environ["GANEDIT_CACHE_DIR"]  # the session's, not ~/.cache
    env["PYTHONPATH"] = str(target)
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["file"].startswith(str(target)), "imported the checkout, not the wheel"
    assert info["weights"], "no built-in family ships default weights"
    for name, (path, exists) in info["weights"].items():
        assert path.startswith(str(target)) and exists, (name, path)

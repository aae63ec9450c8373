"""The three worked examples of docs/plugins.md, run exactly as printed.

Every fenced block that follows an ``<!-- example: NAME -->`` comment belongs to example NAME:
its python blocks, joined in order, are the plugin module, and its toml block is the
distribution's ``pyproject.toml``. Each test installs the example the way ``pip install``
would (the module plus a ``*.dist-info`` with the entry points of that pyproject) and then
does what the page says a plugin author can do: pass the conformance kit, show up in
``ganedit plugins`` / ``ganedit models``, train (CLI, ``ganedit.train``, ``ganedit.engine.fit``),
export, load and run over a folder (CLI and ``ganedit.run_folder``).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganedit
from ganedit.cli import cli
from ganedit.engine import EMAWarning, Engine, export_weights, fit
from ganedit.plugins import reset_plugins
from ganedit.testing import check_family, hook_names, plugin_imports_only_public
from ganedit.weights import load_weights

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCK = re.compile(r"<!-- example: ([a-z0-9-]+) -->\s*\n```(\w+)\n(.*?)\n```", re.S)


def example_blocks(name: str) -> tuple[str, str]:
    """``(module source, pyproject.toml text)`` of the example ``name`` in the page."""
    python, toml = [], []
    for found, lang, code in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        if found == name:
            (python if lang == "python" else toml).append(code)
    assert python and len(toml) == 1, f"example {name!r}: python blocks and one toml block"
    return "\n\n\n".join(python) + "\n", toml[0]


class Installed:
    """An example installed into ``site``: its module, distribution and entry points."""

    def __init__(self, name: str, site: Path) -> None:
        source, pyproject = example_blocks(name)
        meta = tomllib.loads(pyproject)
        project = meta["project"]
        (self.module_name,) = meta["tool"]["setuptools"]["py-modules"]
        self.dist, self.version = project["name"], project["version"]
        self.entry_points = dict(project["entry-points"]["ganedit"])
        self.site = site
        site.mkdir(parents=True)
        (site / f"{self.module_name}.py").write_text(source, encoding="utf-8")
        info = site / f"{self.dist.replace('-', '_')}-{self.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {self.dist}\nVersion: {self.version}\n",
            encoding="utf-8",
        )
        lines = [f"{k} = {v}" for k, v in self.entry_points.items()]
        (info / "entry_points.txt").write_text("[ganedit]\n" + "\n".join(lines) + "\n")

    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors: one intra-op thread is as fast, and far faster on a busy shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``install(name)``: put example ``name`` on ``sys.path`` like a pip-installed plugin."""
    done: list[Installed] = []

    def _install(name: str) -> Installed:
        inst = Installed(name, tmp_path / f"site-{name}")
        monkeypatch.syspath_prepend(str(inst.site))
        sys.modules.pop(inst.module_name, None)
        importlib.invalidate_caches()
        reset_plugins()
        done.append(inst)
        return inst

    yield _install
    for inst in done:
        sys.modules.pop(inst.module_name, None)


def ganedit_cli(*args: object) -> str:
    """Run ``ganedit ARGS...`` in this process; return its output, asserting exit code 0."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, f"ganedit {' '.join(map(str, args))}:\n{result.output}"
    return result.output


def shape_of(path: Path) -> tuple[int, ...]:
    return ganedit.read_image(path).shape


def write_inputs(folder: Path) -> None:
    """Gray 8-bit (an odd size: padded to the size multiple), gray 16-bit and RGBA inputs."""
    rng = np.random.default_rng(3)
    ganedit.write_image(folder / "gray.png", rng.integers(0, 256, (17, 23), dtype=np.uint8))
    ganedit.write_image(
        folder / "sub" / "deep.png", rng.integers(0, 65536, (20, 16), dtype=np.uint16)
    )
    ganedit.write_image(folder / "rgba.png", rng.integers(0, 256, (16, 24, 4), dtype=np.uint8))


def installed_and_listed(inst: Installed, family: str, kind: str) -> None:
    """``ganedit plugins`` and ``ganedit models`` show the example as the page says."""
    (plugin,) = inst.entry_points
    records = ganedit_cli("plugins")
    assert f"{plugin}  [loaded]  {inst.dist} {inst.version}  ({inst.module_name})" in records
    assert f"    models:   {family}" in records
    row = next(r for r in ganedit_cli("models").splitlines() if r.startswith(family + " "))
    assert row.split()[1:3] == [kind, plugin]
    assert plugin_imports_only_public(inst.site) == []


def conforming(install, name: str, kind: str, **tiny: Any) -> tuple[type, Any]:
    """Install example ``name``, pass the conformance kit with the tiny Config ``tiny`` and
    show up in ``ganedit plugins`` / ``models``: ``(the family class, the tiny config)``."""
    inst = install(name)
    (family,) = [
        v for v in vars(inst.module()).values()
        if isinstance(v, type) and issubclass(v, ganedit.ModelFamily) and v.name == name
    ]  # fmt: skip
    config = family.Config(**tiny)
    check_family(family, config)
    installed_and_listed(inst, name, kind)
    return family, config


def test_colorize_example(install, tmp_path: Path) -> None:
    Colorize, tiny = conforming(
        install, "colorize", "image", width=4, depth=1, crop=16, batch_size=2, d_layers=1
    )

    # ganedit train colorize --data a=GRAY --data b=COLOUR, then ganedit export --fp16
    pairs = Colorize().example_data(tmp_path / "pairs", tiny)
    run = tmp_path / "run"
    ganedit_cli(
        "train", "colorize", "--data", f"a={pairs['a'][0]}", "--data", f"b={pairs['b'][0]}",
        "--out", run, "--steps", 3, "--width", 4, "--depth", 1, "--crop", 16,
        "--batch-size", 2, "--d-layers", 1, "--device", "cpu", "--sample-every", 0,
        "--checkpoint-every", 2,
    )  # fmt: skip
    assert (run / "colorize.safetensors").is_file() and list(run.glob("samples/*.png"))
    weights = tmp_path / "colorize.safetensors"
    ganedit_cli("export", run, weights, "--fp16")
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["family"] == "colorize" and card["generators"] == ["generator"]
    assert card["dtype"] == "float16" and card["config"]["width"] == 4
    state, _ = load_weights(weights)
    assert state and all(k.startswith("generator.") for k in state)

    # ganedit eval colorize --data a= --data b= --weights W: a PSNR row per pair, then the mean
    printed = ganedit_cli(
        "eval", "colorize", "--data", f"a={pairs['a'][0]}", "--data", f"b={pairs['b'][0]}",
        "--weights", weights, "--device", "cpu", "--json",
    )  # fmt: skip
    table = json.loads(printed.strip().splitlines()[-1])
    assert len(table["rows"]) == 4 and table["summary"]["psnr"] > 0

    # ganedit run colorize IN OUT --weights W: gray in -> RGB out, alpha kept beside
    inputs = tmp_path / "in"
    write_inputs(inputs)
    out = tmp_path / "out-cli"
    ganedit_cli("run", "colorize", inputs, out, "--weights", weights, "--device", "cpu")
    assert shape_of(out / "gray.png") == (17, 23, 3)
    assert shape_of(out / "sub" / "deep.png") == (20, 16, 3)
    assert ganedit.read_image(out / "sub" / "deep.png").dtype == np.uint16
    assert shape_of(out / "rgba.png") == (16, 24, 4)

    # the Python API on the A|B layout: fit, export_weights, load, run_folder
    ab = tmp_path / "ab"
    for a in sorted(pairs["a"][0].iterdir()):
        gray = ganedit.read_image(a).reshape(16 + 8, 16 + 8, 1).repeat(3, axis=2)
        colour = ganedit.read_image(pairs["b"][0] / a.name)
        ganedit.write_image(ab / a.name, np.concatenate([gray, colour], axis=1))
    engine = Engine(device="cpu", precision="fp32", seed=0)
    result = fit(Colorize(), tiny, {"data": [ab]}, tmp_path / "run-ab", engine, steps=2,
                 progress=False, sample_every=0)  # fmt: skip
    assert result.step == 2
    with pytest.warns(EMAWarning, match="has seen only 2 steps"):  # decay 0.999, 2 steps
        exported = export_weights(tmp_path / "run-ab", tmp_path / "ab.safetensors", fp16=True)
    editor = ganedit.load(Colorize, weights=exported, device="cpu")
    gray = np.random.default_rng(0).integers(0, 256, (17, 23), dtype=np.uint8)
    rgb = editor(gray)
    assert rgb.shape == (17, 23, 3) and rgb.dtype == np.uint8
    out = tmp_path / "out-py"
    report = ganedit.run_folder(
        Colorize, [inputs], out, weights=exported, device="cpu", progress=False
    )
    assert not report.failed and len(report.done) == 3
    assert shape_of(out / "gray.png") == (17, 23, 3)
    assert shape_of(out / "rgba.png") == (16, 24, 4)


def test_cycle_example(install, tmp_path: Path) -> None:
    Cycle, tiny = conforming(
        install, "cycle", "image", width=4, blocks=1, crop=16, pool_size=2, d_layers=1
    )

    # ganedit.train by name with data roles; the sample grid has the six custom columns
    data = Cycle().example_data(tmp_path / "domains", tiny)
    run = tmp_path / "run"
    result = ganedit.train(
        "cycle", data=data, out=run, steps=3, device="cpu", progress=False, sample_every=0,
        checkpoint_every=2, overrides=["width=4", "blocks=1", "crop=16", "pool_size=2",
                                       "d_layers=1"],
    )  # fmt: skip
    assert result.step == 3 and {"g", "cycle", "d"} <= set(result.metrics)
    grid = ganedit.read_image(run / "samples" / "step-00000003.png")
    assert grid.shape[1] == 6 * 16 + 5 * 2 + 2 * 2  # a | a2b | b2a(a2b) | b | b2a | a2b(b2a)

    # ganedit export: both generators in one packed file
    weights = tmp_path / "cycle.safetensors"
    ganedit_cli("export", run, weights, "--fp16")
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["generators"] == ["a2b", "b2a"] and card["config"]["direction"] == "a2b"
    state, _ = load_weights(weights)
    assert {k.split(".", 1)[0] for k in state} == {"a2b", "b2a"}

    # the direction field picks the generator
    a2b = ganedit.load(Cycle, weights=weights, device="cpu")
    b2a = ganedit.load(Cycle, weights=weights, device="cpu", direction="b2a")
    assert (a2b.generator_name, b2a.generator_name) == ("a2b", "b2a")
    img = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert a2b(img).shape == img.shape and not np.array_equal(a2b(img), b2a(img))

    # run over a folder, both ways: layouts kept (gray stays gray, alpha kept), never tiled
    inputs = tmp_path / "in"
    write_inputs(inputs)
    out = tmp_path / "out-py"
    report = ganedit.run_folder(
        Cycle, [inputs], out, weights=weights, direction="b2a", device="cpu", progress=False
    )
    assert not report.failed and len(report.done) == 3
    assert shape_of(out / "gray.png") == (17, 23, 1)
    assert shape_of(out / "rgba.png") == (16, 24, 4)
    out = tmp_path / "out-cli"
    printed = ganedit_cli(
        "run", "cycle", inputs, out, "--weights", weights, "--direction", "b2a", "--tile", 8,
        "--device", "cpu",
    )  # fmt: skip
    assert "cannot be tiled" in printed
    assert shape_of(out / "sub" / "deep.png") == (20, 16, 1)


def test_denoise_example(install, tmp_path: Path) -> None:
    """Clean photos only, the noise made up in training; an eval-only field; eval needs
    --data; a 3-step run's EMA (decay 0.999) is exported with a warning."""
    Denoise, tiny = conforming(install, "denoise", "image", width=4, depth=3, crop=16, batch_size=2)
    assert "--eval-sigma" in ganedit_cli("eval", "denoise", "--help")
    for command in ("run", "train"):
        assert "--eval-sigma" not in ganedit_cli(command, "denoise", "--help")

    # ganedit train denoise --data CLEAN: one folder of clean photos is all the data
    (clean,) = Denoise().example_data(tmp_path / "clean", tiny)["data"]
    run = tmp_path / "run"
    ganedit_cli(
        "train", "denoise", "--data", clean, "--out", run, "--steps", 3, "--width", 4,
        "--depth", 3, "--crop", 16, "--batch-size", 2, "--device", "cpu", "--sample-every", 0,
    )  # fmt: skip
    weights = tmp_path / "denoise.safetensors"
    exported = CliRunner().invoke(cli, ["export", str(run), str(weights)])
    assert exported.exit_code == 0 and weights.is_file(), exported.output
    assert "EMA (decay 0.999) has seen only 3 steps" in exported.stderr

    # ganedit eval denoise: --data is required; with it a row per photo and the mean gain
    eval_args = ["eval", "denoise", "--weights", weights, "--device", "cpu"]
    no_data = CliRunner().invoke(cli, [str(a) for a in eval_args])
    assert no_data.exit_code == 2 and "--data is required" in no_data.output
    printed = ganedit_cli(*eval_args, "--data", clean, "--eval-sigma", 0.2, "--json")
    table = json.loads(printed.strip().splitlines()[-1])
    assert len(table["rows"]) == 4 and set(table["summary"]) == {"psnr_gain"}
    assert all(r["psnr_noisy"] < 20 for r in table["rows"])  # sigma 0.2: about 14 dB

    # ganedit run denoise IN OUT, tiled: layouts kept (gray stays gray, alpha kept)
    inputs = tmp_path / "in"
    write_inputs(inputs)
    out = tmp_path / "out"
    ganedit_cli("run", "denoise", inputs, out, "--weights", weights, "--tile", 8, "--device", "cpu")
    assert shape_of(out / "gray.png") == (17, 23, 1)
    assert shape_of(out / "rgba.png") == (16, 24, 4)


EXAMPLE = re.compile(r"Example[^\n]*::\n\s*\n((?:[ \t]+\S[^\n]*\n|[ \t]*\n)+)")


def test_hookspec_examples() -> None:
    """``help(ganedit.hookspecs)``: every hook's example is valid Python, and the module's
    complete plugin conforms and sharpens an image as its text says."""
    from ganedit import hookspecs

    for name in hook_names():
        match = EXAMPLE.search(getattr(hookspecs, name).__doc__ or "")
        assert match, f"{name}: no Example:: block"
        compile(textwrap.dedent(match.group(1)), f"<{name} example>", "exec")
    match = EXAMPLE.search(hookspecs.__doc__ or "")
    assert match, "ganedit.hookspecs: no module Example:: block"
    plugin: dict = {}
    exec(compile(textwrap.dedent(match.group(1)), "<ganedit_sharpen.py>", "exec"), plugin)
    check_family(plugin["Sharpen"], plugin["SharpenConfig"]())
    img = np.random.default_rng(0).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    sharp = ganedit.load(plugin["Sharpen"], weights=False, device="cpu")(img)
    assert sharp.shape == img.shape and sharp.std() > img.std()

"""The ganedit command line, with the fixture plugins (good and broken) installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from ganedit.cli import cli, main

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def train_tiny_sr(tmp_path: Path, out: Path, *more: str):
    """``ganedit train tiny-sr --data tmp_path/data --out OUT MORE...``, errors caught as a user
    sees them (exit code and message)."""
    args = ["train", "tiny-sr", "--data", str(tmp_path / "data"), "--out", str(out)]
    return CliRunner().invoke(cli, [*args, *more])


# ----------------------------------------------------------------------------------- basics
def test_help_works_with_broken_plugins(plugin_path) -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    for cmd in ("run", "train", "sample", "eval", "plot", "plugins", "models", "tiny-info"):
        assert cmd in result.output
    assert "_GANEDIT_COMPLETE=bash_source ganedit" in result.output
    assert "GANEDIT_" in result.output


def test_help_works_in_strict_mode_with_broken_plugins(plugin_path, monkeypatch) -> None:
    monkeypatch.setenv("GANEDIT_STRICT_PLUGINS", "1")
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    assert "plugins" in result.output


def test_version() -> None:
    import ganedit

    result = invoke("--version")
    assert result.exit_code == 0
    assert ganedit.__version__ in result.output


def test_plugin_command_runs(plugin_path) -> None:
    result = invoke("tiny-info", "--upper")
    assert result.exit_code == 0
    assert "TINY FAMILIES" in result.output


def test_shadowing_plugin_command_is_refused(conflict_path) -> None:
    assert invoke("clash-info").output.strip() == "clash"
    run_help = invoke("run", "--help").output
    assert "Process image folders" in run_help  # still the built-in run
    out = invoke("plugins").output
    assert "command 'run' shadows a built-in command" in out


# ---------------------------------------------------------------------------------- plugins
def test_plugins_lists_good_and_broken(plugin_path) -> None:
    result = invoke("plugins")
    assert result.exit_code == 0
    out = result.output
    assert "tiny  [loaded]  ganedit-tiny 0.1.0" in out
    assert "models:   tiny-sr, tiny-gen, tiny-fill" in out
    assert "broken-import  [failed]" in out and "ganedit_dependency_that_is_not_installed" in out
    assert "broken-hook  [failed]" in out and "model table is corrupt" in out
    assert "bad-hookname  [failed]" in out and "ganedit_register_model" in out
    assert "bad-argname  [failed]" in out and "registrar" in out


def test_plugins_json(plugin_path) -> None:
    data = json.loads(invoke("plugins", "--json").output)
    by_name = {d["name"]: d for d in data}
    assert by_name["tiny"]["families"] == ["tiny-sr", "tiny-gen", "tiny-fill"]
    assert by_name["tiny"]["commands"] == ["tiny-info"]
    assert by_name["tiny"]["error"] is None
    assert by_name["srgan"]["source"] == "built-in"
    assert "registrar" in by_name["bad-argname"]["error"]


def test_plugins_json_from_env_var_default(plugin_path) -> None:
    result = invoke("plugins", env={"GANEDIT_PLUGINS_JSON": "1"})
    assert isinstance(json.loads(result.output), list)


def test_plugins_json_in_a_real_subprocess(subprocess_env) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ganedit", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    by_name = {d["name"]: d for d in json.loads(proc.stdout)}
    assert by_name["tiny"]["status"] == "loaded"
    assert by_name["tiny"]["dist"] == "ganedit-tiny"
    for name in ("broken-import", "broken-hook", "bad-hookname", "bad-argname"):
        assert by_name[name]["status"] == "failed" and by_name[name]["error"], name


def test_rescue_mode_in_a_real_subprocess(subprocess_env) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ganedit", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(GANEDIT_LOAD_PLUGINS=""),
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    statuses = {d["name"]: d["status"] for d in json.loads(proc.stdout)}
    assert statuses["tiny"] == "disabled" and statuses["broken-import"] == "disabled"


def test_models_lists_families(plugin_path) -> None:
    out = invoke("models").output
    assert "tiny-sr" in out and "image" in out and "Tiny x2 super-resolution" in out
    rows = {r["name"]: r for r in json.loads(invoke("models", "--json").output)}
    assert rows["tiny-gen"]["kind"] == "generate" and rows["tiny-gen"]["plugin"] == "tiny"


# ------------------------------------------------------------------------- per-model groups
def test_run_help_lists_image_models_only(plugin_path) -> None:
    out = invoke("run", "--help").output
    assert "tiny-sr" in out and "tiny-gen" not in out
    assert "tiny-gen" in invoke("sample", "--help").output


def test_run_model_help_lists_config_fields_and_common_options(plugin_path) -> None:
    result = invoke("run", "tiny-sr", "--help")
    assert result.exit_code == 0
    out = result.output
    for opt in ("--channels", "--upsample [bilinear|nearest]", "--residual / --no-residual"):
        assert opt in out
    for opt in (
        "--weights",
        "--device",
        "--precision",
        "--batch-size",
        "--tile",
        "--tile-overlap",
        "--outscale",
        "--self-ensemble",
        "--skip-existing",
        "--fail-fast",
        "--jobs",
        "--dry-run",
        "--json",
        "--format",
        "--quality",
    ):
        assert opt in out
    for train_only in ("--crop", "--lr"):
        assert train_only not in out
    assert "--mask" not in out  # IMAGE family, not IMAGE_MASK


def test_train_model_help_lists_train_only_fields(plugin_path) -> None:
    out = invoke("train", "tiny-sr", "--help").output
    for opt in (
        "--crop",
        "--channels",
        "--data",
        "--val",
        "--out",
        "--steps",
        "--batch-size",
        "--lr",
        "--resume",
        "--config",
        "--set",
        "--compile",
        "--seed",
        "--deterministic",
    ):
        assert opt in out


def _all_commands(ctx_cmd: click.Command, ctx: click.Context):
    yield ctx_cmd
    if isinstance(ctx_cmd, click.Group):
        for name in ctx_cmd.list_commands(ctx):
            sub = ctx_cmd.get_command(ctx, name)
            if sub is not None:
                yield from _all_commands(sub, click.Context(sub, parent=ctx, info_name=name))


def test_every_option_has_help(plugin_path) -> None:
    ctx = click.Context(cli, info_name="ganedit")
    seen = 0
    for cmd in _all_commands(cli, ctx):
        assert cmd.help or cmd.short_help, f"{cmd.name} has no help"
        for p in cmd.params:
            if isinstance(p, click.Option):
                seen += 1
                assert p.help and p.help.strip(), f"{cmd.name} {p.opts} has no help"
    assert seen > 60  # the model commands were built too


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "nope", "a", "b"], "unknown model 'nope'"),
        (["run", "tiny-gen", "a", "b"], "use `ganedit sample`"),
        (["sample", "tiny-sr", "out"], "use `ganedit run`"),
        (["eval", "tiny-gen"], "has no evaluation"),
        (["run", "tiny-sr", "only-one"], "expected at least one INPUT and one OUTPUT"),
        (["run", "tiny-sr", "missing-dir", "out"], "input not found: missing-dir"),
        (["run", "tiny-sr", "--tile", "big", "a", "b"], "neither an integer nor 'auto'"),
    ],
)
def test_usage_errors_exit_2(plugin_path, args, message) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_output_inside_input_is_a_usage_error(plugin_path, make_images, tmp_path) -> None:
    make_images("in", n=1)
    result = CliRunner().invoke(
        cli, ["run", "tiny-sr", str(tmp_path / "in"), str(tmp_path / "in" / "out")]
    )
    assert result.exit_code == 2
    assert "read back as inputs" in result.output


def test_main_exit_code_for_usage_error(plugin_path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "nope", "a", "b"])
    assert info.value.code == 2


# ------------------------------------------------------------- run: arguments handed to infer
class _FakeReport:
    def __init__(self, failed=()):
        self.done = [Path("a.png")]
        self.skipped = []
        self.failed = list(failed)
        self.exit_code = 1 if failed else 0
        self.manifest_path = None

    def to_dict(self):
        failed = [{"input": str(p), "error": why} for p, why in self.failed]
        return {"done": 1, "skipped": 0, "failed": failed, "exit_code": self.exit_code}


@pytest.fixture
def fake_run_folder(monkeypatch):
    import ganedit.infer

    calls = []

    def fake(model, inputs, output, **kw):
        calls.append((model, inputs, output, kw))
        if kw.get("on_event"):
            kw["on_event"]({"event": "done", "path": "a.png"})
        return _FakeReport(
            failed=[(Path("bad.png"), "not an image")] if kw.get("fail_fast") else []
        )

    monkeypatch.setattr(ganedit.infer, "run_folder", fake, raising=False)
    return calls


def test_run_passes_only_given_config_options(
    plugin_path, fake_run_folder, make_images, tmp_path
) -> None:
    make_images("in", n=1)
    result = invoke(
        "run",
        "tiny-sr",
        "--channels",
        "4",
        "--no-residual",
        "--tile",
        "64",
        str(tmp_path / "in"),
        str(tmp_path / "out"),
    )
    assert result.exit_code == 0, result.output
    model, inputs, output, kw = fake_run_folder[0]
    assert model == "tiny-sr" and inputs == [tmp_path / "in"] and output == tmp_path / "out"
    assert kw["channels"] == 4 and kw["residual"] is False and "upsample" not in kw
    assert kw["tile"] == 64 and kw["tile_overlap"] == 32 and kw["device"] == "auto"
    assert kw["outscale"] is None and kw["self_ensemble"] == 1
    assert "done 1, skipped 0, failed 0" in result.output


def test_run_env_var_defaults(plugin_path, fake_run_folder, make_images, tmp_path) -> None:
    make_images("in", n=1)
    env = {"GANEDIT_RUN_TINY_SR_CHANNELS": "6", "GANEDIT_RUN_TINY_SR_TILE": "auto"}
    result = invoke("run", "tiny-sr", str(tmp_path / "in"), str(tmp_path / "out"), env=env)
    assert result.exit_code == 0, result.output
    kw = fake_run_folder[0][3]
    assert kw["channels"] == 6 and kw["tile"] is None


def test_run_json_events_and_exit_code(plugin_path, fake_run_folder, make_images, tmp_path) -> None:
    make_images("in", n=1)
    result = CliRunner().invoke(
        cli,
        ["run", "tiny-sr", "--json", "--fail-fast", str(tmp_path / "in"), str(tmp_path / "out")],
    )
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"event": "done", "path": "a.png"}
    assert lines[-1]["event"] == "end" and lines[-1]["failed"][0]["input"] == "bad.png"
    assert fake_run_folder[0][3]["progress"] is False


# ---------------------------------------------------- end to end with the real infer/engine
def _save_tiny(family_name: str, path: Path, **config) -> Path:
    import torch

    from ganedit.config import config_to_dict
    from ganedit.plugins import get_family
    from ganedit.weights import save_weights

    fam = get_family(family_name)
    cfg = fam.Config(**config)
    torch.manual_seed(0)
    gen = fam.build(cfg)["generator"]
    return save_weights(path, gen.state_dict(), {"family": fam.name, "config": config_to_dict(cfg)})


def _read(path: Path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_run_end_to_end(plugin_path, make_images, tmp_path) -> None:
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    make_images("in", n=2, size=(16, 24))
    make_images("in/sub", n=1, size=(10, 12))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    args = ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 1, result.output  # one failed file
    assert "done 3, skipped 0, failed 1" in result.stdout
    assert "broken.png" in result.stderr
    assert _read(tmp_path / "out" / "img_00.png").shape == (32, 48, 3)
    assert _read(tmp_path / "out" / "sub" / "img_00.png").shape == (20, 24, 3)

    (tmp_path / "in" / "broken.png").unlink()
    again = CliRunner().invoke(
        cli, [*args, "--skip-existing", "--json", str(tmp_path / "in"), str(tmp_path / "out")]
    )
    assert again.exit_code == 0, again.output
    events = [json.loads(line) for line in again.stdout.splitlines()]
    assert [e["event"] for e in events].count("end") == 1
    assert events[-1]["event"] == "end"
    assert (events[-1]["done"], events[-1]["skipped"], events[-1]["failed"]) == (0, 3, [])
    files = [e for e in events if e["event"] == "file"]
    assert len(files) == 3 and all(e["status"] == "skipped" for e in files)


def test_run_outscale_end_to_end(plugin_path, make_images, tmp_path) -> None:
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    make_images("in", n=1, size=(16, 24))
    args = ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu", "--tile", "8"]
    result = CliRunner().invoke(
        cli, [*args, "--outscale", "3", str(tmp_path / "in"), str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert _read(tmp_path / "out" / "img_00.png").shape == (48, 72, 3)  # tiny-sr is x2
    # --tile 8 cannot hold tiny-sr's overlap: rounded up, said once
    assert result.stderr.count("rounded up") == 1 and "warning: tiny-sr" in result.stderr
    manifest = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())
    assert manifest["parameters"]["outscale"] == 3.0
    bad = CliRunner().invoke(cli, [*args, "--outscale", "0", str(tmp_path / "in"), "o2"])
    assert bad.exit_code == 2 and "outscale" in bad.output


def test_run_self_ensemble_end_to_end(plugin_path, make_images, tmp_path) -> None:
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    make_images("in", n=1, size=(16, 24))
    args = ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu"]
    for views, out in (("1", "o1"), ("8", "o8")):
        result = CliRunner().invoke(
            cli, [*args, "--self-ensemble", views, str(tmp_path / "in"), str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
        manifest = json.loads((tmp_path / out / "ganedit-run.json").read_text())
        assert manifest["parameters"]["self_ensemble"] == int(views)
    plain, ens = _read(tmp_path / "o1" / "img_00.png"), _read(tmp_path / "o8" / "img_00.png")
    assert plain.shape == ens.shape == (32, 48, 3) and not np.array_equal(plain, ens)
    bad = CliRunner().invoke(cli, [*args, "--self-ensemble", "3", str(tmp_path / "in"), "o3"])
    assert bad.exit_code == 2 and "self-ensemble" in bad.output


def test_sample_end_to_end_is_reproducible(plugin_path, tmp_path) -> None:
    weights = _save_tiny("tiny-gen", tmp_path / "w" / "gen.safetensors", channels=4)
    base = ["sample", "tiny-gen", "--weights", str(weights), "--device", "cpu", "--seed", "3"]
    for out in ("a", "b"):
        result = invoke(*base, "-n", "5", str(tmp_path / out))
        assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [f"sample_{i:03d}.png" for i in range(5)]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = invoke(*base[:-1], "4", "-n", "1", str(tmp_path / "c"))
    assert other.exit_code == 0
    assert (tmp_path / "c" / "sample_000.png").read_bytes() != (
        tmp_path / "a" / "sample_000.png"
    ).read_bytes()

    grid = invoke(*base, "-n", "5", "--grid", str(tmp_path / "g"))
    assert grid.exit_code == 0, grid.output
    assert _read(tmp_path / "g" / "grid.png").shape == (16, 24, 3)  # 3 cols x 2 rows of 8x8

    interp = invoke(*base, "--interpolate", "4", str(tmp_path / "i"))
    assert interp.exit_code == 0, interp.output
    frames = sorted(p.name for p in (tmp_path / "i").iterdir())
    assert frames == [f"frame_{i:03d}.png" for i in range(4)]
    assert (tmp_path / "i" / "frame_000.png").read_bytes() != (
        tmp_path / "i" / "frame_003.png"
    ).read_bytes()


def test_slerp_endpoints_and_norm() -> None:
    import torch

    from ganedit.cli import slerp

    a, b = torch.randn(16), torch.randn(16)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    u, v = a / a.norm(), b / b.norm()
    assert abs(float(slerp(u, v, 0.5).norm()) - 1.0) < 1e-5  # stays on the sphere


def test_eval_end_to_end(plugin_path, make_images, tmp_path) -> None:
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    make_images("data", n=3, size=(16, 16))
    args = [
        "eval",
        "tiny-sr",
        "--weights",
        str(weights),
        "--device",
        "cpu",
        "--data",
        str(tmp_path / "data"),
    ]
    table = invoke(*args)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["image", "psnr"] and len(lines) == 8
    assert lines[-2] == "summary" and lines[-1].split()[0] == "psnr"
    assert float(lines[-1].split()[1]) > 0
    data = json.loads(invoke(*args, "--json", "--n", "2").output)
    assert data["model"] == "tiny-sr" and len(data["rows"]) == 2
    assert data["summary"]["psnr"] > 0


def test_eval_without_data_needs_data_unless_the_model_has_its_own(
    plugin_path, make_images, monkeypatch, tmp_path
) -> None:
    """A family whose evaluate has no data of its own (it asks ganedit.data.role for role
    "data") makes ``ganedit eval`` without --data a usage error naming --data; the help
    promises a default only for models that have one."""
    from ganedit.data import role
    from ganedit.plugins import family_class

    def evaluate(self, editor, data, options):
        return {"rows": [{"image": p.name} for p in role(data, "data")], "summary": {}}

    monkeypatch.setattr(family_class("tiny-sr"), "evaluate", evaluate)
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    args = ["eval", "tiny-sr", "--weights", str(weights), "--device", "cpu"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "tiny-sr has no evaluation data of its own: --data is required" in result.output
    assert "training data" not in result.output
    make_images("data", n=1, size=(8, 8))
    assert invoke(*args, "--data", str(tmp_path / "data")).exit_code == 0
    helped = " ".join(invoke("eval", "tiny-sr", "--help").output.split())
    assert "[default: the model's own, for models that have one; required for the others]" in (
        helped
    )


def test_train_and_plot_end_to_end(plugin_path, make_images, tmp_path) -> None:
    make_images("data", n=4, size=(16, 16))
    run_dir = tmp_path / "run"
    result = train_tiny_sr(
        tmp_path, run_dir, "--steps", "2", "--batch-size", "2", "--device", "cpu",
        "--channels", "4", "--set", "crop=8",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "trained to step 2" in result.output
    from ganedit_tiny import CALLBACK_LOG  # the plugin's ganedit_train_callbacks hook ran

    assert [step for step, _m in CALLBACK_LOG[-2:]] == [1, 2]
    cfg = json.loads((run_dir / "config.json").read_text())
    cfg = cfg.get("config", cfg)
    assert cfg["channels"] == 4 and cfg["crop"] == 8 and cfg["batch_size"] == 2

    plot = CliRunner().invoke(cli, ["plot", str(run_dir)])
    assert plot.exit_code == 0, plot.output
    assert Path(plot.output.strip()).is_file()


@pytest.mark.parametrize("kind", ["toml", "json"])
def test_train_config_file_then_options_then_set(plugin_path, make_images, tmp_path, kind) -> None:
    """Precedence: Config defaults < --config FILE < explicit options < --set."""
    make_images("data", n=4, size=(16, 16))
    cfg_file = tmp_path / f"cfg.{kind}"
    if kind == "toml":
        cfg_file.write_text("channels = 6\ncrop = 8\nbatch_size = 3\n")
    else:
        cfg_file.write_text(json.dumps({"config": {"channels": 6, "crop": 8, "batch_size": 3}}))
    run_dir = tmp_path / "run"
    args = ["--steps", "1", "--device", "cpu", "--config", str(cfg_file), "--batch-size", "2"]
    result = train_tiny_sr(tmp_path, run_dir, *args, "--set", "channels=5")
    assert result.exit_code == 0, result.output
    cfg = json.loads((run_dir / "config.json").read_text())
    cfg = cfg.get("config", cfg)
    assert (cfg["channels"], cfg["crop"], cfg["batch_size"]) == (5, 8, 2)


def test_train_unreadable_config_file_is_a_clear_error(plugin_path, make_images, tmp_path) -> None:
    make_images("data", n=2)
    bad = tmp_path / "cfg.toml"
    bad.write_text("channels = = 3\n")
    result = train_tiny_sr(tmp_path, tmp_path / "r", "--config", str(bad), "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "cfg.toml" in result.output and "not a valid toml" in result.output.lower()


def test_train_bad_override_is_a_usage_error(plugin_path, make_images, tmp_path) -> None:
    make_images("data", n=2)
    result = train_tiny_sr(tmp_path, tmp_path / "r", "--set", "nonsense=1", "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "nonsense" in result.output


def test_mask_family_options_and_masks_matched_by_relative_path(
    plugin_path, make_images, tmp_path
) -> None:
    import numpy as np
    from imagefiles import write_test_image

    out = invoke("run", "tiny-fill", "--help").output
    assert "--mask " in out and "--masks" in out

    weights = _save_tiny("tiny-fill", tmp_path / "w" / "fill.safetensors")
    make_images("in/sub", n=1, size=(16, 16))
    mask = np.zeros((16, 16, 1), np.uint8)
    mask[4:12, 4:12] = 255
    write_test_image(tmp_path / "masks" / "sub" / "img_00.png", mask)
    base = ["run", "tiny-fill", "--weights", str(weights), "--device", "cpu"]
    missing = CliRunner().invoke(cli, [*base, str(tmp_path / "in"), str(tmp_path / "o")])
    assert missing.exit_code == 1, missing.output  # that file fails; the run goes on
    assert "no mask given" in missing.stderr and "alpha" in missing.stderr
    both = [*base, "--mask", str(tmp_path / "masks" / "sub" / "img_00.png")]
    both += ["--masks", str(tmp_path / "masks"), str(tmp_path / "in"), str(tmp_path / "o2")]
    refused = CliRunner().invoke(cli, both)
    assert refused.exit_code == 2 and "not both" in refused.output
    result = CliRunner().invoke(
        cli,
        [*base, "--masks", str(tmp_path / "masks"), str(tmp_path / "in"), str(tmp_path / "out")],
    )
    assert result.exit_code == 0, result.output
    src, dst = (
        _read(tmp_path / "in" / "sub" / "img_00.png"),
        _read(tmp_path / "out" / "sub" / "img_00.png"),
    )
    keep = mask[..., 0] == 0
    assert np.array_equal(src[keep], dst[keep])  # kept pixels untouched
    assert not np.array_equal(src[~keep], dst[~keep])  # masked pixels filled


def test_mask_family_fills_transparent_pixels_without_a_mask(plugin_path, tmp_path) -> None:
    from imagefiles import random_image, write_test_image

    weights = _save_tiny("tiny-fill", tmp_path / "w" / "fill.safetensors")
    rgba = random_image(12, 12, c=4, seed=3)
    rgba[..., 3] = 255
    rgba[3:7, 3:7, 3] = 0
    write_test_image(tmp_path / "in" / "holed.png", rgba)
    args = ["run", "tiny-fill", "--weights", str(weights), "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = _read(tmp_path / "out" / "holed.png")  # BGR, opaque
    assert out.shape == (12, 12, 3)
    keep = rgba[..., 3] == 255
    assert np.array_equal(out[..., ::-1][keep], rgba[..., :3][keep])


def test_train_lr_schedule_is_recorded_and_kept_on_resume(
    plugin_path, make_images, tmp_path
) -> None:
    make_images("data", n=4, size=(16, 16))
    run_dir = tmp_path / "run"
    base = ["--batch-size", "2", "--device", "cpu", "--set", "crop=8"]
    first = train_tiny_sr(
        tmp_path, run_dir, *base, "--steps", "4", "--lr-schedule", "linear", "--warmup-steps", "1"
    )
    assert first.exit_code == 0, first.output
    saved = json.loads((run_dir / "config.json").read_text())["lr_schedule"]
    assert saved == {"kind": "linear", "warmup_steps": 1, "min_ratio": 0.0, "hold_steps": 0}
    # --resume without schedule options keeps the run's curve; --steps extends it
    again = train_tiny_sr(
        tmp_path, run_dir, *base, "--steps", "6", "--resume", "--min-lr-ratio", "0.5"
    )
    assert again.exit_code == 0, again.output
    saved = json.loads((run_dir / "config.json").read_text())["lr_schedule"]
    assert saved == {"kind": "linear", "warmup_steps": 1, "min_ratio": 0.5, "hold_steps": 0}
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    # logged at each segment's last step: the first ended on 0, the resumed one on its new floor
    assert [(r["step"], r["lr_factor"]) for r in rows] == [(4, 0.0), (6, 0.5)]
    card = json.loads((run_dir / "tiny-sr.json").read_text())
    assert card["training"]["lr_schedule"]["kind"] == "linear"


def test_train_unknown_lr_schedule_is_a_usage_error(plugin_path, make_images, tmp_path) -> None:
    make_images("data", n=2)
    result = train_tiny_sr(tmp_path, tmp_path / "r", "--lr-schedule", "exponential")
    assert result.exit_code == 2
    assert "exponential" in result.output and "cosine" in result.output


# ------------------------------------------------------------------------- export and its EMA
@pytest.mark.parametrize(
    ("decay", "more", "warned"),
    [(0.9, [], True), (0.9, ["--no-ema"], False), (0.3, [], False)],
    ids=["short-ema", "no-ema", "settled-ema"],
)
def test_export_warns_when_the_ema_is_mostly_initial_weights(
    tmp_path: Path, decay: float, more: list[str], warned: bool
) -> None:
    """Three steps: an EMA of decay 0.9 still holds 73% of the initial weights, one of 0.3
    holds 3%."""
    from ganedit.engine import Engine, fit
    from ganedit.testing import TinyUpscale

    config = TinyUpscale.Config(ema_decay=decay)
    data = TinyUpscale().example_data(tmp_path / "data", config)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    fit(TinyUpscale(), config, data, tmp_path / "run", engine, steps=3, progress=False,
        sample_every=0, checkpoint_every=3)  # fmt: skip
    result = CliRunner().invoke(
        cli, ["export", str(tmp_path / "run"), str(tmp_path / "w.safetensors"), *more]
    )
    assert result.exit_code == 0, result.output
    assert "weights:" in result.stdout and "warning" not in result.stdout
    if warned:
        assert "EMA (decay 0.9) has seen only 3 steps, so 73%" in result.stderr
        assert "--no-ema" in result.stderr and "--ema-decay" in result.stderr
    else:
        assert result.stderr == ""

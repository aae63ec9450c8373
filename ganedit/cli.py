"""The ``ganedit`` command line.

Every model command (``run``, ``train``, ``sample``, ``eval``) is a group whose sub-commands are
the installed model families, built on demand from the family's ``Config`` so that
``ganedit run MODEL --help`` lists that model's options. Plugin commands (hook
``ganedit_register_commands``) are added lazily and in isolation: a broken plugin never blocks
``ganedit --help``.

Exit codes: 0 all done, 1 some items failed (or an error), 2 usage error.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ganedit import __version__
from ganedit.config import ConfigError, config_fields, iter_click_params
from ganedit.family import Kind, ModelFamily

__all__ = ["cli", "main"]

ENV_EPILOG = (
    "Every option can also be set by an environment variable GANEDIT_<COMMAND>_<OPTION> "
    "(for model commands GANEDIT_<COMMAND>_<MODEL>_<OPTION>, dashes as underscores), e.g. "
    "GANEDIT_RUN_SRGAN_TILE=512 or GANEDIT_PLUGINS_JSON=1. Shell completion: "
    'eval "$(_GANEDIT_COMPLETE=bash_source ganedit)" in ~/.bashrc '
    "(zsh_source / fish_source for zsh and fish)."
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEVICE_HELP = "Device: auto (first CUDA GPU, else CPU), cpu, cuda or cuda:N."
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
PRECISION_HELP = "Compute precision: auto (bf16 on a capable GPU, fp32 on CPU), fp32, bf16, fp16."
FORMAT_CHOICES = ("png", "jpg", "webp", "bmp", "tiff")


# ----------------------------------------------------------------------------- error handling
@contextmanager
def _user_errors(*, value_is_usage: bool = False) -> Iterator[None]:
    """Turn the library's user-facing errors into Click errors: unknown model and bad config
    values exit 2 (usage); other ``ValueError``/``OSError`` exit 1, or 2 when
    ``value_is_usage`` (functions that document ValueError as bad usage). A weights problem
    always exits 1."""
    from ganedit.plugins import UnknownModelError
    from ganedit.weights import WeightsError

    try:
        yield
    except (UnknownModelError, ConfigError) as exc:
        raise click.UsageError(str(exc)) from None
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        if value_is_usage:
            raise click.UsageError(str(exc)) from None
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


# ------------------------------------------------------------------------------ param helpers
def _config_options(
    family_cls: type[ModelFamily], *, train: bool, reserved: set[str]
) -> list[click.Option]:
    """One option per ``Config`` field, defaulting to ``None`` (= keep the card's / Config's
    value). Fields marked ``metadata={"train_only": True}`` appear only when ``train``."""
    fields = {f.name: f for f in config_fields(family_cls.Config)}
    opts: list[click.Option] = []
    for name, ctype, default, help_text, is_flag in iter_click_params(family_cls.Config):
        meta: dict[str, Any] = dict(fields[name].metadata)
        if (meta.get("train_only") and not train) or name in reserved:
            continue
        flag = "--" + name.replace("_", "-")
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else default
        text = f"{help_text or name.replace('_', ' ').capitalize() + '.'} [model default: {shown}]"
        if is_flag:
            decls = [f"{flag}/--no-{name.replace('_', '-')}", name]
            opts.append(click.Option(decls, default=None, help=text))
        else:
            opts.append(click.Option([flag, name], type=ctype, default=None, help=text))
    return opts


def _split_options(kwargs: dict[str, Any], common: set[str]) -> dict[str, Any]:
    """The config-field values the user actually set (not ``None``)."""
    return {k: v for k, v in kwargs.items() if k not in common and v is not None}


class _TileType(click.ParamType):
    name = "INT|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        try:
            n = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither an integer nor 'auto'", param, ctx)
        if n < 0:
            self.fail("must be >= 0 (0 turns tiling off)", param, ctx)
        return n


TILE = _TileType()


# ------------------------------------------------------------------------------ lazy groups
def _safe_families() -> list[type[ModelFamily]]:
    from ganedit.plugins import PluginError, list_families

    try:
        return list_families()
    except PluginError as exc:  # strict mode: still let --help through
        click.echo(f"warning: {exc}", err=True)
        return []


class ModelGroup(click.Group):
    """A group whose sub-commands are model families, each built on first use.

    Args:
        factory: ``family_cls -> click.Command``.
        accepts: which families the command applies to; others get a usage error saying why.
        need: a phrase describing ``accepts`` for that error.
    """

    def __init__(
        self,
        *args: Any,
        factory: Callable[[type[ModelFamily]], click.Command],
        accepts: Callable[[type[ModelFamily]], bool],
        need: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        kwargs.setdefault("epilog", ENV_EPILOG)
        kwargs.setdefault("subcommand_metavar", "MODEL [ARGS]...")
        super().__init__(*args, **kwargs)
        self.factory = factory
        self.accepts = accepts
        self.need = need

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [f.name for f in _safe_families() if self.accepts(f)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from ganedit.plugins import family_class

        try:
            cls = family_class(cmd_name)
        except KeyError as exc:
            if ctx.resilient_parsing:
                return None
            raise click.UsageError(str(exc), ctx) from None
        if not self.accepts(cls):
            if ctx.resilient_parsing:
                return None
            raise click.UsageError(
                f"model {cls.name!r} ({cls.kind.value}) cannot be used here: {self.need}", ctx
            )
        return self.factory(cls)


class GaneditGroup(click.Group):
    """The root group: built-in commands plus plugin commands, loaded only when asked for."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from ganedit.plugins import plugin_commands

        try:
            return plugin_commands(self.commands)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never block the CLI
            click.echo(f"warning: plugin commands unavailable: {exc}", err=True)
            return {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands) + sorted(self._plugin_commands())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return self._plugin_commands().get(cmd_name)


@click.group(
    cls=GaneditGroup,
    context_settings={**CONTEXT, "auto_envvar_prefix": "GANEDIT"},
    epilog=ENV_EPILOG,
)
@click.version_option(
    __version__, "--version", prog_name="ganedit", help="Show the version and exit."
)
def cli() -> None:
    """ganedit: GAN image editing (super-resolution, synthesis, inpainting...) as plugins.

    \b
    Examples:
      ganedit run srgan photos/ out/           upscale a folder, keeping sub-folders
      ganedit sample dcgan samples/ -n 16      draw 16 images
      ganedit train dcgan --data clothes/ --out runs/dcgan --steps 20000
      ganedit plugins                          what is installed, and what failed to load
    """


# ---------------------------------------------------------------------------------- plugins
@cli.command("plugins")
@click.option("--json", "json", is_flag=True, help="Print the records as a JSON list.")
def plugins_cmd(json: bool) -> None:
    """List every plugin found: where it comes from, its models, and any load error."""
    from ganedit.plugins import plugin_commands, plugin_records

    try:
        plugin_commands(cli.commands)  # records command refusals too
    except Exception as exc:  # noqa: BLE001 - still list what loaded
        click.echo(f"warning: {exc}", err=True)
    records = plugin_records()
    if json:
        click.echo(jsonlib.dumps([r.to_dict() for r in records], indent=2))
        return
    if not records:
        click.echo("no plugins installed (entry-point group 'ganedit')")
        return
    for r in records:
        version = f" {r.version}" if r.version else ""
        click.echo(f"{r.name}  [{r.status}]  {r.source}{version}  ({r.module})")
        if r.families:
            click.echo(f"    models:   {', '.join(r.families)}")
        if r.commands:
            click.echo(f"    commands: {', '.join(r.commands)}")
        if r.error:
            click.echo(f"    error:    {r.error}")


@cli.command("models")
@click.option("--json", "json", is_flag=True, help="Print the models as a JSON list.")
def models_cmd(json: bool) -> None:
    """List the model families: name, kind, plugin and one-line summary."""
    from ganedit.plugins import family_plugin

    rows: list[dict[str, Any]] = []
    for cls in _safe_families():
        rows.append(
            {
                "name": cls.name,
                "kind": cls.kind.value,
                "plugin": family_plugin(cls.name).name,
                "trainable": cls.is_trainable(),
                "summary": cls.summary,
            }
        )
    if json:
        click.echo(jsonlib.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no models installed; see `ganedit plugins` for load errors")
        return
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['kind']:<10}  {r['summary']}")


# -------------------------------------------------------------------------------------- run
RUN_COMMON = {
    "paths",
    "weights",
    "device",
    "precision",
    "batch_size",
    "tile",
    "tile_overlap",
    "skip_existing",
    "fail_fast",
    "jobs",
    "dry_run",
    "json",
    "quality",
    "mask",
    "masks",
    "format",
}


def _run_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    params: list[click.Parameter] = [
        click.Argument(
            ["paths"],
            nargs=-1,
            required=True,
            metavar="INPUT... OUTPUT",
            type=click.Path(path_type=Path),
        ),
        click.Option(
            ["--weights"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Weights file (.safetensors with its .json card); default: the "
            "model's bundled weights.",
        ),
        click.Option(["--device"], default="auto", show_default=True, help=DEVICE_HELP),
        click.Option(
            ["--precision"],
            type=click.Choice(PRECISION_CHOICES),
            default="auto",
            show_default=True,
            help=PRECISION_HELP,
        ),
        click.Option(
            ["--batch-size", "batch_size"],
            type=click.IntRange(min=1),
            default=None,
            help="Images per forward pass [default: chosen from the image size].",
        ),
        click.Option(
            ["--tile"],
            type=TILE,
            default="auto",
            show_default=True,
            help="Tile size in input pixels for large images: an integer, 0 = never "
            "tile, or auto (tile only when the image does not fit).",
        ),
        click.Option(
            ["--tile-overlap", "tile_overlap"],
            type=click.IntRange(min=0),
            default=32,
            show_default=True,
            help="Overlap between tiles, blended smoothly.",
        ),
        click.Option(
            ["--skip-existing", "skip_existing"],
            is_flag=True,
            help="Skip inputs whose output already exists (resume an interrupted run).",
        ),
        click.Option(
            ["--fail-fast", "fail_fast"],
            is_flag=True,
            help="Stop at the first failed image instead of going on.",
        ),
        click.Option(
            ["--jobs"],
            type=click.IntRange(min=1),
            default=None,
            help="Decode/encode worker threads [default: the CPU count].",
        ),
        click.Option(
            ["--dry-run", "dry_run"],
            is_flag=True,
            help="Print what would be written, without loading the model.",
        ),
        click.Option(
            ["--json", "json"],
            is_flag=True,
            help="Machine-readable progress on stdout: one JSON event per line.",
        ),
        click.Option(
            ["--format", "format"],
            type=click.Choice(FORMAT_CHOICES),
            default=None,
            help="Output format [default: the input's, when it can hold the result].",
        ),
        click.Option(
            ["--quality"],
            type=click.IntRange(1, 100),
            default=None,
            help="JPEG/WebP quality 1-100 [default: the encoder's].",
        ),
    ]
    if cls.kind is Kind.IMAGE_MASK:
        params += [
            click.Option(
                ["--mask"],
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="One mask image used for every input (white = fill).",
            ),
            click.Option(
                ["--masks"],
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="Folder of masks matched to the inputs by relative path "
                "(same name; any image extension).",
            ),
        ]
    params += _config_options(cls, train=False, reserved=RUN_COMMON)
    return params


def _check_run_paths(paths: Sequence[Path]) -> tuple[list[Path], Path]:
    """Split ``INPUT... OUTPUT``. A missing input among existing ones is not a usage error: the
    runner reports it as a failed item and goes on; only a run with no existing input is."""
    if len(paths) < 2:
        raise click.UsageError("expected at least one INPUT and one OUTPUT folder")
    *inputs, output = paths
    if not any(p.exists() for p in inputs):
        raise click.UsageError(f"input not found: {', '.join(str(p) for p in inputs)}")
    return inputs, output


def _event_dict(event: Any) -> Any:
    if hasattr(event, "to_dict"):
        return event.to_dict()
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    return event


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        payload = {"event": "end", **_event_dict(report)}
        click.echo(jsonlib.dumps(payload, default=str))
        return
    done, skipped, failed = len(report.done), len(report.skipped), len(report.failed)
    click.echo(f"done {done}, skipped {skipped}, failed {failed}")
    for path, why in report.failed:
        click.echo(f"  failed: {path}: {why}", err=True)
    if getattr(report, "manifest_path", None):
        click.echo(f"manifest: {report.manifest_path}")


def _make_run(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        from ganedit.infer import run_folder

        inputs, output = _check_run_paths(kw["paths"])
        options = _split_options(kw, RUN_COMMON)
        extra: dict[str, Any] = {}
        if cls.kind is Kind.IMAGE_MASK:
            if kw.get("mask") and kw.get("masks"):
                raise click.UsageError("give --mask or --masks, not both")
            if not kw.get("mask") and not kw.get("masks"):
                raise click.UsageError(f"{cls.name} needs masks: give --mask FILE or --masks DIR")
            extra = {"mask": kw.get("mask"), "masks": kw.get("masks")}
        as_json = kw["json"]
        on_event = None
        seen_end: list[bool] = []
        if as_json:

            def on_event(event: Any) -> None:
                data = _event_dict(event)
                if isinstance(data, dict) and data.get("event") == "end":
                    seen_end.append(True)
                click.echo(jsonlib.dumps(data, default=str))

        tile = kw["tile"]
        with _user_errors(value_is_usage=True):  # run_folder's ValueErrors are usage errors
            report = run_folder(
                cls.name,
                inputs,
                output,
                weights=kw["weights"],
                device=kw["device"],
                precision=kw["precision"],
                batch_size=kw["batch_size"],
                tile=None if tile == "auto" else tile,
                tile_overlap=kw["tile_overlap"],
                skip_existing=kw["skip_existing"],
                fail_fast=kw["fail_fast"],
                jobs=kw["jobs"],
                dry_run=kw["dry_run"],
                format=kw["format"],
                quality=kw["quality"],
                progress=not as_json,
                on_event=on_event,
                **extra,
                **options,
            )
        if not (as_json and seen_end):  # run_folder's "end" event is the JSON summary
            _print_report(report, as_json)
        sys.exit(report.exit_code)

    return click.Command(
        cls.name,
        callback=callback,
        params=_run_params(cls),
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\nProcess every image under INPUT... (files or folders, "
        "recursively) into the OUTPUT folder, mirroring sub-folders.",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


@cli.command(
    "run",
    cls=ModelGroup,
    factory=_make_run,
    accepts=lambda c: c.kind in (Kind.IMAGE, Kind.IMAGE_MASK),
    need="`run` takes image models; use `ganedit sample` for generators",
)
def run_cmd() -> None:
    """Process image folders with MODEL: ganedit run MODEL INPUT... OUTPUT.

    `ganedit run MODEL --help` lists that model's options.
    """


# ------------------------------------------------------------------------------------ train
DEFAULT_STEPS = 10_000
TRAIN_COMMON = {
    "data",
    "val",
    "out",
    "steps",
    "batch_size",
    "lr",
    "resume",
    "config",
    "set",
    "device",
    "precision",
    "compile",
    "seed",
    "deterministic",
}


def _train_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    params: list[click.Parameter] = [
        click.Option(
            ["--data"],
            multiple=True,
            required=True,
            type=click.Path(exists=True, path_type=Path),
            help="Training data folder or file (repeat for several).",
        ),
        click.Option(
            ["--val"],
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="Validation data folder (repeat for several).",
        ),
        click.Option(
            ["--out"],
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Run folder: checkpoints, log.jsonl, sample grids, final weights.",
        ),
        click.Option(
            ["--steps"],
            type=click.IntRange(min=1),
            default=DEFAULT_STEPS,
            show_default=True,
            help="Total training steps (a resumed run continues up to this count).",
        ),
        click.Option(
            ["--batch-size", "batch_size"],
            type=click.IntRange(min=1),
            default=None,
            help="Batch size [default: the model's Config].",
        ),
        click.Option(
            ["--lr"], type=float, default=None, help="Learning rate [default: the model's Config]."
        ),
        click.Option(
            ["--resume"], is_flag=True, help="Continue from the last checkpoint in --out."
        ),
        click.Option(
            ["--config", "config"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="TOML or JSON file of Config values (options given here win).",
        ),
        click.Option(
            ["--set", "set"],
            multiple=True,
            metavar="KEY=VALUE",
            help="Set any Config field, e.g. --set lr=1e-4 (repeatable; wins over "
            "--config and the options above).",
        ),
        click.Option(["--device"], default="auto", show_default=True, help=DEVICE_HELP),
        click.Option(
            ["--precision"],
            type=click.Choice(PRECISION_CHOICES),
            default="auto",
            show_default=True,
            help=PRECISION_HELP,
        ),
        click.Option(["--compile"], is_flag=True, help="torch.compile the networks."),
        click.Option(
            ["--seed"],
            type=int,
            default=0,
            show_default=True,
            help="Random seed (weights init, data order, augmentation).",
        ),
        click.Option(
            ["--deterministic"],
            is_flag=True,
            help="Use deterministic algorithms (slower; same seed -> same run).",
        ),
    ]
    params += _config_options(cls, train=True, reserved=TRAIN_COMMON)
    return params


def _fmt_override(key: str, value: Any) -> str:
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    return f"{key}={value}"


def _make_train(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        from ganedit.config import parse_override
        from ganedit.engine import train

        fields = _split_options(kw, TRAIN_COMMON)
        overrides = [_fmt_override(k, v) for k, v in fields.items()] + list(kw["set"])
        with _user_errors():
            for o in overrides:
                parse_override(o)
            result = train(
                cls.name,
                list(kw["data"]),
                kw["out"],
                steps=kw["steps"],
                batch_size=kw["batch_size"],
                lr=kw["lr"],
                resume=kw["resume"],
                config_file=kw["config"],
                overrides=tuple(overrides),
                device=kw["device"],
                precision=kw["precision"],
                compile=kw["compile"],
                seed=kw["seed"],
                deterministic=kw["deterministic"],
                val=list(kw["val"]) or None,
            )
        weights = getattr(result, "weights", None)
        step = getattr(result, "step", "?")
        if getattr(result, "interrupted", False):
            click.echo(
                f"{cls.name}: stopped at step {step}; continue with --resume "
                f"(checkpoint: {getattr(result, 'checkpoint', None)})",
                err=True,
            )
            sys.exit(1)
        click.echo(f"{cls.name}: trained to step {step}; weights: {weights}")

    return click.Command(
        cls.name,
        callback=callback,
        params=_train_params(cls),
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\nTrain {cls.name} on --data, writing checkpoints, logs and "
        "sample grids under --out.",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


@cli.command(
    "train",
    cls=ModelGroup,
    factory=_make_train,
    accepts=lambda c: c.is_trainable(),
    need="this model cannot be trained",
)
def train_cmd() -> None:
    """Train MODEL: ganedit train MODEL --data DIR --out RUN_DIR.

    `ganedit train MODEL --help` lists that model's Config fields as options.
    """


# ----------------------------------------------------------------------------------- sample
SAMPLE_COMMON = {"out", "n", "seed", "grid", "interpolate", "weights", "device", "precision"}


def slerp(z0: Any, z1: Any, t: float) -> Any:
    """Spherical interpolation between two latents (any shape, float) at ``t`` in [0, 1]."""
    import torch

    a, b = z0.flatten().double(), z1.flatten().double()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega) < 1e-6:
        out = (1 - t) * a + t * b
    else:
        s = torch.sin(omega)
        out = torch.sin((1 - t) * omega) / s * a + torch.sin(t * omega) / s * b
    return out.to(z0.dtype).reshape(z0.shape)


def make_grid(images: Any, cols: int | None = None) -> Any:
    """Tile ``images`` ``(N, H, W, C)`` uint8 into one ``(rows*H, cols*W, C)`` image (black
    where the last row is short); ``cols`` defaults to ``ceil(sqrt(N))``."""
    import numpy as np

    n, h, w, c = images.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * h : (r + 1) * h, k * w : (k + 1) * w] = images[i]
    return grid


def _to_uint8(x: Any) -> Any:
    """``(N, C, H, W)`` float [0, 1] tensor -> ``(N, H, W, C)`` uint8 numpy."""
    return (
        (x.detach().float().clamp(0, 1) * 255).round().to("cpu").byte().permute(0, 2, 3, 1).numpy()
    )


def _make_sample(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        import torch

        from ganedit.editor import load
        from ganedit.io import write_image

        out: Path = kw["out"]
        options = _split_options(kw, SAMPLE_COMMON)
        n, seed = kw["n"], kw["seed"]
        with _user_errors():
            editor = load(
                cls.name,
                weights=kw["weights"],
                device=kw["device"],
                precision=kw["precision"],
                **options,
            )
            if kw["interpolate"]:
                k = kw["interpolate"]
                z0, z1 = editor.latents(1, seed)[0], editor.latents(1, seed + 1)[0]
                ts = [i / (k - 1) for i in range(k)] if k > 1 else [0.0]
                z = torch.stack([slerp(z0, z1, t) for t in ts])
                frames = []
                for start in range(0, k, 16):
                    with torch.no_grad():
                        frames.append(_to_uint8(editor.generate(z[start : start + 16])))
                import numpy as np

                imgs = np.concatenate(frames)
                for i, img in enumerate(imgs):
                    write_image(out / f"frame_{i:03d}.png", img)
                click.echo(f"wrote {len(imgs)} frames to {out}")
                return
            imgs = editor.sample(n, seed=seed)
            if kw["grid"]:
                target = (
                    out if out.suffix.lower() in (".png", ".jpg", ".webp") else out / "grid.png"
                )
                write_image(target, make_grid(imgs))
                click.echo(f"wrote {target}")
                return
            width = max(3, len(str(n - 1)))
            for i, img in enumerate(imgs):
                write_image(out / f"sample_{i:0{width}d}.png", img)
            click.echo(f"wrote {len(imgs)} images to {out}")

    params: list[click.Parameter] = [
        click.Argument(["out"], type=click.Path(path_type=Path)),
        click.Option(
            ["-n", "n"],
            type=click.IntRange(min=1),
            default=64,
            show_default=True,
            help="Number of images.",
        ),
        click.Option(
            ["--seed"],
            type=int,
            default=0,
            show_default=True,
            help="Seed of the latents; same seed and weights give the same images.",
        ),
        click.Option(
            ["--grid"],
            is_flag=True,
            help="Write one PNG tiling the n images (OUT/grid.png, or OUT itself when "
            "it ends in .png).",
        ),
        click.Option(
            ["--interpolate"],
            type=click.IntRange(min=1),
            default=None,
            metavar="K",
            help="Write K frames (frame_000.png...) walking by spherical interpolation "
            "from the latent of --seed to that of --seed + 1.",
        ),
        click.Option(
            ["--weights"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Weights file; default: the model's bundled weights.",
        ),
        click.Option(["--device"], default="auto", show_default=True, help=DEVICE_HELP),
        click.Option(
            ["--precision"],
            type=click.Choice(PRECISION_CHOICES),
            default="auto",
            show_default=True,
            help=PRECISION_HELP,
        ),
    ]
    params += _config_options(cls, train=False, reserved=SAMPLE_COMMON)
    return click.Command(
        cls.name,
        callback=callback,
        params=params,
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\nDraw images from {cls.name} into the folder OUT "
        "(sample_000.png, ...).",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


@cli.command(
    "sample",
    cls=ModelGroup,
    factory=_make_sample,
    accepts=lambda c: c.kind is Kind.GENERATE,
    need="`sample` takes generator models; use `ganedit run` for image models",
)
def sample_cmd() -> None:
    """Draw images from a generator MODEL: ganedit sample MODEL OUT [-n 64]."""


# ------------------------------------------------------------------------------------- eval
EVAL_COMMON = {"data", "weights", "n", "seed", "device", "precision", "json"}


def _format_table(rows: list[dict], summary: dict) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    for k in summary:
        if k not in cols:
            cols.append(k)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return "" if v is None else str(v)

    table = [[cell(r.get(c)) for c in cols] for r in rows]
    mean = [cell(summary.get(c)) for c in cols]
    if cols and not summary.get(cols[0]):
        mean[0] = "mean"
    widths = [max(len(c), *(len(t[i]) for t in [*table, mean])) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)) for t in table]
    lines.append("  ".join("-" * w for w in widths))
    lines.append("  ".join(v.ljust(w) for v, w in zip(mean, widths, strict=True)))
    return "\n".join(lines)


def _make_eval(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        from ganedit.editor import load
        from ganedit.plugins import get_family

        options = _split_options(kw, EVAL_COMMON)
        with _user_errors():
            editor = load(
                cls.name,
                weights=kw["weights"],
                device=kw["device"],
                precision=kw["precision"],
                **options,
            )
            result = get_family(cls.name).evaluate(
                editor, list(kw["data"]), {"n": kw["n"], "seed": kw["seed"]}
            )
        rows, summary = list(result.get("rows", [])), dict(result.get("summary", {}))
        if kw["json"]:
            click.echo(
                jsonlib.dumps({"model": cls.name, "rows": rows, "summary": summary}, default=str)
            )
        else:
            click.echo(_format_table(rows, summary) if rows or summary else "no results")

    params: list[click.Parameter] = [
        click.Option(
            ["--data"],
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="Evaluation data (repeatable) [default: the model's own choice].",
        ),
        click.Option(
            ["--weights"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Weights file; default: the model's bundled weights.",
        ),
        click.Option(
            ["--n"],
            type=click.IntRange(min=1),
            default=None,
            help="Number of items to evaluate [default: the model's].",
        ),
        click.Option(["--seed"], type=int, default=0, show_default=True, help="Random seed."),
        click.Option(["--device"], default="auto", show_default=True, help=DEVICE_HELP),
        click.Option(
            ["--precision"],
            type=click.Choice(PRECISION_CHOICES),
            default="auto",
            show_default=True,
            help=PRECISION_HELP,
        ),
        click.Option(
            ["--json", "json"], is_flag=True, help="Print {model, rows, summary} as JSON."
        ),
    ]
    params += _config_options(cls, train=False, reserved=EVAL_COMMON)
    return click.Command(
        cls.name,
        callback=callback,
        params=params,
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\nEvaluate {cls.name}: one row per item and the mean.",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


@cli.command(
    "eval",
    cls=ModelGroup,
    factory=_make_eval,
    accepts=lambda c: c.is_evaluable(),
    need="this model has no evaluation",
)
def eval_cmd() -> None:
    """Evaluate MODEL and print a table (or --json)."""


# ------------------------------------------------------------------------------------- plot
@cli.command("plot")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def plot_cmd(run_dir: Path) -> None:
    """Plot the losses of a training run folder (its log.jsonl) and print the image path."""
    from ganedit.engine.plot import plot_run

    with _user_errors():
        path = plot_run(run_dir)
    click.echo(str(path))


# ------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: exit 0 all done, 1 some failed / error, 2 usage error."""
    cli.main(
        args=list(argv) if argv is not None else None,
        prog_name="ganedit",
        auto_envvar_prefix="GANEDIT",
    )


if __name__ == "__main__":  # pragma: no cover
    main()

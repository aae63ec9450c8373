"""``ganedit sample MODEL OUT``: draw images, a grid or an interpolation from a generator."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import _user_errors, device_options, seed_option, weights_option
from ganedit.cli.model_commands import load_editor, model_command, model_group
from ganedit.family import Kind, ModelFamily

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


def _write_walk(editor: Any, out: Path, k: int, seed: int) -> None:
    """``k`` frames along the slerp from the latent of ``seed`` to that of ``seed + 1``."""
    import numpy as np
    import torch

    from ganedit.io import write_image

    z0, z1 = editor.latents(1, seed)[0], editor.latents(1, seed + 1)[0]
    ts = [i / (k - 1) for i in range(k)] if k > 1 else [0.0]
    z = torch.stack([slerp(z0, z1, t) for t in ts])
    frames = []
    for start in range(0, k, 16):
        with torch.no_grad():
            frames.append(_to_uint8(editor.generate(z[start : start + 16])))
    imgs = np.concatenate(frames)
    for i, img in enumerate(imgs):
        write_image(out / f"frame_{i:03d}.png", img)
    click.echo(f"wrote {len(imgs)} frames to {out}")


def _write_samples(editor: Any, out: Path, n: int, seed: int, grid: bool) -> None:
    """``n`` samples as ``sample_NNN.png`` files, or one grid image."""
    from ganedit.io import write_image

    imgs = editor.sample(n, seed=seed)
    if grid:
        target = out if out.suffix.lower() in (".png", ".jpg", ".webp") else out / "grid.png"
        write_image(target, make_grid(imgs))
        click.echo(f"wrote {target}")
        return
    width = max(3, len(str(n - 1)))
    for i, img in enumerate(imgs):
        write_image(out / f"sample_{i:0{width}d}.png", img)
    click.echo(f"wrote {len(imgs)} images to {out}")


def _make_sample(cls: type[ModelFamily]) -> click.Command:
    """Draw images from a generator MODEL: ganedit sample MODEL OUT [-n 64]."""

    def callback(**kw: Any) -> None:
        with _user_errors():
            editor = load_editor(cls, kw, SAMPLE_COMMON)
            if kw["interpolate"]:
                _write_walk(editor, kw["out"], kw["interpolate"], kw["seed"])
            else:
                _write_samples(editor, kw["out"], kw["n"], kw["seed"], kw["grid"])

    params: list[click.Parameter] = [
        click.Argument(["out"], type=click.Path(path_type=Path)),
        click.Option(
            ["-n", "n"],
            type=click.IntRange(min=1),
            default=64,
            show_default=True,
            help="Number of images.",
        ),
        seed_option("Seed of the latents; same seed and weights give the same images."),
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
        weights_option(),
        *device_options(),
    ]
    return model_command(
        cls,
        callback,
        params,
        f"Draw images from {cls.name} into the folder OUT (sample_000.png, ...).",
        reserved=SAMPLE_COMMON,
        command="sample",
    )


sample_cmd = model_group(
    "sample",
    _make_sample,
    lambda c: c.kind is Kind.GENERATE,
    "`sample` takes generator models; use `ganedit run` for image models",
)

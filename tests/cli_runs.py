"""Helpers of the tests that run the CLI on the ``tiny-sr`` fixture plugin (issue 13's
reliability tests, kept next to the code each one tests): tiny weights, images, in-process CLI
runs and their JSON events and manifest, and ``python -m ganedit`` child processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner, Result

from ganedit.cli import cli
from ganedit.io import write_image

REPO = Path(__file__).resolve().parents[1]


def save_tiny_weights(path: Path, **config: Any) -> Path:
    """Weights of the fixture family ``tiny-sr`` (x4) with its card (needs ``plugin_path``)."""
    import torch

    from ganedit.config import config_to_dict
    from ganedit.plugins import get_family
    from ganedit.weights import save_weights

    fam = get_family("tiny-sr")
    cfg = fam.Config(**{"channels": 4, **config})
    torch.manual_seed(0)
    gen = fam.build(cfg)["generator"]
    return save_weights(path, gen.state_dict(), {"family": fam.name, "config": config_to_dict(cfg)})


def images(folder: Path, n: int = 3, size: tuple[int, int] = (8, 10), c: int = 3) -> list[Path]:
    """``n`` random PNGs ``img_<i>.png`` in ``folder``."""
    rng = np.random.default_rng(len(str(folder)))
    out = []
    for i in range(n):
        p = folder / f"img_{i}.png"
        write_image(p, rng.integers(0, 256, (*size, c), np.uint8))
        out.append(p)
    return out


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """``ganedit ARGS`` in-process; stdout and stderr apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def run_tiny(weights: Path, *args: Any, env: dict[str, str] | None = None) -> Result:
    """``ganedit run tiny-sr --weights W --device cpu ARGS``."""
    return run_cli("run", "tiny-sr", "--weights", str(weights), "--device", "cpu", *args, env=env)


def events(stdout: str) -> list[dict[str, Any]]:
    """The JSON events of a ``--json`` run."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "ganedit-run.json").read_text(encoding="utf-8"))


def subprocess_env(**extra: str) -> dict[str, str]:
    """An environment for ``python -m ganedit`` with the fixture plugins importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANEDIT_")}
    env["GANEDIT_CACHE_DIR"] = os.environ["GANEDIT_CACHE_DIR"]  # the session's, not ~/.cache
    parts = [str(REPO / "tests" / "fixtures" / "plugins")]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.update(OMP_NUM_THREADS="1", **extra)
    return env


@contextlib.contextmanager
def sigint_not_ignored() -> Iterator[None]:
    """Children started inside the block get the default SIGINT even when pytest's own is
    ignored (started with ``&`` or ``nohup``: an ignored signal stays ignored across exec, a
    handled one becomes the default, and a folder run rightly keeps an ignored SIGINT)."""
    old = signal.getsignal(signal.SIGINT)
    if old is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if old is signal.SIG_IGN:
            signal.signal(signal.SIGINT, old)


def ganedit_process(*args: Any, **extra_env: str) -> subprocess.Popen[str]:
    """``python -m ganedit ARGS`` as a child process (stdout and stderr piped, text; SIGINT
    not ignored, :func:`sigint_not_ignored`)."""
    with sigint_not_ignored():
        return subprocess.Popen(
            [sys.executable, "-m", "ganedit", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(**extra_env),
        )

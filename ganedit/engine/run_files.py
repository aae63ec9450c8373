"""The files a training run writes (a part of :func:`ganedit.engine.fit`'s run): checkpoints
(with the meta ``ganedit export`` reads), sample grids, the exported weights and their card,
and the loss plot. :class:`RunFiles` is mixed into the loop's run object, whose state it shares.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganedit.config import config_to_dict
from ganedit.engine.checkpoint import list_checkpoints
from ganedit.engine.distributed import barrier, broadcast_buffers
from ganedit.engine.engine import Engine
from ganedit.engine.monitor import column_grid, make_grid
from ganedit.family import Kind, ModelFamily

__all__ = ["RunFiles", "rng_devices"]


def rng_devices(engine: Engine) -> list[torch.device]:
    """The devices whose random state ``torch.random.fork_rng`` must save (CUDA only)."""
    return [engine.device] if engine.device.type == "cuda" else []


class RunFiles:
    """The file jobs of one :func:`~ganedit.engine.fit` call. The run sets the attributes."""

    family: ModelFamily
    config: Any
    engine: Engine
    out: Path
    opt: Any  # the run's TrainOptions (keep_last)
    data_paths: dict[str, list[str]]
    schedule: Any  # the LRSchedule
    ckpt_dir: Path
    generators: tuple[str, ...]
    nets: dict[str, torch.nn.Module]
    opts: dict[str, torch.optim.Optimizer]
    fixed: dict[str, torch.Tensor]
    last_ckpt: Path | None
    saved_at: int

    def call(self, hook: str, **kwargs: Any) -> None:
        self.engine.call(
            hook, engine=self.engine, family=self.family, config=self.config, out_dir=self.out,
            **kwargs,
        )  # fmt: skip

    def checkpoint_meta(self) -> dict[str, Any]:
        """Recorded beside every checkpoint, so ``ganedit export`` needs nothing else."""
        return {
            "family": self.family.name,
            "config": config_to_dict(self.config),
            "generators": list(self.generators),
            "ema": bool(self.engine.ema),
            "ema_decay": self.engine.ema_decay if self.engine.ema else None,
            "data": self.data_paths,
            "precision": self.engine.precision.name,
        }

    def save_checkpoint(self) -> None:
        engine = self.engine
        for net in engine.nets_raw.values():
            broadcast_buffers(net)
        state = engine.state_dict(self.nets, self.opts)
        name = self.ckpt_dir / f"step-{engine.step_index:08d}"
        path = engine.save(name, state, meta=self.checkpoint_meta())
        if path is not None:
            for old in list_checkpoints(self.ckpt_dir)[: -max(1, self.opt.keep_last)]:
                for f in (old, old.with_suffix(".safetensors")):
                    f.unlink(missing_ok=True)
            self.call("on_checkpoint", step=engine.step_index, path=path)
            self.last_ckpt = path
        self.saved_at = engine.step_index
        barrier()

    def write_samples(self) -> None:
        """``samples/step-<k>.png``: the family's sample columns for the fixed inputs."""
        engine = self.engine
        if not engine.is_main:
            return
        from ganedit.io import write_image

        nets = engine.generator_copies(self.generators)
        modes = {k: n.training for k, n in nets.items()}
        for n in nets.values():
            n.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=rng_devices(engine)):
            with engine.autocast():
                grid = self.sample_grid(nets)
        for k, n in nets.items():
            n.train(modes[k])
        write_image(self.out / "samples" / f"step-{engine.step_index:08d}.png", grid)

    def sample_grid(self, nets: Mapping[str, torch.nn.Module]) -> Any:
        family, config, dev = self.family, self.config, self.engine.device
        fixed = {k: v.to(dev) for k, v in self.fixed.items()}
        if family.kind is Kind.GENERATE:
            net = nets[family.generator_for(config)]
            return make_grid(family.predict(net, fixed, config).float())
        return column_grid([c.float() for c in family.sample_columns(nets, fixed, config)])

    def export(self, metrics: dict[str, float]) -> Path | None:
        """Write every generator (its EMA when on) as ``<out>/<family>.safetensors`` + card."""
        engine = self.engine
        if not engine.is_main:
            barrier()
            return None
        from ganedit.weights import pack_generators, save_weights

        nets = engine.generator_copies(self.generators)
        state = pack_generators({k: n.state_dict() for k, n in nets.items()})
        path = save_weights(self.out / f"{self.family.name}.safetensors", state, self.card(metrics))
        barrier()
        return path

    def card(self, metrics: dict[str, float]) -> dict[str, Any]:
        engine = self.engine
        return {
            "family": self.family.name,
            "config": config_to_dict(self.config),
            "generators": list(self.generators),
            "training": {
                "command": list(sys.argv),
                "data": self.data_paths,
                "step": engine.step_index,
                "seed": engine.seed,
                "device": str(engine.device),
                "precision": engine.strategy.name,
                "precision_choice": engine.precision.describe(),
                "memory_format": engine.memory.describe(),
                "world_size": engine.world_size,
                "ema_decay": engine.ema_decay if engine.ema else None,
                "deterministic": engine.deterministic,
                "lr_schedule": self.schedule.to_dict(),
            },
            "metrics": metrics,
        }

    def finish_files(self) -> None:
        if not self.engine.is_main:
            return
        self.write_samples()
        from ganedit.engine.plot import plot_run

        if (self.out / "metrics.jsonl").exists():
            plot_run(self.out)

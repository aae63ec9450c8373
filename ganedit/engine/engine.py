"""The :class:`Engine`: device, precision, seeding, DDP and optimiser steps for a family's
``training_step`` (the shape of Lightning Fabric, small)."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganedit.config import check_memory_format
from ganedit.devices import PrecisionChoice, precision_candidates, resolve_device
from ganedit.engine.checkpoint import load_state, save_state
from ganedit.engine.distributed import init_distributed
from ganedit.engine.ema import EMA
from ganedit.engine.memory_format import apply_format, choose_training_format
from ganedit.engine.precision import precision_for
from ganedit.engine.run_state import RunField, RunState
from ganedit.measured import FormatChoice

__all__ = ["Engine"]


def _takes_found_inf(optimizer: torch.optim.Optimizer) -> bool:
    """The optimiser skips its own update given a ``found_inf`` tensor (fused Adam/AdamW/SGD)."""
    return bool(getattr(optimizer, "_step_supports_amp_scaling", False)) and all(
        g.get("fused") for g in optimizer.param_groups
    )


def _unwrap(net: nn.Module) -> nn.Module:
    inner = getattr(net, "_orig_mod", net)  # torch.compile
    inner = (
        getattr(inner, "module", inner)
        if isinstance(inner, nn.parallel.DistributedDataParallel)
        else inner
    )
    return inner


class Engine:
    """Runs a family's networks: device, precision, DDP, compile, EMA, NaN guard, callbacks.

    In ``training_step`` a family does, per network::

        opt.zero_grad(set_to_none=True)
        with engine.autocast():
            loss = ...
        engine.backward(loss)
        engine.step(opt)

    Args:
        device: ``"auto"`` (first CUDA GPU, else CPU), ``"cpu"``, ``"cuda:1"``. Under torchrun
            each rank uses ``cuda:LOCAL_RANK``.
        precision: ``"auto"`` (bf16 on a capable GPU; on the CPU fp32, or bf16/fp16 where the
            CPU has instructions for them and :func:`~ganedit.engine.fit` measures them
            faster: :func:`~ganedit.engine.choose_training_precision`), ``fp32``, ``bf16``,
            ``fp16`` (with a GradScaler).
        compile: wrap networks in :func:`torch.compile`: ``True`` (the default inductor
            backend) or a backend name (``"aot_eager"`` traces without generating code).
        seed: seeds python, numpy and torch (plus the rank) and the data permutation.
        callbacks: objects with ``on_*`` methods (see :meth:`call`).
        deterministic: :func:`torch.use_deterministic_algorithms` and no cuDNN autotuning.
        ema_decay: keep an EMA of every generator with this decay (``None``: off).
        memory_format: ``"auto"`` (measured by :meth:`choose_memory_format`, which
            :func:`~ganedit.engine.fit` calls), ``"channels_last"`` or ``"contiguous"``.

    Attributes:
        device, rank, world_size, is_main, and the configuration above.
        run: the current run's :class:`~ganedit.engine.run_state.RunState` (a fresh one per
            :func:`~ganedit.engine.fit`: :meth:`start_run`). Its fields are also the engine's
            attributes (:class:`~ganedit.engine.run_state.RunField`): precision
            (:class:`ganedit.devices.PrecisionChoice`), step_index, should_stop (set it to end
            training after this step), data (the :class:`ganedit.data.TrainData`), ema
            (generator name -> :class:`EMA`), lr_schedule, memory, nets_raw...
        A family's config is never read from the engine: :class:`ganedit.Step` carries it.
    """

    # the current run's fields (engine.run.<name>), under their long-standing names
    precision = RunField()
    strategy = RunField()
    memory = RunField()
    step_index = RunField()
    should_stop = RunField()
    stop_reason = RunField()
    ema = RunField()
    nets_raw = RunField()
    data = RunField()
    batch_size = RunField()
    out_dir = RunField()
    lr_schedule = RunField()
    run_callbacks = RunField()
    family_state = RunField()

    def __init__(
        self,
        device: str | torch.device = "auto",
        precision: str = "auto",
        compile: bool | str = False,
        seed: int = 0,
        callbacks: Iterable[Any] = (),
        deterministic: bool = False,
        ema_decay: float | None = None,
        memory_format: str = "auto",
    ) -> None:
        dev = resolve_device(device)
        info = init_distributed(dev)
        if dev.type == "cuda" and info.world > 1:
            dev = torch.device("cuda", info.local_rank)
        self.device = dev
        self.rank, self.world_size, self.local_rank = info.rank, info.world, info.local_rank
        self.precision_request = (precision or "auto").lower()
        self.precision_candidates = precision_candidates(precision, dev)
        self.compile = compile
        self.seed = int(seed)
        self.callbacks = list(callbacks)
        self.deterministic = deterministic
        self.ema_decay = ema_decay
        self.memory_format = check_memory_format(memory_format)
        self.run = self.start_run()
        self._configure_backends()
        self.seed_everything()

    def start_run(self) -> RunState:
        """A fresh :class:`~ganedit.engine.run_state.RunState`, now :attr:`run`: step 0, no
        stop, no networks, EMAs or data, the first precision candidate and the requested
        memory format (contiguous while ``"auto"`` is unmeasured). :func:`~ganedit.engine.fit`
        calls it first, so every run on this engine starts alike."""
        precision = self.precision_candidates[0]
        fixed = self.memory_format
        memory = FormatChoice("contiguous" if fixed == "auto" else fixed, "requested")
        self.run = RunState(precision, precision_for(precision, self.device), memory)
        return self.run

    # ---------------------------------------------------------------------------- properties
    @property
    def is_main(self) -> bool:
        """True on rank 0 (the only rank that logs and writes files)."""
        return self.rank == 0

    @property
    def channels_last(self) -> bool:
        """Networks and image batches use channels_last (:attr:`memory`: requested, or
        measured by :meth:`choose_memory_format`)."""
        return self.memory.channels_last

    def choose_memory_format(
        self, family: Any, config: Any, inputs: Mapping[str, torch.Tensor]
    ) -> FormatChoice:
        """With ``memory_format="auto"``: time the generators' forward and backward on
        ``inputs`` in both layouts (or recall the answer for this machine), then convert the
        networks and their EMA copies to the faster one. Call after :meth:`setup`, before
        the first optimiser step; no state changes. A fixed ``memory_format`` is kept.

        Returns:
            :attr:`memory`, the choice now in force.
        """
        if self.memory_format == "auto" and self.nets_raw:
            gens = [g for g in family.generators if g in self.nets_raw]
            self.memory = choose_training_format(
                family, config, self.nets_raw, gens, inputs, self.device,
                self.precision.name, self.autocast,
            )  # fmt: skip
        apply_format(self.nets_raw, self.channels_last)
        apply_format({k: e.module for k, e in self.ema.items()}, self.channels_last)
        if self.data is not None and hasattr(self.data, "channels_last"):
            self.data.channels_last = self.channels_last
        return self.memory

    def use_precision(self, choice: PrecisionChoice) -> None:
        """Train in ``choice`` from now on (:func:`~ganedit.engine.choose_training_precision`
        measures which; a resumed run takes its checkpoint's). Call between steps."""
        self.precision = choice
        self.strategy = precision_for(choice, self.device)

    def _configure_backends(self) -> None:
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = not self.deterministic
        if self.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True

    def seed_everything(self, seed: int | None = None) -> None:
        """Seed python, numpy and torch (all devices) with ``seed + rank``."""
        s = (self.seed if seed is None else seed) + self.rank
        random.seed(s)
        np.random.seed(s % 2**32)
        torch.manual_seed(s)

    # --------------------------------------------------------------------------------- setup
    def setup(
        self, nets: Mapping[str, nn.Module], generators: Sequence[str] = ("generator",)
    ) -> dict[str, nn.Module]:
        """Move ``nets`` to the device (channels_last on CUDA), wrap trainable ones in DDP when
        distributed, compile when asked, and start an EMA of each of ``generators`` when
        ``ema_decay`` is set.

        Returns:
            The networks to call (same keys). Optimisers may be built on their parameters.
        """
        out: dict[str, nn.Module] = {}
        for name, net in nets.items():
            net = net.to(self.device)
            if self.channels_last:
                net = net.to(memory_format=torch.channels_last)
            self.nets_raw[name] = net
            wrapped: nn.Module = net
            if self.world_size > 1 and any(p.requires_grad for p in net.parameters()):
                ids = [self.device.index] if self.device.type == "cuda" else None
                wrapped = nn.parallel.DistributedDataParallel(
                    net, device_ids=ids, broadcast_buffers=False
                )
            if self.compile:
                backend = self.compile if isinstance(self.compile, str) else "inductor"
                wrapped = torch.compile(wrapped, backend=backend)  # type: ignore[assignment]
            out[name] = wrapped
        self.ema = {}
        if self.ema_decay:
            for name in generators:
                if name not in self.nets_raw:
                    raise KeyError(f"generator {name!r} is not among the networks {list(nets)}")
                self.ema[name] = EMA(self.nets_raw[name], self.ema_decay)
        return out

    def update_ema(self, ok: torch.Tensor | None = None) -> None:
        """Blend every generator's current weights into its EMA; with ``ok`` (a device bool)
        only when it is True, decided on the device."""
        for name, ema in self.ema.items():
            ema.update(self.nets_raw[name], ok)

    def generator_copies(self, generators: Sequence[str]) -> dict[str, nn.Module]:
        """The modules to sample and export: each generator's EMA where EMA is on, else the
        network itself (unwrapped)."""
        return {g: self.ema[g].module if g in self.ema else self.nets_raw[g] for g in generators}

    def unwrap(self, net: nn.Module) -> nn.Module:
        """The plain module inside a DDP / compiled wrapper."""
        return _unwrap(net)

    # ------------------------------------------------------------------------ training verbs
    def autocast(self) -> contextlib.AbstractContextManager:
        """Forward-pass context for the engine's precision (no-op for fp32)."""
        return self.strategy.autocast()

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate a scalar loss (scaled under fp16); remembers whether it was finite."""
        self.run.loss_ok.append(torch.isfinite(loss.detach()).all())
        self.strategy.backward(loss)

    def step(self, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        """Apply ``optimizer`` unless a loss since the last step or a gradient is NaN/Inf.

        The check stays on the device: an optimiser that takes a ``found_inf`` tensor (fused
        Adam, :func:`ganedit.nn.adam`'s choice) skips the update inside its own kernel, so a
        training step never waits for the host. Other optimisers are checked on the host.
        A skipped step marks the training step bad (``bad_step``); :func:`~ganedit.engine.fit`
        looks at the flags every few steps and rolls back after several bad steps in a row.
        Under fp16 the GradScaler skips overflowing steps itself (not counted as bad unless
        the loss itself was non-finite).

        Returns:
            A 0-dim bool tensor on the device: True when the weights were updated (reading
            it waits for the device).
        """
        flags = self.run.loss_ok
        self.run.loss_ok = []
        ok = torch.stack(flags).all() if flags else torch.ones((), dtype=torch.bool)
        ok = ok.to(self.device)
        if self.precision.name == "fp16":
            stepped = self.strategy.step(optimizer)
            self._mark(ok)
            return ok & torch.tensor(stepped, device=self.device)
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if grads:
            norms = torch._foreach_norm(grads)
            ok = ok & torch.isfinite(torch.stack(norms)).all()
        self._mark(ok)
        if _takes_found_inf(optimizer):
            optimizer.found_inf = (~ok).float()  # type: ignore[attr-defined]
            optimizer.grad_scale = None  # type: ignore[attr-defined]
            try:
                self.strategy.step(optimizer)
            finally:
                optimizer.found_inf = None  # type: ignore[attr-defined]
            return ok
        if not bool(ok.item()):
            optimizer.zero_grad(set_to_none=True)
            return ok
        self.strategy.step(optimizer)
        return ok

    def _mark(self, ok: torch.Tensor) -> None:
        run = self.run
        run.step_ok = ok if run.step_ok is None else run.step_ok & ok

    def begin_step(self) -> None:
        """Start a training step: no optimiser step has been judged yet (called by fit)."""
        self.run.step_ok = None

    def step_ok(self) -> torch.Tensor:
        """A 0-dim bool tensor on the device: every optimiser step of the current training
        step was finite (True when none was taken). Does not wait for the device."""
        if self.run.step_ok is None:
            return torch.ones((), dtype=torch.bool, device=self.device)
        return self.run.step_ok

    @property
    def bad_step(self) -> bool:
        """True when an optimiser step of the current training step was skipped as NaN/Inf
        (reading it waits for the device; the loop reads the device flag instead)."""
        return not bool(self.step_ok().item())

    def next_batch(self) -> dict[str, torch.Tensor]:
        """Another training batch (same size) for families that take several discriminator
        steps per generator step (e.g. ``config.d_steps`` for WGAN)."""
        if self.data is None or self.batch_size is None:
            raise RuntimeError("engine.next_batch() is only available inside fit()")
        return self.data.next_batch(self.batch_size)

    def batches(self, first: dict[str, torch.Tensor], n: int) -> Iterator[dict[str, torch.Tensor]]:
        """``first``, then ``n - 1`` fresh batches: ``for b in engine.batches(batch, config.d_steps)``."""
        yield first
        for _ in range(max(0, n - 1)):
            yield self.next_batch()

    # -------------------------------------------------------------------- callbacks, logging
    def call(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call ``hook`` on every callback that has it, passing only the keyword arguments its
        signature names (all of them when it takes ``**kwargs``)."""
        results = []
        for cb in [*self.callbacks, *self.run_callbacks]:
            fn = getattr(cb, hook, None)
            if not callable(fn):
                continue
            params = inspect.signature(fn).parameters
            if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                results.append(fn(**kwargs))
            else:
                results.append(fn(**{k: v for k, v in kwargs.items() if k in params}))
        return results

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        """Append ``{"step": step, **metrics}`` to ``<out_dir>/metrics.jsonl`` (rank 0 only)
        and pass it to callbacks' ``on_log``."""
        if not self.is_main:
            return
        row: dict[str, Any] = {"step": int(step)}
        for k, v in metrics.items():
            row[k] = float(v.detach().float().item()) if isinstance(v, torch.Tensor) else v
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        self.call("on_log", engine=self, step=step, metrics=row)

    # ------------------------------------------------------------------------- state, files
    def rng_state(self) -> dict[str, Any]:
        """Python, numpy, torch (CPU and CUDA) RNG states, JSON/safetensors-friendly."""
        py = random.getstate()
        np_state = np.random.get_state(legacy=True)
        if not isinstance(np_state, tuple):  # only for a non-MT19937 global generator
            raise RuntimeError(
                f"numpy's global RNG is not MT19937 ({np_state.get('bit_generator')})"
            )
        state: dict[str, Any] = {
            "python": {
                "version": py[0],
                "state": torch.tensor(py[1], dtype=torch.int64),
                "gauss": py[2],
            },
            "numpy": {
                "kind": np_state[0],
                "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                "pos": int(np_state[2]),
                "has_gauss": int(np_state[3]),
                "gauss": float(np_state[4]),
            },
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        py = state["python"]
        random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
        n = state["numpy"]
        np.random.set_state(
            (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
        )
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])

    def state_dict(
        self, nets: Mapping[str, nn.Module], opts: Mapping[str, torch.optim.Optimizer]
    ) -> dict[str, Any]:
        """Everything needed to continue exactly: nets, optimisers, scaler, EMAs, step, RNG,
        the family's training state and the data position."""
        state: dict[str, Any] = {
            "step": self.step_index,
            "nets": {k: self.unwrap(v).state_dict() for k, v in nets.items()},
            "opts": {k: o.state_dict() for k, o in opts.items()},
            "scaler": self.strategy.state_dict(),
            "rng": self.rng_state(),
        }
        if self.ema:
            state["ema"] = {name: ema.state_dict() for name, ema in self.ema.items()}
        if self.family_state:
            state["family"] = dict(self.family_state)
        if self.data is not None and hasattr(self.data, "state_dict"):
            state["data"] = self.data.state_dict()
        return state

    def load_state_dict(
        self,
        state: Mapping[str, Any],
        nets: Mapping[str, nn.Module],
        opts: Mapping[str, torch.optim.Optimizer],
    ) -> None:
        """Restore what :meth:`state_dict` returned into ``nets``/``opts``/EMA/RNG/data."""
        for k, net in nets.items():
            self.unwrap(net).load_state_dict(state["nets"][k])
        for k, opt in opts.items():
            opt.load_state_dict(state["opts"][k])
        self.strategy.load_state_dict(state.get("scaler") or {})
        saved_ema = state.get("ema") or {}
        for name, ema in self.ema.items():
            if name in saved_ema:
                ema.load_state_dict(saved_ema[name])
        if "family" in state:
            self.family_state.clear()
            self.family_state.update(state["family"])
        if self.data is not None and "data" in state:
            self.data.load_state_dict(state["data"])
        self.step_index = int(state["step"])
        if self.world_size > 1:
            # one RNG state was saved (rank 0's); give each rank its own stream again
            self.seed_everything(self.seed + 7919 * self.step_index)
        else:
            self.set_rng_state(state["rng"])

    def save(
        self, path: str | Path, state: dict[str, Any], meta: dict[str, Any] | None = None
    ) -> Path | None:
        """Write ``state`` as safetensors + JSON (rank 0 only; see :mod:`ganedit.engine.checkpoint`)."""
        if not self.is_main:
            return None
        return save_state(path, state, step=int(state.get("step", self.step_index)), meta=meta)

    def load(self, path: str | Path) -> dict[str, Any]:
        """Read a state file written by :meth:`save` (never unpickles)."""
        state, _doc = load_state(path)
        return state

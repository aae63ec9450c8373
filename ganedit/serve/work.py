"""What a job does: options from the page, the loaded editors, and the runs.

* Options arrive as strings (a form) or JSON values. Run options are converted by their
  field's type and validated by :class:`~ganedit.infer.options.RunOptions`; Config fields go
  to :func:`ganedit.load` as given (it coerces them); an empty value means "not given" (the
  weights card's or the Config's value). A path option (``weights``) must be ``random`` or a
  file under ``--root``.
* Editors come from :func:`ganedit.load` (the same Editor the Python API returns), kept for
  later edits: one per family, reloaded when the weights, precision or Config values change.
* One edit per model at a time: a real lock per family, held from loading the editor to the
  last byte written, so two tabs never change each other's settings or get each other's
  images. Every runtime option is set on the editor for each edit (its default when not given).
* An edit is a folder run of one file: the upload is saved in the job's private folder under a
  name the server makes (``image.<format>``), and :func:`ganedit.run_folder` writes the result
  (atomic, lock, manifest, metadata carried); the download is that file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ganedit.config import ConfigError
from ganedit.family import Kind
from ganedit.infer.options import RunOptions, option_fields, validate_option
from ganedit.serve.jobs import Job, JobCancelled, cancelled_end
from ganedit.serve.models import EDIT_OPTIONS, SERVER_OWNED
from ganedit.serve.paths import Roots

__all__ = ["EditRequest", "Workspace", "split_options"]

_RUN = {f.name: f for f in dataclasses.fields(RunOptions)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _run_value(name: str, value: Any) -> Any:
    """A run option's value from a form string or JSON value, by the field's type."""
    from ganedit.infer.options import value_type

    tp = value_type(RunOptions, _RUN[name])
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if tp in (int, float) and isinstance(value, str) and value.strip().lower() != "auto":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
        return int(number) if tp is int and number.is_integer() else number
    return value


def split_options(
    values: Mapping[str, Any], config_cls: type, roots: Roots
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(run options, Config values)`` from the page's fields (empty ones dropped). A Config
    field named like a run option is not reachable (as on the command line).

    Raises:
        ConfigError: a name that is neither; ValueError: a bad value or a refused path.
    """
    config_names = {f.name for f in dataclasses.fields(config_cls)}
    run: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key in _RUN and key not in SERVER_OWNED:  # a run option wins, as on the CLI
            run[key] = (
                _path_value(key, value, roots) if key == "weights" else _run_value(key, value)
            )
        elif key in config_names and key not in _RUN:
            config[key] = value
        else:
            raise ConfigError(f"unknown option {key!r}")
    RunOptions.parse(run, None)  # validates every run option's value
    return run, config


def _path_value(key: str, value: Any, roots: Roots) -> str | None:
    text = str(value).strip()
    if text.lower() in ("bundled", "default"):
        return None
    if text.lower() in ("random", "none"):
        return "random"
    path = roots.resolve(text)
    if not path.is_file():
        raise ValueError(f"{key}: {text} is not a file")
    return str(path)


@dataclasses.dataclass
class EditRequest:
    """One single-image edit: the saved upload, the optional mask, the options."""

    image: Path
    mask: Path | None
    run: dict[str, Any]
    config: dict[str, Any]


class Workspace:
    """The loaded editors, their locks and the measured speed per model.

    Args:
        device: the server's ``--device``.
        roots: the served folders.
    """

    def __init__(self, device: str, roots: Roots) -> None:
        self.device, self.roots = device, roots
        self._editors: dict[tuple, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.rates: dict[str, float] = {}  # seconds per input megapixel, last edits

    def lock(self, model: str) -> threading.Lock:
        """The one lock of ``model``."""
        with self._guard:
            return self._locks.setdefault(model, threading.Lock())

    def editor(self, model: str, run: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
        """The cached :func:`ganedit.load` editor for these load options (call under the
        model's lock)."""
        import ganedit

        weights = run.get("weights")
        precision = run.get("precision", "auto")
        key = (model, weights, precision, tuple(sorted((k, str(v)) for k, v in config.items())))
        if key not in self._editors:
            for other in [k for k in self._editors if k[0] == model]:
                del self._editors[other]  # one editor per model in memory (we hold its lock)
            self._editors[key] = ganedit.load(
                model, weights=weights, device=self.device, precision=precision, **config
            )
        return self._editors[key]

    def estimate(self, model: str, pixels: int) -> float | None:
        """Seconds an edit of ``pixels`` input pixels should take, from the last edits."""
        rate = self.rates.get(model)
        return None if rate is None or pixels <= 0 else rate * pixels / 1e6

    # ---------------------------------------------------------------------------------- edit
    def run_edit(self, job: Job, req: EditRequest, size: tuple[int, int]) -> None:
        """Run one edit through :func:`ganedit.run_folder` (module docstring); ``size`` is the
        image's ``(height, width)`` from its header."""
        import ganedit

        assert job.folder is not None
        with self.lock(job.model):
            if job.cancel_requested:
                job.finish("cancelled")
                return
            job.status = "running"
            editor = self.editor(job.model, req.run, req.config)
            opts = {
                k: v for k, v in req.run.items() if k in EDIT_OPTIONS - {"weights", "precision"}
            }
            for f in option_fields(RunOptions, stage="editor"):  # every edit sets them all
                wanted = validate_option(f.name, opts.pop(f.name, f.default))
                if getattr(editor, f.name) != wanted:
                    setattr(editor, f.name, wanted)  # as run_folder would, before it plans
            if req.mask is not None:
                opts["mask"] = req.mask
            with model_calls(job, editor, size):
                report = ganedit.run_folder(
                    editor, [req.image], job.folder / "out", progress=False,
                    on_event=job.on_event, **opts,
                )  # fmt: skip
        self._edited(job, report, size[0] * size[1])

    def _edited(self, job: Job, report: Any, pixels: int) -> None:
        files = [e for e in job.events if e.get("event") == "file"]
        if job.cancel_requested:
            job.finish("cancelled")
        elif report.done and files and files[-1].get("output"):
            job.result = Path(files[-1]["output"])
            seconds = files[-1].get("seconds")
            if seconds and pixels:
                self.rates[job.model] = float(seconds) / (pixels / 1e6)
            job.finish("done")
        else:
            why = report.failed[0][1] if report.failed else "nothing was written"
            job.finish("failed", why)

    # ------------------------------------------------------------------------------ generate
    def run_generate(self, job: Job, req: EditRequest, spec: Mapping[str, int | str]) -> None:
        """Sample ``count`` images from ``seed`` (``mode`` ``grid``), or walk from one latent
        to another in ``count`` steps (``walk``), into one PNG sheet in the job's folder."""
        import numpy as np
        import torch

        import ganedit
        from ganedit.cli.sample import make_grid, slerp
        from ganedit.infer.layouts import to_integer

        assert job.folder is not None
        n, seed, mode = int(spec["count"]), int(spec["seed"]), str(spec["mode"])
        with self.lock(job.model):
            job.status = "running"
            job.emit({"event": "start", "model": job.model, "total": n, "dry_run": False})
            editor = self.editor(job.model, req.run, req.config)
            editor.batch_size = req.run.get("batch_size")  # None: chosen from the memory
            if mode == "walk":
                ends = editor.latents(2, seed)
                steps = np.linspace(0.0, 1.0, n)
                z = torch.stack([slerp(ends[0], ends[1], float(t)) for t in steps])
            else:
                z = editor.latents(n, seed)
            images = to_integer(editor.generate(z), torch.uint8).cpu().numpy()
            sheet = make_grid(images, cols=n if mode == "walk" else None)
            out = ganedit.write_image(job.folder / "out" / "samples.png", sheet)
        job.result = out
        job.emit({"event": "file", "status": "done", "input": None, "output": str(out)})
        job.emit({"event": "end", "model": job.model, "done": 1, "failed": []})
        job.finish("done")

    # -------------------------------------------------------------------------------- folder
    def run_folder_job(self, job: Job, paths: Mapping[str, Any], run: dict, config: dict) -> None:
        """A folder run (``paths``: resolved ``input``, ``output``, ``mask``, ``masks``) with
        the runner's records; stopped by :meth:`Job.cancel` at the next file."""
        import ganedit
        from ganedit.infer import RunInterrupted

        job.status = "running"
        extra: dict[str, Any] = {
            k: str(paths[k]) for k in ("mask", "masks") if paths.get(k) is not None
        }
        try:
            report = ganedit.run_folder(
                job.model, [paths["input"]], paths["output"], progress=False,
                on_event=job.on_event, device=self.device, **extra, **run, **config,
            )  # fmt: skip
        except JobCancelled:
            job.emit(cancelled_end(job, str(paths["output"])))
            job.finish("cancelled")
            return
        except RunInterrupted:  # a signal to the server process: the run said so in "end"
            job.finish("cancelled")
            return
        except (ValueError, OSError) as exc:
            job.emit({"event": "error", "message": str(exc)})
            job.finish("failed", str(exc))
            return
        del report  # its "end" record is in job.events
        job.finish("done")


@contextlib.contextmanager
def model_calls(job: Job, editor: Any, size: tuple[int, int]) -> Iterator[None]:
    """Count the generator's calls for one edit into ``job.progress`` (``(calls done, calls
    expected)``: tiles / tiles per call, times the self-ensemble's views), and stop a
    cancelled edit before its next call (:class:`JobCancelled` from a forward pre-hook)."""
    import torch

    from ganedit.infer.tiling import tile_layout

    h, w = size
    tile, batch = editor.plan(h, w) if h and w else (None, 1)
    calls = 1
    if tile is not None:
        shape = torch.zeros(1, 1, 1, 1).expand(1, 1, h, w)  # no memory unless padded
        lay = tile_layout(shape, scale=1, tile=tile, overlap=editor.tiling.overlap,
                          multiple=editor.io.size_multiple)  # fmt: skip
        calls = len(lay.ys) * -(-len(lay.xs) // max(1, batch))
    job.progress = (0, calls * editor.self_ensemble)

    def before_call(module: Any, args: Any) -> None:
        if job.cancel_requested:
            raise JobCancelled
        done, total = job.progress or (0, 1)
        job.progress = (done, max(total, done + 1))

    def after_call(module: Any, args: Any, output: Any) -> None:
        done, total = job.progress or (0, 1)
        job.progress = (done + 1, max(total, done + 1))

    handles = [
        editor.generator.register_forward_pre_hook(before_call),
        editor.generator.register_forward_hook(after_call),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def kind_of(model: str) -> Kind:
    """The :class:`~ganedit.Kind` of an installed family (``UnknownModelError`` else)."""
    from ganedit.plugins import family_class

    return family_class(model).kind

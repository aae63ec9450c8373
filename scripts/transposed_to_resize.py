"""Start an ``upsample=resize`` inpaint run from a checkpoint of an ``upsample=transposed`` one.

A 3x3 stride-2 transposed convolution (``ConvTranspose2d(c_in, c_out, 3, 2, 1,
output_padding=1)``) gives each of the four output phases ``(a, b)`` of a 2x2 cell its own
subset of the kernel's taps: the even-even pixel sees one tap, the odd-odd pixel four. That
unevenness is the checkerboard of Odena et al. (2016). Nearest x2 followed by a 3x3
convolution (``upsample=resize``) sees every tap at every phase. Per axis both are linear maps
from a 3-tap kernel to the coefficients of the six (phase, input offset) pairs, ``A`` (resize)
and ``B`` (transposed), so the resize kernel nearest to a transposed kernel ``K`` in least
squares over all phases and offsets is ``P K P^T`` with ``P = pinv(A) B`` (the 2D map is the
Kronecker product of the 1D ones). It keeps what the four phases share and drops the part that
differs between them, the checkerboard.

``transposed_to_resize.py CKPT NEW_RUN`` copies the checkpoint (discriminator, optimisers, RNG,
data position: the run continues where the source stopped) into ``NEW_RUN/checkpoints`` with:

* every decoder transposed kernel ``(c_in, c_out, 3, 3)`` replaced by its resize kernel
  ``(c_out, c_in, 3, 3)``, in the raw and the EMA generator, and the decoder's keys renumbered
  (a resize level has one module more: the ``nn.Upsample``);
* the generator's Adam state emptied, as ``seed_inpaint_run.py`` does: the resize decoder's
  gradients differ in scale from the transposed one's, and old second moments then let Adam
  take steps of up to ~30x the rate (a first try that kept them blew the bottleneck up 18x and
  killed the last level's ReLUs within 35 steps, ``runs/inpaint-seed-4-blowup``). Resume at
  ``lr=1e-8`` for a few hundred steps so the moments settle, then at the recipe's rate;
* ``config.upsample = "resize"`` and ``converted_from`` (source path and step) in its meta;
* the source run's ``metrics.jsonl``, ``segments.jsonl`` and ``config.json`` (with
  ``upsample=resize``) beside it.

With ``--distil DIR`` the projected levels are only a start: each resize level is then fitted
(Adam, nothing else moves) so that every decoder level's output and the correction match the
transposed generator's on centre crops of photos from DIR with a medium and a thick mask
(the projection alone keeps ~1/4 of the correction: the ReLUs after each level act on
phase-averaged pre-activations). The distilled EMA generator becomes the raw one too.

Resume it with ``ganedit train inpaint --resume --set upsample=resize`` and the source's
recipe; record the conversion in the card.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from ganedit_inpaint.compose import smooth_fill
from ganedit_inpaint.family import Inpaint, InpaintConfig
from ganedit_inpaint.fill import hint_input
from ganedit_inpaint.monitor import monitor_crops
from ganedit_inpaint.networks import FFCGenerator

from ganedit.config import update_config
from ganedit.engine.checkpoint import load_state, save_state
from ganedit.io import IMAGE_EXTENSIONS

_RESIZE_1D = torch.tensor(  # rows (phase a, offset r) for a in 0,1 and r in -1,0,1; cols taps
    [[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float64
)
_TRANSPOSED_1D = torch.tensor(  # output 2i+a gets x[i+r] * K[k] where 2(i+r) - 1 + k = 2i+a
    [[0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float64
)
PROJECTION = torch.linalg.pinv(_RESIZE_1D) @ _TRANSPOSED_1D  # (3, 3): K taps -> resize taps


def resize_kernel(transposed: torch.Tensor) -> torch.Tensor:
    """``(c_in, c_out, 3, 3)`` transposed-conv weight -> ``(c_out, c_in, 3, 3)`` conv weight
    (same dtype) of the nearest-x2-then-conv level closest to it over all output phases."""
    if transposed.shape[-2:] != (3, 3):
        raise ValueError(f"a 3x3 transposed kernel is needed, not {tuple(transposed.shape)}")
    k = transposed.to(torch.float64).transpose(0, 1)  # (c_out, c_in, 3, 3)
    return (PROJECTION @ k @ PROJECTION.T).to(transposed.dtype).contiguous()


def _decoder_index(key: str) -> int | None:
    m = re.match(r"decoder\.(\d+)\.", key)
    return int(m.group(1)) if m else None


def convert_generator(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transposed generator's state dict -> the resize generator's, in the same key order.

    Without norm layers a transposed level is 3 modules (conv, identity, ReLU) and a resize
    level 4 (Upsample first), so level ``j``'s conv moves from decoder index ``3j`` to
    ``4j + 1`` and the head from ``3L`` to ``4L`` (``L`` levels); other keys are unchanged."""
    head = max(i for i in map(_decoder_index, state) if i is not None)
    levels, rest = divmod(head, 3)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        i = _decoder_index(key)
        if i is None:
            out[key] = value
            continue
        if i % 3 or rest:
            raise ValueError(
                f"{key}: not a transposed decoder without norm layers (3 modules a level)"
            )
        level = i // 3
        index = 4 * level + 1 if level < levels else 4 * levels
        is_kernel = level < levels and key.endswith(".weight")
        out[re.sub(r"^decoder\.\d+\.", f"decoder.{index}.", key)] = (
            resize_kernel(value) if is_kernel else value
        )
    return out


def _generator(config: dict, upsample: str, state: dict[str, torch.Tensor]) -> FFCGenerator:
    """The eval-mode generator of a run's ``config`` with ``upsample``, loaded from ``state``
    (built by the family, so the options map to the network in one place)."""
    net = Inpaint().build_generator("generator", _config(config, upsample))
    net.load_state_dict(state)
    return net.eval()


def _config(config: dict, upsample: str) -> InpaintConfig:
    """A run's config dict as an :class:`InpaintConfig` with ``upsample``."""
    return update_config(InpaintConfig(), {**config, "upsample": upsample})


def _bottleneck(net: FFCGenerator, x: torch.Tensor) -> torch.Tensor:
    """``net``'s features before its decoder: ``(N, 8 * width, H / 8, W / 8)`` float32."""
    h = net.encoder(x)
    c = h.shape[1] - net.split
    y = torch.cat(net.blocks((h[:, :c], h[:, c:])), 1)
    return y if net.bottleneck_blur is None else net.bottleneck_blur(y)


def _decode(net: FFCGenerator, y: torch.Tensor) -> list[torch.Tensor]:
    """Each decoder level's output (after its blur, before its noise), then the correction."""
    levels = []
    for i, layer in enumerate(net.decoder):
        y = layer(y)
        if i in net.blur_at:
            y = net.blur_at[i](y)
        if isinstance(layer, torch.nn.ReLU):  # the end of a level
            levels.append(y)
        if i in net.noise_at:
            y = net.noise_at[i](y)
    return [*levels, y]


def generator_inputs(photos: list[Path], config: dict, crop: int) -> torch.Tensor:
    """Inputs of the generator for a medium and a thick mask on a centre crop of each photo:
    ``(2 len(photos), in_channels, crop, crop)`` float32 (pre-fill, mask, hint)."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, photo in enumerate(photos):
            (Path(tmp) / f"{i:04d}{photo.suffix}").symlink_to(photo.resolve())
        x, m = monitor_crops(Path(tmp), crop)
    base = smooth_fill(x, m, int(config["smooth_iters"]))
    return torch.cat([base, m, *hint_input(x, m, _config(config, "transposed"))], 1)


def distil_decoder(
    teacher: FFCGenerator,
    student: FFCGenerator,
    inputs: torch.Tensor,
    steps: int,
    lr: float = 3e-4,
    batch: int = 4,
) -> list[float]:
    """Fit ``student``'s decoder levels (in place; nothing else moves) so that every level
    and the correction match ``teacher``'s on ``inputs``: the mean over levels of the squared
    error relative to the teacher's mean square. Returns the loss every 50 steps."""
    with torch.no_grad():
        y = _bottleneck(teacher, inputs)
        targets = _decode(teacher, y)
    params = [
        p
        for name, p in student.decoder.named_parameters()
        if not name.startswith(f"{len(student.decoder) - 2}.")
    ]
    opt = torch.optim.Adam(params, lr)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for step in range(steps):
        idx = torch.randint(0, y.shape[0], (batch,), generator=gen)
        outs = _decode(student, y[idx])
        loss = sum(
            ((o - t[idx]).square().mean() / t[idx].square().mean())
            for o, t in zip(outs, targets, strict=True)
        ) / len(outs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            losses.append(round(float(loss.detach()), 5))
            print(f"distil step {step}: relative squared error {losses[-1]:.4f}", file=sys.stderr)
    return losses


def convert_checkpoint(src: Path, run: Path, photos: list[Path], steps: int, crop: int) -> Path:
    """Write the converted copy of checkpoint ``src`` into ``run/checkpoints``; returns its
    path. With ``photos`` and ``steps > 0`` the EMA generator's resize levels are then
    distilled (:func:`distil_decoder`) and become the raw generator's too."""
    state, doc = load_state(src)
    meta = doc["meta"]
    config = meta["config"]
    if config.get("upsample") != "transposed" or config.get("norm") != "none":
        raise SystemExit(f"{src}: only upsample=transposed, norm=none runs are converted")
    new = convert_generator(state["nets"]["generator"])
    ema = convert_generator(state["ema"]["generator"])
    if photos and steps > 0:
        teacher = _generator(config, "transposed", state["ema"]["generator"])
        student = _generator(config, "resize", ema)
        meta["distilled"] = {
            "photos": len(photos),
            "steps": steps,
            "crop": crop,
            "loss": distil_decoder(teacher, student, generator_inputs(photos, config, crop), steps),
        }
        ema = {k: v.detach().clone() for k, v in student.state_dict().items()}
        new = {k: v.clone() for k, v in ema.items()}
    state["nets"]["generator"], state["ema"]["generator"] = new, ema
    state["opts"]["g"]["state"] = {}  # see the module docstring
    config["upsample"] = "resize"
    meta["converted_from"] = {"checkpoint": str(src), "step": int(doc["step"])}
    (run / "checkpoints").mkdir(parents=True, exist_ok=False)
    out = save_state(run / "checkpoints" / src.stem, state, step=int(doc["step"]), meta=meta)
    _copy_run_files(src.parent.parent, run)
    return out


def _copy_run_files(src: Path, run: Path) -> None:
    """The source run's ``metrics.jsonl`` and ``segments.jsonl`` (the card lists the whole
    chain) and its ``config.json`` with ``upsample=resize``."""
    for name in ("metrics.jsonl", "segments.jsonl"):
        if (src / name).is_file():
            shutil.copyfile(src / name, run / name)
    if (src / "config.json").is_file():
        config = json.loads((src / "config.json").read_text(encoding="utf-8"))
        config["config"]["upsample"] = "resize"
        (run / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path, help="a step-*.json checkpoint of a transposed run")
    ap.add_argument("run", type=Path, help="the new run folder (must not exist)")
    ap.add_argument("--distil", type=Path, default=None, help="a folder of training photos")
    ap.add_argument("--photos", type=int, default=16, help="how many of them (sorted, evenly)")
    ap.add_argument("--steps", type=int, default=400, help="distillation steps")
    ap.add_argument("--crop", type=int, default=256, help="crop side (a multiple of 8)")
    args = ap.parse_args()
    if args.run.exists():
        raise SystemExit(f"{args.run}: exists; choose a new run folder")
    photos: list[Path] = []
    if args.distil is not None:
        found = sorted(p for p in args.distil.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        photos = found[:: max(1, len(found) // args.photos)][: args.photos]
    print(
        convert_checkpoint(args.checkpoint, args.run, photos, args.steps, args.crop),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

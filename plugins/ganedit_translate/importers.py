"""``ganedit import ... --to pix2pix|cyclegan``: the reference implementation's generators
(junyanz/pytorch-CycleGAN-and-pix2pix, ``latest_net_G*.pth`` and the published models) mapped
key by key onto ``ganedit.nn.UNetGenerator`` and ``ganedit.nn.ResnetGenerator``.

pix2pix (``unet_128`` / ``unet_256``): each U-Net level is a ``Sequential`` named ``model``
whose item 1 (outermost level) or 3 (the others) is the next level; the
depth, width, channels and norm (batch: affine norm weights; instance: conv biases and no
norm weights; none: neither, biases filled with zeros) are read from the keys.

CycleGAN (``resnet_6blocks`` / ``resnet_9blocks``): the same ``Sequential`` indices as
ganedit's ResNet generator except ``conv_block`` -> ``body`` (and, for a model trained with
dropout, the second conv moves one index down); InstanceNorm running statistics of old files
are dropped; the two stride-2 convs zero-pad (Config ``down_padding = "zeros"``). One file
fills the generator named by ``--set direction=`` (default ``a2b``); two files are ``a2b``
then ``b2a``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from ganedit.importing import ImportRefused, Mapped, SourceState

__all__ = ["import_cyclegan", "import_pix2pix"]

_STATS = ("running_mean", "running_var", "num_batches_tracked")
_UNET_KEY = re.compile(r"^model\.(model\.1\.(?:model\.3\.)*)?model\.(\d+)\.(\w+)$")
_RESNET_KEY = re.compile(r"^model\.(\d+)\.(?:conv_block\.(\d+)\.)?(\w+)$")


def _unet_part(level: int, depth: int, index: int) -> str | None:
    """ganedit's sub-module for item ``index`` of the reference's level ``level``."""
    if level == 0:
        return {0: "down.0", 3: "up.1"}.get(index)
    if level == depth - 1:
        return {1: "down.1", 3: "up.1", 4: "up.2"}.get(index)
    return {1: "down.1", 2: "down.2", 5: "up.1", 6: "up.2"}.get(index)


def _level(m: re.Match[str]) -> int:
    """0 for the outermost block; its inner block is its item 1, deeper ones are item 3."""
    return 0 if m.group(1) is None else 1 + m.group(1).count("model.3.")


def _unet_norm(state: dict[str, torch.Tensor], depth: int) -> str:
    if depth < 3:
        raise ImportRefused("a U-Net of fewer than 3 levels is not a pix2pix layout")
    if "model.model.1.model.2.weight" in state:  # level 1's down-norm
        return "batch"
    return "instance" if "model.model.1.model.1.bias" in state else "none"


def import_pix2pix(sources: Sequence[SourceState], settings: dict[str, str]) -> Mapped:
    """The reference pix2pix U-Net generator -> ganedit's pix2pix ``generator``."""
    if len(sources) != 1:
        raise ImportRefused("pix2pix imports one generator file (latest_net_G.pth)")
    src = sources[0]
    parsed = {k: _UNET_KEY.match(k) for k in src.tensors}
    bad = [k for k, m in parsed.items() if m is None]
    if bad or not parsed:
        raise ImportRefused(
            f"{src.path}: not a pix2pix U-Net state dict (unexpected key {bad[:1] or '(none)'}; "
            "expected model.model.0.weight, model.model.1.model.1.weight, ...)"
        )
    depth = 1 + max(_level(m) for m in parsed.values() if m)
    norm = _unet_norm(src.tensors, depth)
    out: dict[str, torch.Tensor] = {}
    for key, m in parsed.items():
        assert m is not None
        level, index, leaf = _level(m), int(m.group(2)), m.group(3)
        part = _unet_part(level, depth, index)
        if part is None or (norm != "batch" and leaf in _STATS):
            if leaf in _STATS:
                continue  # old InstanceNorm running statistics: not used in eval mode
            raise ImportRefused(f"{src.path}: key {key} has no place in a {depth}-level U-Net")
        out["model." + "inner." * level + f"{part}.{leaf}"] = src.tensors[key]
    outer = src.tensors.get("model.model.0.weight")
    last = src.tensors.get("model.model.3.weight")
    if outer is None or last is None:
        raise ImportRefused(f"{src.path}: the U-Net's outermost convolutions are missing")
    if norm == "batch":
        _fill_batch_counters(out)
    if norm == "none":
        _fill_zero_biases(out)
    width = int(outer.shape[0])
    config = {
        "in_channels": int(outer.shape[1]),
        "out_channels": int(last.shape[1]),
        "depth": depth,
        "width": width,
        "norm": norm,
    }
    layout = f"pix2pix unet_{2**depth} (ngf {width}, {norm} norm)"
    return Mapped({"generator": out}, config, layout)


def _fill_batch_counters(state: dict[str, torch.Tensor]) -> None:
    """Files saved before torch 0.4.1 have no ``num_batches_tracked``; eval mode ignores it."""
    for key in [k for k in state if k.endswith(".running_mean")]:
        state.setdefault(key[: -len("running_mean")] + "num_batches_tracked", torch.tensor(0))


def _fill_zero_biases(state: dict[str, torch.Tensor]) -> None:
    """The reference's ``norm='none'`` convs have no bias; ganedit's have one: zeros."""
    for key in [k for k in state if k.endswith(".weight")]:
        w = state[key]
        bias = key[: -len("weight")] + "bias"
        if bias not in state:
            transposed = ".up." in f".{key}"
            state[bias] = torch.zeros(int(w.shape[1] if transposed else w.shape[0]), dtype=w.dtype)


def _resnet_state(src: SourceState) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """One reference ResNet generator -> ganedit's keys, and its shape fields."""
    out: dict[str, torch.Tensor] = {}
    dropout = any(re.search(r"\.conv_block\.6\.weight$", k) for k in src.tensors)
    for key, t in src.tensors.items():
        m = _RESNET_KEY.match(key)
        if m is None:
            raise ImportRefused(
                f"{src.path}: not a CycleGAN ResNet generator (unexpected key {key}; expected "
                "model.1.weight, model.10.conv_block.1.weight, ...)"
            )
        item, inner, leaf = m.group(1), m.group(2), m.group(3)
        if leaf in _STATS:
            continue  # InstanceNorm running statistics of old files
        if inner is None:
            out[f"model.{item}.{leaf}"] = t
            continue
        j = int(inner)
        if dropout and j >= 5:
            j -= 1  # the reference's Dropout sits at 4 (eval mode: identity)
        out[f"model.{item}.body.{j}.{leaf}"] = t
    if "model.2.weight" in src.tensors:
        raise ImportRefused(
            f"{src.path}: a batch-norm ResNet generator; ganedit's cyclegan uses instance norm"
        )
    first = src.tensors.get("model.1.weight")
    if first is None:
        raise ImportRefused(f"{src.path}: the ResNet generator's first convolution is missing")
    blocks = len({k.split(".")[1] for k in src.tensors if ".conv_block." in k})
    return out, {"channels": int(first.shape[1]), "width": int(first.shape[0]), "blocks": blocks}


def import_cyclegan(sources: Sequence[SourceState], settings: dict[str, str]) -> Mapped:
    """One or two reference CycleGAN generators -> ganedit's ``a2b`` / ``b2a``."""
    if len(sources) not in (1, 2):
        raise ImportRefused("cyclegan imports one file, or two (a2b then b2a)")
    names = [settings.get("direction", "a2b")] if len(sources) == 1 else ["a2b", "b2a"]
    if names[0] not in ("a2b", "b2a"):
        raise ImportRefused(f"direction must be a2b or b2a, got {names[0]!r}")
    gens, shapes = {}, []
    for name, src in zip(names, sources, strict=False):
        gens[name], shape = _resnet_state(src)
        shapes.append(shape)
    if len(shapes) == 2 and shapes[0] != shapes[1]:
        raise ImportRefused(f"the two generators differ in shape ({shapes[0]} vs {shapes[1]})")
    config = {**shapes[0], "direction": names[0], "down_padding": "zeros"}
    layout = f"cyclegan resnet_{shapes[0]['blocks']}blocks (ngf {shapes[0]['width']})"
    return Mapped(gens, config, layout)

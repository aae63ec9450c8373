""":func:`load`: a family, its weights and one generator, ready for inference.

Example::

    import ganedit
    up = ganedit.load("srgan")                                   # bundled weights
    zebra = ganedit.load("cyclegan", direction="a2b")            # a Config field picks the
                                                                 # generator (generator_for)
    mine = ganedit.load("srgan", weights="runs/sr/srgan.safetensors", tile=256)

Only the generator the config selects is built (:meth:`~ganedit.ModelFamily.build_generator`)
and only its tensors are read from the file (:func:`ganedit.weights.generator_state`: files
with one prefix per generator, and older single-generator files without prefixes).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch

from ganedit.config import config_from_dict, config_to_dict, update_config
from ganedit.devices import precision_candidates, resolve_device
from ganedit.family import ModelFamily
from ganedit.infer.editor import Editor
from ganedit.infer.options import RunOptions, option_fields
from ganedit.weights import (
    WeightsError,
    file_sha256,
    generator_state,
    load_weights,
    resolve_resource,
)

__all__ = ["editor_option_names", "load", "resolve_family"]

_RANDOM = ("random", "none", "")


def editor_option_names() -> tuple[str, ...]:
    """The runtime options of :func:`load` that are not Config fields (from
    :class:`~ganedit.infer.options.RunOptions`: the fields of stage ``"editor"``)."""
    return tuple(f.name for f in option_fields(RunOptions, stage="editor"))


def resolve_family(name_or_family: str | ModelFamily | type[ModelFamily]) -> ModelFamily:
    """A family instance from a name (plugin discovery, imported only here), an instance or a
    subclass."""
    if isinstance(name_or_family, ModelFamily):
        return name_or_family
    if isinstance(name_or_family, type) and issubclass(name_or_family, ModelFamily):
        return name_or_family()
    if isinstance(name_or_family, str):
        from ganedit.plugins import get_family

        return get_family(name_or_family)
    raise TypeError(
        f"load() expects a model name or a ModelFamily, got {type(name_or_family).__name__}"
    )


def _default_config(family: ModelFamily) -> Any:
    try:
        return family.Config()
    except TypeError as exc:
        raise TypeError(f"{family.name}: Config() needs defaults for every field ({exc})") from None


def _weights_path(family: ModelFamily, weights: Any, config: Any) -> Path | None:
    """The weights file to read, or ``None`` for a random init."""
    if weights is False or (isinstance(weights, str) and weights.lower() in _RANDOM):
        return None
    if weights is None or weights is True:
        spec = family.default_weights(config)
        if spec is None:
            raise WeightsError(
                f"{family.name}: no bundled weights for this configuration; pass "
                "weights=PATH.safetensors (or weights=False for a random, untrained generator)"
            )
        return resolve_resource(spec)
    path = Path(weights)
    if not path.exists() and isinstance(weights, str) and ":" in weights:
        path = resolve_resource(weights)
    return path


def _from_file(
    family: ModelFamily, path: Path, requested: Any, options: dict[str, Any]
) -> tuple[Any, str, torch.nn.Module, dict[str, Any], str]:
    """``(config, generator name, generator, card, sha256)`` from a weights file."""
    state, card = load_weights(path)
    card_family = card.get("family")
    if card_family and card_family != family.name:
        raise WeightsError(f"{path}: these weights are for {card_family!r}, not {family.name!r}")
    base = config_from_dict(type(requested), card.get("config") or {}, strict=False)
    config = update_config(base, options, strict=True)
    name = family.generator_for(config)
    net = family.build_generator(name, config)
    try:
        net.load_state_dict(generator_state(state, name, tuple(family.generators), path))
    except RuntimeError as exc:
        raise WeightsError(
            f"{path}: weights do not fit {family.name}'s generator {name!r} for this config ({exc})"
        ) from None
    return config, name, net, card, card.get("sha256") or file_sha256(path)


def _random(family: ModelFamily, config: Any) -> tuple[str, torch.nn.Module, dict[str, Any]]:
    """``(generator name, generator seeded with 0, card)`` for a random init."""
    name = family.generator_for(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = family.build_generator(name, config)
    card = {"family": family.name, "config": config_to_dict(config), "weights": "random"}
    return name, net, card


def load(
    name_or_family: str | ModelFamily | type[ModelFamily],
    weights: str | os.PathLike[str] | bool | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    **options: Any,
) -> Editor:
    """Load a model family with weights, ready for inference.

    Args:
        name_or_family: an installed family's name (``"srgan"``), or a :class:`ModelFamily`
            instance or subclass (handy in tests and notebooks; no plugin discovery).
        weights: a ``.safetensors`` path (its JSON card beside it), a ``"package:rel/path"``
            resource, ``None`` for the family's bundled weights, or ``False`` / ``"random"``
            for a randomly initialised generator (seeded with 0, so reproducible; for tests and
            smoke runs, the output is noise).
        device: ``"auto"`` (first CUDA GPU, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        precision: ``"auto"`` (bf16 on a capable GPU; on a CPU, fp32 or a reduced precision
            the CPU has instructions for, chosen by measurement within a quality guard:
            :mod:`ganedit.infer.autotune`), ``"fp32"``, ``"bf16"``, ``"fp16"``. bf16 on a GPU
            without it becomes fp16, and a CPU precision without instructions is emulated,
            each with a warning.
        **options: Config fields of the family (e.g. ``scale=2``; ``direction="b2a"`` for a
            family whose :meth:`~ganedit.ModelFamily.generator_for` reads it), overriding the
            weights card's config; plus the runtime options ``tile``, ``tile_overlap``,
            ``batch_size``, ``outscale`` and ``self_ensemble`` (see
            :class:`~ganedit.infer.options.RunOptions` for each one's meaning).

    Returns:
        An :class:`~ganedit.infer.editor.Editor` running ``family.generator_for(config)``.

    Raises:
        WeightsError: no weights are bundled and none were given, the file is unusable, it is
            for another family, or it holds no tensors for the chosen generator.
        ConfigError: an option that is neither a Config field nor a runtime option.
        ValueError: a runtime option's value is invalid (``outscale`` not positive,
            ``self_ensemble`` not 1, 2, 4 or 8, or either for a GENERATE family).
    """
    family = resolve_family(name_or_family)
    runtime = {k: options.pop(k) for k in editor_option_names() if k in options}
    requested = update_config(_default_config(family), options, strict=True)
    path = _weights_path(family, weights, requested)
    if path is not None:
        config, name, net, card, sha = _from_file(family, path, requested, options)
    else:
        config, sha = requested, None
        name, net, card = _random(family, config)
    dev = resolve_device(device)
    candidates = precision_candidates(precision, dev)
    prec = candidates[0]
    if prec.note:
        warnings.warn(prec.note, RuntimeWarning, stacklevel=2)
    net = family.inference_net(net.eval(), config)
    net = net.to(dev).eval().requires_grad_(False)  # its memory format: the Editor's choice
    return Editor(
        family,
        config,
        net,
        device=dev,
        precision=prec,
        generator_name=name,
        card=card,
        weights_path=path,
        weights_sha256=sha,
        precisions=candidates,
        **runtime,
    )

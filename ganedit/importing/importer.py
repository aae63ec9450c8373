""":func:`import_checkpoint`: community checkpoints -> ganedit weights (safetensors + card)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ganedit.config import ConfigError, config_from_dict, config_to_dict
from ganedit.importing.archive import Limits
from ganedit.importing.reader import SourceState, read_checkpoint
from ganedit.importing.registry import Mapped, importer_for
from ganedit.importing.unpickler import ImportRefused
from ganedit.weights import pack_generators, save_weights

__all__ = ["RAW_TARGET", "import_checkpoint"]

#: ``--to tensors``: the state dict as it is, for files that are not a family's generator
#: (e.g. VGG19 weights for srgan's ``vgg_weights``).
RAW_TARGET = "tensors"


def _verify(family_name: str, mapped: Mapped, settings: Mapping[str, str]) -> Any:
    """The resolved Config; every generator is built and loaded strictly."""
    from ganedit.plugins import get_family

    family = get_family(family_name)
    unknown = set(mapped.generators) - set(family.generators)
    if unknown or not mapped.generators:
        raise ImportRefused(
            f"the importer of {family_name!r} gave generators {sorted(mapped.generators)}; "
            f"the family has {list(family.generators)}"
        )
    config = config_from_dict(family.Config, {**mapped.config, **settings}, strict=True)
    for name, state in mapped.generators.items():
        net = family.build_generator(name, config)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise ImportRefused(
                f"the tensors do not fit {family_name}'s generator {name!r} "
                f"({first[0] if first else exc}{'...' if len(first) > 1 else ''})"
            ) from None
    return config


def import_checkpoint(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    to: str,
    settings: Mapping[str, Any] | None = None,
    license: str | None = None,
    lenient: bool = False,
    allow_noncommercial: bool = False,
    limits: Limits | None = None,
) -> Path:
    """Turn community checkpoints into a ganedit weights file, safely.

    Each source is read by the restricted reader (:func:`~ganedit.importing.read_checkpoint`:
    no ``torch.load``, nothing of the file is called), mapped by the importer that the family's
    plugin registered, checked by loading it into the family's generators, and written as
    ``out`` (safetensors) with its JSON card.

    Args:
        sources: one or more ``torch.save`` files (zip or legacy layout) or ``.safetensors``;
            cyclegan takes two (``a2b`` then ``b2a``).
        out: the ``.safetensors`` file to write (its card goes beside it).
        to: the family (``pix2pix``, ``cyclegan``, ``spandrel``...), or ``"tensors"`` to keep
            the state dict as it is (no family; e.g. VGG19 for srgan's ``vgg_weights``).
        settings: ``key=value`` Config fields applied after the importer's own
            (``{"direction": "b2a"}``).
        license: the weights' licence (an SPDX id or free text); ``"unknown"`` when omitted.
        lenient: read a Lightning checkpoint's tensors (unknown objects become inert
            placeholders, never called).
        allow_noncommercial: accept an architecture whose licence is non-commercial.
        limits: size and time limits of the reader.

    Returns:
        The weights path. Its card holds ``family``, ``config``, ``source`` (file name, sha256,
        layout, nesting per file), ``layout`` (the detected model), ``license`` and
        ``non_commercial``; ``ganedit run`` manifests carry them.

    Raises:
        ImportRefused: a file refused by the reader (named, with the reason), a checkpoint the
            importer does not recognise, a non-commercial architecture without
            ``allow_noncommercial``, or tensors that do not fit.
        ConfigError: no importer for ``to``, or a setting that is not a Config field.
    """
    paths, out = _check_paths(sources, out)
    texts = {str(k): str(v) for k, v in (settings or {}).items()}
    mapper = None if to == RAW_TARGET else importer_for(to)
    states: list[SourceState] = [read_checkpoint(p, lenient=lenient, limits=limits) for p in paths]
    if mapper is None:
        if len(states) != 1 or texts:
            raise ConfigError("--to tensors takes one source and no --set")
        mapped = Mapped({}, {}, f"{len(states[0].tensors)} tensors")
        family_name, config_dict, flat = None, {}, states[0].tensors
    else:
        mapped = mapper(states, texts)
        family_name = mapped.family or to
        if mapped.non_commercial and not allow_noncommercial:
            raise ImportRefused(
                f"{paths[0]}: {mapped.layout} has a non-commercial licence; pass "
                "--allow-noncommercial (allow_noncommercial=True) to import it anyway"
            )
        config_dict = config_to_dict(_verify(family_name, mapped, texts))
        flat = pack_generators(mapped.generators)
    card = _card(family_name, config_dict, mapped, states, license)
    return save_weights(out, flat, card)


def _check_paths(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
) -> tuple[list[Path], Path]:
    """``(source paths, output path)``; ``ConfigError`` for no source or a non-safetensors
    output."""
    paths = [Path(sources)] if isinstance(sources, (str, os.PathLike)) else list(map(Path, sources))
    if not paths:
        raise ConfigError("ganedit import needs at least one source file")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ConfigError(f"{out}: the output must be a .safetensors file")
    return paths, out


def _card(
    family_name: str | None,
    config_dict: dict[str, Any],
    mapped: Mapped,
    states: Sequence[SourceState],
    license: str | None,
) -> dict[str, Any]:
    """The imported weights' card (see :func:`import_checkpoint`'s Returns)."""
    card: dict[str, Any] = {
        "family": family_name,
        "config": config_dict,
        "imported": True,
        "source": [s.card() for s in states],
        "layout": mapped.layout,
        "license": license or "unknown",
        "non_commercial": bool(mapped.non_commercial),
        **mapped.card,
    }
    dropped = sorted({d for s in states for d in s.dropped})
    if dropped:
        card["dropped"] = dropped[:50]
    return card

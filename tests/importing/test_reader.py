"""The restricted reader gives bitwise the tensors of ``torch.load(weights_only=True)``, for
both layouts, every common dtype, views, parameters and the usual nesting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ganedit.importing import read_checkpoint


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.contiguous().reshape(-1)
    if t.is_complex():
        t = torch.view_as_real(t).reshape(-1)
    return t.to(torch.uint8) if t.dtype == torch.bool else t.view(torch.uint8)


def _state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 7, generator=g)
    return {
        "module.conv.weight": torch.nn.Parameter(torch.randn(4, 3, 3, 3, generator=g)),
        "module.half": torch.randn(5, generator=g).half(),
        "module.bf16": torch.randn(3, 2, generator=g).bfloat16(),
        "module.f64": torch.randn(2, generator=g).double(),
        "module.long": torch.tensor(123456789012),
        "module.int8": torch.tensor([-3, 4], dtype=torch.int8),
        "module.bool": torch.tensor([True, False, True]),
        "module.view": base[1:5, ::2],
        "module.transposed": base.t(),
        "module.empty": torch.empty(0, 3),
        "module.complex": torch.randn(3, generator=g, dtype=torch.complex64),
    }


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("nest", ["params_ema", "state_dict", "model", None])
def test_bitwise_equal_to_torch_load(tmp_path: Path, legacy: bool, nest: str | None) -> None:
    state = _state()
    obj = {nest: state, "other": {"x": torch.ones(1)}} if nest else state
    path = tmp_path / "w.pth"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    want = torch.load(path, weights_only=True)
    want = want[nest] if nest else want
    got = read_checkpoint(path)
    assert got.layout == ("legacy" if legacy else "zip") and got.nesting == (nest or "")
    assert list(got.tensors) == [k[len("module.") :] for k in want]
    for key, t in want.items():
        mine = got.tensors[key[len("module.") :]]
        assert mine.dtype == t.dtype and mine.shape == t.shape, key
        assert torch.equal(_bits(mine), _bits(t)), key


def test_params_ema_preferred_and_safetensors_source(tmp_path: Path) -> None:
    ema, raw = {"w": torch.ones(2)}, {"w": torch.zeros(2)}
    torch.save({"params": raw, "params_ema": ema}, tmp_path / "a.pth")
    assert torch.equal(read_checkpoint(tmp_path / "a.pth").tensors["w"], torch.ones(2))
    save_file({"w": torch.full((2,), 3.0)}, str(tmp_path / "b.bin"))
    src = read_checkpoint(tmp_path / "b.bin")
    assert src.layout == "safetensors" and torch.equal(src.tensors["w"], torch.full((2,), 3.0))

"""The training memory format: fixed or measured, applied to networks, EMA copies and batches,
side-effect free when measured, and exact on resume in either layout."""

from __future__ import annotations

import contextlib
import json

import pytest
import torch
from safetensors.torch import load_file
from tiny_kit import GANConfig, TinyGAN, fit_tiny, tiny_data
from torch import nn

from ganedit import measured
from ganedit.engine import Engine
from ganedit.engine.memory_format import choose_training_format

# an empty measurement cache; fp32 training without a precision probe (on a bf16 CPU ``auto``
# precision would measure too, and write the cache these tests watch)
pytestmark = pytest.mark.usefixtures("formats_cache", "fp32_cpu")


def _cl(t: torch.Tensor) -> bool:
    return t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)


class _BNGen(nn.Module):
    """A generator with batch norm and dropout: state the probe must not touch."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ConvTranspose2d(8, 4, 4, 1, 0), nn.BatchNorm2d(4), nn.Dropout(0.5),
            nn.Conv2d(4, 1, 3, 1, 1),
        )  # fmt: skip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class _Fam(TinyGAN):
    def predict(self, net, inputs, config):
        return net(inputs["latent"])


def test_probe_leaves_no_trace() -> None:
    g = _BNGen().train()
    before = [b.clone() for b in g.buffers()]
    z = torch.randn(6, 8, 1, 1)
    rng = torch.get_rng_state()
    choice = choose_training_format(
        _Fam(), GANConfig(), {"generator": g}, ["generator"], {"latent": z},
        torch.device("cpu"), "fp32", contextlib.nullcontext,
    )  # fmt: skip
    assert choice.source == "measured" and set(choice.seconds) == set(measured.FORMATS)
    assert all(torch.equal(a, b) for a, b in zip(before, g.buffers(), strict=True))
    assert torch.equal(rng, torch.get_rng_state())
    assert all(p.grad is None for p in g.parameters())
    assert not any(_cl(p) for p in g.parameters())  # left contiguous: the caller applies it
    doc = json.loads(measured.cache_path().read_text())
    assert any(k.startswith("train|tiny-gan|") for k in doc)


def _strides_cl(t: torch.Tensor) -> bool:
    """``t`` has channels_last strides (told apart from contiguous ones even where a size-1
    channel dimension makes both ``is_contiguous`` checks true)."""
    cl = torch.empty(t.shape).to(memory_format=torch.channels_last).stride()
    return t.stride() == cl != torch.empty(t.shape).stride()


class _Layouts:
    """A training callback: per logged step, whether every 4-d weight of the generator had
    channels_last strides, and whether the data hands out channels_last batches (the tiny
    family's gray batches look alike in both layouts); ``choice``: the engine's
    :class:`~ganedit.measured.FormatChoice`."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, bool]] = []
        self.choice: measured.FormatChoice | None = None

    def on_log(self, engine: Engine, step: int) -> None:
        convs = [p for p in engine.nets_raw["generator"].parameters() if p.dim() == 4]
        assert convs
        self.seen.append((all(_strides_cl(p) for p in convs), engine.data.channels_last))
        self.choice = engine.memory


def _card_format(res) -> str:
    return json.loads(res.weights.with_suffix(".json").read_text())["training"]["memory_format"]


def test_fixed_channels_last_reaches_nets_ema_and_batches(tmp_path) -> None:
    layouts = _Layouts()
    res = fit_tiny(
        tmp_path / "run", 3, config=GANConfig(ema_decay=0.5), memory_format="channels_last",
        callbacks=[layouts],
    )  # fmt: skip
    assert layouts.seen == [(True, True)] * 3
    assert layouts.choice == measured.FormatChoice("channels_last", "requested", {})
    assert _card_format(res) == layouts.choice.describe()  # the card records that choice
    assert not measured.cache_path().exists()  # a fixed format measures nothing
    engine = Engine(device="cpu", memory_format="channels-last", ema_decay=0.9)
    assert engine.channels_last and engine.memory.source == "requested"
    engine.setup({"generator": _BNGen()})
    engine.data = tiny_data(4).setup("cpu")
    engine.choose_memory_format(_Fam(), GANConfig(), {"latent": torch.randn(2, 8, 1, 1)})
    convs = [p for p in engine.nets_raw["generator"].parameters() if p.dim() == 4]
    assert convs and all(_cl(p) for p in convs)
    assert all(_cl(p) for p in engine.ema["generator"].module.parameters() if p.dim() == 4)
    assert engine.data.channels_last  # (gray 8x8 batches look alike in both layouts)
    with pytest.raises(ValueError, match="memory_format must be one of auto"):
        Engine(device="cpu", memory_format="nhwc")


@pytest.mark.parametrize("faster", measured.FORMATS)
def test_auto_trains_in_the_measured_faster_format_and_remembers(
    tmp_path, monkeypatch, faster: str
) -> None:
    """The measurement is injected (no race with the wall clock): ``auto`` trains in the format
    it says is faster, records it in the cache and the card, and a second run recalls it."""
    seconds = {name: 1.0 if name == faster else 2.0 for name in measured.FORMATS}
    monkeypatch.setattr(measured, "_measure", lambda *args, **kw: dict(seconds))
    layouts = _Layouts()
    res = fit_tiny(tmp_path / "run", 2, callbacks=[layouts])
    cl = faster == "channels_last"
    assert layouts.seen == [(cl, cl)] * 2
    (entry,) = [v for k, v in json.loads(measured.cache_path().read_text()).items()
                if k.startswith("train|tiny-gan|")]  # fmt: skip
    assert entry == {"name": faster, "seconds": seconds}
    assert layouts.choice == measured.FormatChoice(faster, "measured", seconds)
    assert _card_format(res) == layouts.choice.describe()

    def no_measuring(*args, **kw):
        raise AssertionError("measured again")

    monkeypatch.setattr(measured, "_measure", no_measuring)
    monkeypatch.setattr(measured, "_SEEN", {})
    again = _Layouts()
    res = fit_tiny(tmp_path / "again", 1, callbacks=[again])
    assert again.seen == [(cl, cl)]
    assert again.choice == measured.FormatChoice(faster, "cached", seconds)
    assert _card_format(res) == again.choice.describe()


def test_resume_is_bitwise_exact_in_channels_last(tmp_path) -> None:
    cfg = GANConfig(ema_decay=0.8)
    full = fit_tiny(tmp_path / "full", 9, config=cfg, memory_format="channels_last")
    fit_tiny(tmp_path / "part", 5, config=cfg, memory_format="channels_last")
    res = fit_tiny(tmp_path / "part", 9, config=cfg, memory_format="channels_last", resume=True)
    a, b = load_file(str(full.weights)), load_file(str(res.weights))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_data_batches_follow_the_flag() -> None:
    from ganedit import data as gdata

    imgs = torch.randint(0, 256, (4, 8, 8, 3), dtype=torch.uint8)
    data = gdata.tensor_images(imgs, channels=3).setup("cpu")
    assert not _cl(data.next_batch(2)["image"])
    data.channels_last = True
    x = data.next_batch(2)["image"]
    assert x.shape == (2, 3, 8, 8) and _cl(x) and not x.is_contiguous()

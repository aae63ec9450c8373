"""Tests of the dcgan plugin (CPU, tiny networks). The classifier and default-weights tests use
the bundled weights and the checked-in Fashion-MNIST fixture (``fashion_test_split``,
tests/plugins/conftest.py), so they run on a fresh clone too."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from ganedit_dcgan.classifier import (
    CLASSIFIER_64_WEIGHTS,
    CLASSIFIER_WEIGHTS,
    FashionClassifier,
    load_classifier,
    prepare,
)
from ganedit_dcgan.evaluate import (
    class_shares,
    features_and_predictions,
    frechet_distance,
    gaussian_stats,
    load_fashion_split,
    nearest_neighbour_distance,
)
from ganedit_dcgan.family import DCGAN, DCGANConfig
from ganedit_dcgan.networks import Discriminator, Generator

import ganedit
from ganedit import data as datasets
from ganedit.config import update_config
from ganedit.testing import check_family, plugin_imports_only_public
from ganedit.weights import resolve_resource, save_weights

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "ganedit_dcgan"


def tiny(**kw) -> DCGANConfig:
    base = {"image_size": 32, "channels": 1, "z_dim": 8, "ngf": 4, "ndf": 4, "batch_size": 4}
    return update_config(DCGANConfig(), {**base, **kw})


# ----------------------------------------------------------------------------- the family
def test_conformance() -> None:
    check_family(DCGAN, tiny())


def test_imports_only_public_api() -> None:
    assert plugin_imports_only_public(PLUGIN) == []


def test_registered_through_entry_point() -> None:
    assert "dcgan" in ganedit.list_models()
    assert isinstance(ganedit.get_family("dcgan"), DCGAN)


def test_io_follows_the_config_channels() -> None:
    """The output layout comes from the config (it was a class constant of 1 while the Config
    default is 3), and train-only fields are hidden from `ganedit sample`."""
    from click.testing import CliRunner

    from ganedit.cli import cli

    fam = DCGAN()
    for ch, size in ((1, 32), (3, 64)):
        spec = fam.io(tiny(channels=ch, image_size=size))
        assert (spec.in_channels, spec.out_channels, spec.image_size) == (0, ch, (size, size))
    sample_help = CliRunner().invoke(cli, ["sample", "dcgan", "--help"]).output
    train_help = CliRunner().invoke(cli, ["train", "dcgan", "--help"]).output
    assert "--ngf" in sample_help and "--ndf" not in sample_help and "--d-steps" not in sample_help
    assert "--ndf" in train_help and "--d-steps" in train_help


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(size: int, channels: int) -> None:
    cfg = tiny(image_size=size, channels=channels)
    fam = DCGAN()
    nets = fam.build(cfg)
    z = fam.latent(3, cfg, torch.Generator().manual_seed(0))
    assert z.shape == (3, 8, 1, 1) and z.dtype == torch.float32
    with torch.no_grad():
        y = fam.predict(nets["generator"].eval(), {"latent": z}, cfg)
    assert y.shape == (3, channels, size, size)
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    with torch.no_grad():
        logits = nets["discriminator"](y * 2 - 1)
    assert logits.shape == (3,)


def test_generator_layout_follows_paper() -> None:
    g = Generator(64, 3, 100, 64)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]
    assert isinstance(list(g.modules())[-1], torch.nn.Tanh)
    d = Discriminator(64, 3, 64)
    leaky = [m for m in d.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == 0.2 for m in leaky)
    with pytest.raises(ValueError, match="image_size"):
        Generator(48)


def test_spectral_norm_option() -> None:
    d = Discriminator(32, 1, 8, spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(c, "parametrizations") for c in convs)


def test_same_seed_same_samples(tmp_path: Path) -> None:
    fam = DCGAN()
    cfg = tiny()
    torch.manual_seed(0)
    g = fam.build(cfg)["generator"]
    path = save_weights(
        tmp_path / "g.safetensors",
        g.state_dict(),
        {"family": "dcgan", "config": {**vars(cfg), "betas": list(cfg.betas)}},
    )
    ed = ganedit.load("dcgan", weights=path, device="cpu", precision="fp32")
    a, b = ed.sample(6, seed=5), ed.sample(6, seed=5)
    assert a.shape == (6, 32, 32, 1) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, ed.sample(6, seed=6))
    # the first item does not depend on how many are drawn
    assert np.array_equal(ed.sample(1, seed=5)[0], a[0])


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge"])
def test_training_step_losses(loss: str) -> None:
    from ganedit.engine import Engine

    fam = DCGAN()
    cfg = tiny(loss=loss, d_steps=2, spectral_norm=(loss == "hinge"))
    engine = Engine(device="cpu", precision="fp32", seed=0)
    nets = engine.setup(fam.build(cfg))
    opts = fam.optimizers(nets, cfg)
    data = datasets.tensor_images(np.random.default_rng(0).integers(0, 255, (8, 32, 32), np.uint8))
    engine.data, engine.batch_size = data.setup("cpu"), 4
    g0 = [p.detach().clone() for p in nets["generator"].parameters()]
    step = ganedit.Step(nets, opts, cfg, engine, {})
    out = fam.training_step(step, data.next_batch(4))
    assert set(out) >= {"d", "g"}
    assert all(math.isfinite(float(v)) for v in out.values())
    assert any(
        not torch.equal(a, b) for a, b in zip(g0, nets["generator"].parameters(), strict=True)
    )


def test_dataset_idx_padded_and_folder(tmp_path: Path) -> None:
    from ganedit.io import write_image

    # a small idx file: 5 images 28x28 of value 200
    raw = bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "train-images-idx3-ubyte").write_bytes(raw + bytes([200]) * (5 * 28 * 28))
    fam = DCGAN()
    ds = fam.dataset({"data": [tmp_path / "idx"]}, tiny()).setup("cpu")
    x = ds.next_batch(5)["image"]
    assert x.shape == (5, 1, 32, 32)
    assert float(x[:, :, :2].max()) == 0.0 and float(x[:, :, 2:30, 2:30].min()) > 0.7
    ds64 = fam.dataset(
        {"data": [tmp_path / "idx" / "train-images-idx3-ubyte"]}, tiny(image_size=64, channels=3)
    )
    assert ds64.setup("cpu").next_batch(2)["image"].shape == (2, 3, 64, 64)
    folder = tmp_path / "imgs"
    for i in range(3):
        write_image(folder / f"{i}.png", np.full((40, 60, 3), 50 * i, np.uint8))
    b = fam.dataset({"data": [folder]}, tiny(channels=3)).setup("cpu").next_batch(3)["image"]
    assert b.shape == (3, 3, 32, 32)


# ---------------------------------------------------------------------------- the metrics
def test_frechet_distance_known_gaussians() -> None:
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    v1, v2 = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    # diagonal covariances: |mu1-mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2
    want = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum())
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    # same rotation of both: distance unchanged
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    got_rot = frechet_distance(q @ mu1, q @ np.diag(v1) @ q.T, q @ mu2, q @ np.diag(v2) @ q.T)
    assert got_rot == pytest.approx(want, rel=1e-7)
    # identical distributions: zero; general full covariances against a direct matrix sqrt
    a = rng.normal(size=(d, d))
    b = rng.normal(size=(d, d))
    s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-8)
    w, v = np.linalg.eig(s1 @ s2)  # real positive spectrum
    direct = float(
        ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(w.real).sum()
    )
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-7)
    # from samples: close to the closed form
    x = rng.normal(size=(20000, d)) * np.sqrt(v1) + mu1
    y = rng.normal(size=(20000, d)) * np.sqrt(v2) + mu2
    assert frechet_distance(*gaussian_stats(x), *gaussian_stats(y)) == pytest.approx(want, rel=0.05)


def test_nearest_neighbour_and_shares() -> None:
    g = torch.Generator().manual_seed(0)
    q, r = torch.rand(50, 7, generator=g), torch.rand(300, 7, generator=g)
    got = nearest_neighbour_distance(q, r, chunk=16)
    want = torch.cdist(q.double(), r.double()).min(1).values
    assert torch.allclose(got.double(), want, atol=1e-5)
    assert float(nearest_neighbour_distance(r[:5], r).max()) < 1e-3
    shares = class_shares(torch.tensor([0, 0, 1, 9]))
    assert shares.tolist() == [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25]


def test_prepare_pads_and_converts() -> None:
    x = torch.full((2, 3, 28, 28), 255, dtype=torch.uint8)
    y = prepare(x)
    assert y.shape == (2, 1, 32, 32) and y.dtype == torch.float32
    assert float(y[:, :, 0].max()) == 0 and float(y[:, :, 5, 5].min()) == pytest.approx(1, abs=1e-5)
    assert prepare(torch.rand(1, 1, 64, 64)).shape == (1, 1, 32, 32)
    assert FashionClassifier().features(torch.rand(2, 1, 32, 32)).shape == (2, 96)


def test_prepare_for_the_64px_classifier() -> None:
    """28x28 items are resized bicubically (as the 64 px data is made), 64x64 passes through
    unchanged, other sizes are resized; the 64 px net takes 64x64 and rejects other sizes."""
    import cv2

    item = (np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)
    cubic = cv2.resize(item, (64, 64), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    y = prepare(torch.from_numpy(item)[None, None], 64)
    assert y.shape == (1, 1, 64, 64)
    assert float((y[0, 0] - torch.from_numpy(cubic).clamp(0, 1)).abs().mean()) < 0.03
    x64 = torch.rand(2, 1, 64, 64)
    assert torch.equal(prepare(x64, 64), x64)
    assert prepare(torch.rand(1, 3, 80, 80), 64).shape == (1, 1, 64, 64)
    net = FashionClassifier(size=64)
    assert net.features(x64).shape == (2, 96)
    with pytest.raises(ValueError, match="size"):
        FashionClassifier(size=48)


# ------------------------------------------------------------------ bundled weights and data
def _agrees_with_card(acc: float, card_acc: float, n: int) -> bool:
    """``acc`` on ``n`` test items is within 4 binomial standard errors of the card's figure
    (measured on all 10000 test items): the weights are those the card describes."""
    return abs(acc - card_acc) <= 4 * math.sqrt(card_acc * (1 - card_acc) / n)


def _assert_classifies(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """The predictions name the held-out items' classes (accuracy >= 0.85, the bar the
    DCGAN evaluation needs) and that is the labels' doing: against the same labels shuffled,
    the accuracy falls to chance (ten classes: about 0.1). Returns the accuracy."""
    acc = float((pred == labels).float().mean())
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    shuffled = float((pred == labels[perm]).float().mean())
    assert acc >= 0.85 and shuffled < 0.2, (acc, shuffled)
    return acc


def test_classifier_accuracy_matches_card(fashion_test_split: Path) -> None:
    if not resolve_resource(CLASSIFIER_WEIGHTS).is_file():
        pytest.fail("ganedit/metric_weights/fashion-classifier.safetensors is missing")
    net, card = load_classifier()
    x, y = load_fashion_split(fashion_test_split, "t10k")
    _, pred = features_and_predictions(net, x[:500])  # the test split: never trained on
    acc = _assert_classifies(pred, y[:500])
    assert _agrees_with_card(acc, card["metrics"]["test_accuracy"], 500)


def test_classifier_64_accuracy_matches_card(fashion_test_split: Path) -> None:
    """The translation yardstick: trained on items resized 28 -> 64 with INTER_CUBIC, it
    scores real 64 px test items as well as its card says (and as the 32 px one scores 28 px)."""
    import cv2

    if not resolve_resource(CLASSIFIER_64_WEIGHTS).is_file():
        pytest.fail("ganedit/metric_weights/fashion-classifier-64.safetensors is missing")
    net, card = load_classifier(CLASSIFIER_64_WEIGHTS)
    assert net.size == 64 and card["config"]["size"] == 64
    x, y = load_fashion_split(fashion_test_split, "t10k")
    items = x[:500, 0, 2:30, 2:30].numpy()
    big = np.stack([cv2.resize(v, (64, 64), interpolation=cv2.INTER_CUBIC) for v in items])
    _, pred = features_and_predictions(net, torch.from_numpy(big)[:, None])
    acc = _assert_classifies(pred, y[:500])
    assert _agrees_with_card(acc, card["metrics"]["test_accuracy"], 500)


def test_default_weights_cover_all_classes() -> None:
    weights = resolve_resource(DCGAN().default_weights(DCGANConfig()))
    assert weights.is_file(), f"bundled weights missing: {weights}"
    editor = ganedit.load("dcgan", device="cpu")
    assert editor.card["dtype"] == "float16"
    imgs = editor.sample(200, seed=0)
    assert imgs.shape == (200, 32, 32, 1) and imgs.dtype == np.uint8
    net, _ = load_classifier()
    _, pred = features_and_predictions(net, torch.from_numpy(imgs).permute(0, 3, 1, 2))
    assert set(pred.tolist()) == set(range(10))


def test_precision_recall_tell_collapse_from_coverage() -> None:
    """Kynkäänniemi et al.'s k-NN precision/recall: a sample set from the data's own
    distribution scores high on both; a collapsed one keeps precision and loses recall; a
    shifted one loses both."""
    from ganedit_dcgan.evaluate import knn_radii, precision_recall

    g = torch.Generator().manual_seed(0)
    real = torch.randn(600, 8, generator=g)
    same = torch.randn(600, 8, generator=g)
    collapsed = real[:20].repeat(30, 1) + 0.01 * torch.randn(600, 8, generator=g)
    p, r = precision_recall(real, same)
    assert 0.6 < p <= 1 and 0.6 < r <= 1
    p, r = precision_recall(real, collapsed)
    assert p > 0.95 and r < 0.1
    assert precision_recall(real, same + 20) == (0.0, 0.0)
    # the radius is the distance to the k-th neighbour other than the point itself
    pts = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(pts, k=1).tolist() == [1.0, 1.0, 4.0, 9.0]


def test_independent_predictions_crop_the_padding_of_32px_samples(
    fashion_test_split: Path,
) -> None:
    """A 28x28 real item and the same item zero-padded to 32x32 get the same class from the
    independent 64 px classifier (the pad is cropped before the 28 -> 64 resize)."""
    from ganedit_dcgan.evaluate import independent_predictions

    x, y = load_fashion_split(fashion_test_split, "t10k")
    padded = x[:200]  # (200, 1, 32, 32) uint8, 28x28 zero-padded by 2
    p32 = independent_predictions(padded)
    p28 = independent_predictions(padded[..., 2:30, 2:30].contiguous())
    assert p32.shape == (200,) and torch.equal(p32, p28)
    assert float((p32 == y[:200]).float().mean()) >= 0.85


def test_two_time_scale_learning_rates() -> None:
    """``d_lr`` gives the discriminator its own rate; 0 (the default) means ``lr``."""
    fam = DCGAN()
    cfg = update_config(tiny(), {"lr": 1e-4, "d_lr": 4e-4})
    opts = fam.optimizers(fam.build(cfg), cfg)
    assert opts["generator"].param_groups[0]["lr"] == 1e-4
    assert opts["discriminator"].param_groups[0]["lr"] == 4e-4
    same = update_config(tiny(), {"lr": 3e-4})
    assert fam.optimizers(fam.build(same), same)["discriminator"].param_groups[0]["lr"] == 3e-4


def test_bundled_samples_cover_every_class_under_the_independent_classifier() -> None:
    """The issue's check, exactly: ``ganedit sample dcgan -n 1000 --seed 7`` (same bytes every
    time) puts at least 5% of its items in each class of the independent 64 px classifier."""
    from ganedit_dcgan.evaluate import independent_predictions

    editor = ganedit.load("dcgan", device="cpu")
    imgs = editor.sample(1000, seed=7)
    assert np.array_equal(imgs, ganedit.load("dcgan", device="cpu").sample(1000, seed=7))
    shares = class_shares(independent_predictions(torch.from_numpy(imgs).permute(0, 3, 1, 2)))
    assert shares.min() >= 0.05, shares
    card = editor.card["metrics"]
    assert card["frechet_distance"] <= 0.6 and card["recall"] >= 0.5

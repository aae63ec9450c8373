"""Tests of the cut family (CPU, tiny networks): the conformance kit, the paper's defaults,
the encoder features, the PatchNCE loss and head, and the evaluation (content score, sheets)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ganedit_translate.cut import (
    CUT,
    CUTConfig,
    CutGenerator,
    PatchMLP,
    gan_weight,
    patch_nce,
    resolved,
)
from translate_kit import TINY_UNPAIRED, WEIGHTS_DIR, tiny_config

import ganedit
from ganedit.config import update_config
from ganedit.data import DatasetError
from ganedit.testing import check_family

TINY = {**TINY_UNPAIRED, "num_patches": 16, "head_width": 8, "nce_layers": (0, 4, 7, 10)}


def tiny(**kw) -> CUTConfig:
    return tiny_config(CUTConfig, TINY, **kw)


def test_conformance() -> None:
    check_family(CUT, tiny())


def test_conformance_fastcut_rgb() -> None:
    check_family(CUT, tiny(channels=3, mode="fastcut"), only=["training", "resume"])


def test_paper_defaults_and_modes() -> None:
    c = CUTConfig()
    assert (c.num_patches, c.tau, c.head_width, c.gan_loss, c.gan_weight) == (
        256,
        0.07,
        256,
        "lsgan",
        1.0,
    )
    assert (c.width, c.blocks, c.ndf, c.d_layers) == (64, 9, 64, 3)
    assert resolved(c) == (1.0, True, False)  # CUT: lambda_NCE 1, identity NCE, no flips
    assert resolved(update_config(c, {"mode": "fastcut"})) == (10.0, False, True)
    assert resolved(update_config(c, {"mode": "fastcut", "nce_weight": 2.0})) == (2.0, False, True)
    fam = ganedit.get_family("cut")
    assert fam.generators == ("a2b", "b2a") and not fam.io(c).tiling.tileable
    assert fam.generator_for(update_config(c, {"direction": "b2a"})) == "b2a"
    # the default layers of the paper's network: input pixels, both stride-2 convs, blocks 1, 5
    g = CutGenerator(3, 64, 9)
    kinds = [type(g.body.model[i]).__name__ for i in c.nce_layers]
    assert kinds == ["ReflectionPad2d", "Conv2d", "Conv2d", "_ResnetBlock", "_ResnetBlock"]
    assert g.body.model[c.nce_layers[1]].stride == (2, 2)


def test_encoder_features_are_the_forward_pass() -> None:
    """forward(x, layers) returns the very activations of the full forward pass."""
    torch.manual_seed(0)
    g = CutGenerator(1, 4, 2).eval()
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    feats = g(x, (0, 4, 10))
    acts, h = [], x
    for layer in g.body.model:
        h = layer(h)
        acts.append(h)
    for f, i in zip(feats, (0, 4, 10), strict=True):
        assert torch.equal(f, acts[i])
    assert torch.equal(h, g(x))
    with pytest.raises(ValueError, match="nce_layers"):
        g(x, (99,))


def test_patch_nce_rewards_matching_places() -> None:
    """Queries equal to their keys score far lower than shuffled ones; chance is log(P)."""
    torch.manual_seed(0)
    n, p, d = 2, 32, 16
    k = torch.nn.functional.normalize(torch.randn(n * p, d), dim=1)
    same = float(patch_nce(k.clone(), k, n, 0.07))
    shuffled = float(patch_nce(k[torch.randperm(n * p)], k, n, 0.07))
    assert same < 0.05 < 1.0 < shuffled
    # the keys carry no gradient; the queries do
    q = k.clone().requires_grad_(True)
    kk = k.clone().requires_grad_(True)
    patch_nce(q, kk, n, 0.07).backward()
    assert q.grad is not None and kk.grad is None


def test_head_samples_the_same_places() -> None:
    head = PatchMLP([3, 5], width=8)
    f = [torch.randn(2, 3, 4, 4), torch.randn(2, 5, 2, 2)]
    ids = [torch.tensor([0, 5, 7]), torch.tensor([1, 2])]
    out = head(f, ids)
    assert [tuple(o.shape) for o in out] == [(6, 8), (4, 8)]
    assert torch.allclose(out[0].norm(dim=1), torch.ones(6))
    # row 1 of image 0 is place 5 of image 0
    row = head.mlps[0](f[0][0, :, 1, 1])
    assert torch.allclose(out[0][1], torch.nn.functional.normalize(row, dim=0), atol=1e-6)


def test_domain_errors_name_cut(tmp_path: Path) -> None:
    fam = CUT()
    with pytest.raises(DatasetError, match="cut: domain b is missing"):
        fam.dataset({"a": [tmp_path]}, tiny())


def test_one_pass_gives_output_and_features() -> None:
    torch.manual_seed(0)
    g = CutGenerator(1, 4, 2).eval()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    out, feats = g(x, (0, 7), encode_only=False)
    assert torch.equal(out, g(x))
    for f, e in zip(feats, g(x, (0, 7)), strict=True):
        assert torch.equal(f, e)
    # instance norm: an image's features do not depend on the rest of the batch
    assert torch.allclose(g(x[:1], (7,))[0], feats[1][:1], atol=1e-6)


def test_evaluate_reports_content_and_writes_sheets(tmp_path: Path) -> None:
    """Untrained tiny weights through ``ganedit eval``'s path: both directions, every figure."""
    from ganedit.config import config_to_dict
    from ganedit.weights import pack_generators, save_weights

    fam, cfg = CUT(), tiny()
    torch.manual_seed(0)
    state = pack_generators({g: fam.build_generator(g, cfg).state_dict() for g in fam.generators})
    card = {"family": "cut", "config": config_to_dict(cfg), "generators": ["a2b", "b2a"]}
    save_weights(tmp_path / "w.safetensors", state, card)
    data = fam.example_data(tmp_path / "data", cfg)
    (tmp_path / "data" / "classes.json").write_text('{"a": 7, "b": 9}')
    editor = ganedit.load("cut", weights=tmp_path / "w.safetensors", device="cpu")
    result = fam.evaluate(editor, data, {"seed": 1, "sheets": tmp_path / "sheets"})
    s = result["summary"]
    for d in ("a2b", "b2a"):
        assert 0.0 <= s[f"{d}_content"] <= 1.0 and 0.0 <= s[f"{d}_target_share"] <= 1.0
        assert ganedit.read_image(tmp_path / "sheets" / f"cut-{d}.png").ndim == 3
    assert [r["direction"] for r in result["rows"]] == ["a2b", "b2a"]


def test_gan_weight_of_b2a_alone() -> None:
    """gan_weight_b2a < 0 (default): both directions use gan_weight; else b2a uses it."""
    assert (gan_weight(CUTConfig(gan_weight=2.0), "a2b"), gan_weight(CUTConfig(), "b2a")) == (
        2.0,
        1.0,
    )
    cfg = CUTConfig(gan_weight=1.0, gan_weight_b2a=1.35)
    assert (gan_weight(cfg, "a2b"), gan_weight(cfg, "b2a")) == (1.0, 1.35)


def test_conformance_with_a_b2a_gan_weight() -> None:
    """Training and exact resume with the directions' adversarial weights apart."""
    check_family(CUT, tiny(gan_weight_b2a=2.0, content_contrast=1.0), only=["training", "resume"])


def test_conformance_with_the_content_term() -> None:
    """The optional content term (not in the paper), per direction, robust penalty."""
    cfg = tiny(content_weight=1.0, content_weight_b2a=0.5, content_scale=0.1)
    check_family(CUT, cfg, only=["training", "resume"])


def test_content_term_is_off_by_default_and_per_direction() -> None:
    from ganedit_translate.common import content_weights

    assert content_weights(CUTConfig()) == (0.0, 0.0)  # the paper: no content term
    assert content_weights(tiny(content_weight=2.0)) == (2.0, 2.0)
    assert content_weights(tiny(content_weight=2.0, content_weight_b2a=0.5)) == (2.0, 0.5)


def test_conformance_with_the_contrastive_content_term() -> None:
    """The contrastive content term: its banks live in the checkpointed training state."""
    check_family(CUT, tiny(content_contrast=1.0, content_bank=3), only=["training", "resume"])


# ------------------------------------------------------------------------- bundled weights
WEIGHTS = WEIGHTS_DIR / "cut-fashion-sneaker-boot.safetensors"


def test_bundled_weights_load_translate_and_keep_their_input(fashion_cycle: Path) -> None:
    """The shipped sneaker <-> boot weights (fp16), found without ``weights=``: on the first
    100 test items of each class both directions reach the other class and each output is
    nearer its own input than chance (0.5) says."""
    assert WEIGHTS.is_file(), f"bundled weights missing: {WEIGHTS}"
    name = "ganedit_translate:weights/cut-fashion-sneaker-boot.safetensors"
    assert CUT().default_weights(CUTConfig()) == name
    editor = ganedit.load("cut", device="cpu")
    assert editor.generator_name == "a2b" and editor.io.in_channels == 1
    assert editor.card["dtype"] == "float16"
    fam = ganedit.get_family("cut")
    s = fam.evaluate(editor, {"data": [fashion_cycle]}, {"n": 100})["summary"]
    for d in ("a2b", "b2a"):
        assert s[f"{d}_target_share"] > s[f"{d}_input_share"] + 0.6, d
        assert s[f"{d}_target_share"] > 0.75, d
        assert s[f"{d}_content"] > 0.65, d

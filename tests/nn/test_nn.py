import pytest
import torch
from torch import nn

from ganedit.nn import (
    PatchDiscriminator,
    adam,
    conv_norm_act,
    gan_loss,
    gradient_penalty,
    init_weights,
    r1_penalty,
    spectral_norm_if,
)


@pytest.mark.parametrize("kind", ["bce", "lsgan", "hinge", "wgan"])
def test_gan_loss_orders_real_and_fake(kind):
    hi = torch.full((4, 1, 3, 3), 3.0)
    lo = torch.full((4, 1, 3, 3), -3.0)
    # the discriminator loss is lower when real samples score high and fakes score low
    good = gan_loss(kind, hi, True) + gan_loss(kind, lo, False)
    bad = gan_loss(kind, lo, True) + gan_loss(kind, hi, False)
    assert good.dtype == torch.float32 and good.dim() == 0
    assert good < bad
    # the generator wants its fakes to score high
    assert gan_loss(kind, hi, True, for_discriminator=False) < gan_loss(
        kind, lo, True, for_discriminator=False
    )


def test_gan_loss_values_and_unknown():
    z = torch.zeros(2, 1)
    assert torch.isclose(gan_loss("bce", z, True), torch.log(torch.tensor(2.0)))
    assert gan_loss("lsgan", z, True) == 1.0
    assert gan_loss("hinge", z, False) == 1.0
    assert gan_loss("hinge", torch.full((2,), 2.0), True, for_discriminator=False) == -2.0
    with pytest.raises(ValueError, match="unknown GAN loss"):
        gan_loss("nope", z, True)


def test_r1_penalty_matches_analytic_gradient():
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    logits = (x**2).sum(dim=(1, 2, 3))  # dD/dx = 2x
    pen = r1_penalty(logits, x)
    expected = (4 * x.detach() ** 2).flatten(1).sum(1).mean()
    assert torch.isclose(pen, expected)
    pen.backward()  # graph kept for the discriminator loss
    assert torch.allclose(x.grad, 8 * x.detach() / 3)


def test_gradient_penalty_zero_for_unit_norm_critic():
    d = nn.Linear(8, 1, bias=False)
    with torch.no_grad():
        d.weight.zero_()
        d.weight[0, 0] = 1.0
    real, fake = torch.randn(5, 8), torch.randn(5, 8)
    assert gradient_penalty(d, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        d.weight[0, 0] = 3.0
    gp = gradient_penalty(d, real, fake)
    assert gp.item() == pytest.approx(4.0)
    gp.backward()
    assert d.weight.grad is not None


@pytest.mark.parametrize(
    "layers,norm,spectral", [(3, "batch", False), (2, "instance", True), (1, "none", False)]
)
def test_patch_discriminator_shapes(layers, norm, spectral):
    d = PatchDiscriminator(in_channels=6, base=8, layers=layers, norm=norm, spectral=spectral)
    out = d(torch.rand(2, 6, 64, 64))
    assert out.shape[:2] == (2, 1) and out.dtype == torch.float32
    assert out.shape[-1] == 64 // 2**layers - 2
    has_sn = any("parametrizations" in n for n, _ in d.named_parameters())
    assert has_sn == spectral


def test_conv_norm_act_is_conv_norm_then_activation():
    conv = nn.Conv2d(2, 5, 3, 2, 1)
    block = conv_norm_act(conv, "batch")
    assert block[0] is conv and [type(m) for m in block] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert block[1].num_features == 5
    up = conv_norm_act(nn.ConvTranspose2d(5, 3, 3), "none", nn.LeakyReLU(0.2))
    assert [type(m) for m in up] == [nn.ConvTranspose2d, nn.Identity, nn.LeakyReLU]
    with pytest.raises(ValueError, match="unknown norm"):
        conv_norm_act(conv, "group")


def test_patch_discriminator_state_dict_keys_are_stable():
    # bundled weights are loaded strictly by these names: conv, LeakyReLU, then
    # (conv, norm, LeakyReLU) per middle layer, then the last conv
    keys = list(PatchDiscriminator(3, base=4, layers=2).state_dict())
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = ["model.0.weight", "model.0.bias", "model.2.weight"]
    expected += [f"model.3.{k}" for k in bn] + ["model.5.weight"]
    expected += [f"model.6.{k}" for k in bn] + ["model.8.weight", "model.8.bias"]
    assert keys == expected
    with pytest.raises(ValueError, match="layers >= 1"):
        PatchDiscriminator(layers=0)


def test_patch_discriminator_receptive_field_is_70():
    d = PatchDiscriminator(in_channels=1, base=4, layers=3, norm="none")
    init_weights(d)
    x = torch.zeros(1, 1, 128, 128, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    assert rows.max() - rows.min() + 1 == 70


def test_init_weights_normal_002():
    torch.manual_seed(0)
    m = init_weights(nn.Sequential(nn.Conv2d(16, 64, 3), nn.BatchNorm2d(64), nn.Linear(64, 64)))
    w = m[0].weight
    assert abs(w.std().item() - 0.02) < 0.003 and m[0].bias.abs().sum() == 0
    assert abs(m[1].weight.mean().item() - 1.0) < 0.01
    sn = init_weights(spectral_norm_if(True, nn.Conv2d(16, 32, 3)))
    assert abs(sn.parametrizations.weight.original.std().item() - 0.02) < 0.004
    with pytest.raises(ValueError):
        init_weights(m, "nope")
    assert spectral_norm_if(False, m[0]) is m[0]


def test_adam_is_fused_on_cpu_skips_a_flagged_step_and_accepts_groups():
    net = nn.Linear(3, 3)
    opt = adam(net.parameters(), 2e-4, (0.5, 0.999))
    assert opt.defaults["fused"] is True
    net(torch.ones(1, 3)).sum().backward()
    before = [p.detach().clone() for p in net.parameters()]
    opt.found_inf, opt.grad_scale = torch.tensor(1.0), None  # the engine's on-device NaN flag
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert not opt.state or all(int(s["step"]) == 0 for s in opt.state.values())
    opt.found_inf = torch.tensor(0.0)
    opt.step()
    assert not any(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    opt2 = adam([{"params": net.parameters(), "lr": 1e-3}], 2e-4)
    assert opt2.param_groups[0]["lr"] == 1e-3 and len(opt2.param_groups[0]["params"]) == 2


# --------------------------------------------------------------------------------- frozen
def test_frozen_blocks_weight_grads_but_not_input_grads() -> None:
    """Inside ``frozen(d)`` the graph carries gradients through ``d`` to its input (the
    generator) but none to ``d``'s weights; each flag comes back as it was, even on error."""
    from ganedit.nn import frozen

    g, d = torch.nn.Linear(3, 3), torch.nn.Linear(3, 1)
    d.bias.requires_grad_(False)  # a flag that was already off stays off
    with frozen(d, None):
        loss = d(g(torch.randn(4, 3))).sum()
        assert not d.weight.requires_grad
    loss.backward()
    assert g.weight.grad is not None and g.weight.grad.abs().sum() > 0
    assert d.weight.grad is None
    assert d.weight.requires_grad and not d.bias.requires_grad
    with pytest.raises(RuntimeError, match="boom"), frozen(d):
        raise RuntimeError("boom")
    assert d.weight.requires_grad

import pytest
import torch
from torch import nn

from ganedit.nn import (
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    init_weights,
    receptive_field,
)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("c_in,c_out", [(1, 3), (3, 3), (3, 1)])
@pytest.mark.parametrize("size", [(32, 32), (32, 64)])
def test_unet_shapes_and_range(c_in, c_out, size):
    torch.manual_seed(0)
    g = init_weights(UNetGenerator(c_in, c_out, depth=5, base=4))
    assert g.size_multiple == 32
    x = torch.randn(2, c_in, *size) * 3  # any input range
    y = g(x)
    assert y.shape == (2, c_out, *size) and y.dtype == torch.float32
    assert y.abs().max() <= 1.0


def test_unet_256_layout_and_refuses_bad_size():
    g = UNetGenerator(3, 3, depth=8, base=4).eval()
    assert g.size_multiple == 256
    assert g(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)
    with pytest.raises(ValueError, match="multiples of 256.*128x256"):
        g(torch.zeros(1, 3, 128, 256))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        g(torch.zeros(1, 1, 256, 256))
    # encoder widths base * min(2**i, 8); no norm on the outermost and innermost encoder convs
    convs = [m for m in g.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32, 32, 32, 32, 32]
    assert all(c.bias is None for c in convs)  # batch norm: no conv biases
    level, downs = g.model, []
    while not isinstance(level, nn.Identity):
        downs.append([type(m) for m in level.down])
        level = level.inner
    assert downs[0] == [nn.Conv2d] and downs[-1] == [nn.LeakyReLU, nn.Conv2d]
    assert all(d == [nn.LeakyReLU, nn.Conv2d, nn.BatchNorm2d] for d in downs[1:-1])
    # dropout in the three decoder blocks just outside the bottleneck
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3
    assert sum(isinstance(m, nn.Dropout) for m in UNetGenerator(dropout=False).modules()) == 0


def test_unet_instance_norm_has_biases():
    g = UNetGenerator(3, 3, depth=5, base=4, norm="instance")
    assert all(m.bias is not None for m in g.modules() if isinstance(m, nn.Conv2d))
    with pytest.raises(ValueError, match="unknown norm"):
        UNetGenerator(norm="group")


def test_unet_skip_connections_carry_fine_detail():
    torch.manual_seed(0)
    net = UNetGenerator(1, 1, depth=5, base=4, norm="none", dropout=False)
    g = init_weights(net, "kaiming")
    x = torch.randn(1, 1, 32, 32)
    level = g.model
    while not isinstance(level.inner, nn.Identity):
        level = level.inner
    with torch.no_grad():
        y = g(x)
        # cut the bottleneck path: the innermost decoder now outputs zeros
        for p in level.up.parameters():
            p.zero_()
        y_cut = g(x)
        assert (y - y_cut).abs().max() > 1e-2
        # the output still follows a single-pixel change, mostly right where it happened
        x2 = x.clone()
        x2[0, 0, 7, 9] += 1.0
        diff = (g(x2) - y_cut).abs()[0, 0]
    row, col = divmod(int(diff.argmax()), 32)
    assert abs(row - 7) <= 4 and abs(col - 9) <= 4
    assert diff.max() > 3 * diff[16:, :].max() and diff.max() > 3 * diff[:, 20:].max()


def test_unet_dropout_eval_deterministic_train_stochastic():
    torch.manual_seed(0)
    g = init_weights(UNetGenerator(3, 3, depth=5, base=4, dropout=True))
    x = torch.randn(2, 3, 32, 32)
    g.eval()
    with torch.no_grad():
        assert torch.equal(g(x), g(x))
        g.train()
        assert not torch.equal(g(x), g(x))


@pytest.mark.parametrize("c_in,c_out", [(1, 3), (3, 3), (3, 1)])
def test_resnet_shapes_and_range(c_in, c_out):
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(c_in, c_out, base=4, blocks=2))
    assert g.size_multiple == 4
    for size in [(16, 16), (20, 28)]:
        y = g(torch.randn(2, c_in, *size) * 3)
        assert y.shape == (2, c_out, *size) and y.dtype == torch.float32
        assert y.abs().max() <= 1.0
    with pytest.raises(ValueError, match="multiples of 4.*18x16"):
        g(torch.zeros(1, c_in, 18, 16))


def test_resnet_state_dict_keys_are_stable():
    # bundled and imported weights are loaded strictly by these names
    g = ResnetGenerator(3, 3, base=4, blocks=1, downsamplings=1, norm="batch")
    keys = [k for k in g.state_dict() if not k.endswith(("running_mean", "running_var"))]
    assert keys == [
        "model.1.weight",  # reflection pad, c7s1 conv
        *["model.2.weight", "model.2.bias", "model.2.num_batches_tracked"],
        "model.4.weight",  # d8
        *["model.5.weight", "model.5.bias", "model.5.num_batches_tracked"],
        "model.7.body.1.weight",
        *["model.7.body.2.weight", "model.7.body.2.bias", "model.7.body.2.num_batches_tracked"],
        "model.7.body.5.weight",
        *["model.7.body.6.weight", "model.7.body.6.bias", "model.7.body.6.num_batches_tracked"],
        "model.8.weight",  # u4
        *["model.9.weight", "model.9.bias", "model.9.num_batches_tracked"],
        *["model.12.weight", "model.12.bias"],  # final c7s1 (after its pad), tanh
    ]
    with pytest.raises(ValueError, match=r"ResnetGenerator expects \(N, 3, H, W\)"):
        g(torch.zeros(1, 1, 8, 8))


def _zero_padded_convs(g: nn.Module) -> list[nn.Module]:
    return [
        m
        for m in g.modules()
        if isinstance(m, nn.Conv2d) and m.padding_mode == "zeros" and m.padding != (0, 0)
    ]


def test_resnet_padding_layers():
    g = ResnetGenerator(3, 3, base=4, blocks=3, padding="reflect")
    assert not _zero_padded_convs(g)
    assert not any(isinstance(m, nn.ZeroPad2d) for m in g.modules())
    # c7s1 in and out plus two per residual block
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 2 * 3
    rep = ResnetGenerator(3, 3, base=4, blocks=3, padding="replicate")
    assert sum(isinstance(m, nn.ReplicationPad2d) for m in rep.modules()) == 8
    assert not _zero_padded_convs(rep)
    zeros = ResnetGenerator(3, 3, base=4, blocks=3, padding="zeros")
    assert not any(isinstance(m, nn.ReflectionPad2d) for m in zeros.modules())
    assert len(_zero_padded_convs(zeros)) == 2 + 2 + 2 * 3
    with pytest.raises(ValueError, match="unknown padding"):
        ResnetGenerator(padding="circular")


def test_resnet_dropout_and_residual_blocks():
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(3, 3, base=4, blocks=2, dropout=True))
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 2
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        g.eval()
        assert torch.equal(g(x), g(x))
        g.train()
        assert not torch.equal(g(x), g(x))
    # a residual block with zeroed convs is the identity
    block = next(m for m in g.modules() if type(m).__name__ == "_ResnetBlock").eval()
    for p in block.parameters():
        nn.init.zeros_(p)
    h = torch.randn(1, 16, 4, 4)
    assert torch.equal(block(h), h)


def test_paper_parameter_counts():
    with torch.device("meta"):
        unet = UNetGenerator(3, 3, depth=8, base=64, norm="batch")
        resnet = ResnetGenerator(3, 3, base=64, blocks=9, norm="instance")
    # pix2pix U-Net-256 and the CycleGAN ResNet-9 generator, as in the reference code
    assert _count(unet) == 54_413_955
    assert _count(resnet) == 11_378_179


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_patch_receptive_field_by_gradient(layers):
    torch.manual_seed(0)
    d = init_weights(PatchDiscriminator(in_channels=1, base=4, layers=layers, norm="none"))
    x = torch.randn(1, 1, 256, 256, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    assert x.grad is not None
    hit = x.grad[0, 0] != 0
    rows, cols = hit.any(1).nonzero(), hit.any(0).nonzero()
    side = receptive_field(layers)
    assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side
    assert hit.sum() == side * side  # the whole square, nothing outside it
    assert receptive_field(3) == 70
    with pytest.raises(ValueError):
        receptive_field(0)

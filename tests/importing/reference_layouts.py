"""Independent descriptions of the reference pix2pix / CycleGAN generators' module layouts
(junyanz/pytorch-CycleGAN-and-pix2pix), written from their layer order as the papers and the
published state dicts show it, so that ``torch.save(net.state_dict())`` has the reference's
keys. Not ganedit code: the tests check that ganedit's importer maps these onto its own
generators and gets the same outputs.

U-Net (pix2pix): nested blocks, each a ``Sequential`` called ``model``:
  outermost  [conv4s2, <inner>, ReLU, convT4s2 (bias), Tanh]
  middle     [LeakyReLU, conv4s2, norm, <inner>, ReLU, convT4s2, norm, (Dropout)]
  innermost  [LeakyReLU, conv4s2, ReLU, convT4s2, norm]
  channels ngf * (1, 2, 4, 8, 8, ...); the non-outermost blocks return cat([x, model(x)]).
  Convs have a bias only when the norm is instance norm (and the last transposed conv).
ResNet (CycleGAN): one ``Sequential`` ``model``:
  [ReflPad3, conv7, IN, ReLU, (conv3s2 zero-pad, IN, ReLU) x 2, ResBlock x n,
   (convT3s2 p1 op1, IN, ReLU) x 2, ReflPad3, conv7 (bias), Tanh];
  ResBlock.conv_block = [ReflPad1, conv3, IN, ReLU, (Dropout), ReflPad1, conv3, IN].
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "instance":
        return nn.InstanceNorm2d(c)  # affine=False, no running stats
    return nn.Identity()


class RefUnetBlock(nn.Module):
    def __init__(self, outer, inner, in_c, sub, norm, outermost=False, innermost=False, drop=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        in_c = outer if in_c is None else in_c
        down = nn.Conv2d(in_c, inner, 4, 2, 1, bias=bias)
        if outermost:
            layers = [
                down,
                sub,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1),
                nn.Tanh(),
            ]
        elif innermost:
            layers = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias),
                _norm(norm, outer),
            ]
        else:
            layers = [
                nn.LeakyReLU(0.2, True),
                down,
                _norm(norm, inner),
                sub,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias),
                _norm(norm, outer),
            ]
            if drop:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnet(nn.Module):
    """``unet_256`` for downs=8, ``unet_128`` for downs=7."""

    def __init__(self, in_c=3, out_c=3, downs=8, ngf=64, norm="batch", dropout=True):
        super().__init__()
        block = RefUnetBlock(ngf * 8, ngf * 8, None, None, norm, innermost=True)
        for _ in range(downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, None, block, norm, drop=dropout)
        block = RefUnetBlock(ngf * 4, ngf * 8, None, block, norm)
        block = RefUnetBlock(ngf * 2, ngf * 4, None, block, norm)
        block = RefUnetBlock(ngf, ngf * 2, None, block, norm)
        self.model = RefUnetBlock(out_c, ngf, in_c, block, norm, outermost=True)

    def forward(self, x):
        return self.model(x)


class RefResBlock(nn.Module):
    def __init__(self, c, dropout=False):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnet(nn.Module):
    """``resnet_9blocks`` (blocks=9) / ``resnet_6blocks``, instance norm."""

    def __init__(self, in_c=3, out_c=3, ngf=64, blocks=9, dropout=False):
        super().__init__()
        layers = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_c, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
        layers += [RefResBlock(ngf * 4, dropout) for _ in range(blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1),
                nn.InstanceNorm2d(c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_c, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def randomize(net: nn.Module, seed: int) -> nn.Module:
    """Random weights with non-trivial biases and BatchNorm statistics; eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / fan**0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(1234)
    return net.eval()


def with_old_instance_norm_keys(state: dict, net: nn.Module) -> dict:
    """The state dict as torch < 0.4 saved it: InstanceNorm layers carried running stats."""
    out = dict(state)
    for name, m in net.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            out[f"{name}.running_mean"] = 0.1 * torch.randn(m.num_features)
            out[f"{name}.running_var"] = 1 + torch.rand(m.num_features)
    return out

"""Shared network pieces for model families: GAN losses, penalties, a PatchGAN discriminator,
weight init and an Adam helper.

Example (a discriminator step)::

    from ganedit.nn import PatchDiscriminator, adam, gan_loss, init_weights

    d = init_weights(PatchDiscriminator(in_channels=6))
    loss_d = 0.5 * (gan_loss("lsgan", d(real_pair), True) + gan_loss("lsgan", d(fake_pair), False))
"""

from ganedit.nn.discriminators import PatchDiscriminator
from ganedit.nn.layers import init_weights, norm_layer, spectral_norm_if
from ganedit.nn.losses import LOSS_KINDS, gan_loss, gradient_penalty, r1_penalty
from ganedit.nn.optim import adam

__all__ = [
    "LOSS_KINDS",
    "PatchDiscriminator",
    "adam",
    "gan_loss",
    "gradient_penalty",
    "init_weights",
    "norm_layer",
    "r1_penalty",
    "spectral_norm_if",
]

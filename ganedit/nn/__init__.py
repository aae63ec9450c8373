"""Shared network pieces for model families: GAN losses, penalties, a PatchGAN discriminator
(and its receptive field), the pix2pix U-Net and CycleGAN ResNet generators, the CycleGAN image
history pool, weight init, the conv -> norm -> activation block (:func:`conv_norm_act`), an
Adam helper and :func:`frozen` (no weight gradients for a critic during the generator's update).

Example (a discriminator step)::

    from ganedit.nn import PatchDiscriminator, adam, gan_loss, init_weights

    d = init_weights(PatchDiscriminator(in_channels=6))
    loss_d = 0.5 * (gan_loss("lsgan", d(real_pair), True) + gan_loss("lsgan", d(fake_pair), False))

Example (a CycleGAN-style generator and a pool kept in the checkpointed state dict)::

    from ganedit.nn import ImagePool, ResnetGenerator, UNetGenerator

    g = init_weights(ResnetGenerator(in_channels=3, out_channels=3, blocks=9))
    pool = ImagePool(50)
    fake = g(real_a)  # (N, 3, H, W) in [-1, 1], H and W multiples of g.size_multiple
    fake_for_d = pool.query(state, "pool_b", fake.detach())
    unet = UNetGenerator(depth=8)  # pix2pix U-Net-256
"""

from ganedit.nn.discriminators import PatchDiscriminator, receptive_field
from ganedit.nn.freeze import frozen
from ganedit.nn.generators import ResnetGenerator, UNetGenerator
from ganedit.nn.layers import conv_norm_act, init_weights, norm_layer, spectral_norm_if
from ganedit.nn.losses import LOSS_KINDS, gan_loss, gradient_penalty, r1_penalty
from ganedit.nn.optim import adam
from ganedit.nn.pool import ImagePool, empty_pool, pool_query

__all__ = [
    "LOSS_KINDS",
    "ImagePool",
    "PatchDiscriminator",
    "ResnetGenerator",
    "UNetGenerator",
    "adam",
    "conv_norm_act",
    "empty_pool",
    "frozen",
    "gan_loss",
    "gradient_penalty",
    "init_weights",
    "norm_layer",
    "pool_query",
    "r1_penalty",
    "receptive_field",
    "spectral_norm_if",
]

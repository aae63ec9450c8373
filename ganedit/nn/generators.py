"""Image-to-image generators shared by translation families: the pix2pix U-Net and the
CycleGAN / Johnson et al. residual generator.

Both map ``(N, in_channels, H, W)`` float32 images to ``(N, out_channels, H, W)`` float32
images in ``[-1, 1]`` (a final tanh). H and W must be multiples of the network's
``size_multiple`` attribute.

Example::

    import torch
    from ganedit.nn import ResnetGenerator, UNetGenerator, init_weights

    g = init_weights(UNetGenerator(in_channels=3, out_channels=3))  # pix2pix "U-Net-256"
    assert g.size_multiple == 256
    y = g(torch.rand(1, 3, 256, 256) * 2 - 1)  # (1, 3, 256, 256), values in [-1, 1]

    c = init_weights(ResnetGenerator(blocks=9))  # CycleGAN generator for 256x256 images
    z = c(torch.rand(1, 3, 256, 256) * 2 - 1)  # (1, 3, 256, 256), values in [-1, 1]
"""

from __future__ import annotations

from typing import Literal, cast

import torch
from torch import nn

from ganedit.nn.layers import conv_norm_act, norm_layer

__all__ = ["ResnetGenerator", "UNetGenerator"]

_PADDINGS = ("reflect", "replicate", "zeros")
_PaddingMode = Literal["reflect", "replicate", "zeros"]


class _ImageGenerator(nn.Module):
    """What the generators here share: the shape contract and a forward that checks it.

    Subclasses build ``self.model`` after ``super().__init__(...)``.

    Attributes:
        in_channels: channels of the input image.
        out_channels: channels of the output image.
        size_multiple: input H and W must be multiples of it.

    Input: ``(N, in_channels, H, W)`` float32, any range the caller chooses (typically
    ``[-1, 1]``), H and W multiples of ``size_multiple``.
    Output: ``(N, out_channels, H, W)`` float32 in ``[-1, 1]``.
    """

    model: nn.Module

    def __init__(self, label: str, in_channels: int, out_channels: int, size_multiple: int) -> None:
        super().__init__()
        self._label = label  # names the network in error messages
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.size_multiple = size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch of images.

        Args:
            x: ``(N, in_channels, H, W)`` float32, any range (typically ``[-1, 1]``), H and W
                multiples of ``size_multiple``.

        Returns:
            ``(N, out_channels, H, W)`` float32 in ``[-1, 1]``.

        Raises:
            ValueError: the shape is not ``(N, in_channels, H, W)`` or H or W is not a
                multiple of ``size_multiple`` (the message names the size).
        """
        name, c, multiple = self._label, self.in_channels, self.size_multiple
        if x.dim() != 4 or x.shape[1] != c:
            raise ValueError(f"{name} expects (N, {c}, H, W) input, got {tuple(x.shape)}")
        h, w = int(x.shape[2]), int(x.shape[3])
        if h % multiple or w % multiple:
            raise ValueError(
                f"{name} needs H and W to be multiples of {multiple}, got size {h}x{w}"
            )
        return self.model(x)


class _UNetLevel(nn.Module):
    """One level of the U-Net: encoder step, the inner levels, decoder step, skip concat.

    Input ``(N, c_in, h, w)``; output ``(N, 2 * c_in, h, w)`` (the input concatenated with the
    decoded features), or ``(N, c_out, h, w)`` for the outermost level (no concatenation).
    """

    def __init__(
        self, down: nn.Sequential, inner: nn.Module | None, up: nn.Sequential, outermost: bool
    ) -> None:
        super().__init__()
        self.down = down
        self.inner = inner if inner is not None else nn.Identity()
        self.up = up
        self.outermost = outermost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, c_in, h, w)`` -> ``(N, 2 * c_in, h, w)`` (``(N, c_out, h, w)`` if outermost)."""
        y = self.up(self.inner(self.down(x)))
        return y if self.outermost else torch.cat([x, y], dim=1)


class UNetGenerator(_ImageGenerator):
    """The pix2pix U-Net generator (Isola et al. 2017); ``depth=8`` is "U-Net-256".

    Encoder ``C64-C128-C256-C512-C512-C512-C512-C512`` (level ``i`` has
    ``base * min(2 ** i, 8)`` channels): 4x4 convolutions with stride 2 and padding 1, each
    after a LeakyReLU(0.2) except the first, followed by ``norm`` except on the first
    (outermost) and the last (innermost, the 1x1 bottleneck for 256x256 inputs) level.
    Decoder: ReLU, 4x4 transposed convolution with stride 2, ``norm``, then concatenation with
    the encoder features of the same resolution (skip connection). With ``dropout`` the three
    decoder blocks just outside the bottleneck apply Dropout(0.5) (fewer when ``depth < 5``,
    never the outermost one). The outermost block is ReLU, transposed convolution to
    ``out_channels`` and tanh. Convolutions carry a bias only when ``norm`` is not
    ``"batch"``, except the final one which always has one (as the reference code). The
    paper configuration (3 -> 3, ``base=64``, batch norm) has 54,413,955 parameters.

    Dropout is plain :class:`torch.nn.Dropout`: active in ``train()`` mode only, so
    ``eval()`` mode is deterministic.

    Args:
        in_channels: channels of the input image (3 for RGB, 1 for grey).
        out_channels: channels of the output image.
        depth: number of stride-2 levels (8 for 256x256 inputs in the paper, 7 for 128x128).
        base: channels of the first encoder level (64 in the paper).
        norm: ``"batch"`` (paper), ``"instance"`` or ``"none"``.
        dropout: use Dropout(0.5) in the inner decoder blocks (the paper's only noise source).

    ``(N, in_channels, H, W)`` float32 -> ``(N, out_channels, H, W)`` float32 in ``[-1, 1]``,
    H and W multiples of ``size_multiple = 2 ** depth`` (see :meth:`forward`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        depth: int = 8,
        base: int = 64,
        norm: str = "batch",
        dropout: bool = True,
    ) -> None:
        if depth < 1:
            raise ValueError(f"UNetGenerator needs depth >= 1, got {depth}")
        norm_layer(norm, 1)  # validates the name early
        super().__init__(f"UNetGenerator(depth={depth})", in_channels, out_channels, 2**depth)
        self.depth = depth
        widths = [base * min(2**i, 8) for i in range(depth)]
        level: nn.Module | None = None
        for i in reversed(range(depth)):
            use_dropout = dropout and 0 < i and depth - 4 <= i <= depth - 2
            level = self._level(i, widths, level, norm, use_dropout)
        assert level is not None
        self.model = level

    def _level(
        self, i: int, widths: list[int], inner: nn.Module | None, norm: str, use_dropout: bool
    ) -> _UNetLevel:
        """Level ``i`` (0 = outermost) wrapped around the already built ``inner`` levels."""
        bias = norm != "batch"
        outermost, innermost = i == 0, i == len(widths) - 1
        c_in = self.in_channels if outermost else widths[i - 1]
        c_out = self.out_channels if outermost else widths[i - 1]
        width = widths[i]
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
        down.append(nn.Conv2d(c_in, width, 4, 2, 1, bias=bias))
        if not (outermost or innermost):
            down.append(norm_layer(norm, width))
        up_in = width if innermost else 2 * width
        up: list[nn.Module] = [
            nn.ReLU(),
            nn.ConvTranspose2d(up_in, c_out, 4, 2, 1, bias=bias or outermost),
        ]
        up.append(nn.Tanh() if outermost else norm_layer(norm, c_out))
        if use_dropout:
            up.append(nn.Dropout(0.5))
        return _UNetLevel(nn.Sequential(*down), inner, nn.Sequential(*up), outermost)


class _ResnetBlock(nn.Module):
    """``x + F(x)`` with ``F`` = pad, conv3x3, norm, ReLU, [Dropout(0.5)], pad, conv3x3, norm.

    Input and output ``(N, channels, h, w)`` float32.
    """

    def __init__(self, channels: int, norm: str, padding: str, dropout: bool) -> None:
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = []
        for second in (False, True):
            layers += _padded_conv(channels, channels, 3, padding, bias)
            layers.append(norm_layer(norm, channels))
            if not second:
                layers.append(nn.ReLU())
                if dropout:
                    layers.append(nn.Dropout(0.5))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, channels, h, w)`` -> ``(N, channels, h, w)``."""
        return x + self.body(x)


def _padded_conv(c_in: int, c_out: int, k: int, padding: str, bias: bool) -> list[nn.Module]:
    """A stride-1 ``k x k`` conv keeping the size, padded by ``padding`` (explicit pad layer
    for reflect/replicate, the conv's own zero padding for ``"zeros"``)."""
    p = k // 2
    if padding == "zeros":
        return [nn.Conv2d(c_in, c_out, k, padding=p, bias=bias)]
    pad = nn.ReflectionPad2d(p) if padding == "reflect" else nn.ReplicationPad2d(p)
    return [pad, nn.Conv2d(c_in, c_out, k, bias=bias)]


class ResnetGenerator(_ImageGenerator):
    """The CycleGAN generator (Zhu et al. 2017, after Johnson et al. 2016).

    Layout ``c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-out`` for the defaults:
    ``c7s1-k`` is a padded 7x7 conv (stride 1), norm, ReLU; ``dk`` a 3x3 stride-2 conv
    doubling the channels, norm, ReLU; ``Rk`` a residual block (pad, conv3x3, norm, ReLU,
    [Dropout(0.5)], pad, conv3x3, norm, plus the input); ``uk`` a 3x3 stride-2 transposed
    conv (padding 1, output padding 1) halving the channels, norm, ReLU. The last ``c7s1``
    maps to ``out_channels`` and ends in tanh instead of norm and ReLU.

    ``padding`` applies to every convolution: the 7x7 and residual convs get an explicit
    reflection/replication pad layer, the stride-2 convs the matching ``padding_mode``
    (the reference code zero-pads those two; the parameters are the same either way). With
    ``"zeros"`` all convs use ordinary zero padding. ``down_padding`` overrides the padding of
    the stride-2 convs alone: ``"zeros"`` is the reference code's layout (imported models
    need it to give the reference's outputs). Convolutions carry a bias only when
    ``norm`` is not ``"batch"``, except the final one which always has one. The paper
    configuration (3 -> 3, ``base=64``, 9 blocks, instance norm) has 11,378,179 parameters.

    Args:
        in_channels: channels of the input image.
        out_channels: channels of the output image.
        base: channels of the first layer (64 in the paper).
        blocks: residual blocks (9 for 256x256 images, 6 for 128x128 in the paper).
        downsamplings: stride-2 convs (and as many upsamplings), 2 in the paper.
        norm: ``"instance"`` (paper), ``"batch"`` or ``"none"``.
        padding: ``"reflect"`` (paper), ``"replicate"`` or ``"zeros"``.
        down_padding: padding of the stride-2 convs; ``None`` (default): ``padding``.
        dropout: Dropout(0.5) inside the residual blocks (off in the paper); active in
            ``train()`` mode only.

    ``(N, in_channels, H, W)`` float32 -> ``(N, out_channels, H, W)`` float32 in ``[-1, 1]``,
    H and W multiples of ``size_multiple = 2 ** downsamplings`` (see :meth:`forward`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base: int = 64,
        blocks: int = 9,
        downsamplings: int = 2,
        norm: str = "instance",
        padding: str = "reflect",
        dropout: bool = False,
        down_padding: str | None = None,
    ) -> None:
        for pad in (padding, down_padding or padding):
            if pad not in _PADDINGS:
                raise ValueError(f"unknown padding {pad!r}; use {', '.join(_PADDINGS)}")
        if blocks < 0 or downsamplings < 0:
            raise ValueError(f"need blocks, downsamplings >= 0, got {blocks}, {downsamplings}")
        super().__init__("ResnetGenerator", in_channels, out_channels, 2**downsamplings)
        bias = norm != "batch"
        mode = cast(_PaddingMode, down_padding or padding)
        layers = _padded_conv(in_channels, base, 7, padding, bias)
        layers += [norm_layer(norm, base), nn.ReLU()]
        for i in range(downsamplings):
            c = base * 2**i
            layers += conv_norm_act(
                nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias, padding_mode=mode), norm
            )
        width = base * 2**downsamplings
        layers += [_ResnetBlock(width, norm, padding, dropout) for _ in range(blocks)]
        for i in reversed(range(downsamplings)):
            c = base * 2**i
            layers += conv_norm_act(
                nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1, bias=bias), norm
            )
        layers += _padded_conv(base, out_channels, 7, padding, True)
        layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

"""The networks of the ``inpaint`` family: LaMa's FFC generator (Suvorov et al. 2022).

Fast Fourier convolution (FFC, Chi et al. 2020) splits the channels of a feature map into a
*local* part (ordinary 3x3 convolutions) and a *global* part whose update is a 1x1 convolution
in the 2-D Fourier domain of the whole map (:class:`FourierUnit`): every output position sees
every input position, so one FFC layer already has an image-wide receptive field. LaMa's
generator is a ResNet: a 7x7 stem, ``downsamplings`` stride-2 convolutions, ``blocks`` FFC
residual blocks (75 % of their channels global), and transposed convolutions back up.

Written from the papers; the layout follows LaMa's "big-lama" configuration in kind (not in
size: the defaults here are LaMa's, the bundled weights are a small CPU-trained variant; see
README.md). The generator returns the raw fill; the family composites it with the input.
"""

from __future__ import annotations

import torch
from torch import nn

from ganedit.nn import PatchDiscriminator, conv_norm_act, norm_layer

__all__ = [
    "FFC",
    "FFCGenerator",
    "FFCResBlock",
    "FourierUnit",
    "MaskDiscriminator",
    "SpectralTransform",
]


class FourierUnit(nn.Module):
    """A 1x1 convolution on the real and imaginary parts of the 2-D real FFT of its input.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        norm: ``"batch"`` (LaMa), ``"instance"`` or ``"none"`` after the spectral conv.

    Input ``(N, in_channels, H, W)`` float; output ``(N, out_channels, H, W)`` float32. The
    transform runs in float32 with autocast off (cuFFT has no bf16 and fp16 only for powers of
    two); ``norm="ortho"`` keeps magnitudes independent of the image size.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch") -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * in_channels, 2 * out_channels, 1, bias=norm == "none")
        self.norm = norm_layer(norm, 2 * out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` -> ``(N, C_out, H, W)`` float32 (see the class docstring)."""
        n, _, h, w = x.shape
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")  # (N, C, H, W//2+1)
            z = torch.cat([spec.real, spec.imag], 1)
            z = self.act(self.norm(self.conv(z)))
            re, im = z.chunk(2, 1)
            return torch.fft.irfftn(torch.complex(re, im), s=(h, w), dim=(-2, -1), norm="ortho")


class SpectralTransform(nn.Module):
    """LaMa's global branch: 1x1 conv to half the channels, a :class:`FourierUnit` with a
    residual, and a 1x1 conv to ``out_channels``.

    Input ``(N, in_channels, H, W)`` float; output ``(N, out_channels, H, W)`` float.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch") -> None:
        super().__init__()
        mid = max(1, out_channels // 2)
        reduce = nn.Conv2d(in_channels, mid, 1, bias=norm == "none")
        self.reduce = nn.Sequential(*conv_norm_act(reduce, norm, nn.ReLU(inplace=True)))
        self.fu = FourierUnit(mid, mid, norm)
        self.expand = nn.Conv2d(mid, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` -> ``(N, C_out, H, W)``."""
        y = self.reduce(x)
        return self.expand(y + self.fu(y).to(y.dtype))


class FFC(nn.Module):
    """A fast Fourier convolution: local/global channel split with four cross paths.

    ``local_out = conv_ll(local) + conv_gl(global)``, ``global_out = conv_lg(local) +
    spectral(global)``, each followed by its own norm and ReLU.

    Args:
        channels: total channels in and out (the split is the same on both sides).
        ratio: fraction of the channels that is global (LaMa: 0.75).
        norm: norm of both branches (and inside the spectral transform).

    Input and output: a pair ``(local (N, C_l, H, W), global (N, C_g, H, W))`` float.
    """

    def __init__(self, channels: int, ratio: float = 0.75, norm: str = "batch") -> None:
        super().__init__()
        self.cg = int(round(channels * ratio))
        self.cl = channels - self.cg
        if self.cl < 1 or self.cg < 1:
            raise ValueError(f"FFC: ratio {ratio} leaves no local or no global channels")
        cl, cg = self.cl, self.cg

        def conv(i: int, o: int) -> nn.Conv2d:
            return nn.Conv2d(i, o, 3, padding=1, padding_mode="reflect", bias=False)

        self.ll, self.gl, self.lg = conv(cl, cl), conv(cg, cl), conv(cl, cg)
        self.gg = SpectralTransform(cg, cg, norm)
        self.act_l = nn.Sequential(norm_layer(norm, cl), nn.ReLU(inplace=True))
        self.act_g = nn.Sequential(norm_layer(norm, cg), nn.ReLU(inplace=True))

    def forward(self, xs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(local, global)`` -> ``(local, global)``, shapes unchanged."""
        xl, xg = xs
        yl = self.ll(xl) + self.gl(xg)
        yg = self.lg(xl) + self.gg(xg).to(xl.dtype)
        return self.act_l(yl), self.act_g(yg)


class FFCResBlock(nn.Module):
    """Two :class:`FFC` layers with an identity shortcut on both branches (LaMa's block).

    Args:
        channels, ratio, norm: as :class:`FFC`.
        gate: scale the residual branch by a learned scalar per branch (local, global) that
            starts at 0 (ReZero, Bachlechner et al. 2021): the block starts as the identity,
            which keeps a network without norm layers stable.
    """

    def __init__(
        self, channels: int, ratio: float = 0.75, norm: str = "batch", gate: bool = False
    ) -> None:
        super().__init__()
        self.a = FFC(channels, ratio, norm)
        self.b = FFC(channels, ratio, norm)
        self.gate = nn.Parameter(torch.zeros(2)) if gate else None

    def forward(self, xs: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(local, global)`` -> ``(local, global)``, shapes unchanged."""
        yl, yg = self.b(self.a(xs))
        if self.gate is not None:
            yl, yg = yl * self.gate[0].to(yl.dtype), yg * self.gate[1].to(yg.dtype)
        return xs[0] + yl, xs[1] + yg


class FFCGenerator(nn.Module):
    """LaMa's generator: stem, ``downsamplings`` stride-2 convs, FFC blocks, upsampling.

    Args:
        width: channels of the stem (LaMa: 64); level ``i`` has ``width * 2**i``, capped at
            ``8 * width``.
        downsamplings: stride-2 convolutions (LaMa: 3); H and W must be multiples of
            ``2**downsamplings``.
        blocks: FFC residual blocks at the lowest resolution (big-lama: 18, lama: 9).
        ratio: global fraction of the channels in the blocks (LaMa: 0.75).
        norm: ``"batch"`` (LaMa), ``"instance"`` or ``"none"``.
        residual: end in a linear conv (a correction to add to a pre-filled image) instead of
            LaMa's sigmoid; the family zeroes it (:meth:`zero_head`) or gates it.
        gate: ReZero gates in every block (:class:`FFCResBlock`) and, with ``residual``, a
            learned scalar ``out_gate`` (0 at initialisation) that multiplies the correction:
            the output starts at exactly 0 and grows by at most about the learning rate per
            Adam step, while every layer before it gets gradient from the first step on.
        output_gate: with ``gate`` and ``residual``, create ``out_gate`` (False: only the
            block gates).
        upsample: ``"transposed"`` (LaMa: a 3x3 stride-2 transposed convolution per level),
            ``"resize"`` (nearest x2, then a 3x3 convolution; Odena et al. 2016: the
            transposed kernel overlaps unevenly and paints a checkerboard, which a texture
            loss rewards) or ``"shuffle"`` (a 3x3 convolution to 4x the channels, then a
            pixel shuffle, Shi et al. 2016, with ICNR initialisation, Aitken et al. 2017:
            at initialisation exactly ``"resize"``, so no checkerboard, with the
            transposed convolution's capacity; :meth:`icnr_` after any re-initialisation).
        hint_channels: extra input channels of a classical fill (``hint``: 3 for
            ``cv2.inpaint``'s RGB fill, 0 = none, LaMa), after the mask and before the
            noise.
        noise_channels: extra input channels of Gaussian noise (0 = LaMa's 4 inputs): a
            source of randomness for texture the context cannot determine (the generator
            is otherwise deterministic and can only paint one fixed pattern).
        decoder_noise: std of Gaussian noise, relative to each feature map's RMS, added
            after each decoder level (:class:`DecoderNoise`; 0 = none, LaMa): randomness at 1/4, 1/2 and full
            resolution, where a transposed decoder fed smooth features can only repeat one
            tile per bottleneck cell (the 8 px lattice). No parameters and outside
            ``decoder``, so a run trained without it can be resumed with it.
        noise_seed: the seed of the decoder noise in eval mode (one input, one fill).
        decoder_blur: a fixed binomial low-pass (:class:`BinomialBlur`) after each decoder
            level, before its noise: it removes exactly the period-2 pattern a stride-2
            level paints from smooth input (an 8 px lattice from the first level, 4 and 2 px
            from the next), as StyleGAN2's up-sampling filter does (Karras et al. 2020).
            No parameters and outside ``decoder``, so a run trained without it can be
            resumed with it.
        bottleneck_blur: the same low-pass on the FFC blocks' output, before the first
            decoder level: it removes a period-2 pattern at the bottleneck (16 px at full
            resolution with 3 downsamplings), which ``decoder_blur`` alone lets through.

    Input: ``(N, 4 + hint_channels + noise_channels, H, W)`` float: the image with its hole
    blanked (LaMa: ``image * (1 - mask)``) or pre-filled, in [0, 1], the mask (1 = fill),
    the hint (in [0, 1]), then the noise.
    Output: ``(N, 3, H, W)`` float: the raw fill for every pixel before compositing, in (0, 1) (sigmoid); with
    ``residual``, an unbounded correction.
    """

    def __init__(
        self,
        width: int = 64,
        downsamplings: int = 3,
        blocks: int = 9,
        ratio: float = 0.75,
        norm: str = "batch",
        residual: bool = False,
        gate: bool = False,
        output_gate: bool = True,
        upsample: str = "transposed",
        hint_channels: int = 0,
        noise_channels: int = 0,
        decoder_noise: float = 0.0,
        noise_seed: int = 0,
        decoder_blur: bool = False,
        bottleneck_blur: bool = False,
    ) -> None:
        super().__init__()
        widths = [min(width * 2**i, 8 * width) for i in range(downsamplings + 1)]
        bias = norm == "none"
        self.in_channels = 4 + int(hint_channels) + int(noise_channels)
        stem = nn.Conv2d(self.in_channels, width, 7, padding=3, padding_mode="reflect", bias=bias)
        enc = conv_norm_act(stem, norm, nn.ReLU(inplace=True))
        for i in range(downsamplings):
            down = nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1, bias=bias)
            enc += conv_norm_act(down, norm, nn.ReLU(inplace=True))
        self.encoder = nn.Sequential(*enc)
        deep = widths[-1]
        self.split = int(round(deep * ratio))
        self.blocks = nn.Sequential(*[FFCResBlock(deep, ratio, norm, gate) for _ in range(blocks)])
        dec: list[nn.Module] = []
        noise_at: dict[int, DecoderNoise] = {}  # decoder index -> the noise after it
        blur_at: dict[int, BinomialBlur] = {}  # decoder index -> the blur after it
        for i in reversed(range(downsamplings)):
            dec += _up(widths[i + 1], widths[i], upsample, norm)
            if decoder_blur:
                blur_at[len(dec) - 1] = BinomialBlur()
            if decoder_noise > 0:
                noise_at[len(dec) - 1] = DecoderNoise(decoder_noise, noise_seed + i)
        head = nn.Conv2d(width, 3, 7, padding=3, padding_mode="reflect")
        dec += [head, nn.Identity() if residual else nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)
        # outside the Sequential: its indices, and so every weights file, stay the same
        self.noise_at = noise_at
        self.noises = nn.ModuleList(noise_at.values())
        self.blur_at = blur_at
        self.blurs = nn.ModuleList(blur_at.values())
        self.bottleneck_blur = BinomialBlur() if bottleneck_blur else None
        self.residual = residual
        with_gate = residual and gate and output_gate
        self.out_gate = nn.Parameter(torch.zeros(())) if with_gate else None
        self.size_multiple = 2**downsamplings

    def zero_head(self) -> FFCGenerator:
        """Zero the last convolution (a residual generator then starts as the identity)."""
        head = self.decoder[-2]
        assert isinstance(head, nn.Conv2d)
        nn.init.zeros_(head.weight)
        if head.bias is not None:
            nn.init.zeros_(head.bias)
        return self

    def icnr_(self) -> FFCGenerator:
        """ICNR-initialise every ``"shuffle"`` level (no-op for the other decoders): call it
        after any initialisation that draws the convolutions afresh."""
        for module in self.decoder:
            if isinstance(module, ShuffleUp):
                module.icnr_()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, H, W)`` -> ``(N, 3, H, W)`` (class docstring)."""
        h = self.encoder(x)
        c = h.shape[1] - self.split
        xl, xg = self.blocks((h[:, :c], h[:, c:]))
        y = torch.cat([xl, xg], 1)
        if self.bottleneck_blur is not None:
            y = self.bottleneck_blur(y)
        for i, layer in enumerate(self.decoder):
            y = layer(y)
            if i in self.blur_at:
                y = self.blur_at[i](y)
            if i in self.noise_at:
                y = self.noise_at[i](y)
        return y if self.out_gate is None else y * self.out_gate.to(y.dtype)


def _up(c_in: int, c_out: int, upsample: str, norm: str) -> list[nn.Module]:
    """One x2 decoder level: ``(N, c_in, h, w)`` -> ``(N, c_out, 2h, 2w)`` (see ``upsample``
    in :class:`FFCGenerator`)."""
    bias = norm == "none"
    if upsample == "transposed":
        up = nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=bias)
        return conv_norm_act(up, norm, nn.ReLU(inplace=True))
    if upsample == "shuffle":
        return [ShuffleUp(c_in, c_out, bias), norm_layer(norm, c_out), nn.ReLU(inplace=True)]
    if upsample != "resize":
        raise ValueError(f"upsample must be 'transposed', 'resize' or 'shuffle', not {upsample!r}")
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect", bias=bias)
    return [
        nn.Upsample(scale_factor=2, mode="nearest"),
        *conv_norm_act(conv, norm, nn.ReLU(inplace=True)),
    ]


class DecoderNoise(nn.Module):
    """Add Gaussian noise relative to each feature map: ``(N, C, H, W)`` -> the same shape.

    Element ``(n, c, h, w)`` gets ``std * rms(x[n, c]) * z`` with ``z ~ N(0, 1)`` per channel
    and pixel and ``rms`` over the map (no gradient through it): StyleGAN's noise inputs
    (Karras et al. 2019) without their learned per-channel scale, made relative because the
    decoder's levels differ in scale by ~100x in a trained net (the next convolution weighs
    the noise; it cannot drown it by growing the map). In training mode the noise comes
    from the global torch RNG (checkpointed, so a resumed run is exact); in eval mode from a
    generator seeded with ``seed``, the same draw for every item of a batch, so one input
    always gets the same output, alone or in any batch.
    """

    def __init__(self, std: float, seed: int = 0) -> None:
        super().__init__()
        self.std, self.seed = float(std), int(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` float -> ``x`` plus the noise, same shape and dtype."""
        if self.training:
            z = torch.randn(x.shape, device=x.device, dtype=x.dtype)
        else:
            rng = torch.Generator().manual_seed(self.seed)  # one draw for every item
            z = torch.randn((1, *x.shape[1:]), generator=rng).to(device=x.device, dtype=x.dtype)
        rms = x.detach().float().pow(2).mean((2, 3), keepdim=True).sqrt().to(x.dtype)
        return x + (self.std * rms) * z

    def extra_repr(self) -> str:
        return f"std={self.std}, seed={self.seed}"


class BinomialBlur(nn.Module):
    """Fixed 3x3 binomial low-pass per channel: ``(N, C, H, W)`` -> the same shape and dtype.

    The kernel is ``[1, 2, 1]^T [1, 2, 1] / 16`` with reflected borders: it keeps a constant
    map exactly and zeroes every period-2 pattern (its response at the Nyquist frequencies
    is 0), the checkerboard a stride-2 transposed convolution paints. The kernel is a
    non-persistent buffer: no parameters and nothing in the state dict.
    """

    kernel: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (taps[:, None] * taps[None, :] / 16)[None, None], False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` float -> the blurred map, same shape and dtype."""
        c = x.shape[1]
        k = self.kernel.to(x.dtype).expand(c, 1, 3, 3)
        return nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), k, groups=c)


class ShuffleUp(nn.Module):
    """x2 by sub-pixel convolution: ``(N, c_in, h, w)`` -> ``(N, c_out, 2h, 2w)``.

    A 3x3 convolution (reflect padding) to ``4 * c_out`` channels, then
    :class:`torch.nn.PixelShuffle` (Shi et al. 2016). :meth:`icnr_` makes the four sub-pixel
    kernels of each output channel equal (Aitken et al. 2017), so the layer starts as nearest
    x2 after a convolution: free of the checkerboard a transposed convolution starts with.
    """

    def __init__(self, c_in: int, c_out: int, bias: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1, padding_mode="reflect", bias=bias)
        self.shuffle = nn.PixelShuffle(2)
        self.icnr_()

    @torch.no_grad()
    def icnr_(self) -> ShuffleUp:
        """Copy sub-kernel 0 of each output channel to its other three (and the biases)."""
        w = self.conv.weight  # (4 * c_out, c_in, 3, 3); channel c * 4 + k -> sub-pixel k
        w.copy_(w[::4].repeat_interleave(4, dim=0))
        if self.conv.bias is not None:
            self.conv.bias.copy_(self.conv.bias[::4].repeat_interleave(4))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, c_in, h, w)`` -> ``(N, c_out, 2h, 2w)``."""
        return self.shuffle(self.conv(x))


class MaskDiscriminator(nn.Module):
    """A :class:`ganedit.nn.PatchDiscriminator` that also returns its hidden features (for
    LaMa's feature-matching loss).

    Args:
        width: channels of its first layer (pix2pix: 64).
        layers: stride-2 layers after the first (3: 70x70 patches).
        norm: ``"batch"``, ``"instance"`` or ``"none"``.

    Input ``(N, 3, H, W)`` float in [-1, 1]. Output ``(logits (N, 1, h, w), [features])``:
    the logits (real > fake) and the activation after every LeakyReLU.
    """

    def __init__(self, width: int = 64, layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        self.patch = PatchDiscriminator(3, base=width, layers=layers, norm=norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(N, 3, H, W)`` -> ``(logits, features)`` (see the class docstring)."""
        feats: list[torch.Tensor] = []
        for layer in self.patch.model:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                feats.append(x)
        return x, feats

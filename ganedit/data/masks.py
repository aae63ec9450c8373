"""Generated inpainting masks (LaMa's recipe), drawn on the device, a pure function of a seed.

Suvorov et al. 2022 ("Resolution-robust Large Mask Inpainting with Fourier Convolutions") train
on a mix of irregular brush strokes of several widths and boxes. :class:`MaskGenerator` draws
that mix; sizes are relative to the mask (strokes to its shorter side, boxes to each side):

========  ==========================================================  ===================
kind      what                                                        mean hole area
========  ==========================================================  ===================
thin      2-5 polylines of 4-10 segments, brush 1-3 % of the side     about 5 %
medium    1-3 polylines, brush 4-8 %, and one box 16-37 % of a side   about 13 %
thick     1-3 polylines, brush 7-13 %, and two boxes 20-42 %          about 26 %
box       1-3 boxes 10-40 % of a side                                 about 12 %
mixed     each mask one of thin / medium / thick, equally likely      about 15 %
========  ==========================================================  ===================

Measured means over 4096 masks of 128x128 (seed 12345): thin 4.9 %, medium 13.2 %, thick
25.9 %, box 11.6 %, mixed 14.5 %; the same within 0.5 % at 64x64 and 256x256, since every size
is relative. ``tests/data/test_mask_generator.py`` checks them within 15 %.

How it is drawn: each mask takes one row of uniform numbers from a CPU
:class:`torch.Generator` (so a seed gives the same numbers on every device; masks drawn on
different devices can differ at a few edge pixels, from float rounding); everything else is a
vectorised function of those numbers on the target device: polyline vertices by a random walk
of turns and steps (cumulative sums), each pixel filled when its distance to a segment is at
most the brush radius (measured only in the 16x16 blocks a segment can reach), boxes by
comparisons. No OpenCV, no per-pixel Python loop.

Example::

    gen = MaskGenerator("thick")
    m = gen(8, 256, 256, seed=3, device="cuda")     # (8, 1, 256, 256) float32 in {0, 1}
    same = seeded_masks("thick", 8, 256, 256, seed=3)   # the same masks (on the CPU)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["MASK_KINDS", "MaskGenerator", "MaskRecipe", "seeded_masks"]


@dataclass(frozen=True)
class MaskRecipe:
    """One kind of mask. Counts are inclusive ranges; sizes are fractions of the mask size.

    Attributes:
        strokes: number of polylines.
        segments: segments per polyline.
        width: brush width, fraction of the shorter side.
        step: segment length, fraction of the shorter side.
        turn: largest turn between segments, radians.
        boxes: number of boxes.
        box_size: box height (width) as a fraction of the mask height (width).
    """

    strokes: tuple[int, int] = (0, 0)
    segments: tuple[int, int] = (3, 8)
    width: tuple[float, float] = (0.01, 0.03)
    step: tuple[float, float] = (0.05, 0.2)
    turn: float = 1.5
    boxes: tuple[int, int] = (0, 0)
    box_size: tuple[float, float] = (0.1, 0.4)


_RECIPES: dict[str, MaskRecipe] = {
    "thin": MaskRecipe(strokes=(2, 5), segments=(4, 10), width=(0.01, 0.03), step=(0.08, 0.25)),
    "medium": MaskRecipe(
        strokes=(1, 3), segments=(3, 7), width=(0.04, 0.08), step=(0.08, 0.22),
        boxes=(1, 1), box_size=(0.16, 0.37),
    ),
    "thick": MaskRecipe(
        strokes=(1, 3), segments=(3, 6), width=(0.07, 0.13), step=(0.08, 0.2),
        boxes=(2, 2), box_size=(0.2, 0.42),
    ),
    "box": MaskRecipe(boxes=(1, 3), box_size=(0.1, 0.4)),
}  # fmt: skip

#: The kinds :class:`MaskGenerator` knows.
MASK_KINDS = ("mixed", "thin", "medium", "thick", "box")
_MIX = ("thin", "medium", "thick")

# per-recipe numbers, one column each, gathered per mask by its kind
_COLUMNS = ("s0", "s1", "g0", "g1", "w0", "w1", "l0", "l1", "turn", "b0", "b1", "z0", "z1")


def _table(recipes: Sequence[MaskRecipe], device: torch.device) -> dict[str, torch.Tensor]:
    rows = [
        (*r.strokes, *r.segments, *r.width, *r.step, r.turn, *r.boxes, *r.box_size) for r in recipes
    ]
    t = torch.tensor(rows, dtype=torch.float32, device=device)
    return {name: t[:, i] for i, name in enumerate(_COLUMNS)}


def _count(u: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """A uniform integer in ``[lo, hi]`` from ``u`` in ``[0, 1)`` (shapes broadcast)."""
    return (lo + torch.floor(u * (hi - lo + 1))).clamp(max=hi)


class MaskGenerator:
    """Random inpainting masks (LaMa's mix; see the module docstring for the kinds).

    Args:
        kind: ``"mixed"``, ``"thin"``, ``"medium"``, ``"thick"`` or ``"box"``, or a
            :class:`MaskRecipe` of your own.

    Calling it gives ``(n, 1, H, W)`` float32 masks in ``{0, 1}`` (1 = fill) on ``device``.
    """

    def __init__(self, kind: str | MaskRecipe = "mixed") -> None:
        """Pick the recipe(s) of ``kind``; raises ValueError for an unknown kind."""
        self.recipes: tuple[MaskRecipe, ...]
        if isinstance(kind, MaskRecipe):
            self.kind, self.recipes = "custom", (kind,)
        elif kind == "mixed":
            self.kind, self.recipes = kind, tuple(_RECIPES[k] for k in _MIX)
        elif kind in _RECIPES:
            self.kind, self.recipes = kind, (_RECIPES[kind],)
        else:
            raise ValueError(f"unknown mask kind {kind!r}; choose one of {', '.join(MASK_KINDS)}")
        self.max_strokes = max(r.strokes[1] for r in self.recipes)
        self.max_segments = max(r.segments[1] for r in self.recipes) if self.max_strokes else 0
        self.max_boxes = max(r.boxes[1] for r in self.recipes)

    def __repr__(self) -> str:
        """``MaskGenerator('kind')``."""
        return f"MaskGenerator({self.kind!r})"

    @property
    def numbers(self) -> int:
        """Uniform numbers one mask consumes."""
        return 1 + self._stroke_numbers + 1 + 4 * self.max_boxes

    @property
    def _stroke_numbers(self) -> int:
        return 1 + self.max_strokes * (5 + 2 * self.max_segments)

    def __call__(
        self,
        n: int,
        height: int,
        width: int,
        seed: int | torch.Generator = 0,
        device: str | torch.device = "cpu",
    ) -> torch.Tensor:
        """``n`` masks from one seed (the same seed gives the same masks).

        Args:
            n: how many.
            height: mask height in pixels.
            width: mask width in pixels.
            seed: an int, or a :class:`torch.Generator` to draw from (advanced by the call).
            device: where the masks are drawn and returned.

        Returns:
            ``(n, 1, height, width)`` float32 in ``{0, 1}``, 1 = fill.
        """
        g = torch.Generator().manual_seed(seed) if isinstance(seed, int) else seed
        u = torch.rand(n, self.numbers, generator=g, device=g.device)
        return self.draw(u, height, width, device)

    def from_seeds(
        self, seeds: Sequence[int], height: int, width: int, device: str | torch.device = "cpu"
    ) -> torch.Tensor:
        """One mask per seed (mask ``i`` depends on ``seeds[i]`` only); shapes as ``__call__``."""
        rows = [
            torch.rand(self.numbers, generator=torch.Generator().manual_seed(int(s))) for s in seeds
        ]
        u = torch.stack(rows) if rows else torch.empty(0, self.numbers)
        return self.draw(u, height, width, device)

    def draw(
        self, u: torch.Tensor, height: int, width: int, device: str | torch.device = "cpu"
    ) -> torch.Tensor:
        """Masks from uniform numbers ``u``: ``(n, numbers)`` float in ``[0, 1)``.

        Returns:
            ``(n, 1, height, width)`` float32 in ``{0, 1}`` on ``device``.
        """
        dev = torch.device(device)
        u = u.to(dev, torch.float32)
        n = u.shape[0]
        rec = _table(self.recipes, dev)
        kind = (u[:, 0] * len(self.recipes)).long().clamp(max=len(self.recipes) - 1)
        per = {k: v[kind] for k, v in rec.items()}  # each (n,)
        hole = torch.zeros(n, height, width, dtype=torch.bool, device=dev)
        if self.max_strokes:
            seg, r2 = self._segments(u[:, 1 : 1 + self._stroke_numbers], per, height, width)
            hole |= _paint_segments(seg, r2, height, width)
        if self.max_boxes:
            hole |= self._boxes(u[:, -(1 + 4 * self.max_boxes) :], per, height, width)
        return hole[:, None].float()

    def _segments(
        self, u: torch.Tensor, per: dict[str, torch.Tensor], h: int, w: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Polyline segments and their squared radii.

        Returns:
            ``(n, S, 4)`` segments (x0, y0, x1, y1 in pixels) and ``(n, S)`` squared radii
            (negative for unused segments).
        """
        n, ks, kg = u.shape[0], self.max_strokes, self.max_segments
        side = float(min(h, w))
        strokes = _count(u[:, 0], per["s0"], per["s1"])  # (n,)
        v = u[:, 1:].reshape(n, ks, 5 + 2 * kg)
        start = torch.stack([v[..., 0] * w, v[..., 1] * h], -1)  # (n, ks, 2)
        heading = v[..., 2] * 2 * math.pi
        radius = (per["w0"][:, None] + v[..., 3] * (per["w1"] - per["w0"])[:, None]) * side / 2
        turns = (v[..., 5 : 5 + kg] * 2 - 1) * per["turn"][:, None, None]
        steps = per["l0"][:, None, None] + v[..., 5 + kg :] * (per["l1"] - per["l0"])[:, None, None]
        angle = heading[..., None] + torch.cumsum(turns, -1)  # (n, ks, kg)
        delta = torch.stack([torch.cos(angle), torch.sin(angle)], -1) * (steps * side)[..., None]
        pts = torch.cat([start[:, :, None], start[:, :, None] + torch.cumsum(delta, 2)], 2)
        pts = torch.stack([pts[..., 0].clamp(0, w), pts[..., 1].clamp(0, h)], -1)
        seg = torch.cat([pts[:, :, :-1], pts[:, :, 1:]], -1)  # (n, ks, kg, 4)
        nseg = _count(v[..., 4], per["g0"][:, None], per["g1"][:, None])
        used = (torch.arange(kg, device=u.device) < nseg[..., None]) & (
            torch.arange(ks, device=u.device)[None, :, None] < strokes[:, None, None]
        )
        r2 = torch.where(used, (radius**2)[..., None].expand(-1, -1, kg), -1.0)
        return seg.reshape(n, ks * kg, 4), r2.reshape(n, ks * kg)

    def _boxes(self, u: torch.Tensor, per: dict[str, torch.Tensor], h: int, w: int) -> torch.Tensor:
        """``(n, h, w)`` bool: inside any of each mask's boxes."""
        n, kb = u.shape[0], self.max_boxes
        count = _count(u[:, 0], per["b0"], per["b1"])
        v = u[:, 1:].reshape(n, kb, 4)
        z0, z1 = per["z0"][:, None], per["z1"][:, None]
        bh, bw = (z0 + v[..., 0] * (z1 - z0)) * h, (z0 + v[..., 1] * (z1 - z0)) * w
        y0, x0 = v[..., 2] * (h - bh), v[..., 3] * (w - bw)
        used = torch.arange(kb, device=u.device) < count[:, None]
        ys = torch.arange(h, device=u.device, dtype=torch.float32) + 0.5
        xs = torch.arange(w, device=u.device, dtype=torch.float32) + 0.5
        iny = (ys >= y0[..., None]) & (ys < (y0 + bh)[..., None]) & used[..., None]  # (n, kb, h)
        inx = (xs >= x0[..., None]) & (xs < (x0 + bw)[..., None])  # (n, kb, w)
        return (iny[..., :, None] & inx[..., None, :]).any(1)


def _dist2(seg: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared distance from points ``(x, y)`` to segments ``seg[..., 0:4]`` (broadcast)."""
    x0, y0, x1, y1 = seg.unbind(-1)
    dx, dy = x1 - x0, y1 - y0
    px, py = x - x0, y - y0
    t = ((px * dx + py * dy) / (dx * dx + dy * dy).clamp(min=1e-6)).clamp(0, 1)
    return (px - t * dx) ** 2 + (py - t * dy) ** 2


def _paint_segments(
    seg: torch.Tensor, r2: torch.Tensor, h: int, w: int, tile: int = 16
) -> torch.Tensor:
    """``(n, h, w)`` bool: pixel centres closer to a segment than its radius.

    Exact, but only the ``tile x tile`` blocks a segment can reach are measured: a block is
    kept when its centre is within radius + half a diagonal of the segment.

    Args:
        seg: ``(n, S, 4)`` float segments ``(x0, y0, x1, y1)`` in pixels.
        r2: ``(n, S)`` float squared radii (negative: unused).
        h: mask height.
        w: mask width.
        tile: block size of the culling.
    """
    n, dev = r2.shape[0], seg.device
    ty, tx = -(-h // tile), -(-w // tile)
    cy = (torch.arange(ty, device=dev) * tile + tile / 2).repeat_interleave(tx)
    cx = (torch.arange(tx, device=dev) * tile + tile / 2).repeat(ty)
    reach = (r2.clamp(min=0).sqrt() + tile * 0.7072) ** 2
    near = (_dist2(seg[:, :, None], cx, cy) <= reach[..., None]) & (r2 >= 0)[..., None]
    mi, si, ti = near.nonzero(as_tuple=True)  # (mask, segment, block) triples to measure
    off = torch.arange(tile, device=dev, dtype=torch.float32) + 0.5
    oy, ox = off.repeat_interleave(tile), off.repeat(tile)  # pixel centres within a block
    acc = torch.zeros(n * ty * tx, tile * tile, device=dev)
    step = max(1, (1 << 20) // (tile * tile))
    for i in range(0, mi.numel(), step):
        m, sg, t = mi[i : i + step], si[i : i + step], ti[i : i + step]
        x = (cx[t] - tile / 2)[:, None] + ox
        y = (cy[t] - tile / 2)[:, None] + oy
        inside = _dist2(seg[m, sg][:, None], x, y) <= r2[m, sg][:, None]
        acc.index_put_((m * ty * tx + t,), inside.float(), accumulate=True)
    blocks = acc.view(n, ty, tx, tile, tile).permute(0, 1, 3, 2, 4)
    return blocks.reshape(n, ty * tile, tx * tile)[:, :h, :w] > 0


def seeded_masks(
    kind: str, n: int, height: int, width: int, seed: int = 0, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """The same ``n`` masks every time for a seed (evaluation sets).

    Returns:
        ``(n, 1, height, width)`` float32 in ``{0, 1}`` (1 = fill) on ``device``.
    """
    return MaskGenerator(kind)(n, height, width, seed=seed, device=device)

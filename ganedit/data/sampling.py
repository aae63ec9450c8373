"""The sampling order: which item of each table a data position is, a pure function of seeds.

A position is ``(epoch, index)`` of one rank. An epoch has ``L = max(len(table))`` samples over
all ranks. Table ``t`` of ``n`` items walks a fresh permutation of its items,
``permutation(n; seed, t, epoch, k)`` for ``k = 0, 1, ...``, concatenated and cut to ``L``: the
longest table is visited once per epoch, a shorter one wraps into a new permutation, so every
item of every table is seen at least once per epoch and each table is shuffled on its own
(CycleGAN's unpaired domains). With ``world`` ranks, rank ``r`` takes positions
``r, r + world, ...`` cut to ``L // world``: ranks see different samples and stay in lockstep.

Each sample also gets a seed, a pure function of ``(seed, rank, epoch, index)``, from which its
crop windows and generated masks are drawn, so a restored position reproduces them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Key", "Order", "sample_seed", "window"]

_MASK64 = (1 << 64) - 1


class Key(NamedTuple):
    """One sample: the item index in each table, and the sample's seed (a uint32)."""

    picks: tuple[int, ...]
    seed: int


def sample_seed(*words: int) -> int:
    """A well-mixed uint32 seed from integers (e.g. seed, rank, epoch, index)."""
    state = np.random.SeedSequence([w & _MASK64 for w in words]).generate_state(1)
    return int(state[0])


def _walk(n: int, length: int, words: Sequence[int]) -> np.ndarray:
    """``length`` items of ``range(n)``: fresh permutations (seeded by ``words``) back to back."""
    perms = [
        np.random.default_rng([*(w & _MASK64 for w in words), k]).permutation(n)
        for k in range(-(-length // n))
    ]
    return np.concatenate(perms)[:length]


class Order:
    """The sampling order of one rank (see the module docstring).

    Args:
        lengths: items per table (each > 0).
        seed: the permutation seed.
        rank, world: this rank and the number of ranks.
    """

    def __init__(self, lengths: Sequence[int], seed: int = 0, rank: int = 0, world: int = 1):
        """Store the table lengths and the seeds; epochs are computed on demand."""
        self.lengths = tuple(int(n) for n in lengths)
        self.seed, self.rank, self.world = seed, rank, world
        self._cache: tuple[int, list[list[int]]] | None = None

    def copy(self) -> Order:
        """The same order with its own cache (for a sampler running ahead of the trainer)."""
        return Order(self.lengths, self.seed, self.rank, self.world)

    @property
    def epoch_len(self) -> int:
        """Samples per epoch over all ranks (the longest table)."""
        return max(self.lengths)

    @property
    def per_rank(self) -> int:
        """Samples one rank visits per epoch."""
        return max(1, self.epoch_len // self.world)

    def epoch(self, epoch: int) -> list[list[int]]:
        """This rank's item indices of epoch ``epoch``: one list of ``per_rank`` per table."""
        if self._cache is None or self._cache[0] != epoch:
            tables = []
            for t, n in enumerate(self.lengths):
                walk = _walk(n, self.epoch_len, (self.seed, t, epoch))
                tables.append(walk[self.rank :: self.world][: self.per_rank].tolist())
            self._cache = (epoch, tables)
        return self._cache[1]

    def keys(self, k: int, epoch: int, index: int) -> tuple[list[Key], tuple[int, int]]:
        """The ``k`` samples from position ``(epoch, index)`` on, and the position after them.

        An index at the end of an epoch rolls over to the next epoch only when a sample is
        drawn from there, so ``(e, per_rank)`` marks "epoch ``e`` done".
        """
        keys = []
        for _ in range(k):
            if index >= self.per_rank:
                epoch, index = epoch + 1, 0
            picks = tuple(items[index] for items in self.epoch(epoch))
            seed = sample_seed(self.seed, self.rank, epoch, index)
            keys.append(Key(picks, seed))
            index += 1
        return keys, (epoch, index)

    def first(self, n: int) -> list[Key]:
        """The first ``n`` items of every table in file order (previews), seeds ``0..n-1``."""
        return [Key(tuple(i % m for m in self.lengths), i) for i in range(n)]


def window(
    hw: tuple[int, int], crop: tuple[int, int] | None, seed: int, table: int, center: bool
) -> tuple[int, int, int, int]:
    """The crop window ``(top, left, height, width)`` of a sample in an ``hw`` image.

    A pure function of the sample's ``seed`` and the ``table`` index (unpaired domains get their
    own windows); ``center`` gives the centred window; no ``crop``: the whole image.
    """
    h, w = hw
    if crop is None:
        return 0, 0, h, w
    ch, cw = crop
    if center:
        return (h - ch) // 2, (w - cw) // 2, ch, cw
    rng = np.random.default_rng([seed, table])
    return int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1)), ch, cw

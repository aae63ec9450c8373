"""Freeze networks for one block: the critic during the generator's update."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["frozen"]


@contextmanager
def frozen(*nets: nn.Module | None) -> Iterator[None]:
    """Turn off ``requires_grad`` of every parameter of ``nets`` inside the block.

    Gradients still flow *through* the networks to their inputs (a generator's loss on a
    critic's output), but no weight gradient of theirs is computed: that backward work is
    skipped, and an optimiser step on them afterwards sees no stale gradient. Each
    parameter's previous flag is restored on exit, also when the block raises. ``None``
    entries are ignored.

    Example::

        with frozen(d):
            loss_g = gan_loss("bce", d(torch.cat([x, fake], 1)), True, False)
        loss_g.backward()  # grads for the generator only
    """
    params = [p for net in nets if net is not None for p in net.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before, strict=True):
            p.requires_grad_(flag)

"""The image history pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017 use size 50).

The discriminator is shown a mix of the newest generated images and older ones, which
stabilises adversarial training. The whole pool state is one tensor ``(k, C, H, W)`` with
``0 <= k <= size``, so it fits a ``dict[str, Tensor]`` checkpoint (safetensors, no pickles).

Example (two pools kept in a family's checkpointed training state)::

    from ganedit.nn import ImagePool

    pool = ImagePool(50)
    state: dict[str, torch.Tensor] = {}
    fake_for_d_a = pool.query(state, "pool_a", fake_a.detach())
    fake_for_d_b = pool.query(state, "pool_b", fake_b.detach())
    # state["pool_a"], state["pool_b"] are plain tensors to save with the checkpoint
"""

from __future__ import annotations

import torch

__all__ = ["ImagePool", "empty_pool", "pool_query"]


def empty_pool(like: torch.Tensor) -> torch.Tensor:
    """An empty pool for images shaped like ``like``.

    Args:
        like: ``(N, C, H, W)`` images (any N); only shape, dtype and device are used.

    Returns:
        ``(0, C, H, W)`` tensor with the dtype and device of ``like``.
    """
    if like.dim() != 4:
        raise ValueError(f"pool images must be (N, C, H, W), got {tuple(like.shape)}")
    return like.new_empty((0, *like.shape[1:]))


def _check(pool: torch.Tensor, images: torch.Tensor, size: int) -> None:
    if size < 0:
        raise ValueError(f"pool size must be >= 0, got {size}")
    if images.dim() != 4:
        raise ValueError(f"pool images must be (N, C, H, W), got {tuple(images.shape)}")
    if pool.dim() != 4 or pool.shape[1:] != images.shape[1:]:
        raise ValueError(f"pool holds {tuple(pool.shape)} but the images are {tuple(images.shape)}")
    if pool.shape[0] > size:
        raise ValueError(f"pool holds {pool.shape[0]} images, more than its size {size}")


def pool_query(
    pool: torch.Tensor, images: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pass a batch through the image pool; functional (``pool`` is not modified).

    Per image, in batch order: while the pool holds fewer than ``size`` images the image is
    stored and returned as is. Once full, with probability 0.5 a uniformly drawn stored image
    is returned and replaced by the new one; otherwise the new image is returned. The ``m``
    images that meet a full pool draw their choices with one ``torch.rand(m)`` and one
    ``torch.randint(size, (m,))`` on ``images.device`` from the global RNG (whatever the
    outcomes), so a restored RNG state repeats the same choices. No host synchronisation.

    Args:
        pool: ``(k, C, H, W)`` stored images, ``0 <= k <= size`` (start with
            :func:`empty_pool`); moved to the dtype and device of ``images`` if needed.
        images: ``(N, C, H, W)`` float32 images, any range (typically generator outputs in
            ``[-1, 1]``).
        size: pool capacity (50 in CycleGAN); 0 disables the pool.

    Returns:
        ``(out, new_pool)``: ``out`` is ``(N, C, H, W)`` with the dtype of ``images``; entries
        that are the caller's own images keep their autograd history, entries drawn from the
        pool are detached. ``new_pool`` is ``(min(size, k + N), C, H, W)``, detached and
        contiguous. With ``size == 0``: ``(images, pool)`` unchanged.
    """
    _check(pool, images, size)
    if size == 0:
        return images, pool
    pool = pool.detach().to(images)
    fresh = images.detach()
    n_fill = min(size - pool.shape[0], images.shape[0])
    new_pool = torch.cat([pool, fresh[:n_fill]])  # a new tensor, safe to update in place
    rest = images.shape[0] - n_fill
    if rest == 0:
        return images, new_pool
    swap = torch.rand(rest, device=images.device) > 0.5
    slots = torch.randint(size, (rest,), device=images.device)
    outs = [images[:n_fill]]
    for i in range(rest):
        image, slot = images[n_fill + i : n_fill + i + 1], slots[i : i + 1]
        stored = new_pool.index_select(0, slot)
        outs.append(torch.where(swap[i], stored, image))
        kept = torch.where(swap[i], fresh[n_fill + i : n_fill + i + 1], stored)
        new_pool.index_copy_(0, slot, kept)
    return torch.cat(outs), new_pool


class ImagePool:
    """An image history pool of capacity ``size`` whose state lives in a caller's dict.

    The pool keeps no state itself: :meth:`query` reads and writes ``state[key]`` (a
    ``(k, C, H, W)`` tensor), so a family can keep several pools in its checkpointed
    training-state ``dict[str, Tensor]``.

    Args:
        size: capacity (50 in CycleGAN); 0 makes :meth:`query` the identity.
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size

    def query(self, state: dict[str, torch.Tensor], key: str, images: torch.Tensor) -> torch.Tensor:
        """Pass ``images`` through the pool stored at ``state[key]`` (created empty if absent).

        Args:
            state: training-state dict holding the pool tensor; updated in place.
            key: the pool's entry in ``state``.
            images: ``(N, C, H, W)`` float32 images, any range (typically ``[-1, 1]``).

        Returns:
            ``(N, C, H, W)`` images for the discriminator, see :func:`pool_query`.
        """
        pool = state.get(key)
        if pool is None:
            pool = empty_pool(images)
        out, state[key] = pool_query(pool, images, self.size)
        return out

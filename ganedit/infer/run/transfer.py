"""Device-to-host copies that overlap the next batch (GPU runs).

A synchronous ``.cpu()`` after each batch makes the host wait for the copy before it can
launch the next batch. :class:`HostCopy` instead starts a non-blocking copy into pinned host
memory (PyTorch's caching host allocator reuses those buffers) and records a CUDA event; the
pipeline keeps up to :data:`COPIES_IN_FLIGHT` of them pending while the next batch runs and
hands each one to the encoders only once its event has fired. On the CPU there is nothing to
copy: the tensor is the host array.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["COPIES_IN_FLIGHT", "HostCopy"]

#: Finished batches whose copy may still be pending, per device type (0: none, wait at once).
COPIES_IN_FLIGHT = {"cuda": 1}


class HostCopy:
    """One batch's output on its way to host memory.

    Args:
        out: ``(N, H, W, C)`` integer images on any device.
    """

    def __init__(self, out: torch.Tensor) -> None:
        self._event: torch.cuda.Event | None = None
        if out.device.type == "cuda":
            host = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
            host.copy_(out, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record(torch.cuda.current_stream(out.device))
            self._host = host
        else:
            self._host = out.cpu()

    def ready(self) -> bool:
        """True when the copy has finished (always on the CPU)."""
        return self._event is None or bool(self._event.query())

    def numpy(self) -> np.ndarray:
        """The host array, ``(N, H, W, C)``, waiting for the copy if it is still running."""
        if self._event is not None:
            self._event.synchronize()
        return self._host.numpy()

"""The device stage of a folder run: one model call at a time, or several in a pool.

:class:`ModelStage` runs each batch through :meth:`Editor.edit_pixels` and hands the result
(or the exception) to the pipeline's ``done`` callback, oldest batch first:

* with one worker (the default, and always on a GPU) the batch runs in the calling thread,
  on every core;
* with ``workers`` > 1 (``threads="2x1"``) up to that many batches run at once in a thread
  pool, each call with ``threads`` intra-op threads;
* a tiled image runs alone, on every thread, so its memory stays one row of tiles.

The layout (:func:`ganedit.infer.threads.choose_threads`) is settled when the first batch
arrives and reported through ``on_choice``.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
from collections.abc import Callable
from typing import Any

import torch

from ganedit.infer.options import check_threads
from ganedit.infer.threads import ThreadChoice, choose_threads, using_threads

__all__ = ["ModelStage"]

Result = Callable[[], torch.Tensor]
Done = Callable[[Any, Result], None]


class ModelStage:
    """Runs batches on the editor's device (module docstring).

    Args:
        editor: the loaded :class:`~ganedit.infer.editor.Editor`.
        requested: the ``threads`` option (``"auto"``, ``"T"`` or ``"WxT"``).
        done: ``done(tag, result)`` for each batch, oldest first: ``result()`` returns the
            ``edit_pixels`` output or raises its error.
        on_choice: called once with the :class:`ThreadChoice` when it is made.
    """

    def __init__(
        self,
        editor: Any,
        requested: str,
        done: Done,
        on_choice: Callable[[ThreadChoice], None] | None = None,
    ) -> None:
        self.editor, self.done, self.on_choice = editor, done, on_choice
        self.requested = check_threads(requested)
        self.before = torch.get_num_threads()
        self.choice: ThreadChoice | None = None
        self._pool: cf.ThreadPoolExecutor | None = None
        self._running: collections.deque[tuple[cf.Future[torch.Tensor], Any]] = collections.deque()

    def _decide(self) -> None:
        """Choose the thread layout and start the pool it needs."""
        self.choice = choose_threads(self.editor, self.requested)
        torch.set_num_threads(self.choice.threads)
        if self.choice.workers > 1:
            self._pool = cf.ThreadPoolExecutor(self.choice.workers, "ganedit-model")
        if self.on_choice is not None:
            self.on_choice(self.choice)

    def _every_thread(self) -> int:
        """The threads a tiled image runs on: all the layout's (``--threads 1`` stays 1)."""
        if self.choice is None:
            return self.before
        return self.choice.workers * self.choice.threads

    def run(
        self, tag: Any, images: torch.Tensor, masks: torch.Tensor | None, shape: tuple[int, int]
    ) -> None:
        """Run one batch (``(N, H, W, C)`` integer images, ``shape`` = ``(H, W)``)."""

        def call() -> torch.Tensor:
            return self.editor.edit_pixels(images, masks)

        tile = self.editor.plan(*shape)[0]
        if self.choice is None:
            self._decide()
        assert self.choice is not None
        if tile is not None:  # tiled: alone, on every thread
            self.finish(0)
            with using_threads(self._every_thread()):
                self.done(tag, call)
            return
        if self._pool is None:
            self.done(tag, call)
            return
        self.finish(self.choice.workers - 1)
        self._running.append((self._pool.submit(self._in_worker, call), tag))

    def _in_worker(self, call: Result) -> torch.Tensor:
        assert self.choice is not None
        torch.set_num_threads(self.choice.threads)
        return call()

    def finish(self, keep: int) -> None:
        """Hand finished batches to ``done``, oldest first, until at most ``keep`` run."""
        while len(self._running) > keep:
            fut, tag = self._running.popleft()
            self.done(tag, fut.result)

    def close(self, finish: bool) -> None:
        """Finish (when ``finish``) or drop the running batches, stop the pool, and restore
        the thread count the stage started with."""
        if finish:
            self.finish(0)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(self.before)

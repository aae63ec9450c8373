"""The tiling policy, the memory plan and the out-of-memory back-off (ganedit.infer.plan)."""

from __future__ import annotations

import pytest
import torch

from ganedit.family import IOSpec, Tiling
from ganedit.infer.plan import (
    MIN_TILE,
    OOMBackoff,
    TilePlan,
    UntiledMemoryError,
    plan_call,
    plan_tiling,
)


def test_honoured_request_has_no_note() -> None:
    plan = plan_tiling(64, 16, IOSpec(size_multiple=4, tiling=Tiling.supported(2)), "fam")
    assert (plan.tile, plan.overlap, plan.notes) == (64, 16, ())


def test_small_overlap_is_raised_to_the_family_minimum_with_a_note() -> None:
    io = IOSpec(tiling=Tiling.supported(radius=5))  # needs 20 px
    plan = plan_tiling(100, 4, io, "fam")
    assert (plan.tile, plan.overlap) == (100, 20)
    assert "need >= 20px overlap" in plan.notes[0] and plan.notes[0].startswith("fam:")


def test_needs_context_family_gets_its_overlap() -> None:
    plan = plan_tiling(0, 8, IOSpec(tiling=Tiling.needs_context(24)), "fam")
    assert plan.tile == 0 and plan.overlap == 24 and plan.tileable


def test_black_grid_case() -> None:
    plan = plan_tiling(16, 8, IOSpec(size_multiple=16, tiling=Tiling.supported(1)), "fam")
    assert (plan.tile, plan.overlap) == (32, 16)
    assert "multiples of 16" in plan.notes[0] and "32px" in plan.notes[0]


def test_untiled_family_never_tiles() -> None:
    io = IOSpec(tiling=Tiling.UNTILED)
    plan = plan_tiling(128, 16, io, "norm")
    assert not plan.tileable and plan.tile == 0 and "cannot be tiled" in plan.notes[0]
    assert plan_tiling(None, 16, io, "norm").notes == ()
    assert plan_call(5000, 5000, tiling=plan, scale=4, budget=10)[0] is None


def test_impossible_request_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        plan_tiling(-1, 16, IOSpec(), "fam")
    with pytest.raises(ValueError, match=">= 0"):
        plan_tiling(64, -4, IOSpec(), "fam")


def test_plan_call_auto_explicit_and_remembered_tiles() -> None:
    auto = TilePlan(None, 16, 4)
    assert plan_call(10, 10, tiling=auto, scale=2, budget=10_000) == (None, 16)  # MAX_AUTO_BATCH
    assert plan_call(10, 10, tiling=auto, scale=2, budget=2_000) == (None, 5)
    tile, batch = plan_call(1000, 1000, tiling=auto, scale=2, budget=100_000)
    assert tile is not None and tile % 4 == 0 and tile >= max(MIN_TILE, 32) and batch >= 1
    explicit = TilePlan(64, 16, 4)
    assert plan_call(50, 60, tiling=explicit, scale=1, budget=10**9)[0] is None  # fits a tile
    assert plan_call(50, 100, tiling=explicit, scale=1, budget=10**9)[0] == 64
    assert plan_call(100, 100, tiling=explicit, scale=1, budget=10**9, oom_tile=32)[0] == 32
    never = TilePlan(0, 16, 4)
    assert plan_call(100, 100, tiling=never, scale=1, budget=10**9, oom_tile=32)[0] == 32
    assert plan_call(100, 100, tiling=never, scale=1, budget=10**9, batch_size=3) == (None, 3)


def test_backoff_halves_batch_then_tile() -> None:
    calls: list[tuple[int | None, int]] = []

    def attempt(tile, batch):
        calls.append((tile, batch))
        if batch > 1 or tile is None or tile > 50:
            raise torch.OutOfMemoryError("simulated")
        return torch.zeros(1)

    backoff = OOMBackoff(TilePlan(None, 16, 4), "fam")
    with pytest.warns(RuntimeWarning, match="out of memory"):
        backoff.run(attempt, None, 4, (100, 90))
    assert calls == [(None, 4), (None, 2), (None, 1), (48, 1)]  # 100 px halved to a multiple
    assert backoff.tile == 48


def test_backoff_gives_up_below_the_smallest_tile() -> None:
    def attempt(tile, batch):
        raise torch.OutOfMemoryError("simulated")

    with pytest.raises(torch.OutOfMemoryError), pytest.warns(RuntimeWarning):
        OOMBackoff(TilePlan(None, 16, 4), "fam").run(attempt, None, 1, (200, 200))
    with pytest.raises(UntiledMemoryError, match="norm cannot be tiled"):
        OOMBackoff(TilePlan(0, 0, tileable=False), "norm").run(attempt, None, 2, (50, 70))

"""Settings by measurement (:func:`ganedit.measured.measured_choice`) on a fake clock, so the
test never races a busy machine's wall clock: the warm-up round does not count, candidates
alternate, the fastest wins, and the answer is remembered on disk and recalled unmeasured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganedit import measured


class _Clock:
    """Time passes only when a job says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _Clock:
    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(measured, "_SEEN", {})
    fake = _Clock()
    monkeypatch.setattr(measured, "_clock", fake)
    return fake


def test_the_fastest_wins_after_a_warm_up_round_and_is_recalled(clock: _Clock) -> None:
    cost = {"slow": 0.5, "fast": 0.2}
    calls: list[str] = []

    def job(name: str) -> None:
        first_round = len(calls) < len(cost)
        calls.append(name)
        clock.now += 10.0 if first_round else cost[name]  # a slow warm-up, then the costs

    cpu = torch.device("cpu")
    best, source, seconds = measured.measured_choice("test|job", ["slow", "fast"], job, cpu)
    assert (best, source) == ("fast", "measured")
    assert seconds == pytest.approx(cost)
    assert calls == ["slow", "fast"] * (measured.RUNS + 1)  # alternating, warm-up first
    doc = json.loads(measured.cache_path().read_text(encoding="utf-8"))
    (key,) = doc
    assert key.startswith("test|job|") and doc[key]["name"] == "fast"

    measured._SEEN.clear()
    calls.clear()
    again = measured.measured_choice("test|job", ["slow", "fast"], job, cpu)
    assert again[:2] == ("fast", "cached") and calls == []

"""Jobs and the option parsing of ``ganedit serve``, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganedit.config import ConfigError
from ganedit.serve.jobs import Job, JobCancelled, Jobs, cancelled_end
from ganedit.serve.paths import OutsideRoot, Roots
from ganedit.serve.work import split_options
from ganedit.testing import TinyUpscale


def test_cancel_is_not_an_exception_a_file_could_swallow() -> None:
    job = Job("folder", "m")
    job.on_event({"event": "file", "status": "done", "input": "a"})
    job.cancel()
    job.on_event({"event": "warning", "message": "not a file record: goes on"})
    with pytest.raises(JobCancelled):
        job.on_event({"event": "file", "status": "failed", "input": "b", "error": "cut"})
    assert not issubclass(JobCancelled, Exception)
    end = cancelled_end(job, "out")
    assert (end["done"], end["failed"], end["cancelled"]) == (
        1,
        [{"input": "b", "error": "cut"}],
        True,
    )


def test_old_results_are_deleted(tmp_path: Path) -> None:
    jobs = Jobs()
    made = []
    for i in range(5):
        folder = tmp_path / f"job{i}"
        folder.mkdir()
        job = Job("edit", "m", folder)
        job.result = folder / "out.png"
        job.finish("done")
        made.append(jobs.start(job, lambda j: None))
    jobs.prune(keep=2)
    assert [j.folder is not None for j in made] == [False, False, False, True, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job3", "job4"]


def test_options_split_typed_and_checked(tmp_path: Path) -> None:
    roots = Roots([tmp_path])
    run, config = split_options(
        {"scale": "4", "tile": "64", "skip_existing": "true", "outscale": "", "weights": "random"},
        TinyUpscale.Config, roots,
    )  # fmt: skip
    assert run == {"tile": 64, "skip_existing": True, "weights": "random"}
    assert config == {"scale": "4"}  # ganedit.load coerces Config values
    with pytest.raises(ConfigError):
        split_options({"nope": 1}, TinyUpscale.Config, roots)
    with pytest.raises(ValueError, match="quality"):
        split_options({"quality": "300"}, TinyUpscale.Config, roots)
    with pytest.raises(OutsideRoot):
        split_options({"weights": "/etc/passwd"}, TinyUpscale.Config, roots)
    with pytest.raises(ValueError, match="device|unknown"):
        split_options({"device": "cuda"}, TinyUpscale.Config, roots)  # the server's own

"""Executors (no Ray needed): the registry and its refusals, ``--executor`` on the command
line, the usage error without the ``ray`` extra, the engine-agnostic seam
(``process_items``) and the manifest merge."""

from __future__ import annotations

import dataclasses
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_kit import TinyKeep, TinyUp

import ganedit
from ganedit.infer import (
    Executor,
    ExecutorOptions,
    ExecutorUnavailable,
    list_executors,
    load,
    merge_manifests,
    process_items,
    run_folder,
)
from ganedit.infer.run.executors import make_executor
from ganedit.io import InputItem, Manifest, read_image, write_image
from ganedit.plugins import executor_classes, get_plugin_manager, plugin_records


def _tree(src: Path, n: int = 4) -> list[InputItem]:
    rng = np.random.default_rng(3)
    items = []
    for i in range(n):
        write_image(src / f"{i}.png", rng.integers(0, 256, (8, 10, 3), np.uint8))
        items.append(InputItem(src / f"{i}.png", Path(f"{i}.png")))
    return items


def test_process_items_is_the_pipeline_without_a_driver(tmp_path: Path) -> None:
    items = _tree(tmp_path / "in")
    (tmp_path / "in" / "bad.png").write_bytes(b"")
    items.append(InputItem(tmp_path / "in" / "bad.png", Path("bad.png")))
    ed = load(TinyUp(), weights=False)
    seen: list[int] = []
    records = process_items(
        ed, items, output=tmp_path / "out", on_record=lambda pos, rec: seen.append(pos)
    )
    assert [r["status"] for r in records] == ["done"] * 4 + ["failed"]
    assert "empty" in records[-1]["error"] and sorted(seen) == list(range(5))
    assert np.array_equal(read_image(tmp_path / "out" / "2.png"), ed(read_image(items[2].path)))
    assert not (tmp_path / "out" / "ganedit-run.json").exists()  # the driver's job, not its
    report = run_folder(ed, tmp_path / "in", tmp_path / "ref", progress=False)
    assert [r["input"] for r in records] == [os.fspath(p) for p in [*report.done, items[-1].path]]


def test_merge_manifests_keeps_one_record_per_input(tmp_path: Path) -> None:
    a, b = Manifest(tmp_path / "a.json", model="m"), Manifest(tmp_path / "b.json", model="m")
    a.add({"input": "x", "status": "done", "output": "o/x"})
    a.add({"input": "y", "status": "failed", "error": "worker died"})
    b.add({"input": "y", "status": "done", "output": "o/y"})  # the rerun succeeded
    b.add({"input": "x", "status": "failed", "error": "late"})  # never replaces a success
    b.add({"input": "z", "status": "done", "output": "o/z"})
    merged = merge_manifests([a, b], tmp_path / "m.json")
    assert [(r["input"], r["status"]) for r in merged.records] == [
        ("x", "done"), ("y", "done"), ("z", "done"),
    ]  # fmt: skip
    assert merged.run["finished"] and merged.run["model"] == "m"
    with pytest.raises(ValueError):
        merge_manifests([], tmp_path / "none.json")


def test_the_encode_pool_follows_jobs_and_the_cpu_affinity(tmp_path, monkeypatch) -> None:
    from ganedit.infer.run import pipeline

    sizes: list[tuple[int, int]] = []
    real = pipeline.Pipeline.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        sizes.append((self.decode_workers, self.encode_workers))

    monkeypatch.setattr(pipeline.Pipeline, "__init__", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    _tree(tmp_path / "in", 2)
    ed = load(TinyKeep(), weights=False)
    assert run_folder(ed, tmp_path / "in", tmp_path / "a", progress=False).exit_code == 0
    assert run_folder(ed, tmp_path / "in", tmp_path / "b", progress=False, jobs=3).exit_code == 0
    assert sizes == [(1, 1), (3, 3)]  # never os.cpu_count()'s 64


@dataclasses.dataclass
class _Chunks(ExecutorOptions):
    chunk: int = dataclasses.field(default=2, metadata={"help": "Files per call.", "min": 1})


class _Twice(Executor):
    """Runs every chunk twice, as Ray does after a worker died: the driver keeps one record."""

    name = "twice"
    Options = _Chunks

    def run(self, order, sink):
        for start in range(0, len(order.work), self.options.chunk):
            chunk = order.work[start : start + self.options.chunk]
            for _ in range(2):
                recs = process_items(
                    order.editor, [it for _, it in chunk], order.options, output=order.output
                )
                for (index, _), rec in zip(chunk, recs, strict=True):
                    sink.record(index, rec)


def _register(monkeypatch, name: str, **executors) -> types.ModuleType:
    module = types.ModuleType(name)

    @ganedit.hookimpl
    def ganedit_register_executors(register):
        for key, cls in executors.items():
            register(key.replace("_", "-"), cls)

    module.ganedit_register_executors = ganedit_register_executors
    get_plugin_manager().register(module, name=name)
    return module


def test_a_batch_run_twice_still_gives_one_record_per_input(tmp_path, monkeypatch) -> None:
    _register(monkeypatch, "twice-plugin", twice=_Twice)
    _tree(tmp_path / "in", 5)
    events: list[dict] = []
    report = run_folder(
        TinyKeep(), tmp_path / "in", tmp_path / "out", weights=False, progress=False,
        executor="twice", executor_options={"chunk": 2}, on_event=events.append,
    )  # fmt: skip
    assert report.exit_code == 0 and len(report.done) == 5
    assert sum(e["event"] == "file" for e in events) == 5
    man = Manifest.load(tmp_path / "out")
    assert len(man.records) == 5 and man.run["extra"]["repeats"] == 5


def test_registrations_are_checked(monkeypatch) -> None:
    @dataclasses.dataclass
    class Clash(ExecutorOptions):
        jobs: int = dataclasses.field(default=1, metadata={"help": "Taken by a run option."})

    class Bad(Executor):
        name = "bad"
        Options = Clash

    _register(monkeypatch, "mixed-plugin", twice=_Twice, local=_Twice, bad=Bad, not_an_executor=int)
    _register(monkeypatch, "second-plugin", twice=_Twice)
    found = executor_classes()
    assert found["twice"] is _Twice and not {"bad", "local", "not-an-executor"} & set(found)
    assert list_executors() == sorted(["local", "ray", "twice"])  # ray: the built-in plugin
    errors = " ".join(r.error or "" for r in plugin_records())
    assert "'local' is built in" in errors and "jobs (a run option)" in errors
    assert "expects an Executor subclass" in errors
    assert "already registered by plugin 'mixed-plugin'" in errors
    with pytest.raises(ExecutorUnavailable, match="known executors: local, ray, twice"):
        make_executor("nope")
    with pytest.raises(ValueError, match="size: not an option of the twice executor"):
        make_executor("twice", {"size": 3})
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        make_executor("twice", {"chunk": 0})


def test_without_ray_the_ray_executor_is_a_usage_error_naming_the_extra(
    tmp_path, monkeypatch
) -> None:
    from ganedit.cli import cli as main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    _tree(tmp_path / "in", 1)
    result = CliRunner().invoke(
        main, ["run", "srgan", "--executor", "ray", str(tmp_path / "in"), str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert "pip install 'ganedit[ray]'" in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(ExecutorUnavailable, match=r"ganedit\[ray\]"):
        run_folder("srgan", tmp_path / "in", tmp_path / "o2", executor="ray")


def test_an_option_of_another_executor_is_a_usage_error(tmp_path) -> None:
    from ganedit.cli import cli as main

    _tree(tmp_path / "in", 1)
    args = ["run", "srgan", "--workers", "2", str(tmp_path / "in"), str(tmp_path / "out")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--workers is an option of --executor ray" in result.output
    result = CliRunner().invoke(main, ["run", "srgan", "--help"])
    assert "--executor NAME" in result.output and "[--executor ray]" in result.output
    assert "--ray-address" in result.output and "--gpus-per-worker" in result.output

"""One local Ray instance per test module (``ray.init`` costs 4-15 s here), its processes
confined to the module's temp folder: ``HOME`` (Ray writes ``~/.ray``), ``RAY_TMPDIR``, the
memory monitor off (``RAY_memory_monitor_refresh_ms=0``: it kills workers when other
processes fill the machine), two CPUs, and the ``ray-probe`` fixture plugin and the test kit
it builds on (``tests/tiny_kit.py``) importable by the driver, the actors and subprocess
drivers (``PYTHONPATH``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_helpers import FIXTURES, KIT, PLUGINS, import_ray

from ganedit.plugins import reset_plugins


@pytest.fixture(scope="module")
def ray_cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A local Ray instance for the module (``RAY_NUM_CPUS`` logical CPUs in the test module,
    default 2); yields its address (``HOST:PORT``)."""
    ray = import_ray()
    root = tmp_path_factory.mktemp("ray")
    env = {
        "HOME": str(root / "home"),
        "RAY_TMPDIR": str(root / "t"),
        "RAY_memory_monitor_refresh_ms": "0",
        "PYTHONPATH": os.pathsep.join(
            [str(FIXTURES), str(PLUGINS), str(KIT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    for d in ("HOME", "RAY_TMPDIR"):
        Path(env[d]).mkdir(parents=True, exist_ok=True)
    try:
        cpus = getattr(request.module, "RAY_NUM_CPUS", 2)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def probe_plugin(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``ray-probe`` fixture plugin importable in this process."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    reset_plugins()
    return FIXTURES

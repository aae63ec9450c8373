import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganedit.engine import shard

HERE = Path(__file__).parent
REPO = HERE.parent.parent
KIT = HERE.parent  # tests/: tiny_kit.py

SCRIPT = """
import os, sys
sys.path.insert(0, {kit!r})
import torch
from safetensors.torch import save_file
from tiny_kit import GANConfig, TinyGAN, tiny_data
from ganedit.engine import Engine, fit

engine = Engine(device="cpu", seed=1)
assert engine.world_size == 2 and torch.distributed.get_backend() == "gloo"
data = tiny_data(16)
res = fit(TinyGAN(), GANConfig(), data, sys.argv[1], engine, steps=4, checkpoint_every=2,
          sample_every=2, log_every=1, progress=False)
seen = data.order.epoch(0)[0]
gen = engine.nets_raw["generator"].state_dict()
save_file({{k: v.contiguous() for k, v in gen.items()}}, os.path.join(sys.argv[2], f"rank{{engine.rank}}.safetensors"))
with open(os.path.join(sys.argv[2], f"rank{{engine.rank}}.txt"), "w") as fh:
    fh.write(" ".join(map(str, seen)))
"""


@pytest.mark.slow
def test_two_gloo_ranks_end_identical_and_write_once(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT.format(kit=str(KIT)))
    out, side = tmp_path / "run", tmp_path / "side"
    side.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--standalone",
            str(script),
            str(out),
            str(side),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_file(str(side / "rank0.safetensors")), load_file(str(side / "rank1.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    exported = load_file(str(out / "tiny-gan.safetensors"))
    assert all(torch.equal(a[k], exported[f"generator.{k}"]) for k in a)
    # each rank saw a different half of the data
    r0 = set(map(int, (side / "rank0.txt").read_text().split()))
    r1 = set(map(int, (side / "rank1.txt").read_text().split()))
    assert len(r0) == len(r1) == 8 and not r0 & r1
    # files written once (rank 0): one row per step, one card
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    card = json.loads((out / "tiny-gan.json").read_text())
    assert card["training"]["world_size"] == 2


def test_shard_covers_every_item_once():
    items = list(range(11))
    parts = [shard(items, r, 3) for r in range(3)]
    assert sorted(x for p in parts for x in p) == items
    assert parts[0] == [0, 3, 6, 9]
    assert shard(items) == items  # not distributed
    with pytest.raises(ValueError):
        shard(items, 3, 3)

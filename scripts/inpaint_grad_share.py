"""How much of the generator's output gradient each loss term carries (inpaint recipe check).

For one batch of training crops, the gradient of every weighted generator loss term with
respect to the composited output is taken on its own; the script prints each term's L2 norm
over the hole (a term on the raw output counts through its hole pixels, which the composite
shares) and its share of the sum of norms, at initialisation (the output gate set to
0.05, as after a few dozen steps). The issue this answers: with the earlier recipe the
adversarial and feature-matching terms carried under 15 % of the gradient, so the GAN could
not act. Only training data is read (``data/inpaint-train``).

    .venv/bin/python scripts/inpaint_grad_share.py [--set fm_weight=100 --set texture_weight=100]

``--checkpoint RUN/checkpoints/step-N.json`` measures a trained run instead: its generator (raw,
not EMA) and discriminator, with its config, the ``--set`` overrides applied on top.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from ganedit_inpaint.family import Inpaint
from ganedit_inpaint.fill import fill_and_base

from ganedit.config import update_config
from ganedit.engine.checkpoint import load_state

ROOT = Path(__file__).resolve().parents[1]
RECIPE = {
    "width": 16, "blocks": 6, "downsamplings": 3, "norm": "none", "gate": True,
    "prefill": "smooth", "smooth_iters": 64, "crop_size": 128, "batch_size": 8,
    "d_width": 32, "d_layers": 2, "l1_known_weight": 0.0, "l1_hole_weight": 0.0,
    "lowpass_weight": 30.0, "texture_weight": 300.0, "adv_weight": 10.0, "fm_weight": 10.0,
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    ap.add_argument("--data", type=Path, default=ROOT / "data/inpaint-train")
    ap.add_argument("--checkpoint", type=Path, default=None, help="a run's checkpoint .json")
    args = ap.parse_args()
    torch.manual_seed(0)
    fam = Inpaint()
    values: dict[str, object] = dict(RECIPE)
    state = None
    if args.checkpoint is not None:
        state, doc = load_state(args.checkpoint)
        values = dict(doc["meta"]["config"])
    for kv in args.set:
        k, v = kv.split("=", 1)
        values[k] = v
    cfg = update_config(fam.Config(), values)
    nets = fam.build(cfg)
    g, d = nets["generator"], nets["discriminator"]
    if state is not None:
        g.load_state_dict(state["nets"]["generator"])
        d.load_state_dict(state["nets"]["discriminator"])
    elif g.out_gate is not None:  # as after a few steps: the gate open a little
        g.out_gate.data.fill_(0.05)
    data = fam.dataset({"data": [args.data]}, cfg).setup(torch.device("cpu"), seed=0)
    batch = data.next_batch(int(cfg.batch_size))
    x, m = batch["image"].float(), (batch["mask"] > 0.5).float()
    raw, _ = fill_and_base(g, x, m, cfg)
    filled = (raw * m + x * (1 - m)).detach().requires_grad_(True)
    fake_logits, fake_feats = d(filled * 2 - 1)
    with torch.no_grad():
        _, real_feats = d(x * 2 - 1)
    hole_raw = filled * m + raw.detach() * (1 - m)  # the raw output, hole pixels from `filled`
    terms = Inpaint._g_losses(cfg, x, m, hole_raw, filled, fake_logits, fake_feats, real_feats)
    norms = {}
    for k, v in terms.items():
        (grad,) = torch.autograd.grad(v, filled, retain_graph=True, allow_unused=True)
        norms[k] = 0.0 if grad is None else float((grad * m).norm())
    total = sum(norms.values()) or 1.0
    for k, v in norms.items():
        print(
            f"{k:10s} value {float(terms[k].detach()):9.4f}  grad {v:.3e}  share {v / total:6.1%}"
        )


if __name__ == "__main__":
    main()

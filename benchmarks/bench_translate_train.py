"""pix2pix, CycleGAN and CUT training throughput: the reference repositories' loops vs ganedit's
engine, and CUT / FastCUT / CycleGAN side by side.

Baseline (the loop of junyanz/pytorch-CycleGAN-and-pix2pix, rewritten here): a
``torch.utils.data.DataLoader`` over image *files*, each item decoded per access (OpenCV),
resized to ``load_size``, randomly cropped to ``crop_size`` and flipped on the CPU per item,
converted to float in ``[-1, 1]``; one step per batch with the same updates as the family
(pix2pix: D on real/fake pairs, then G on GAN + 100 L1; CycleGAN: both generators on
LSGAN + cycle + identity, then both critics on pooled fakes), plain ``torch.optim.Adam``.

CUT's baseline follows taesungp/contrastive-unpaired-translation: D updated first, then G and
the MLP head, the keys from a second encoder pass over the real images (ganedit takes them from
the generator's own pass: instance norm works per image, so they are the same numbers).

ganedit: :class:`ganedit.engine.Engine` (fp32, NaN guard; EMA off) with the family's
``training_step`` on ``family.dataset`` data (decoded once, kept on the device as uint8,
jitter and flip by kornia on the batch).

Same networks (``family.build``), batch size and files (``data/fashion-edges/train``,
``data/fashion-cycle/train{A,B}`` from ``scripts/make_translation_data.py``; random files when
absent). Baseline and ganedit alternate ``--repeats`` times so the load of a shared machine hits
both alike; the best repeat of each is reported::

    python benchmarks/bench_translate_train.py [--steps 20] [--repeats 2] [--family pix2pix]
    python benchmarks/bench_translate_train.py --family unpaired --steps 10   # cut, fastcut, cyclegan

``--family unpaired`` times ganedit's ``training_step`` of CycleGAN (the bundled weights'
loss settings), CUT and FastCUT with the same generator (width 12, 4 blocks), critics and
batch (2 per domain), alternating, best of ``--repeats``, as images per second of each domain
(as every line here: a step of batch 2 counts 2), with each one's ratio to CycleGAN.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from _machine import machine
from ganedit_translate.cut import CUT, CUTConfig, patch_nce, resolved
from ganedit_translate.cyclegan import CycleGAN, CycleGANConfig
from ganedit_translate.pix2pix import Pix2Pix, Pix2PixConfig

from ganedit.config import update_config
from ganedit.engine import Engine
from ganedit.family import Step
from ganedit.nn import ImagePool, gan_loss

EDGES = Path("data/fashion-edges/train")
CYCLE = Path("data/fashion-cycle")


class FileItems(torch.utils.data.Dataset):
    """Per-item decode, resize to ``load``, random ``crop`` and flip; ``(1, crop, W)`` in
    ``[-1, 1]`` (``W = 2 * crop`` for an A|B file, cropped and flipped as one)."""

    def __init__(self, files: list[Path], load: int, crop: int, pair: bool) -> None:
        self.files, self.load, self.crop, self.pair = files, load, crop, pair

    def __len__(self) -> int:
        return len(self.files)

    def _jitter(self, img: np.ndarray, ox: int, oy: int, flip: bool) -> np.ndarray:
        img = cv2.resize(img, (self.load, self.load), interpolation=cv2.INTER_CUBIC)
        img = img[oy : oy + self.crop, ox : ox + self.crop]
        return img[:, ::-1] if flip else img

    def __getitem__(self, i: int) -> Any:
        img = cv2.imread(str(self.files[i]), cv2.IMREAD_GRAYSCALE)
        ox, oy = np.random.randint(0, self.load - self.crop + 1, 2)
        flip = bool(np.random.rand() < 0.5)
        halves = np.split(img, 2, axis=1) if self.pair else [img]
        out = [self._jitter(h, ox, oy, flip) for h in halves]
        tensors = [torch.from_numpy(o.copy()).float().div(127.5).sub(1)[None] for o in out]
        return tuple(tensors) if self.pair else tensors[0]


def _adam(params: Any, cfg: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas))


def _pix2pix_step(nets: dict, opts: dict, cfg: Pix2PixConfig, x: Any, y: Any) -> torch.Tensor:
    g, d = nets["generator"], nets["discriminator"]
    fake = g(x)
    loss_d = 0.5 * (
        gan_loss("bce", d(torch.cat([x, y], 1)), True)
        + gan_loss("bce", d(torch.cat([x, fake.detach()], 1)), False)
    )
    opts["d"].zero_grad()
    loss_d.backward()
    opts["d"].step()
    loss_g = gan_loss("bce", d(torch.cat([x, fake], 1)), True, False)
    loss_g = loss_g + cfg.l1_weight * (fake - y).abs().mean()
    opts["g"].zero_grad()
    loss_g.backward()
    opts["g"].step()
    return loss_g


def _cycle_step(nets: dict, opts: dict, cfg: CycleGANConfig, a: Any, b: Any, state: dict) -> Any:
    fb, fa = nets["a2b"](a), nets["b2a"](b)
    cyc = (nets["b2a"](fb) - a).abs().mean() + (nets["a2b"](fa) - b).abs().mean()
    idt = torch.zeros(())
    if cfg.identity > 0:
        idt = (nets["a2b"](b) - b).abs().mean() + (nets["b2a"](a) - a).abs().mean()
    adv = gan_loss("lsgan", nets["d_b"](fb), True) + gan_loss("lsgan", nets["d_a"](fa), True)
    loss_g = adv + cfg.cycle_weight * (cyc + cfg.identity * idt)
    opts["g"].zero_grad()
    loss_g.backward()
    opts["g"].step()
    pool = ImagePool(cfg.pool_size)
    ob, oa = pool.query(state, "b", fb.detach()), pool.query(state, "a", fa.detach())
    loss_d = 0.5 * (
        gan_loss("lsgan", nets["d_b"](b), True) + gan_loss("lsgan", nets["d_b"](ob), False)
    ) + 0.5 * (gan_loss("lsgan", nets["d_a"](a), True) + gan_loss("lsgan", nets["d_a"](oa), False))
    opts["d"].zero_grad()
    loss_d.backward()
    opts["d"].step()
    return loss_g


def _cut_nce(g: Any, head: Any, src: Any, out: Any, cfg: CUTConfig) -> Any:
    layers = list(cfg.nce_layers)
    q, k = g(out, layers), g(src, layers)  # the reference's two encoder passes
    ids = [
        torch.from_numpy(np.random.permutation(f.shape[2] * f.shape[3])[: cfg.num_patches])
        for f in k
    ]
    qs, ks = head(q, ids), head(k, ids)
    return torch.stack(
        [patch_nce(a, b, src.shape[0], cfg.tau) for a, b in zip(qs, ks, strict=True)]
    ).mean()


def _cut_step(nets: dict, opts: dict, cfg: CUTConfig, a: Any, b: Any, state: dict) -> Any:
    """Both directions as the reference's CUTModel.optimize_parameters: D first, then G + F."""
    weight, idt, _ = resolved(cfg)
    loss = torch.zeros(())
    for g_name, src, tgt, d_name in (("a2b", a, b, "d_b"), ("b2a", b, a, "d_a")):
        g, head, d = nets[g_name], nets[f"f_{g_name}"], nets[d_name]
        real = torch.cat([src, tgt]) if idt else src
        fake_all = g(real)
        fake = fake_all[: src.shape[0]]
        loss_d = 0.5 * (
            gan_loss("lsgan", d(fake.detach()), False) + gan_loss("lsgan", d(tgt), True)
        )
        opts["d"].zero_grad()
        loss_d.backward()
        opts["d"].step()
        for p in d.parameters():
            p.requires_grad_(False)
        nce = _cut_nce(g, head, src, fake, cfg)
        if idt:
            nce = 0.5 * (nce + _cut_nce(g, head, tgt, fake_all[src.shape[0] :], cfg))
        loss = gan_loss("lsgan", d(fake), True) + weight * nce
        opts["g"].zero_grad()
        loss.backward()
        opts["g"].step()
        for p in d.parameters():
            p.requires_grad_(True)
    return loss


def _loaders(name: str, cfg: Any, files: dict[str, list[Path]], workers: int) -> list[Any]:
    kw = {"batch_size": cfg.batch_size, "shuffle": True, "drop_last": True}
    kw["num_workers"] = workers
    if name == "pix2pix":
        ds = FileItems(files["data"], cfg.load_size, cfg.crop_size, pair=True)
        return [torch.utils.data.DataLoader(ds, **kw)]
    return [
        torch.utils.data.DataLoader(FileItems(files[r], cfg.load_size, cfg.crop_size, False), **kw)
        for r in ("a", "b")
    ]


def bench_baseline(
    name: str, cfg: Any, files: dict, steps: int, warmup: int, workers: int
) -> float:
    torch.manual_seed(0)
    fam = _family(name)
    nets = {k: v.train() for k, v in fam.build(cfg).items()}
    if name == "pix2pix":
        opts = {"g": _adam(nets["generator"].parameters(), cfg)}
        opts["d"] = _adam(nets["discriminator"].parameters(), cfg)
    else:
        gens = ("a2b", "b2a", "f_a2b", "f_b2a") if name == "cut" else ("a2b", "b2a")
        opts = {"g": _adam([p for k in gens for p in nets[k].parameters()], cfg)}
        opts["d"] = _adam([p for k in ("d_a", "d_b") for p in nets[k].parameters()], cfg)
    state: dict[str, torch.Tensor] = {}
    loaders = _loaders(name, cfg, files, workers)
    done, t0 = 0, 0.0
    while True:
        for batch in zip(*loaders, strict=False):
            if done == warmup:
                t0 = time.perf_counter()
            if name == "pix2pix":
                loss = _pix2pix_step(nets, opts, cfg, *batch[0])
            elif name == "cut":
                loss = _cut_step(nets, opts, cfg, batch[0], batch[1], state)
            else:
                loss = _cycle_step(nets, opts, cfg, batch[0], batch[1], state)
            done += 1
            if done == warmup + steps:
                loss.item()
                return steps * cfg.batch_size / (time.perf_counter() - t0)


def _family(name: str) -> Any:
    return {"pix2pix": Pix2Pix, "cyclegan": CycleGAN, "cut": CUT}[name]()


def bench_ganedit(name: str, cfg: Any, files: dict, steps: int, warmup: int) -> float:
    fam = _family(name)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    nets = engine.setup(fam.build(cfg))
    opts = fam.optimizers(nets, cfg)
    data = fam.dataset(files, cfg).setup(engine.device, seed=0)
    engine.data = data  # as fit() does: the measured memory format reaches the batches too
    fixed = fam.validation_inputs(data.preview(8), cfg)
    print(f"  ganedit memory format: {engine.choose_memory_format(fam, cfg, fixed).describe()}")
    state = fam.training_state(cfg)
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        losses = fam.training_step(
            Step(nets, opts, cfg, engine, state, i), data.next_batch(cfg.batch_size)
        )
    next(iter(losses.values())).item()
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def _files(tmp: Path, n: int) -> dict[str, dict[str, list[Path]]]:
    """The project's data files, or random stand-ins of the same shapes."""
    out: dict[str, dict[str, list[Path]]] = {}
    if EDGES.is_dir() and (CYCLE / "trainA").is_dir():
        out["pix2pix"] = {"data": sorted(EDGES.glob("*.png"))[:n]}
        out["cyclegan"] = {r: sorted((CYCLE / f"train{r.upper()}").glob("*.png"))[:n] for r in "ab"}
        out["cut"] = out["cyclegan"]
        return out
    rng = np.random.default_rng(0)
    for sub, w in (("pairs", 128), ("a", 64), ("b", 64)):
        (tmp / sub).mkdir()
        for i in range(n):
            cv2.imwrite(str(tmp / sub / f"{i}.png"), rng.integers(0, 256, (64, w), dtype=np.uint8))
    out["pix2pix"] = {"data": sorted((tmp / "pairs").glob("*.png"))}
    out["cyclegan"] = {r: sorted((tmp / r).glob("*.png")) for r in "ab"}
    out["cut"] = out["cyclegan"]
    return out


def configs(batch_p2p: int, batch_cyc: int) -> dict[str, Any]:
    """The bundled weights' training settings (64x64 gray)."""
    p2p = {"in_channels": 1, "out_channels": 1, "depth": 6, "width": 12, "ndf": 32}
    p2p.update(d_layers=2, load_size=72, crop_size=64, batch_size=batch_p2p, ema_decay=0.0)
    cyc = {"channels": 1, "width": 16, "blocks": 6, "ndf": 32, "d_layers": 3, "load_size": 72}
    cyc.update(crop_size=64, batch_size=batch_cyc, ema_decay=0.0, identity=0.0)
    return {
        "pix2pix": update_config(Pix2PixConfig(), p2p),
        "cyclegan": update_config(CycleGANConfig(), cyc),
        "cut": unpaired_configs(batch_cyc)["cut"],
    }


def unpaired_configs(batch: int) -> dict[str, Any]:
    """CycleGAN (the retrained bundled weights' losses), CUT and FastCUT with one generator
    shape (width 12, 4 blocks; CUT: the bundled weights' head and layers), 64x64 gray."""
    net = {"channels": 1, "width": 12, "blocks": 4, "ndf": 32, "d_layers": 3, "load_size": 72}
    net.update(crop_size=64, batch_size=batch, ema_decay=0.0)
    cyc = {**net, "identity": 0.0, "cycle_weight": 5.0, "content_weight": 3.0}
    cut = {**net, "nce_layers": (0, 4, 7, 10, 12), "head_width": 64}
    return {
        "cyclegan": update_config(CycleGANConfig(), cyc),
        "cut": update_config(CUTConfig(), cut),
        "fastcut": update_config(CUTConfig(), {**cut, "mode": "fastcut"}),
    }


def side_by_side(files: dict, steps: int, warmup: int, repeats: int, batch: int) -> None:
    """ganedit's training_step of CycleGAN, CUT and FastCUT, alternating; best of repeats."""
    cfgs = unpaired_configs(batch)
    print(f"unpaired, ganedit engine: 64x64 gray, batch {batch} per domain, {steps} timed steps")
    best = dict.fromkeys(cfgs, 0.0)
    for r in range(repeats):
        for name, cfg in cfgs.items():
            fam = "cyclegan" if name == "cyclegan" else "cut"
            ips = bench_ganedit(fam, cfg, files[fam], steps, warmup)  # per domain
            best[name] = max(best[name], ips)
            print(f"  repeat {r + 1}: {name} {ips:.2f} img/s", flush=True)
    for name, ips in best.items():
        print(f"  {name}: {ips:.2f} img/s ({ips / best['cyclegan']:.2f}x cyclegan)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--family", choices=["pix2pix", "cyclegan", "cut", "both", "unpaired"], default="both"
    )
    ap.add_argument("--batch-pix2pix", type=int, default=16)
    ap.add_argument("--batch-cyclegan", type=int, default=4, help="also CUT's (--family cut)")
    ap.add_argument("--batch-unpaired", type=int, default=2, help="--family unpaired")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=0, help="baseline DataLoader workers")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    cfgs = configs(args.batch_pix2pix, args.batch_cyclegan)
    names = ["pix2pix", "cyclegan"] if args.family == "both" else [args.family]
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp), args.images)
        if args.family == "unpaired":
            side_by_side(files, args.steps, args.warmup, args.repeats, args.batch_unpaired)
            return
        for name in names:
            cfg = cfgs[name]
            print(f"{name}: 64x64 gray, batch {cfg.batch_size}, fp32, {args.steps} timed steps")
            base, ours = [], []
            for r in range(args.repeats):
                base.append(
                    bench_baseline(name, cfg, files[name], args.steps, args.warmup, args.workers)
                )
                ours.append(bench_ganedit(name, cfg, files[name], args.steps, args.warmup))
                print(f"  repeat {r + 1}: baseline {base[-1]:.1f} img/s, ganedit {ours[-1]:.1f}")
            b, o = max(base), max(ours)
            print(f"  baseline (file DataLoader, per-item jitter): {b:.1f} img/s")
            print(f"  ganedit (Engine + training_step, resident uint8): {o:.1f} img/s")
            print(f"  ratio ganedit / baseline: {o / b:.2f}x", flush=True)


if __name__ == "__main__":
    main()

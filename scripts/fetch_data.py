#!/usr/bin/env python3
"""Fetch the project's training data by Debian package name into ``data/`` (idempotent).

Layout written::

    data/debs/                   the downloaded .deb files
    data/root/                   their unpacked contents
    data/fashion-mnist/          train/t10k images+labels, idx .gz files (70k 28x28 items, MIT)
    data/photos/all/             39 wallpaper photos, longest side resized to <= --max-side (PNG)
    data/photos/train/           36 of them (symlinks into all/)
    data/photos/val/             the 3 held out for validation (symlinks into all/)
    data/photos/CREDITS.md       photographer and licence per photo (from the packages)
    data/sr-test/                4 photos from scikit-image's ``skimage.data`` (astronaut,
                                 coffee, chelsea, rocket): a second SR test set that no
                                 training run or checkpoint choice has seen (needs
                                 scikit-image, in the ``dev`` extra; skipped without it)
    data/inpaint-test/           9 photos that no run or design choice has seen, for the
                                 inpainting bar: every remaining photograph of
                                 ``skimage.data`` (camera, coins, moon, hubble_deep_field,
                                 immunohistochemistry, retina, the left motorcycle view) and
                                 the two photographs of ``lomiri-wallpapers-20.04`` (unpacked
                                 into ``data/root-heldout/``, never into ``data/root/``)
    data/inpaint-train/          the inpainting training set: every photo of photos/train at
                                 two scales (shorter side 320 and 512 px, so holes meet
                                 texture at the evaluation's scale and finer) and the
                                 scikit-image photographs and textures that are in neither
                                 inpaint-test nor photos/val (astronaut, brick, chelsea, clock,
                                 coffee, grass, gravel, page, rocket, text), with CREDITS.md

Usage: ``python scripts/fetch_data.py [--data data] [--max-side 2048]``.
Needs ``apt-get`` (Debian) and OpenCV. Re-running skips what is already there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = [
    "dataset-fashion-mnist",
    "lomiri-wallpapers-16.04",
    "plasma-workspace-wallpapers",
    "mate-backgrounds",
]
# Held out for validation of super-resolution (one from each photo package).
VAL_PHOTOS = {"lomiri-Wine_by_Jakkub_Mede", "plasma-Kite", "mate-Storm"}


def run(cmd: list[str], cwd: Path | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def fetch_debs(data: Path) -> None:
    debs = data / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            sys.exit("apt-get not found: this script needs a Debian-based machine")
        try:
            run(["apt-get", "download", *missing], cwd=debs)
        except subprocess.CalledProcessError:
            run(["apt-get", "update", "-q"])
            run(["apt-get", "download", *missing], cwd=debs)
    root = data / "root"
    for deb in sorted(debs.glob("*.deb")):
        stamp = root / ".unpacked" / deb.name
        if not stamp.exists():
            run(["dpkg-deb", "-x", str(deb), str(root)])
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()


def photo_sources(root: Path) -> dict[str, Path]:
    """name -> source photo path for the three photo packages."""
    out: dict[str, Path] = {}
    for p in sorted((root / "usr/share/backgrounds").glob("*.jpg")):
        out[f"lomiri-{p.stem}"] = p
    for p in sorted((root / "usr/share/wallpapers").glob("*/contents/images/2560x1600.jpg")):
        out[f"plasma-{p.parts[-4]}"] = p
    for p in sorted((root / "usr/share/backgrounds/mate/nature").glob("*.jpg")):
        out[f"mate-{p.stem}"] = p
    return out


def prepare_photos(data: Path, max_side: int) -> None:
    import cv2

    root = data / "root"
    photos = data / "photos"
    for sub in ("all", "train", "val"):
        (photos / sub).mkdir(parents=True, exist_ok=True)
    credits = [
        "# Photo credits",
        "",
        "Resized copies of Debian package wallpapers; licences per package:",
        "",
        "- lomiri-* : lomiri-wallpapers-16.04 (see data/root/usr/share/doc/lomiri-wallpapers-16.04/copyright; CC-BY-SA 3.0, photographer in the file name)",
        "- plasma-* : plasma-workspace-wallpapers (see its copyright file)",
        "- mate-*   : mate-backgrounds (see its copyright file)",
        "",
    ]
    for name, src in photo_sources(root).items():
        dst = photos / "all" / f"{name}.png"
        if not dst.exists():
            img = cv2.imread(str(src), cv2.IMREAD_COLOR)
            if img is None:
                print(f"skip {src}: unreadable", file=sys.stderr)
                continue
            _write_png(dst, img, max_side)
        split = "val" if name in VAL_PHOTOS else "train"
        link = photos / split / dst.name
        if not link.exists():
            link.symlink_to(Path("..") / "all" / dst.name)
        credits.append(f"- {name}: {src.relative_to(root)} ({split})")
    (photos / "CREDITS.md").write_text("\n".join(credits) + "\n", encoding="utf-8")


SR_TEST = ("astronaut", "coffee", "chelsea", "rocket")


def _write_png(out: Path, bgr_or_gray: object, max_side: int) -> None:
    import cv2

    img = bgr_or_gray
    h, w = img.shape[:2]  # type: ignore[attr-defined]
    f = min(1.0, max_side / max(h, w))
    if f < 1.0:
        img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    tmp = out.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), img)
    tmp.replace(out)


def _skimage_photos(dst: Path, names: tuple[str, ...], what: str) -> bool:
    """Write ``skimage.data.<name>()`` as ``dst/<name>.png`` (BGR or gray, longer side at most
    1024); False when scikit-image is missing."""
    try:
        import skimage.data
    except ImportError:
        print(f"skip {what}: scikit-image is not installed (pip install -e .[dev])")
        return False
    import cv2

    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        out = dst / f"{name}.png"
        if not out.exists():
            img = getattr(skimage.data, name)()
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
            _write_png(out, img, 1024)
    return True


def prepare_sr_test(data: Path) -> int:
    """Write the scikit-image test photos as PNGs into ``data/sr-test``; returns how many."""
    dst = data / "sr-test"
    if not _skimage_photos(dst, SR_TEST, "data/sr-test"):
        return 0
    (dst / "CREDITS.md").write_text(
        "# sr-test credits\n\nscikit-image's `skimage.data` images (see "
        "https://scikit-image.org/docs/stable/api/skimage.data.html for each one's source and "
        "licence): astronaut (NASA, public domain), coffee (Rachel Michetti, CC0), chelsea "
        "(Stefan van der Walt, CC0), rocket (SpaceX, CC0).\n",
        encoding="utf-8",
    )
    return len(SR_TEST)


INPAINT_TEST_SKIMAGE = (
    "camera",
    "coins",
    "moon",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)
INPAINT_TEST_DEB = "lomiri-wallpapers-20.04"
INPAINT_TEST_DEB_PHOTOS = ("Kleiber_by_Lukas_Baubkus", "Infinite-Sea_by_Aury88")


def _heldout_deb_root(data: Path) -> Path:
    """Unpack the held-out wallpaper package into ``data/root-heldout`` (not ``data/root``)."""
    debs = data / "debs-heldout"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{INPAINT_TEST_DEB}_*.deb")):
        run(["apt-get", "download", INPAINT_TEST_DEB], cwd=debs)
    root = data / "root-heldout"
    if not (root / "usr").exists():
        for deb in debs.glob("*.deb"):
            run(["dpkg-deb", "-x", str(deb), str(root)])
    return root


def prepare_inpaint_test(data: Path) -> int:
    """Write the held-out inpainting photos into ``data/inpaint-test``; returns how many."""
    dst = data / "inpaint-test"
    if not _skimage_photos(dst, INPAINT_TEST_SKIMAGE, "data/inpaint-test"):
        return 0
    import cv2
    import skimage.data

    if not (dst / "motorcycle_left.png").exists():
        left = skimage.data.stereo_motorcycle()[0]
        _write_png(dst / "motorcycle_left.png", cv2.cvtColor(left, cv2.COLOR_RGB2BGR), 1024)
    root = _heldout_deb_root(data)
    for stem in INPAINT_TEST_DEB_PHOTOS:
        out = dst / f"lomiri2004-{stem}.png"
        if not out.exists():
            src = root / "usr/share/backgrounds" / f"{stem}.jpg"
            _write_png(out, cv2.imread(str(src), cv2.IMREAD_COLOR), 1024)
    (dst / "CREDITS.md").write_text(
        "# inpaint-test credits\n\nscikit-image's `skimage.data` images (see "
        "https://scikit-image.org/docs/stable/api/skimage.data.html for each one's source and "
        "licence): camera, coins, moon, hubble_deep_field, immunohistochemistry, retina, "
        "stereo_motorcycle (left view). lomiri2004-*: lomiri-wallpapers-20.04 (CC-BY-SA; "
        "see data/root-heldout/usr/share/doc/lomiri-wallpapers-20.04/copyright; photographer "
        "in the file name).\n",
        encoding="utf-8",
    )
    return len(list(dst.glob("*.png")))


# skimage.data images for inpainting training: photographs and textures that ship with the
# wheel (no download) and are not in data/inpaint-test. Left out on purpose: the right view of
# stereo_motorcycle (its left view is a test photo) and microaneurysms (a retina image; retina
# is a test photo).
INPAINT_TRAIN_SKIMAGE = (
    "astronaut", "brick", "chelsea", "clock", "coffee", "grass", "gravel", "page", "rocket",
    "text",
)  # fmt: skip
INPAINT_TRAIN_SIDES = (320, 512)


def _shorter_side(img: object, side: int) -> object:
    """``img`` resized (``INTER_AREA``) so that its shorter side is ``side`` (never enlarged)."""
    import cv2

    h, w = img.shape[:2]  # type: ignore[attr-defined]
    f = side / min(h, w)
    if f >= 1.0:
        return img
    return cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)


def prepare_inpaint_train(data: Path) -> int:
    """Write ``data/inpaint-train`` (module docstring); returns how many files it holds.

    Every offline photo source by package: the wallpaper photos of ``photos/train``
    (lomiri-wallpapers-16.04, plasma-workspace-wallpapers, mate-backgrounds ``nature/``) at
    each of :data:`INPAINT_TRAIN_SIDES`, and :data:`INPAINT_TRAIN_SKIMAGE` as they are. The
    other folders of those packages (plasma's remaining wallpapers, mate's ``abstract/`` and
    ``desktop/``) and the ``lomiri-wallpapers`` package (one abstract image) hold rendered
    art, not photographs, and ``lomiri-wallpapers-20.04`` is the held-out test set: none of
    them is used. ``photos/val`` stays out (it feeds the training monitor)."""
    import cv2

    dst = data / "inpaint-train"
    dst.mkdir(parents=True, exist_ok=True)
    lines = [
        "# inpaint-train credits",
        "",
        "Resized copies; derived images keep each source's licence.",
        "",
        "- lomiri-*: lomiri-wallpapers-16.04, photographer in the file name; CC-BY-4.0 or "
        "CC-BY-SA-4.0 per file (data/root/usr/share/doc/lomiri-wallpapers-16.04/copyright)",
        "- plasma-*: plasma-workspace-wallpapers, GPL-2+ (its copyright file)",
        "- mate-*: mate-backgrounds nature/, GPL-2+ (its copyright file; authors listed there)",
        "- skimage-*: scikit-image's skimage.data (https://scikit-image.org/docs/stable/api/"
        "skimage.data.html gives each image's source and licence: astronaut NASA public "
        "domain; coffee Rachel Michetti CC0; chelsea Stefan van der Walt CC0; rocket SpaceX "
        "CC0; brick, grass, gravel, clock, page, text: scikit-image, CC0 / public domain)",
        "",
    ]
    for src in sorted((data / "photos/train").glob("*.png")):
        for side in INPAINT_TRAIN_SIDES:
            out = dst / f"{src.stem}-s{side}.png"
            if not out.exists():
                img = cv2.imread(str(src), cv2.IMREAD_COLOR)
                _write_png(out, _shorter_side(img, side), 4096)
        lines.append(f"- {src.stem} (s{'/s'.join(map(str, INPAINT_TRAIN_SIDES))})")
    if _skimage_photos(dst / "skimage", INPAINT_TRAIN_SKIMAGE, "skimage training photos"):
        lines += [f"- skimage/{n}" for n in INPAINT_TRAIN_SKIMAGE]
    (dst / "CREDITS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(list(dst.rglob("*.png")))


def prepare_fashion_mnist(data: Path) -> None:
    src = data / "root/usr/share/datasets/fashion-mnist"
    dst = data / "fashion-mnist"
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.gz")):
        if not (dst / f.name).exists():
            shutil.copy2(f, dst / f.name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    ap.add_argument("--max-side", type=int, default=2048)
    args = ap.parse_args()
    fetch_debs(args.data)
    prepare_fashion_mnist(args.data)
    prepare_photos(args.data, args.max_side)
    n_test = prepare_sr_test(args.data)
    n_inpaint = prepare_inpaint_test(args.data)
    n_inpaint_train = prepare_inpaint_train(args.data)
    n_train = len(list((args.data / "photos/train").glob("*.png")))
    n_val = len(list((args.data / "photos/val").glob("*.png")))
    print(
        f"data ready in {args.data}: fashion-mnist, {n_train} train + {n_val} val photos, "
        f"{n_test} sr-test photos, {n_inpaint} inpaint-test photos, "
        f"{n_inpaint_train} inpaint-train images"
    )


if __name__ == "__main__":
    main()

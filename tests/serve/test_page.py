"""The page in a real headless browser (Debian's chromium via Playwright), driven by its
``data-testid`` hooks, with the tiny families so that each edit takes milliseconds.

Each test saves screenshots of its views under its ``tmp_path/shots`` (and copies them to
``$GANEDIT_SERVE_SHOTS`` when that is set, to look at them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from serving import Server

import ganedit
from ganedit.io import MANIFEST_NAME, Manifest, read_mask
from ganedit.testing import TinyInpaint, TinyUpscale

COUNT_MASK = """() => {
  const c = document.querySelector('[data-testid=mask-canvas]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
}"""


def tid(name: str) -> str:
    return f"[data-testid={name}]"


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / "shots" / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("GANEDIT_SERVE_SHOTS"):
        dest = Path(os.environ["GANEDIT_SERVE_SHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / path.name)
    return path


@pytest.fixture
def page(browser: Any, served: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.set_default_timeout(20_000)
    pg.goto(served.url)
    pg.wait_for_selector("body[data-ready='1']")
    assert "token" not in pg.url  # moved into the cookie
    yield pg
    context.close()
    assert not errors, errors


def choose(page: Any, model: str, weights: str = "random") -> None:
    page.select_option(tid("model"), model)
    page.fill("input[name=weights]", weights)


def image(path: Path, size: tuple[int, int], c: int = 3, dtype: Any = np.uint8, seed: int = 0):
    top = np.iinfo(dtype).max
    img = (np.random.default_rng(seed).random((*size, c)) * top).astype(dtype)
    ganedit.write_image(path, img)
    return img


def download(page: Any, testid: str, dest: Path) -> Path:
    with page.expect_download() as info:
        page.click(tid(testid))
    info.value.save_as(dest)
    return dest


def give(page: Any, how: str, path: Path) -> None:
    """Paste (on the document) or drop (on the stage) an image file, as a user would."""
    page.evaluate(
        """([how, name, bytes]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
          if (how === "paste") document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt }));
          else document.getElementById("stage").dispatchEvent(
            new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        [how, path.name, list(path.read_bytes())],
    )


def run_and_wait(page: Any) -> None:
    page.click(tid("run"))
    page.wait_for_function(
        "() => /^(done|failed|cancelled) in/.test("
        "document.querySelector('[data-testid=progress]').innerText.trim())"
    )
    assert page.inner_text(tid("error")) == ""
    page.wait_for_selector(f"{tid('result')}:visible")


def test_stroke_undo_redo_run_compare_and_download_equal_the_python_api(
    page: Any, tmp_path: Path
) -> None:
    img = image(tmp_path / "photo.png", (40, 56))
    choose(page, "tiny-inpaint")
    page.set_input_files(tid("file-input"), tmp_path / "photo.png")
    canvas = page.locator(tid("mask-canvas"))
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, y, steps=8)
    page.mouse.up()
    painted = page.evaluate(COUNT_MASK)
    assert 0 < painted < 40 * 56
    page.click(tid("undo"))
    assert page.evaluate(COUNT_MASK) == 0
    page.click(tid("redo"))
    assert page.evaluate(COUNT_MASK) == painted
    page.locator("#stage").focus()
    page.keyboard.press("Control+z")
    assert page.evaluate(COUNT_MASK) == 0
    page.keyboard.press("Control+Shift+z")
    assert page.evaluate(COUNT_MASK) == painted
    size = int(page.input_value(tid("brush-size")))
    page.keyboard.press("]")
    assert int(page.input_value(tid("brush-size"))) > size
    shot(page, tmp_path, "mask-editor")
    mask = read_mask(download(page, "mask-download", tmp_path / "mask.png"))
    assert mask.shape == (40, 56) and mask.sum() == painted

    run_and_wait(page)
    got = ganedit.read_image(download(page, "download", tmp_path / "result.png"))
    expected = ganedit.load(TinyInpaint(), weights=False)(img, mask=mask)
    np.testing.assert_array_equal(got, expected)

    compare = page.locator(tid("compare"))
    handle = page.locator(tid("compare-handle")).bounding_box()
    area = compare.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.2, handle["y"] + 10, steps=5)
    page.mouse.up()
    assert abs(float(compare.get_attribute("data-split")) - 0.2) < 0.03
    page.keyboard.down("b")
    assert compare.get_attribute("data-split") == "1.000"  # hold B: the input
    page.keyboard.up("b")
    assert abs(float(compare.get_attribute("data-split")) - 0.2) < 0.03
    shot(page, tmp_path, "compare")


def test_upload_mask_is_the_mask_that_runs(page: Any, tmp_path: Path) -> None:
    img = image(tmp_path / "photo.png", (32, 40), seed=3)
    hole = np.zeros((32, 40, 3), np.uint8)
    hole[8:20, 10:30] = 255
    ganedit.write_image(tmp_path / "hole.png", hole)
    choose(page, "tiny-inpaint")
    page.set_input_files(tid("file-input"), tmp_path / "photo.png")
    page.locator(tid("mask-canvas")).wait_for(state="visible")
    page.set_input_files(tid("mask-upload"), tmp_path / "hole.png")
    page.wait_for_function(f"() => ({COUNT_MASK})() === {12 * 20}")
    back = read_mask(download(page, "mask-download", tmp_path / "back.png"))
    np.testing.assert_array_equal(back, hole[..., 0] > 0)
    run_and_wait(page)
    got = ganedit.read_image(download(page, "download", tmp_path / "result.png"))
    expected = ganedit.load(TinyInpaint(), weights=False)(img, mask=hole[..., 0] > 0)
    np.testing.assert_array_equal(got, expected)

    rgba = image(tmp_path / "rgba.png", (32, 40), c=4, seed=4)
    rgba[..., 3] = 255
    rgba[4:10, 5:25, 3] = 0  # 120 transparent pixels
    ganedit.write_image(tmp_path / "rgba.png", rgba)
    give(page, "drop", tmp_path / "rgba.png")
    page.wait_for_function(f"() => ({COUNT_MASK})() === 0")  # a new image, a clear mask
    page.click("#mask-alpha")
    assert page.evaluate(COUNT_MASK) == 120
    page.click("#mask-invert")
    assert page.evaluate(COUNT_MASK) == 32 * 40 - 120
    page.click("#mask-clear")
    assert page.evaluate(COUNT_MASK) == 0


def test_alpha_and_16_bit_are_kept_and_results_chain(page: Any, tmp_path: Path) -> None:
    img = image(tmp_path / "deep.png", (20, 24), c=4, dtype=np.uint16, seed=5)
    choose(page, "tiny-upscale")
    page.set_input_files(tid("file-input"), tmp_path / "deep.png")
    run_and_wait(page)
    got = ganedit.read_image(download(page, "download", tmp_path / "x2.png"))
    assert got.dtype == np.uint16 and got.shape == (40, 48, 4)
    np.testing.assert_array_equal(got, ganedit.load(TinyUpscale(), weights=False)(img))
    page.click("#use-result")  # the file ganedit wrote becomes the input: x2 again
    page.wait_for_function("() => document.getElementById('before').width === 48")
    run_and_wait(page)
    again = ganedit.read_image(download(page, "download", tmp_path / "x4.png"))
    assert again.shape == (80, 96, 4) and again.dtype == np.uint16


def test_folder_run_with_a_truncated_file_then_cancel_and_resume(
    page: Any, served: Server, tmp_path: Path
) -> None:
    good = served.root / "photos"
    good.mkdir()
    for i in range(4):
        image(good / f"p{i}.png", (16, 20), seed=i)
    (good / "cut.png").write_bytes((good / "p0.png").read_bytes()[:60])
    choose(page, "tiny-upscale")
    page.click("#tab-folder")
    page.fill(tid("folder-input"), "photos")
    page.fill(tid("folder-output"), "photos-x2")
    page.fill("input[name=weights]", "random")
    page.click("#folder-dry")
    page.wait_for_function("() => document.querySelectorAll('[data-status=planned]').length === 5")
    page.click(tid("folder-run"))
    page.wait_for_function("() => /done 4, skipped 0, failed 1/.test("
                           "document.getElementById('folder-summary').innerText)")  # fmt: skip
    rows = page.locator(f"{tid('folder-table')} tbody tr")
    statuses = {rows.nth(i).locator("td").first.inner_text(): rows.nth(i).get_attribute(
        "data-status") for i in range(rows.count())}  # fmt: skip
    assert statuses == {"cut.png": "failed", **{f"p{i}.png": "done" for i in range(4)}}
    reason = page.locator(f"{tid('folder-table')} tr[data-status=failed] td").nth(2).inner_text()
    assert reason  # why it failed
    shot(page, tmp_path, "folder-table")

    slow = served.root / "slow"
    slow.mkdir()
    for i in range(15):
        image(slow / f"s{i:02d}.png", (12, 12), seed=i)
    choose(page, "tiny-slow")
    page.fill(tid("folder-input"), "slow")
    page.fill(tid("folder-output"), "slow-out")
    page.fill("input[name=batch_size]", "1")  # a record per image, not one per batch
    page.click(tid("folder-run"))
    page.wait_for_selector(f"{tid('folder-table')} tr[data-status=done]")
    page.click(tid("cancel"))
    page.wait_for_function("() => /cancelled/.test(document.getElementById('folder-summary')"
                           ".innerText)")  # fmt: skip
    done = page.locator("tr[data-status=done]").count()
    assert 1 <= done < 15
    manifest = Manifest.load(served.root / "slow-out" / MANIFEST_NAME)
    assert manifest.run["extra"]["interrupted"] is True
    shot(page, tmp_path, "folder-cancelled")
    page.click("#folder-resume")
    page.wait_for_function("() => /^done \\d+, skipped \\d+, failed 0 · manifest/.test("
                           "document.getElementById('folder-summary').innerText)")  # fmt: skip
    skipped = page.locator("tr[data-status=skipped]").count()
    assert skipped >= done and skipped + page.locator("tr[data-status=done]").count() == 15


def test_third_party_family_appears_with_its_options(page: Any, tmp_path: Path) -> None:
    labels = page.locator(f"{tid('model')} option").all_inner_texts()
    assert "tiny-sr (tiny)" in labels  # ganedit-tiny, a pip-style plugin, no UI code
    choose(page, "tiny-sr")
    assert page.locator("input[name=channels]").get_attribute("placeholder") == "8"
    upsample = page.locator("select[name=upsample] option").all_inner_texts()
    assert upsample[1:] == ["bilinear", "nearest"]
    assert page.locator("select[name=residual]").count() == 1
    assert page.locator("[name=lr]").count() == 0  # train_only fields stay out
    page.select_option("select[name=upsample]", "nearest")
    image(tmp_path / "small.png", (12, 16))
    give(page, "paste", tmp_path / "small.png")
    page.wait_for_function("() => document.getElementById('before').width === 16")
    run_and_wait(page)
    assert page.locator(tid("result")).evaluate("i => [i.naturalWidth, i.naturalHeight]") == [
        32,
        24,
    ]
    shot(page, tmp_path, "third-party")


def test_generate_panel(page: Any, tmp_path: Path) -> None:
    choose(page, "tiny-generate")
    assert page.locator("#tab-folder").is_disabled()
    page.fill("#gen-count", "6")
    page.select_option("#gen-mode", "walk")
    run_and_wait(page)
    sheet = ganedit.read_image(download(page, "download", tmp_path / "walk.png"))
    assert sheet.shape[1] == 6 * sheet.shape[0]  # one row of six
    shot(page, tmp_path, "generate")


def test_tiled_edit_progress_eta_and_cancel(page: Any, tmp_path: Path) -> None:
    image(tmp_path / "big.png", (48, 48))
    choose(page, "tiny-slow")  # 0.2 s per model call
    for name, value in (("tile", "16"), ("tile_overlap", "8"), ("batch_size", "1")):
        page.fill(f"input[name={name}]", value)
    page.set_input_files(tid("file-input"), tmp_path / "big.png")
    page.click(tid("run"))
    progress = page.locator(tid("progress"))
    page.wait_for_function(
        "() => /model calls [1-9]\\d* \\/ 25 .* ETA \\d/.test("
        "document.querySelector('[data-testid=progress]').innerText)"
    )
    shot(page, tmp_path, "edit-progress")
    page.click(tid("cancel"))
    page.wait_for_function(
        "() => /^cancelled in/.test(document.querySelector('[data-testid=progress]').innerText)"
    )
    assert "cancelled" in progress.inner_text()
    assert page.locator(tid("result")).is_hidden()
    assert page.locator(tid("download")).get_attribute("href") is None

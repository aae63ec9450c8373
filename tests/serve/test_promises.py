"""Every promise of ``ganedit serve``, one test each, over real HTTP (no browser)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from serving import TOKEN, Server, multipart, require_extra

import ganedit
from ganedit.cli import cli
from ganedit.testing import TinyInpaint, TinyUpscale


def _png(path: Path, seed: int, size: tuple[int, int] = (16, 24), c: int = 3) -> bytes:
    img = (np.random.default_rng(seed).random((*size, c)) * 255).astype(np.uint8)
    ganedit.write_image(path, img)
    return path.read_bytes()


def _edit(srv: Server, data: bytes, model: str = "tiny-upscale", **fields: str):
    body, ctype = multipart({"model": model, "image": ("x.png", data), "weights": "random",
                             **fields})  # fmt: skip
    return srv.request("POST", "/api/edit", body, {"Content-Type": ctype})


def test_cli_prints_the_url_first_and_binds_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL is the first line and is flushed before serving starts (a pipe reading the
    first line gets it at once); the socket is bound to 127.0.0.1."""
    require_extra()
    import ganedit.serve

    seen: list = []

    def run_server(app: object, sock: socket.socket) -> None:  # instead of serving forever
        flushed = sys.stdout.buffer.getvalue().decode()  # type: ignore[attr-defined]
        seen.append((sock.getsockname(), flushed))
        sock.close()

    monkeypatch.setattr(ganedit.serve, "run_server", run_server)
    result = CliRunner().invoke(cli, ["serve", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (address, port), flushed = seen[0]
    first = result.output.splitlines()[0]
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/\?token=[\w-]{{20,}}", first), first
    assert flushed.splitlines()[0] == first and address == "127.0.0.1"
    again = CliRunner().invoke(cli, ["serve", "--token", TOKEN])
    assert again.output.splitlines()[0] == f"http://127.0.0.1:{seen[1][0][1]}/?token={TOKEN}"
    assert first.split("token=")[1] != CliRunner().invoke(cli, ["serve"]).output.split("token=")[1]


def test_without_the_extra_a_usage_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import ganedit.serve

    monkeypatch.setattr(ganedit.serve, "missing_extra", lambda: ["starlette"])
    result = CliRunner().invoke(cli, ["serve", "--no-open"])
    assert result.exit_code == 2
    assert "ganedit[serve]" in result.output


def test_token_is_required_then_kept_in_a_strict_cookie(served: Server) -> None:
    for path in ("/", "/api/models", "/static/app.js"):
        assert served.request("GET", path, auth=False)[0] == 401
        bad = {"Authorization": "Bearer nope"}
        assert served.request("GET", path, headers=bad, auth=False)[0] == 401
    status, headers, body = served.request("GET", f"/?token={TOKEN}", auth=False)
    assert status == 200 and b'data-testid="model"' in body
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    value = cookie.split(";")[0]
    assert served.request("GET", "/api/models", headers={"Cookie": value}, auth=False)[0] == 200
    assert served.request("GET", "/api/models")[0] == 200  # Bearer
    assert served.request("POST", f"/api/folder?token={TOKEN}", b"{}", auth=False)[0] == 401


def test_host_allow_list(served: Server) -> None:
    port = served.port
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}"):
        assert served.request("GET", "/api/info", host=host)[0] == 200
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1"):
        assert served.request("GET", "/api/info", host=host)[0] == 403


def test_origin_checks_for_requests_that_change_things(served: Server) -> None:
    own = f"http://127.0.0.1:{served.port}"
    cookie = {"Cookie": f"ganedit_token={TOKEN}"}
    body = b'{"model": "tiny-upscale"}'
    foreign = served.request("POST", "/api/folder", body, {"Origin": "http://evil.example"})
    assert foreign[0] == 403
    assert served.request("POST", "/api/folder", body, cookie, auth=False)[0] == 403
    with_own = served.request("POST", "/api/folder", body, {**cookie, "Origin": own}, auth=False)
    assert with_own[0] == 400  # past the guard: the body lacks input/output
    assert served.request("POST", "/api/folder", body)[0] == 400  # Bearer, no Origin


def test_no_cors_headers_anywhere(served: Server) -> None:
    evil = {"Origin": "http://evil.example"}
    responses = [
        served.request("GET", "/", headers=evil),
        served.request("GET", "/api/models", headers=evil),
        served.request("OPTIONS", "/api/edit", headers={**evil, "Access-Control-Request-Method": "POST"}),
        served.request("GET", "/api/models", auth=False, headers=evil),
        served.request("POST", "/api/folder", b"{}", evil),
    ]  # fmt: skip
    for _, headers, _ in responses:
        assert not [k for k in headers if k.startswith("access-control-")]


def test_content_security_policy_on_every_response(served: Server) -> None:
    for path, auth in (("/", True), ("/static/app.js", True), ("/api/models", True), ("/", False)):
        headers = served.request("GET", path, auth=auth)[1]
        assert headers["content-security-policy"] == "default-src 'self'"


def test_bodies_over_the_limit_get_413_before_they_are_read(served: Server) -> None:
    # headers only, announcing 2 MiB (limit 1 MiB): answered without sending a byte of body
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        s.sendall(
            f"POST /api/edit HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {2 * 2**20}\r\n\r\n".encode()
        )
        assert s.recv(100).startswith(b"HTTP/1.1 413")
    # a body without a declared length (chunked) is refused before it is read
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        s.sendall(
            f"POST /api/edit HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        assert s.recv(100).startswith(b"HTTP/1.1 411")
    small, ctype = multipart({"model": "tiny-upscale", "image": ("a.png", b"x" * (2**20 + 10))})
    assert served.request("POST", "/api/edit", small, {"Content-Type": ctype})[0] == 413


def test_folders_only_under_root(served: Server, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _png(outside / "a.png", 0)
    (served.root / "in").mkdir()
    _png(served.root / "in" / "a.png", 1)
    (served.root / "link").symlink_to(outside)
    bad = [
        {"input": "in", "output": "../escape"},
        {"input": "in/../in", "output": "out"},
        {"input": str(outside), "output": "out"},
        {"input": "link", "output": "out"},  # a symlink leading out
        {"input": "in", "output": "link/out"},
        {"input": "in", "output": "out", "masks": str(outside)},
    ]
    for paths in bad:
        status, answer = served.json("POST", "/api/folder", {"model": "tiny-upscale", **paths})
        assert status == 403, (paths, answer)
    assert served.json("GET", "/api/folders?path=..")[0] == 403
    assert served.json("GET", f"/api/folders?path={outside}")[0] == 403
    status, listing = served.json("GET", "/api/folders?path=.")
    assert status == 200 and str(served.root / "in") in listing["folders"]
    assert not (tmp_path / "escape").exists() and not (outside / "out").exists()


def test_output_names_are_made_by_the_server(served: Server, tmp_path: Path) -> None:
    data = _png(tmp_path / "a.png", 0)
    body, ctype = multipart({"model": "tiny-upscale", "image": ("../../../evil.png", data),
                             "weights": "random"})  # fmt: skip
    status, headers, _ = served.request("POST", "/api/edit", body, {"Content-Type": ctype})
    assert status == 200
    job = headers["x-ganedit-job"]
    assert f'filename="ganedit-tiny-upscale-{job}.png"' in headers["content-disposition"]
    written = served.app.state.jobs.get(job).result
    assert written.name == "image.png" and served.app.state.scratch in written.parents
    assert not list(tmp_path.parent.glob("**/evil.png"))


def test_writes_only_through_the_runner(served: Server, tmp_path: Path) -> None:
    data = _png(tmp_path / "a.png", 0)
    status, headers, _ = _edit(served, data)
    job = served.app.state.jobs.get(headers["x-ganedit-job"])
    out = job.result.parent
    manifest = ganedit.io.Manifest.load(out / ganedit.io.MANIFEST_NAME)
    assert [f["status"] for f in manifest.by_input().values()] == ["done"]
    (served.root / "in").mkdir()
    for i in range(2):
        _png(served.root / "in" / f"{i}.png", i)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (served.root / "in").iterdir()}  # fmt: skip
    records = served.events(_folder(served, "tiny-upscale", "out")["id"])
    assert records[-1]["event"] == "end" and records[-1]["done"] == 2
    assert (served.root / "out" / ganedit.io.MANIFEST_NAME).exists()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in (served.root / "in").iterdir()}  # fmt: skip
    assert after == before  # inputs never overwritten


@pytest.mark.usefixtures("fp32_cpu")  # both editors fp32: on a bf16 CPU each measures its own
def test_two_concurrent_edits_get_their_own_results(served: Server, tmp_path: Path) -> None:
    inputs = [_png(tmp_path / f"{i}.png", i, size=(16 + 4 * i, 20)) for i in range(4)]
    editor = ganedit.load(TinyUpscale(), weights=False)
    expected = [editor(ganedit.read_image(tmp_path / f"{i}.png")) for i in range(4)]
    results: dict[int, bytes] = {}

    def one(i: int) -> None:
        status, _, body = _edit(served, inputs[i], model="tiny-slow")
        assert status == 200
        results[i] = body

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert time.monotonic() - t0 >= 4 * 0.2  # one edit per model at a time: 0.2 s each
    for i in range(4):
        got = ganedit.io.decode_image(results[i])
        np.testing.assert_array_equal(got, expected[i])


def _folder(srv: Server, model: str, output: str, **options: object) -> dict:
    status, job = srv.json("POST", "/api/folder", {"model": model, "input": "in",
                           "output": output, "options": {"weights": "random", **options}})  # fmt: skip
    assert status == 202, job
    return job


def test_cancel_says_interrupted_and_resume_skips_what_was_done(served: Server) -> None:
    (served.root / "in").mkdir()
    for i in range(12):
        _png(served.root / "in" / f"{i:02d}.png", i)
    job = _folder(served, "tiny-slow", "out", batch_size=1)
    records: list[dict] = []
    watcher = threading.Thread(target=lambda: records.extend(served.events(job["id"])))
    watcher.start()
    events = served.app.state.jobs.get(job["id"]).events
    while not any(e.get("event") == "file" for e in events):
        time.sleep(0.02)
    assert served.json("POST", f"/api/jobs/{job['id']}/cancel")[0] == 200
    watcher.join(30)
    done = [r for r in records if r["event"] == "file" and r["status"] == "done"]
    assert records[-1]["event"] == "end" and records[-1]["cancelled"] is True
    assert 1 <= len(done) < 12
    manifest = ganedit.io.Manifest.load(served.root / "out" / ganedit.io.MANIFEST_NAME)
    assert manifest.run["extra"]["interrupted"] is True
    resumed = served.events(_folder(served, "tiny-slow", "out", skip_existing=True)["id"])
    statuses = [r["status"] for r in resumed if r["event"] == "file"]
    assert statuses.count("skipped") >= len(done) and len(statuses) == 12
    assert "failed" not in statuses and resumed[-1]["skipped"] == statuses.count("skipped")


def test_events_are_the_records_of_run_json(served: Server) -> None:
    (served.root / "in").mkdir()
    for i in range(3):
        _png(served.root / "in" / f"{i}.png", i)
    (served.root / "in" / "cut.png").write_bytes(_png(served.root / "x.png", 9)[:40])
    streamed = served.events(_folder(served, "tiny-upscale", "out")["id"])
    direct: list[dict] = []  # what `ganedit run --json` prints, one line per record
    ganedit.run_folder("tiny-upscale", [served.root / "in"], served.root / "out2",
                       progress=False, on_event=direct.append, weights="random")  # fmt: skip

    def shape(records: list[dict]) -> list[tuple]:
        return [(r["event"], r.get("status"), sorted(r), os.path.basename(r.get("input") or ""))
                for r in records]  # fmt: skip

    assert shape(streamed) == shape(direct)
    assert streamed[-1]["done"] == 3 and streamed[-1]["failed"][0]["input"].endswith("cut.png")


def test_an_edit_keeps_alpha_16_bit_and_the_colour_profile(served: Server, tmp_path: Path) -> None:
    """The server edits the original file: the result is the runner's, with the input's depth,
    alpha and ICC profile, pixel for pixel the Python API's."""
    from PIL import Image, ImageCms

    from ganedit.io.metadata import read_metadata

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (20, 12), (200, 30, 90)).save(tmp_path / "icc.png", icc_profile=icc)
    status, _, body = _edit(served, (tmp_path / "icc.png").read_bytes())
    assert status == 200
    kept = read_metadata(body)
    assert kept is not None and kept.icc == icc
    deep = (np.random.default_rng(1).random((10, 14, 4)) * 65535).astype(np.uint16)
    ganedit.write_image(tmp_path / "deep.png", deep)
    status, _, body = _edit(served, (tmp_path / "deep.png").read_bytes())
    got = ganedit.io.decode_image(body)
    assert got.dtype == np.uint16 and got.shape == (20, 28, 4)
    np.testing.assert_array_equal(got, ganedit.load(TinyUpscale(), weights=False)(deep))


def test_stopping_the_server_interrupts_folder_runs_cleanly(served: Server) -> None:
    (served.root / "in").mkdir()
    for i in range(12):
        _png(served.root / "in" / f"{i:02d}.png", i)
    job = served.app.state.jobs.get(_folder(served, "tiny-slow", "out", batch_size=1)["id"])
    while not any(e.get("event") == "file" for e in job.events):
        time.sleep(0.02)
    served.app.state.close()  # what Ctrl-C on `ganedit serve` does after uvicorn stops
    assert job.status == "cancelled"
    manifest = ganedit.io.Manifest.load(served.root / "out" / ganedit.io.MANIFEST_NAME)
    assert manifest.run["extra"]["interrupted"] is True
    assert not (served.root / "out" / ".ganedit-run.lock").exists()


def test_a_tiled_edit_reports_its_model_calls_and_cancel_stops_it(
    served: Server, tmp_path: Path
) -> None:
    data = _png(tmp_path / "big.png", 0, size=(48, 48))
    fields = {"tile": "16", "tile_overlap": "8", "batch_size": "1", "wait": "0"}
    status, _, body = _edit(served, data, model="tiny-slow", **fields)
    assert status == 202
    job = served.app.state.jobs.get(json.loads(body)["id"])
    while not job.progress or job.progress[0] < 2:
        time.sleep(0.02)
    done, total = job.progress
    assert total >= 9 and done < total  # 3 x 3 tiles or more, one call each
    assert served.json("POST", f"/api/jobs/{job.id}/cancel")[0] == 200
    assert job.wait(10) and job.status == "cancelled"
    assert job.progress[0] < total and job.result is None
    status, _, _ = _edit(served, data, model="tiny-slow", tile="0")  # the lock was released
    assert status == 200


def test_one_mask_file_for_a_whole_folder(served: Server) -> None:
    (served.root / "in").mkdir()
    for i in range(3):
        _png(served.root / "in" / f"{i}.png", i)
    hole = np.zeros((16, 24), np.uint8)
    hole[4:10, 6:18] = 255
    ganedit.write_image(served.root / "hole.png", hole)
    status, job = served.json("POST", "/api/folder", {"model": "tiny-inpaint", "input": "in",
                              "output": "out", "masks": "hole.png",
                              "options": {"weights": "random"}})  # fmt: skip
    assert status == 202
    records = served.events(job["id"])
    assert records[-1]["done"] == 3
    editor = ganedit.load(TinyInpaint(), weights=False)
    for i in range(3):
        img = ganedit.read_image(served.root / "in" / f"{i}.png")
        got = ganedit.read_image(served.root / "out" / f"{i}.png")
        np.testing.assert_array_equal(got, editor(img, mask=hole > 0))

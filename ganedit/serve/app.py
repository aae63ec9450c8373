"""The Starlette application: the page, its static files and the JSON API.

API (every request needs the token, see :mod:`ganedit.serve.security`):

* ``GET /api/models``: the families and their form fields (:mod:`ganedit.serve.models`).
* ``GET /api/info``: roots, device, upload limit, version.
* ``GET /api/folders?path=P``: the sub-folders of a served folder (the roots without ``path``).
* ``POST /api/edit`` (multipart): ``model``, ``image`` (the original file), optional ``mask``
  (an image, bright = fill), option fields. Returns the file ganedit wrote (headers
  ``X-Ganedit-Job``, ``Content-Disposition``), or, with ``wait=0``, ``{"id", ...}`` at once
  (202) to follow with the events, ``/result`` and ``/cancel``. A failed edit: 422 + reason.
* ``POST /api/generate`` (JSON): ``model``, ``seed``, ``count``, ``mode`` (``grid``/``walk``),
  ``options``; returns ``{"id", ...}``.
* ``POST /api/folder`` (JSON): ``model``, ``input``, ``output``, optional ``mask`` (a file) or
  ``masks`` (a folder; a file there is one mask for every image), all absolute or relative to
  the first root, and ``options`` (run options and Config fields; other top-level keys count
  as options too); returns ``{"id"}``.
* ``GET /api/jobs/ID``, ``GET /api/jobs/ID/events`` (server-sent events: the records of
  ``ganedit run --json``, then a named ``close`` event with the job's status),
  ``POST /api/jobs/ID/cancel``, ``GET /api/jobs/ID/result`` (the file, as an attachment),
  ``GET /api/jobs/ID/preview`` (the result as the browser can show it), ``POST /api/preview``
  (multipart ``image``: a PNG the browser can show, e.g. of a TIFF).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ganedit.serve.jobs import Job, Jobs
from ganedit.serve.paths import OutsideRoot, Roots
from ganedit.serve.security import BodyTooLarge
from ganedit.serve.work import EditRequest, Workspace, kind_of, split_options

__all__ = ["ServeState", "create_routes"]

_SHOWN = {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp"}
_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
          ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff"}  # fmt: skip
_EXT = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "bmp": ".bmp", "tiff": ".tif"}


@dataclass
class ServeState:
    """Everything the routes share."""

    roots: Roots
    workspace: Workspace
    max_body: int
    device: str
    jobs: Jobs = field(default_factory=Jobs)
    closing: bool = False  # set when the server shuts down: event streams end
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ganedit-serve-")))

    def close(self, wait: float = 10.0) -> None:
        """Cancel the running jobs (a folder run stops at its next file and writes its
        manifest, which says interrupted), wait up to ``wait`` seconds, delete the scratch."""
        running = self.jobs.running()
        for job in running:
            job.cancel()
        deadline = time.monotonic() + wait
        for job in running:
            job.wait(max(0.0, deadline - time.monotonic()))
        shutil.rmtree(self.scratch, ignore_errors=True)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _refused(state: ServeState, exc: Exception) -> JSONResponse:
    """The client-error answer to a request a handler refused: 413 a body over the limit,
    403 a path outside the served roots, 404 an unknown model or file, 400 anything else."""
    if isinstance(exc, BodyTooLarge):
        return _error(413, f"the request body is over the limit ({state.max_body} bytes)")
    if isinstance(exc, OutsideRoot):  # a ValueError: before the 400 below
        return _error(403, str(exc))
    return _error(404 if isinstance(exc, LookupError) else 400, str(exc))


def static_dir() -> Path:
    """The folder of the page's files (package data)."""
    return Path(str(resources.files("ganedit.serve") / "static"))


async def _form(request: Request) -> Any:
    try:
        return await request.form(max_files=2, max_fields=200)
    except BodyTooLarge:
        raise
    except MultiPartException as exc:
        raise ValueError(f"bad multipart body: {exc.message}") from None


def _family(model: Any) -> Any:
    from ganedit.plugins import family_class

    if not isinstance(model, str) or not model:
        raise LookupError("model: a family name is required")
    try:
        return family_class(model)
    except Exception as exc:  # noqa: BLE001 - an unknown model is the client's error
        raise LookupError(str(exc)) from None


def create_routes(state: ServeState) -> Starlette:
    """The application (without the guard: :func:`ganedit.serve.create_app` adds it)."""
    app = Starlette(routes=ROUTES)
    app.state.serve = state
    return app


def _state(request: Request) -> ServeState:
    return request.app.state.serve  # type: ignore[no-any-return]


async def page(request: Request) -> Response:
    return FileResponse(static_dir() / "index.html", media_type="text/html")


async def info(request: Request) -> Response:
    import ganedit

    state = _state(request)
    return JSONResponse(
        {
            "version": ganedit.__version__,
            "roots": [str(r) for r in state.roots.paths],
            "device": state.device,
            "max_upload_mb": state.max_body / 2**20,
        }
    )


async def models(request: Request) -> Response:
    from ganedit.serve.models import models_data

    return JSONResponse(await asyncio.to_thread(models_data))


async def folders(request: Request) -> Response:
    state = _state(request)
    try:
        return JSONResponse(state.roots.listing(request.query_params.get("path")))
    except OutsideRoot as exc:
        return _error(403, str(exc))


async def edit(request: Request) -> Response:
    state = _state(request)
    try:
        form = await _form(request)
        job, req, size = await _edit_job(state, form)
    except (BodyTooLarge, LookupError, ValueError) as exc:
        return _refused(state, exc)
    state.jobs.start(job, lambda j: state.workspace.run_edit(j, req, size))
    if str(form.get("wait", "1")) == "0":
        return JSONResponse(job.describe(), status_code=202)
    while not job.finished:
        await asyncio.sleep(0.01)
    if job.status != "done" or job.result is None:
        return _error(422, job.error or job.status)
    return _result_file(job, {"X-Ganedit-Job": job.id})


async def generate(request: Request) -> Response:
    state = _state(request)
    try:
        body = await _json(request)
        cls = _family(body.get("model"))
        if cls.kind.value != "generate":
            raise ValueError(f"{cls.name} edits images; POST /api/edit")
        run, config = split_options(_options(body), cls.Config, state.roots)
        spec = {
            "count": _int(body.get("count", 16), "count", 1, 256),
            "seed": _int(body.get("seed", 0), "seed", 0, 2**63 - 1),
            "mode": body.get("mode", "grid"),
        }
        if spec["mode"] not in ("grid", "walk"):
            raise ValueError("mode must be grid or walk")
    except (LookupError, ValueError) as exc:
        return _refused(state, exc)
    job = Job("generate", cls.name, _job_folder(state))
    req = EditRequest(Path(), None, run, config)
    state.jobs.start(job, lambda j: state.workspace.run_generate(j, req, spec))
    return JSONResponse(job.describe(), status_code=202)


async def folder(request: Request) -> Response:
    state = _state(request)
    try:
        body = await _json(request)
        cls = _family(body.get("model"))
        if cls.kind.value == "generate":
            raise ValueError(f"{cls.name} generates images; POST /api/generate")
        run, config = split_options(_options(body), cls.Config, state.roots)
        for key in ("input", "output"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise ValueError(f"{key}: a folder path is required")
        paths = {"input": state.roots.resolve(body.get("input")),
                 "output": state.roots.resolve(body.get("output"))}  # fmt: skip
        for key in ("mask", "masks"):
            if body.get(key):
                found = state.roots.resolve(body[key])
                paths["mask" if found.is_file() else key] = found  # one mask for every image
    except (LookupError, ValueError) as exc:
        return _refused(state, exc)
    job = Job("folder", cls.name)
    state.jobs.start(job, lambda j: state.workspace.run_folder_job(j, paths, run, config))
    shown = {k: str(v) for k, v in paths.items()}
    return JSONResponse({**job.describe(), **shown}, status_code=202)


async def job_info(request: Request) -> Response:
    state = _state(request)
    job = state.jobs.get(request.path_params["id"])
    return _error(404, "no such job") if job is None else JSONResponse(job.describe())


async def events(request: Request) -> Response:
    state = _state(request)
    job = state.jobs.get(request.path_params["id"])
    if job is None:
        return _error(404, "no such job")
    start = request.headers.get("last-event-id", "")
    first = int(start) + 1 if start.isdigit() else 0
    return StreamingResponse(_stream(state, job, first), media_type="text/event-stream")


async def cancel(request: Request) -> Response:
    state = _state(request)
    job = state.jobs.get(request.path_params["id"])
    if job is None:
        return _error(404, "no such job")
    job.cancel()
    return JSONResponse(job.describe())


async def result(request: Request) -> Response:
    state = _state(request)
    job = state.jobs.get(request.path_params["id"])
    if job is None or job.result is None or job.status != "done":
        return _error(404, "no result (yet)")
    return _result_file(job, {})


async def preview(request: Request) -> Response:
    state = _state(request)
    job = state.jobs.get(request.path_params["id"])
    if job is None or job.result is None or job.status != "done":
        return _error(404, "no result (yet)")
    if job.result.suffix.lower() in _SHOWN:
        return FileResponse(job.result, media_type=_MEDIA[job.result.suffix.lower()])
    data = await asyncio.to_thread(job.result.read_bytes)
    return await asyncio.to_thread(_png_preview, data, str(job.result))


async def upload_preview(request: Request) -> Response:
    state = _state(request)
    try:
        form = await _form(request)
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise ValueError("image: a file is required")
        data = await upload.read()
    except (BodyTooLarge, ValueError) as exc:
        return _refused(state, exc)
    return await asyncio.to_thread(_png_preview, data, "upload")


ROUTES = [
    Route("/", page),
    Route("/api/info", info),
    Route("/api/models", models),
    Route("/api/folders", folders),
    Route("/api/edit", edit, methods=["POST"]),
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/folder", folder, methods=["POST"]),
    Route("/api/preview", upload_preview, methods=["POST"]),
    Route("/api/jobs/{id:str}", job_info),
    Route("/api/jobs/{id:str}/events", events),
    Route("/api/jobs/{id:str}/cancel", cancel, methods=["POST"]),
    Route("/api/jobs/{id:str}/result", result),
    Route("/api/jobs/{id:str}/preview", preview),
    Mount("/static", StaticFiles(directory=static_dir()), name="static"),
]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except BodyTooLarge:
        raise
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


_RESERVED = {"model", "input", "output", "mask", "masks", "options", "seed", "count", "mode"}


def _options(body: dict[str, Any]) -> dict[str, Any]:
    """A JSON body's options: its ``options`` object, plus any other top-level key."""
    given = body.get("options") or {}
    if not isinstance(given, dict):
        raise ValueError("options must be a JSON object")
    return {**{k: v for k, v in body.items() if k not in _RESERVED}, **given}


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if not low <= n <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {n}")
    return n


def _job_folder(state: ServeState) -> Path:
    folder = Path(tempfile.mkdtemp(dir=state.scratch, prefix="job-"))
    (folder / "in").mkdir()
    return folder


async def _edit_job(state: ServeState, form: Any) -> tuple[Job, EditRequest, tuple[int, int]]:
    """Validate an edit's form and save its files under server-made names."""
    from ganedit.io import probe_image

    cls = _family(form.get("model"))
    if cls.kind.value == "generate":
        raise ValueError(f"{cls.name} generates images; POST /api/generate")
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise ValueError("image: a file is required")
    values = {k: v for k, v in form.items() if k not in ("model", "image", "mask", "wait")}
    run, config = split_options(values, cls.Config, state.roots)
    data = await upload.read()
    info = probe_image(data)
    folder = _job_folder(state)
    image = folder / "in" / f"image{_EXT.get(info.format, '.png')}"
    await asyncio.to_thread(image.write_bytes, data)
    mask = None
    if form.get("mask") is not None and not isinstance(form.get("mask"), str):
        if kind_of(cls.name).value != "image_mask":
            raise ValueError(f"mask: {cls.name} takes no mask")
        mask_data = await form["mask"].read()
        mask = folder / f"mask{_EXT.get(probe_image(mask_data).format, '.png')}"
        await asyncio.to_thread(mask.write_bytes, mask_data)
    job = Job("edit", cls.name, folder)
    job.estimate = state.workspace.estimate(cls.name, info.width * info.height)
    return job, EditRequest(image, mask, run, config), (info.height, info.width)


def _result_file(job: Job, headers: dict[str, str]) -> Response:
    assert job.result is not None
    suffix = job.result.suffix.lower()
    return FileResponse(
        job.result,
        media_type=_MEDIA.get(suffix, "application/octet-stream"),
        filename=f"ganedit-{job.model}-{job.id}{suffix}",
        headers=headers,
    )


def _png_preview(data: bytes, name: str) -> Response:
    """An 8-bit PNG of an encoded image, for display only."""
    import numpy as np

    from ganedit.io import ImageReadError, decode_image, encode_image

    try:
        img = decode_image(data, name=name)
    except ImageReadError as exc:
        return _error(422, exc.reason)
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    return Response(encode_image(img, "png"), media_type="image/png")


async def _stream(state: ServeState, job: Job, first: int) -> AsyncIterator[bytes]:
    """The job's records as server-sent events (``id`` = record index), then the end."""
    index, idle = first, 0.0
    while not state.closing:
        records, finished = job.since(index)
        for record in records:
            yield f"id: {index}\ndata: {json.dumps(record, default=str)}\n\n".encode()
            index += 1
        if finished and not job.since(index)[0]:
            closing = {"event": "close", **job.describe()}
            yield f"event: close\ndata: {json.dumps(closing)}\n\n".encode()
            return
        if not records:
            await asyncio.sleep(0.05)
            idle += 0.05
            if idle >= 15:
                idle = 0.0
                yield b": keep-alive\n\n"
        else:
            idle = 0.0

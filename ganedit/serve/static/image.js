// image.js: the input image, the stage (zoom, pan, before/after) and the mask editor.
"use strict";

// --------------------------------------------------------------------------- input image
async function decode(blob) {
  try { return await createImageBitmap(blob); } catch (e) { /* e.g. TIFF: ask the server */ }
  const form = new FormData();
  form.append("image", blob);
  const png = await (await api("/api/preview", { method: "POST", body: form })).blob();
  return createImageBitmap(png);
}

function setInput(file) {
  // The file is the input at once (a Run clicked right away waits for the decode below).
  S.input = file;
  S.loading = loadInput(file);
  return S.loading;
}

async function loadInput(file) {
  showError("");
  try {
    const bitmap = await decode(file);
    if (S.input !== file) return;  // another file was opened meanwhile
    S.inputBitmap = bitmap; S.inputW = bitmap.width; S.inputH = bitmap.height;
  } catch (e) { S.input = null; showError("cannot open this image: " + e.message); return; }
  const before = $("before");
  before.width = S.inputW; before.height = S.inputH;
  before.getContext("2d").drawImage(S.inputBitmap, 0, 0);
  const mask = $("mask-canvas");
  mask.width = S.inputW; mask.height = S.inputH;
  S.undo = []; S.redo = []; updateUndo();
  clearResult();
  applyView();
  fit();
  if (S.pendingMask) { const m = S.pendingMask; S.pendingMask = null; await uploadMask(m); }
}

async function uploadMask(file) {
  if (!S.input) { S.pendingMask = file; return; }  // applied once an image is open
  await S.loading;
  try {
    const px = pixelsOf(await decode(file), S.inputW, S.inputH);
    mapMask((on, i) => px[i] > 127 || px[i + 1] > 127 || px[i + 2] > 127);
  } catch (err) { showError("cannot read the mask: " + err.message); }
}

function clearResult() {
  S.resultJob = null; S.comparing = false; S.resultOnly = false;
  $("result").hidden = true;
  $("result").removeAttribute("src");
  const dl = $("download");
  dl.removeAttribute("href"); dl.classList.add("disabled"); dl.setAttribute("aria-disabled", "true");
  $("use-result").disabled = true;
  $("view-compare").disabled = true;
}

// --------------------------------------------------------------------------------- stage
function stageSize() { return S.resultJob ? [S.outW, S.outH] : [S.inputW, S.inputH]; }

function drawStage() {
  const [w, h] = stageSize();
  const box = $("compare");
  box.hidden = !w;
  $("empty").hidden = !!w;
  if (!w) return;
  const m = current();
  box.style.width = w + "px";
  box.style.height = h + "px";
  box.style.transform = `translate(${S.panX}px, ${S.panY}px) scale(${S.zoom})`;
  box.classList.toggle("pixelated", S.zoom > 1);
  box.classList.toggle("comparing", S.comparing);
  const split = S.holdBefore ? 1 : S.split;
  box.dataset.split = split.toFixed(3);
  $("result").hidden = !(S.resultJob && (S.comparing || S.resultOnly));
  $("before").hidden = !S.inputBitmap || S.resultOnly;
  $("before").style.clipPath = S.comparing ? `inset(0 ${(1 - split) * 100}% 0 0)` : "none";
  $("mask-canvas").hidden = !m || m.kind !== "image_mask" || S.comparing || S.resultOnly || !S.inputBitmap;
  const handle = $("compare-handle");
  handle.hidden = !S.comparing;
  handle.style.left = split * 100 + "%";
  handle.style.transform = `scaleX(${1 / S.zoom})`;
  $("compare-hint").classList.toggle("invisible", !S.comparing);
  $("zoom-text").textContent = Math.round(S.zoom * 100) + "%";
}

function fit() {
  const [w, h] = stageSize();
  if (!w) return;
  const r = $("stage").getBoundingClientRect();
  S.zoom = Math.min(16, (r.width - 20) / w, (r.height - 20) / h);
  S.panX = (r.width - w * S.zoom) / 2; S.panY = (r.height - h * S.zoom) / 2;
  drawStage();
}

function zoomAt(factor, cx, cy) {
  const r = $("stage").getBoundingClientRect();
  const x = cx === undefined ? r.width / 2 : cx - r.left;
  const y = cy === undefined ? r.height / 2 : cy - r.top;
  const z = Math.min(32, Math.max(0.05, S.zoom * factor));
  S.panX = x - (x - S.panX) * (z / S.zoom); S.panY = y - (y - S.panY) * (z / S.zoom);
  S.zoom = z;
  drawStage();
}

// ----------------------------------------------------------------------------- mask editor
function maskCtx() { return $("mask-canvas").getContext("2d", { willReadFrequently: true }); }

function snapshot() {
  const c = $("mask-canvas");
  S.undo.push(maskCtx().getImageData(0, 0, c.width, c.height));
  const steps = Math.max(3, Math.min(40, Math.floor(4e8 / (4 * c.width * c.height))));
  while (S.undo.length > steps) S.undo.shift();  // at most ~400 MB of undo, 3 steps at least
  S.redo = [];
  updateUndo();
}

function updateUndo() { $("undo").disabled = !S.undo.length; $("redo").disabled = !S.redo.length; }

function undoRedo(from, to) {
  if (!from.length) return;
  const c = $("mask-canvas");
  to.push(maskCtx().getImageData(0, 0, c.width, c.height));
  maskCtx().putImageData(from.pop(), 0, 0);
  updateUndo();
}

function maskPoint(e) {
  const c = $("mask-canvas");
  const r = c.getBoundingClientRect();
  return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
}

function strokeTo(p) {
  const ctx = maskCtx();
  ctx.globalCompositeOperation = $("tool-eraser").checked ? "destination-out" : "source-over";
  ctx.strokeStyle = ctx.fillStyle = "rgb(255, 40, 40)";
  ctx.lineWidth = Number($("brush-size").value);
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(S.drawing[0], S.drawing[1]);
  ctx.lineTo(p[0] + 0.01, p[1]);
  ctx.stroke();
  S.drawing = p;
}

function mapMask(fn) {  // fn(painted, i, pixels) -> painted
  snapshot();
  const c = $("mask-canvas");
  const data = maskCtx().getImageData(0, 0, c.width, c.height);
  const px = data.data;
  for (let i = 0; i < px.length; i += 4) {
    const on = fn(px[i + 3] > 0, i);
    px[i] = 255; px[i + 1] = 40; px[i + 2] = 40; px[i + 3] = on ? 255 : 0;
  }
  maskCtx().putImageData(data, 0, 0);
}

function pixelsOf(bitmap, w, h) {
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

function maskBlob() {  // white = fill, black = keep; the project's mask convention
  const src = $("mask-canvas");
  const c = document.createElement("canvas");
  c.width = src.width; c.height = src.height;
  const ctx = c.getContext("2d");
  const data = maskCtx().getImageData(0, 0, src.width, src.height);
  const px = data.data;
  for (let i = 0; i < px.length; i += 4) {
    const v = px[i + 3] > 0 ? 255 : 0;
    px[i] = px[i + 1] = px[i + 2] = v; px[i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  return new Promise((done) => c.toBlob(done, "image/png"));
}

function maskIsEmpty() {
  const c = $("mask-canvas");
  if (!c.width) return true;
  const px = maskCtx().getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) return false;
  return true;
}


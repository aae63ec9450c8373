// ganedit serve: the one page. Plain JavaScript, no build step, nothing from the network.
// Everything it shows comes from the server's JSON API (see ganedit/serve/app.py).
"use strict";

const $ = (id) => document.getElementById(id);
const S = {
  models: [], model: null, view: "image",
  input: null, inputBitmap: null, inputW: 0, inputH: 0,
  job: null, source: null, started: 0, estimate: null, timer: null,
  resultJob: null, outW: 0, outH: 0, split: 0.5, comparing: false, holdBefore: false,
  zoom: 1, panX: 0, panY: 0, undo: [], redo: [], drawing: null, panning: null, space: false,
  browse: null, rows: new Map(), folderInput: "", total: 0, processed: 0,
};

// ------------------------------------------------------------------------------ helpers
function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function postJSON(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
}

function current() { return S.models.find((m) => m.name === S.model); }

// ------------------------------------------------------------------------ options form
function fieldInput(f, bundled) {
  let input;
  if (f.type === "bool" && f.group === "run") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = !!f.default;
  } else if (f.type === "bool" || f.type === "choice") {
    input = document.createElement("select");
    const values = f.type === "bool" ? ["true", "false"] : f.choices.map(String);
    const first = new Option(`default (${f.default === null ? "auto" : f.default})`, "");
    input.add(first);
    for (const v of values) input.add(new Option(v, v));
  } else {
    input = document.createElement("input");
    input.type = (f.type === "int" || f.type === "float") && f.name !== "tile" ? "number" : "text";
    if (input.type === "number") {
      input.step = f.type === "int" ? "1" : "any";
      if (f.min !== undefined) input.min = f.min;
      if (f.max !== undefined) input.max = f.max;
    }
    let shown = f.default === null ? "auto" : Array.isArray(f.default) ? f.default.join(",") : f.default;
    if (f.name === "weights") shown = bundled ? "bundled" : "random, or a .safetensors under --root";
    input.placeholder = String(shown);
  }
  input.name = f.name;
  input.id = "opt-" + f.name;
  return input;
}

function buildForm() {
  const m = current();
  const form = $("options-form");
  form.replaceChildren();
  if (!m) return;
  for (const f of m.fields) {
    const row = document.createElement("div");
    row.className = `field group-${f.group}`;
    row.dataset.scope = f.scope;
    const label = document.createElement("label");
    label.htmlFor = "opt-" + f.name;
    label.textContent = f.name;
    const help = document.createElement("div");
    help.className = "help";
    const bounds = [f.min !== undefined ? `min ${f.min}` : "", f.max !== undefined ? `max ${f.max}` : ""]
      .filter(Boolean).join(", ");
    help.textContent = f.help + (bounds ? ` (${bounds})` : "");
    row.append(label, fieldInput(f, m.bundled_weights), help);
    form.append(row);
  }
  const note = $("weights-note");
  note.hidden = m.bundled_weights;
  note.textContent = m.bundled_weights ? "" :
    `${m.name} ships no weights: set weights to "random" (untrained, for trying the page) or to a .safetensors file under --root.`;
  applyView();
}

function formValues(folder) {
  const out = {};
  for (const el of $("options-form").elements) {
    const row = el.closest(".field");
    if (!folder && row.dataset.scope !== "both") continue;
    if (el.type === "checkbox") { if (el.checked) out[el.name] = "true"; }
    else if (el.value !== "") out[el.name] = el.value;
  }
  return out;
}

// ---------------------------------------------------------------------------- model + view
function selectModel(name) {
  S.model = name;
  const m = current();
  $("kind").textContent = m ? m.kind.replace("_", " + ") : "";
  $("summary").textContent = m ? m.summary : "";
  buildForm();
}

function applyView() {
  const m = current();
  const kind = m ? m.kind : "image";
  $("image-view").hidden = S.view !== "image";
  $("folder-view").hidden = S.view !== "folder";
  $("tab-image").classList.toggle("active", S.view === "image");
  $("tab-folder").classList.toggle("active", S.view === "folder");
  $("tab-folder").disabled = kind === "generate";
  if (kind === "generate" && S.view === "folder") { S.view = "image"; return applyView(); }
  $("generate-tools").hidden = kind !== "generate";
  $("file-input").parentElement.hidden = kind === "generate";
  $("drop-hint").hidden = kind === "generate";
  $("mask-tools").hidden = kind !== "image_mask" || !S.input;
  $("folder-mask-row").hidden = kind !== "image_mask";
  $("run").textContent = kind === "generate" ? "Generate" : "Run";
  for (const row of $("options-form").children) row.hidden = S.view === "image" && row.dataset.scope !== "both";
  drawStage();
}

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
  if (S.undo.length > 40) S.undo.shift();
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

// ---------------------------------------------------------------------------------- jobs
function setProgress(text, value) {
  $("progress-text").textContent = text;
  const bar = $("progress-bar");
  if (value === null) bar.removeAttribute("value"); else bar.value = value;
  $("progress").classList.toggle("idle", !S.job);
}

function tick() {
  if (!S.job) return;
  const elapsed = (performance.now() - S.started) / 1000;
  if (S.job.kind === "folder") {
    const left = S.processed ? (elapsed / S.processed) * (S.total - S.processed) : null;
    setProgress(`${S.processed} / ${S.total} files · ${elapsed.toFixed(1)} s` +
      (left !== null ? ` · ETA ${left.toFixed(1)} s` : ""), S.total ? S.processed / S.total : null);
  } else if (S.estimate) {
    const left = Math.max(0, S.estimate - elapsed);
    setProgress(`running ${elapsed.toFixed(1)} s · ETA ~${left.toFixed(1)} s`,
      Math.min(0.95, elapsed / S.estimate));
  } else {
    setProgress(`running ${elapsed.toFixed(1)} s · ETA: estimating (first edit with this model)`, null);
  }
}

function follow(job, onRecord, onClose) {
  S.job = job; S.started = performance.now(); S.estimate = job.estimate_seconds;
  $("cancel").disabled = false;
  $("run").disabled = $("folder-run").disabled = $("folder-dry").disabled = $("folder-resume").disabled = true;
  S.timer = setInterval(tick, 100);
  tick();
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  S.source = source;
  source.onmessage = (e) => onRecord(JSON.parse(e.data));
  source.addEventListener("close", (e) => {
    source.close();
    const info = JSON.parse(e.data);
    clearInterval(S.timer);
    S.job = null;
    $("cancel").disabled = true;
    $("run").disabled = $("folder-run").disabled = $("folder-dry").disabled = $("folder-resume").disabled = false;
    const seconds = ((performance.now() - S.started) / 1000).toFixed(2);
    const part = S.total ? S.processed / S.total : 0;
    setProgress(`${info.status} in ${seconds} s`, info.status === "done" ? 1 : part);
    if (info.status === "failed") showError(info.error || "failed");
    onClose(info);
  });
}

async function runImage() {
  showError("");
  const m = current();
  if (!m) return;
  try {
    let response;
    if (m.kind === "generate") {
      response = await postJSON("/api/generate", { model: m.name, seed: $("gen-seed").value,
        count: $("gen-count").value, mode: $("gen-mode").value, options: formValues(false) });
    } else {
      if (!S.input) { showError("open an image first"); return; }
      await S.loading;
      if (!S.inputBitmap) return;  // it could not be opened (the error says why)
      const form = new FormData();
      form.append("model", m.name);
      form.append("image", S.input, S.input.name || "image");
      if (m.kind === "image_mask" && !maskIsEmpty()) form.append("mask", await maskBlob(), "mask.png");
      for (const [k, v] of Object.entries(formValues(false))) form.append(k, v);
      form.append("wait", "0");
      response = await api("/api/edit", { method: "POST", body: form });
    }
    S.total = 0; S.processed = 0;
    follow(await response.json(), () => {}, (info) => { if (info.status === "done") showResult(info); });
  } catch (e) { showError(e.message); }
}

function showResult(info) {
  const img = $("result");
  img.onload = () => {
    S.resultJob = info.id; S.outW = img.naturalWidth; S.outH = img.naturalHeight;
    S.resultOnly = current().kind === "generate" || !S.inputBitmap;
    S.comparing = !S.resultOnly;
    const dl = $("download");
    dl.href = `/api/jobs/${info.id}/result`;
    dl.setAttribute("download", "");
    dl.classList.remove("disabled"); dl.removeAttribute("aria-disabled");
    $("use-result").disabled = false;
    $("view-compare").disabled = S.resultOnly;
    img.dataset.job = info.id;
    fit();
  };
  img.src = `/api/jobs/${info.id}/preview`;
}

async function useResult() {
  if (!S.resultJob) return;
  const blob = await (await api(`/api/jobs/${S.resultJob}/result`)).blob();
  const ext = { "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/tiff": ".tif" }[blob.type] || ".png";
  await setInput(new File([blob], "result" + ext, { type: blob.type }));
}

// -------------------------------------------------------------------------------- folders
async function browse(path) {
  try {
    const data = await (await api("/api/folders" + (path ? "?path=" + encodeURIComponent(path) : ""))).json();
    S.browse = data;
    $("browse-path").textContent = data.path || "served folders (--root)";
    const list = $("browse-list");
    list.replaceChildren();
    const options = $("folder-list");
    options.replaceChildren();
    for (const p of data.folders) {
      const li = document.createElement("li");
      li.textContent = p.split("/").pop() || p;
      li.title = p;
      li.onclick = () => browse(p);
      list.append(li);
      options.append(new Option(p));
    }
    if (!data.folders.length) list.append(Object.assign(document.createElement("li"), { textContent: "(no sub-folders)" }));
  } catch (e) { showError(e.message); }
}

function rowFor(input) {
  let row = S.rows.get(input);
  if (!row) {
    row = document.createElement("tr");
    for (let i = 0; i < 4; i++) row.append(document.createElement("td"));
    const base = S.folderInput;
    row.cells[0].textContent = input.startsWith(base) ? input.slice(base.length).replace(/^\//, "") : input;
    row.cells[0].title = input;
    $("folder-table").tBodies[0].append(row);
    S.rows.set(input, row);
  }
  return row;
}

function onFolderRecord(r) {
  if (r.event === "start") { S.total = r.total; S.processed = 0; }
  else if (r.event === "plan") {
    const row = rowFor(r.input);
    row.dataset.status = r.action === "skip" ? "skipped" : "planned";
    row.cells[1].textContent = r.action === "skip" ? "would skip" : "would run";
    row.cells[2].textContent = "→ " + r.output;
  } else if (r.event === "file") {
    const row = rowFor(r.input || "(unknown)");
    row.dataset.status = r.status;
    row.cells[1].textContent = r.status;
    row.cells[2].textContent = r.error || r.warning || "";
    row.cells[3].textContent = r.seconds === null || r.seconds === undefined ? "" : Number(r.seconds).toFixed(3);
    S.processed += 1;
  } else if (r.event === "end") {
    const failed = Array.isArray(r.failed) ? r.failed.length : r.failed;
    $("folder-summary").textContent = `done ${r.done}, skipped ${r.skipped}, failed ${failed}` +
      (r.cancelled ? " · cancelled (Resume goes on)" : "") + (r.manifest ? ` · manifest ${r.manifest}` : "");
  } else if (r.event === "error") showError(r.message);
  else if (r.event === "warning") $("folder-summary").textContent = "warning: " + r.message;
}

async function runFolder(extra) {
  showError("");
  const m = current();
  const body = { model: m.name, input: $("folder-input").value, output: $("folder-output").value,
    options: { ...formValues(true), ...extra } };
  if (m.kind === "image_mask" && $("folder-mask").value) body.masks = $("folder-mask").value;
  S.rows.clear();
  $("folder-table").tBodies[0].replaceChildren();
  $("folder-summary").textContent = "";
  S.total = 0; S.processed = 0;
  try {
    const job = await (await postJSON("/api/folder", body)).json();
    S.folderInput = job.input || "";
    follow(job, onFolderRecord, () => {});
  } catch (e) { showError(e.message); }
}

// --------------------------------------------------------------------------------- events
function wireStage() {
  const stage = $("stage");
  const mask = $("mask-canvas");
  stage.addEventListener("contextmenu", (e) => e.preventDefault());
  stage.addEventListener("dragstart", (e) => e.preventDefault());  // no native image drag
  stage.addEventListener("wheel", (e) => { e.preventDefault(); zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX, e.clientY); }, { passive: false });
  stage.addEventListener("pointerdown", (e) => {
    stage.focus();
    const onHandle = e.target.closest("#compare-handle");
    if (onHandle) { S.dragSplit = true; stage.setPointerCapture(e.pointerId); return; }
    const paint = e.button === 0 && !S.space && !S.comparing && e.target === mask && current().kind === "image_mask";
    if (paint) {
      snapshot();
      S.drawing = maskPoint(e);
      strokeTo(S.drawing);
    } else {
      S.panning = [e.clientX - S.panX, e.clientY - S.panY];
    }
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener("pointermove", (e) => {
    if (S.dragSplit) {
      const r = $("compare").getBoundingClientRect();
      S.split = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
      drawStage();
    } else if (S.drawing) strokeTo(maskPoint(e));
    else if (S.panning) { S.panX = e.clientX - S.panning[0]; S.panY = e.clientY - S.panning[1]; drawStage(); }
  });
  const stop = () => { S.drawing = null; S.panning = null; S.dragSplit = false; };
  stage.addEventListener("pointerup", stop);
  stage.addEventListener("pointercancel", stop);
  stage.addEventListener("dragover", (e) => { e.preventDefault(); stage.classList.add("drop"); });
  stage.addEventListener("dragleave", () => stage.classList.remove("drop"));
  stage.addEventListener("drop", (e) => {
    e.preventDefault(); stage.classList.remove("drop");
    if (e.dataTransfer.files.length) setInput(e.dataTransfer.files[0]);
  });
}

function typing(e) { return e.target.matches("input[type=text], input[type=number], select, textarea"); }

function wireKeys() {
  document.addEventListener("paste", (e) => {
    const file = [...(e.clipboardData ? e.clipboardData.files : [])][0];
    if (file) { e.preventDefault(); setInput(file); }
  });
  document.addEventListener("keydown", (e) => {
    if (typing(e)) return;
    const size = $("brush-size");
    if (e.key === "[" || e.key === "]") {
      const v = Number(size.value);
      size.value = e.key === "[" ? Math.max(1, Math.round(v / 1.25)) : Math.min(256, Math.round(v * 1.25) + 1);
      size.dispatchEvent(new Event("input"));
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
      e.preventDefault();
      if (e.shiftKey) undoRedo(S.redo, S.undo); else undoRedo(S.undo, S.redo);
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "y") {
      e.preventDefault(); undoRedo(S.redo, S.undo);
    } else if (e.key.toLowerCase() === "b" && S.comparing && !e.repeat) { S.holdBefore = true; drawStage(); }
    else if (e.key === " ") { S.space = true; if (e.target === $("stage")) e.preventDefault(); }
  });
  document.addEventListener("keyup", (e) => {
    if (e.key.toLowerCase() === "b") { S.holdBefore = false; drawStage(); }
    if (e.key === " ") S.space = false;
  });
}

function wireButtons() {
  $("model").onchange = (e) => { selectModel(e.target.value); clearResult(); drawStage(); };
  $("tab-image").onclick = () => { S.view = "image"; applyView(); };
  $("tab-folder").onclick = () => { S.view = "folder"; applyView(); if (!S.browse) browse(""); };
  $("file-input").onchange = (e) => { if (e.target.files.length) setInput(e.target.files[0]); };
  $("run").onclick = runImage;
  $("cancel").onclick = () => { if (S.job) api(`/api/jobs/${S.job.id}/cancel`, { method: "POST" }).catch((e) => showError(e.message)); };
  $("use-result").onclick = () => useResult().catch((e) => showError(e.message));
  $("view-input").onclick = () => { S.comparing = false; drawStage(); };
  $("view-compare").onclick = () => { if (S.resultJob && S.inputBitmap) { S.comparing = true; drawStage(); } };
  $("zoom-in").onclick = () => zoomAt(1.25);
  $("zoom-out").onclick = () => zoomAt(0.8);
  $("zoom-fit").onclick = fit;
  $("zoom-100").onclick = () => zoomAt(1 / S.zoom);
  $("brush-size").oninput = () => { $("brush-text").textContent = $("brush-size").value + " px"; };
  $("undo").onclick = () => undoRedo(S.undo, S.redo);
  $("redo").onclick = () => undoRedo(S.redo, S.undo);
  $("mask-invert").onclick = () => mapMask((on) => !on);
  $("mask-clear").onclick = () => mapMask(() => false);
  $("mask-alpha").onclick = () => {
    const px = pixelsOf(S.inputBitmap, S.inputW, S.inputH);
    mapMask((on, i) => px[i + 3] === 0);
  };
  $("mask-upload").onchange = async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) await uploadMask(file);
  };
  $("mask-download").onclick = async () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await maskBlob());
    a.download = "mask.png";
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  };
  $("folder-run").onclick = () => runFolder({});
  $("folder-dry").onclick = () => runFolder({ dry_run: "true" });
  $("folder-resume").onclick = () => runFolder({ skip_existing: "true" });
  $("browse-up").onclick = () => browse(S.browse && S.browse.parent ? S.browse.parent : "");
  $("browse-input").onclick = () => { if (S.browse && S.browse.path) $("folder-input").value = S.browse.path; };
  $("browse-output").onclick = () => { if (S.browse && S.browse.path) $("folder-output").value = S.browse.path; };
  $("browse-masks").onclick = () => { if (S.browse && S.browse.path) $("folder-mask").value = S.browse.path; };
  window.addEventListener("resize", () => drawStage());
}

async function main() {
  if (location.search.includes("token=")) history.replaceState(null, "", "/");  // the cookie holds it
  wireStage(); wireKeys(); wireButtons();
  try {
    S.models = await (await api("/api/models")).json();
  } catch (e) { showError("cannot list the models: " + e.message); return; }
  const select = $("model");
  for (const m of S.models) select.add(new Option(`${m.name} (${m.plugin})`, m.name));
  if (S.models.length) selectModel(S.models[0].name);
  document.body.dataset.ready = "1";
}

main();

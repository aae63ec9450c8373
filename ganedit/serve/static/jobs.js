// jobs.js: edits, generations and folder runs followed through their event streams.
"use strict";

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
  } else if (S.progress && S.progress[1] > 1 && S.progress[0] > 0) {  // tiles: measured
    const [done, total] = S.progress;
    const left = (elapsed / done) * Math.max(0, total - done);
    setProgress(`model calls ${done} / ${total} · ${elapsed.toFixed(1)} s · ETA ${left.toFixed(1)} s`,
      Math.min(0.99, done / total));
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
  S.progress = null;
  if (job.kind !== "folder") {  // an edit's model calls (tiles), polled
    S.poll = setInterval(() => api(`/api/jobs/${job.id}`).then((r) => r.json())
      .then((info) => { S.progress = info.progress; }).catch(() => {}), 300);
  }
  tick();
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  S.source = source;
  source.onmessage = (e) => onRecord(JSON.parse(e.data));
  const finish = (info) => {
    source.close();
    clearInterval(S.timer); clearInterval(S.poll);
    S.job = null;
    $("cancel").disabled = true;
    $("run").disabled = $("folder-run").disabled = $("folder-dry").disabled = $("folder-resume").disabled = false;
    const seconds = ((performance.now() - S.started) / 1000).toFixed(2);
    const part = S.total ? S.processed / S.total : 0;
    setProgress(`${info.status} in ${seconds} s`, info.status === "done" ? 1 : part);
    if (info.status === "failed") showError(info.error || "failed");
    onClose(info);
  };
  source.addEventListener("close", (e) => finish(JSON.parse(e.data)));
  source.onerror = () => {  // a dropped stream reconnects by itself; a refused one is final
    if (source.readyState === EventSource.CLOSED) {
      finish({ status: "failed", error: "lost the connection to the server" });
    }
  };
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


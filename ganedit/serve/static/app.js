// app.js: wiring (pointer, keys, buttons) and start-up; loaded last.
"use strict";

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
  stage.addEventListener("pointermove", (e) => showBrush(e));
  stage.addEventListener("pointerleave", () => { $("brush").hidden = true; });
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

function showBrush(e) {  // the brush's outline at its size on screen
  const brush = $("brush");
  const mask = $("mask-canvas");
  brush.hidden = mask.hidden || S.comparing || e.target !== mask && !S.drawing;
  if (brush.hidden) return;
  const r = $("stage").getBoundingClientRect();
  const size = Number($("brush-size").value) * mask.getBoundingClientRect().width / mask.width;
  brush.style.left = e.clientX - r.left + "px";
  brush.style.top = e.clientY - r.top + "px";
  brush.style.width = brush.style.height = size + "px";
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


document.addEventListener("DOMContentLoaded", main);

// ganedit serve: the one page. Plain JavaScript, no build step, nothing from the network.
// Everything it shows comes from the server's JSON API (see ganedit/serve/app.py).
// core.js: shared state, API helpers, the options form, the model and view.
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


/* transzero studio: one page over the HTTP API (no build step, no network beyond this server). */
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  modality: "text",     // of the items on screen
  items: [],            // texts, or base64 of images / clips
  shown: [],            // what each row displays (text, or a data URL)
  predictions: [],
  classes: [],
  examples: [],         // {item, label} the user gave
  history: [],
  zeroShot: null,
  next: null,
  session: [],          // the labels given, in order: {item, label, time, predicted, confidence}
  policy: "diverse",
};

// the label a user gave each item (the last one, if several)
function labelledMap() {
  const m = new Map();
  for (const e of state.examples) m.set(e.item, e.label);
  return m;
}

// ------------------------------------------------------------------ API
async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = "Bearer " + key;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    if (res.status === 401) $("key-field").hidden = false;
    const msg = data && data.error ? data.error.message : res.status + " " + res.statusText;
    throw new Error(msg);
  }
  return data;
}

function name() { return $("name").value.trim() || "studio"; }

function setStatus(text, error) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (error ? " error" : "");
}

// ------------------------------------------------------------------ inputs
// White space around names: JavaScript's (trim) and Python's (str.strip, which the server applies to names), so
// a name the studio shows is the name the server keeps.
const SPACE = "\\s\\x1c-\\x1f\\x85";
const TRIM = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, "g");
// "name: description": the first colon followed by white space (or ending the line); "a:b" or
// '=HYPERLINK("http://...")' are names, not a name and a description.
const DESCRIBED = new RegExp(`:(?=[${SPACE}]|$)`);
const strip = (s) => s.replace(TRIM, "");

function plural(n, one, many) { return n + " " + (n === 1 ? one : many || one + "s"); }

function parseLabels(text) {
  // "a, b, c" on one line, or one per line; a line "name: description" describes its class
  const lines = String(text).split(/\r\n|\r|\n/).map(strip).filter(Boolean);
  const parts = lines.length === 1 && !DESCRIBED.test(lines[0]) ? lines[0].split(",") : lines;
  const names = [], desc = new Map();
  for (const raw of parts) {
    const p = strip(raw);
    if (!p) continue;
    const m = DESCRIBED.exec(p);
    const n = m ? strip(p.slice(0, m.index)) : p;
    if (!n) throw new Error(`"${p}": put the class name before the colon (name: description)`);
    if (names.includes(n)) throw new Error(`the class "${n}" is there twice; keep one`);
    names.push(n);
    const d = m ? strip(p.slice(m.index + 1)) : "";
    if (d) desc.set(n, d);
  }
  if (names.length < 2) {
    throw new Error("type at least two class names, comma-separated or one per line (a line \"name: description\" " +
                    "describes its class)");
  }
  if (!desc.size) return names;
  const out = Object.create(null);  // no inherited keys: "toString" or "__proto__" are class names like any other
  for (const n of names) out[n] = desc.has(n) ? desc.get(n) : null;
  return out;
}

function parseCsv(text) {
  // RFC-4180-ish: quoted fields, doubled quotes, newlines inside quotes
  const rows = []; let row = [], field = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else q = false; }
      else field += c;
    } else if (c === '"') q = true;
    else if (c === "," || c === "\t") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") { if (c === "\r" && text[i + 1] === "\n") i++; row.push(field); rows.push(row); row = []; field = ""; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  if (!rows.length) return [];
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = Math.max(0, header.indexOf("text"));
  return rows.slice(1).map((r) => (r[col] || "").trim()).filter(Boolean);
}

function readFile(file, asText) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(new Error("cannot read " + file.name));
    if (asText) r.readAsText(file); else r.readAsDataURL(file);
  });
}

// what an uploaded file holds, as the server decides for uploads (content type, then suffix)
function fileKind(f) {
  const n = f.name.toLowerCase(), t = (f.type || "").toLowerCase();
  if (/\.(csv|tsv|txt)$/.test(n)) return "text";
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("audio/")) return "audio";
  if (/\.(jpe?g|png|bmp|gif|webp|tiff?|ppm|pgm)$/.test(n)) return "image";
  if (/\.(wav|flac|ogg|oga|aiff?|au|mp3)$/.test(n)) return "audio";
  return "other";
}

function uploadNote(text, error) {
  const note = $("upload-note");
  note.textContent = text;
  note.classList.toggle("error", !!error);
  if (error) $("upload").value = "";  // refused: nothing stays chosen (and choosing the same files again is noticed)
}

async function onUpload() {
  const files = Array.from($("upload").files);
  if (!files.length) return;
  state.upload = null;
  const by = { text: [], image: [], audio: [], other: [] };
  for (const f of files) by[fileKind(f)].push(f);
  if (by.other.length) {
    uploadNote(by.other.map((f) => f.name).join(", ") + ": not a CSV or TXT of texts, an image or an audio clip", true);
    return;
  }
  const held = [];
  if (by.text.length) held.push(by.text.map((f) => f.name).join(", "));
  if (by.image.length) held.push(plural(by.image.length, "image"));
  if (by.audio.length) held.push(plural(by.audio.length, "audio clip"));
  if (held.length > 1) {
    // a classifier takes one kind of item (the server refuses a mix too)
    uploadNote(held.slice(0, -1).join(", ") + " and " + held[held.length - 1] + ": upload one kind at a time " +
               "(texts, images or audio clips)", true);
    return;
  }
  if (by.text.length) {
    const all = [];
    for (const f of by.text) {
      const t = await readFile(f, true);
      all.push(...(/\.txt$/i.test(f.name) ? t.split(/\n/).map((s) => s.trim()).filter(Boolean) : parseCsv(t)));
    }
    $("items").value = all.join("\n");
    uploadNote(plural(all.length, "text") + " from " + by.text.map((f) => f.name).join(", "));
    return;
  }
  const modality = by.audio.length ? "audio" : "image";
  const urls = [];
  for (const f of files) urls.push({ name: f.name, url: await readFile(f, false) });
  state.upload = { modality, urls };
  $("items").value = "";
  uploadNote(held[0] + " ready");
}

function currentItems() {
  if (state.upload && !$("items").value.trim()) {
    const { modality, urls } = state.upload;
    return { modality, items: urls.map((u) => u.url.split(",", 2)[1] || ""), shown: urls.map((u) => modality === "image" ? u.url : u.name) };
  }
  const texts = $("items").value.split(/\n/).map((s) => s.trim()).filter(Boolean);
  if (!texts.length) throw new Error("paste some texts (one per line) or upload files");
  return { modality: "text", items: texts, shown: texts };
}

function itemField(modality) { return modality === "text" ? "items" : modality === "image" ? "images" : "audio"; }

// ------------------------------------------------------------------ classify
async function classify() {
  const btn = $("classify");
  btn.disabled = true;
  try {
    const labels = parseLabels($("labels").value);
    const { modality, items, shown } = currentItems();
    const classes = Array.isArray(labels) ? labels : Object.keys(labels);
    if (modality !== state.modality) state.examples = [];
    state.examples = state.examples.filter((e) => classes.includes(e.label));
    setStatus("classifying…");
    const info = await api("PUT", "/v1/classifiers/" + encodeURIComponent(name()),
                           { labels, modality, examples: state.examples });
    await api("POST", "/v1/classifiers/" + encodeURIComponent(name()) + "/pool", { [itemField(modality)]: items });
    Object.assign(state, { modality, items, shown, classes, history: info.history, zeroShot: info.zero_shot_accuracy,
                           policy: info.policy || state.policy });
    updateFilterOptions();
    await predict();
    $("label-next").hidden = false;
    $("download").hidden = false;
    $("save").hidden = false;
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    btn.disabled = false;
  }
}

async function predict() {
  const t0 = performance.now();
  // the three best scores per item keep a large pool's answer small; a row's explanation and the CSV download ask
  // for the rest when they need it
  const res = await api("POST", "/v1/classify",
                        { classifier: name(), [itemField(state.modality)]: state.items, top_k: 3 });
  state.predictions = res.predictions;
  const r0 = performance.now();
  render();
  state.renderMs = Math.round(performance.now() - r0);
  const bad = res.predictions.filter((p) => p.error).length;
  setStatus(`${res.predictions.length - bad}/${res.predictions.length} classified with ${res.encoder} + ${res.method} in ` +
            `${Math.round(performance.now() - t0)} ms` + (bad ? ` · ${bad} could not be read` : ""));
  return performance.now() - t0;
}

function pct(p) { return (100 * p).toFixed(1) + "%"; }

function updateFilterOptions() {
  const sel = $("filter");
  const keep = sel.value;
  for (const o of Array.from(sel.options)) if (o.value.startsWith("pred:")) o.remove();
  for (const c of state.classes) {
    const o = document.createElement("option");
    o.value = "pred:" + c;
    o.textContent = "predicted " + c;
    sel.appendChild(o);
  }
  sel.value = Array.from(sel.options).some((o) => o.value === keep) ? keep : "all";
}

function rowVisible(i, p, given) {
  const f = $("filter").value, q = $("search").value.trim().toLowerCase();
  const text = state.modality === "text" ? state.items[i] : String(state.shown[i] || "");
  if (q && !text.toLowerCase().includes(q)) return false;
  if (f === "unlabelled") return given === undefined;
  if (f === "labelled") return given !== undefined;
  if (f === "disagree") return given !== undefined && !p.error && p.label !== given;
  if (f.startsWith("pred:")) return !p.error && p.label === f.slice(5);
  return true;
}

// rows drawn at once: a long table costs the browser layout time after every label; "show more" draws the next ones
const ROW_PAGE = 200;
state.rowLimit = ROW_PAGE;

function render() {
  const given = state.modality === "text" ? labelledMap() : new Map();
  const html = [];
  let matching = 0;
  state.predictions.forEach((p, i) => {
    const g = given.get(state.items[i]);
    if (!rowVisible(i, p, g)) return;
    if (++matching > state.rowLimit) return;
    const shown = state.shown[i];
    const heard = p.transcript ? `<div class="transcript" data-testid="transcript">“${escapeHtml(p.transcript)}”</div>` : "";
    const itemCell = (state.modality === "image" ? `<img alt="" src="${shown}">` : escapeHtml(shown)) + heard;
    const conf = p.scores && p.label ? p.scores[p.label] || 0 : 0;
    html.push(`<tr class="result${p.error ? " bad" : ""}" data-testid="result-row" data-index="${i}" ` +
      `data-label="${escapeHtml(p.label || "")}"${g !== undefined ? ` data-given="${escapeHtml(g)}"` : ""}>` +
      `<td>${i + 1}</td><td class="item">${itemCell}</td>` +
      `<td class="label">${p.error ? "—" : escapeHtml(p.label)}` +
      (g !== undefined ? `<span class="given${g !== p.label ? " disagree" : ""}" title="your label">you: ${escapeHtml(g)}</span>` : "") +
      `</td><td>${p.error ? `<span class="bar-text">${escapeHtml(p.error)}</span>` :
        `<div class="bar" title="${pct(conf)}"><span style="width:${(100 * conf).toFixed(1)}%"></span></div>` +
        `<span class="bar-text">${pct(conf)}</span>`}</td></tr>`);
  });
  $("rows").innerHTML = html.join("");  // one parse for the whole table
  $("table").hidden = false;
  $("empty").hidden = true;
  $("filters").hidden = false;
  $("show-more").hidden = matching <= html.length;
  const total = state.predictions.length;
  $("shown-count").textContent = matching === total ? (html.length < total ? `${html.length} of ${total} shown` : "") :
    `${matching} of ${total} match` + (html.length < matching ? `, ${html.length} shown` : "");
}

async function toggleExplain(tr) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("explain")) { next.remove(); return; }
  const i = Number(tr.dataset.index);
  let p = state.predictions[i];
  if (!p || p.error) return;
  if (!p.explanation) {  // asked for when shown: the explanation and every class's score
    try {
      const res = await api("POST", "/v1/classify", { classifier: name(), [itemField(state.modality)]: [state.items[i]],
                                                      explain: 3 });
      p = Object.assign({}, p, { explanation: res.predictions[0].explanation || [], scores: res.predictions[0].scores });
      state.predictions[i] = p;
    } catch (e) {
      setStatus(e.message, true);
      return;
    }
  }
  const ex = document.createElement("tr");
  ex.className = "explain";
  ex.setAttribute("data-testid", "explanation");
  // the decided class's sources first, then "vs" the runner-up's (each source names its class and class score)
  const groups = [];
  for (const s of p.explanation || []) {
    const last = groups[groups.length - 1];
    if (last && last.cls === s.class) last.items.push(s); else groups.push({ cls: s.class, score: s.class_score, items: [s] });
  }
  const sources = groups.map((g, k) => {
    const head = g.cls === undefined ? "" : `<i>${k ? "vs " : ""}${escapeHtml(g.cls)}${g.score !== undefined ? " " + pct(g.score) : ""}:</i> `;
    return head + g.items.map((s) => {
      const nm = s.concept || s.attribute || s.prompt || s.form || "?";
      const w = s.contribution !== undefined ? s.contribution : s.similarity !== undefined ? s.similarity : s.log_prob;
      return `<span class="source">${escapeHtml(nm)} <b>${w !== undefined ? w.toFixed(3) : ""}</b></span>`;
    }).join("");
  }).join(" ");
  const scores = p.scores ? Object.entries(p.scores).sort((a, b) => b[1] - a[1])
    .map(([c, v]) => `${escapeHtml(c)} ${pct(v)}`).join(" · ") : "";
  ex.innerHTML = `<td></td><td colspan="3">${sources ? "why: " + sources + "<br>" : ""}${scores}</td>`;
  tr.after(ex);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// ------------------------------------------------------------------ label next
async function fetchNext() {
  return api("GET", "/v1/classifiers/" + encodeURIComponent(name()) + "/next?k=1");
}

async function labelNext(refocus, pending) {
  try {
    const res = pending ? await pending : await fetchNext();
    $("teach").hidden = false;
    $("policy").value = state.policy;
    $("session-count").textContent = state.session.length ? plural(state.session.length, "label") + " this session" : "";
    if (!res.items.length) {
      $("next-item").textContent = "Every item is labelled. Add more items and classify again.";
      $("choices").textContent = "";
      state.next = null;
      drawChart();
      return;
    }
    const n = res.items[0];
    state.next = n;
    const at = state.items.indexOf(n.item);
    $("next-item").innerHTML = state.modality === "image" ? `<img alt="" src="${at >= 0 ? state.shown[at] : ""}">`
      : escapeHtml(state.modality === "text" ? n.item : (at >= 0 ? state.shown[at] : "clip"));
    const choices = $("choices");
    choices.textContent = "";
    state.classes.forEach((c, k) => {
      const b = document.createElement("button");
      b.innerHTML = (k < 9 ? `<kbd>${k + 1}</kbd>` : "") + escapeHtml(c);
      b.setAttribute("data-testid", "label-choice");
      b.setAttribute("data-class", c);
      if (c === n.label) { b.className = "suggested"; b.title = "the classifier's guess (" + pct(n.confidence) + ")"; }
      // event.detail is 0 for a click made with the keyboard (Enter or Space)
      b.addEventListener("click", (ev) => teach(c, ev.detail === 0));
      choices.appendChild(b);
    });
    // a keyboard user keeps their place: on the classifier's guess for the next item (a mouse user gets no focus ring)
    if (refocus) (choices.querySelector("button.suggested") || choices.querySelector("button")).focus();
    drawChart();
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function teach(label, byKeyboard) {
  if (!state.next || document.body.dataset.busy) return;
  const t0 = performance.now();
  document.body.dataset.busy = "1";
  // one answer per item: the buttons wait for the refit (and the answered one drops its focus ring)
  const buttons = Array.from($("choices").querySelectorAll("button"));
  for (const b of buttons) b.disabled = true;
  try {
    const example = { item: state.next.item, label };
    const info = await api("POST", "/v1/classifiers/" + encodeURIComponent(name()) + "/examples", { examples: [example] });
    state.examples.push(example);
    state.session.push({ item: example.item, label, time: new Date().toISOString(), predicted: state.next.label,
                         confidence: state.next.confidence });
    state.history = info.history;
    state.zeroShot = info.zero_shot_accuracy;
    // the table and the next item refresh together (both read the refitted classifier)
    const t1 = performance.now();
    const pending = fetchNext();
    await predict();
    const t2 = performance.now();
    await labelNext(byKeyboard, pending);
    const ms = Math.round(performance.now() - t0);
    document.body.dataset.lastPhases = JSON.stringify({ refit: Math.round(t1 - t0), predictions: Math.round(t2 - t1),
                                                        next: Math.round(performance.now() - t2), render: state.renderMs });
    setStatus($("status").textContent + ` · refit on ${plural(info.n_examples, "label")} + next item in ${ms} ms`);
    document.body.dataset.lastRefitMs = String(ms);
    const times = JSON.parse(document.body.dataset.roundTrips || "[]");
    times.push(ms);
    document.body.dataset.roundTrips = JSON.stringify(times);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    for (const b of buttons) b.disabled = false;  // still on screen only when the next item did not come
    delete document.body.dataset.busy;
  }
}

function drawChart() {
  const svg = $("chart");
  const W = 260, H = 150, L = 30, B = 20, T = 10, R = 10;
  const pts = state.history || [];
  const maxN = Math.max(4, ...pts.map((p) => p[0]));
  const x = (n) => L + (W - L - R) * n / maxN;
  const y = (a) => T + (H - T - B) * (1 - a);
  let s = `<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="#cfd6de"/>` +
          `<line x1="${L}" y1="${T}" x2="${L}" y2="${y(0)}" stroke="#cfd6de"/>`;
  for (const a of [0, 0.5, 1]) s += `<text x="${L - 4}" y="${y(a) + 3}" font-size="9" text-anchor="end" fill="#5d6b7e">${a * 100}%</text>`;
  // x-axis ticks: about five round label counts
  const step = Math.max(1, Math.ceil(maxN / 5 / (maxN > 20 ? 5 : 1)) * (maxN > 20 ? 5 : 1));
  for (let n = 0; n <= maxN; n += step) {
    s += `<line x1="${x(n)}" y1="${y(0)}" x2="${x(n)}" y2="${y(0) + 3}" stroke="#cfd6de"/>` +
         `<text class="x-tick" x="${x(n)}" y="${y(0) + 11}" font-size="8" text-anchor="middle" fill="#5d6b7e">${n}</text>`;
  }
  s += `<text x="${W - R}" y="${H - 1}" font-size="9" text-anchor="end" fill="#5d6b7e">labels</text>`;
  if (state.zeroShot !== null && state.zeroShot !== undefined)
    s += `<line x1="${L}" y1="${y(state.zeroShot)}" x2="${W - R}" y2="${y(state.zeroShot)}" stroke="#9aa6b5" stroke-dasharray="4 3"/>`;
  if (pts.length) {
    s += `<polyline fill="none" stroke="#2f6fdf" stroke-width="2" points="${pts.map((p) => x(p[0]) + "," + y(p[1])).join(" ")}"/>`;
    for (const p of pts) s += `<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3" fill="#2f6fdf"><title>${plural(p[0], "label")}: ${pct(p[1])}</title></circle>`;
    const last = pts[pts.length - 1];
    s += `<text data-testid="current-estimate" x="${Math.min(x(last[0]), W - R - 40)}" y="${Math.max(y(last[1]) - 6, T + 8)}" ` +
         `font-size="10" font-weight="600" fill="#2f6fdf">${pct(last[1])}</text>`;
  } else {
    s += `<text x="${(W + L) / 2}" y="${H / 2}" font-size="10" text-anchor="middle" fill="#5d6b7e">estimates start at 4 labels</text>`;
  }
  svg.innerHTML = s;
}

// ------------------------------------------------------------------ download and save
function csvCell(v) {
  let s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;               // OWASP: no formulas in spreadsheets
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

async function download() {
  let preds = state.predictions;
  try {  // every class's probability (the table holds the three best)
    preds = (await api("POST", "/v1/classify", { classifier: name(), [itemField(state.modality)]: state.items })).predictions;
  } catch (e) {
    setStatus(e.message, true);
    return;
  }
  const head = ["row", "item", "label", "confidence", "error", ...state.classes.map((c) => "p:" + c)];
  const lines = [head.map(csvCell).join(",")];
  preds.forEach((p, i) => {
    const item = state.modality === "text" ? state.items[i] : (state.upload ? state.upload.urls[i].name : "");
    lines.push([i + 1, item, p.label, p.scores && p.label ? p.scores[p.label] : "", p.error,
                ...state.classes.map((c) => (p.scores && c in p.scores ? p.scores[c] : ""))].map(csvCell).join(","));
  });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
  a.download = "predictions.csv";
  a.setAttribute("data-testid", "download-link");
  document.body.appendChild(a);
  a.click();
  a.remove();
}

async function save() {
  const target = window.prompt("Save the classifier as", name());
  if (!target) return;
  try {
    const labels = parseLabels($("labels").value);
    const info = await api("PUT", "/v1/classifiers/" + encodeURIComponent(target.trim()),
                           { labels, modality: state.modality, examples: state.examples });
    const note = $("saved");
    note.hidden = false;
    note.innerHTML = `Saved <b>${escapeHtml(info.name)}</b> (${plural(info.n_examples, "label")}, ${escapeHtml(info.method)}). ` +
      `Use it: <code>transzero classify FILE --model ${escapeHtml(info.path || info.name)}</code>`;
  } catch (e) {
    setStatus(e.message, true);
  }
}

// ------------------------------------------------------------------ the labelling session
async function undo() {
  if (document.body.dataset.busy) return;
  document.body.dataset.busy = "1";
  try {
    const info = await api("DELETE", "/v1/classifiers/" + encodeURIComponent(name()) + "/examples/last");
    const u = info.undone;
    for (let i = state.examples.length - 1; i >= 0; i--) {
      if (state.examples[i].item === u.item && state.examples[i].label === u.label) { state.examples.splice(i, 1); break; }
    }
    for (let i = state.session.length - 1; i >= 0; i--) {
      if (state.session[i].item === u.item) { state.session.splice(i, 1); break; }
    }
    state.history = info.history;
    state.zeroShot = info.zero_shot_accuracy;
    const pending = fetchNext();
    await predict();
    await labelNext(true, pending);
    setStatus($("status").textContent + ` · took back "${u.label}"`);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    delete document.body.dataset.busy;
  }
}

async function setPolicy() {
  try {
    const info = await api("PUT", "/v1/classifiers/" + encodeURIComponent(name()) + "/policy", { policy: $("policy").value });
    state.policy = info.policy;
    await labelNext(false);
  } catch (e) {
    setStatus(e.message, true);
  }
}

async function exportLabels() {
  try {
    const s = await api("GET", "/v1/classifiers/" + encodeURIComponent(name()) + "/session");
    const fields = ["item", "label", "time", "predicted", "confidence"];
    const fmt = $("export-format").value;
    let body, type;
    if (fmt === "jsonl") {
      body = s.session.map((e) => JSON.stringify(Object.fromEntries(fields.map((f) => [f, e[f] ?? null])))).join("\n") + "\n";
      type = "application/x-ndjson";
    } else {
      body = [fields.join(",")].concat(s.session.map((e) => fields.map((f) => csvCell(e[f])).join(","))).join("\n") + "\n";
      type = "text/csv";
    }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([body], { type }));
    a.download = name() + "-labels." + fmt;
    a.setAttribute("data-testid", "export-link");
    document.body.appendChild(a);
    a.click();
    a.remove();
  } catch (e) {
    setStatus(e.message, true);
  }
}

function parseLabelled(text, fileName) {
  // CSV (item,label[,time,predicted,confidence]; also text,label) or JSONL of the same keys
  if (/\.(jsonl|ndjson|json)$/i.test(fileName)) {
    const t = text.trim();
    const rows = t.startsWith("[") ? JSON.parse(t) : t.split(/\n/).filter((l) => l.trim()).map((l) => JSON.parse(l));
    return rows.map((r) => ({ item: r.item ?? r.text, label: r.label, time: r.time ?? null,
                              predicted: r.predicted ?? null, confidence: r.confidence ?? null }));
  }
  const rows = [];
  let row = [], field = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) { if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else q = false; } else field += c; }
    else if (c === '"') q = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") { if (c === "\r" && text[i + 1] === "\n") i++; row.push(field); rows.push(row); row = []; field = ""; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const head = (rows.shift() || []).map((h) => h.trim().toLowerCase());
  const col = (n) => head.indexOf(n);
  const iItem = col("item") >= 0 ? col("item") : col("text"), iLabel = col("label");
  if (iItem < 0 || iLabel < 0) throw new Error(fileName + ": needs an item (or text) and a label column");
  const unsafe = (v) => (/^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);  // the export's spreadsheet-safe prefix
  return rows.filter((r) => r.length > 1 && r[iItem] !== undefined && r[iItem] !== "").map((r) => ({
    item: unsafe(r[iItem]), label: unsafe(r[iLabel] || ""),
    time: col("time") >= 0 && r[col("time")] ? r[col("time")] : null,
    predicted: col("predicted") >= 0 && r[col("predicted")] ? unsafe(r[col("predicted")]) : null,
    confidence: col("confidence") >= 0 && r[col("confidence")] !== "" ? Number(r[col("confidence")]) : null,
  }));
}

async function importLabels() {
  const f = $("import").files[0];
  if (!f) return;
  try {
    const rows = parseLabelled(await readFile(f, true), f.name);
    if (!rows.length) throw new Error(f.name + ": no labelled rows");
    const examples = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)));
    const info = await api("POST", "/v1/classifiers/" + encodeURIComponent(name()) + "/examples", { examples });
    await restore(false);
    setStatus($("status").textContent + ` · imported ${plural(rows.length, "label")} from ${f.name} (${plural(info.n_examples, "label")} now)`);
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    $("import").value = "";
  }
}

function onKey(ev) {
  if ($("teach").hidden || !state.next || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "button") || t.tagName === "SELECT")) return;
  if (t && t.tagName === "BUTTON" && (ev.key === "Enter" || ev.key === " ")) return;  // the focused button answers
  if (ev.key === "Backspace") { ev.preventDefault(); undo(); return; }
  if (ev.key === "Enter") {
    ev.preventDefault();
    if (state.next.label) teach(state.next.label, true);
    return;
  }
  if (/^[1-9]$/.test(ev.key)) {
    const c = state.classes[Number(ev.key) - 1];
    if (c !== undefined) { ev.preventDefault(); teach(c, true); }
    return;
  }
  if (ev.key.length === 1 && /\p{L}/u.test(ev.key)) {
    const k = ev.key.toLowerCase();
    const hits = state.classes.filter((c) => c.trim().toLowerCase().startsWith(k));
    if (hits.length === 1) { ev.preventDefault(); teach(hits[0], true); }
  }
}

function labelsText(labels) {
  if (Array.isArray(labels)) return labels.join(", ");
  return Object.entries(labels).map(([n, d]) => (d ? `${n}: ${d}` : n)).join("\n");
}

// continue a stored classifier's session (after a reload or a server restart): labels, items, labels given
async function restore(quiet) {
  let s;
  try {
    s = await api("GET", "/v1/classifiers/" + encodeURIComponent(name()) + "/session");
  } catch (e) {
    if (!quiet) setStatus(e.message, true);
    return false;
  }
  if (s.modality !== "text") return false;  // media sessions continue from an upload
  const labels = s.labels;
  $("labels").value = labelsText(labels);
  const items = [...new Set(s.examples.map((e) => e.item).concat(s.pool))];
  $("items").value = items.join("\n");
  Object.assign(state, { modality: "text", items, shown: items, classes: Array.isArray(labels) ? labels : Object.keys(labels),
                         examples: s.examples.map((e) => ({ item: e.item, label: e.label })), session: s.session,
                         policy: s.policy });
  const info = await api("GET", "/v1/classifiers/" + encodeURIComponent(name()));
  state.history = info.history;
  state.zeroShot = info.zero_shot_accuracy;
  updateFilterOptions();
  await predict();
  $("label-next").hidden = false; $("download").hidden = false; $("save").hidden = false;
  await labelNext(false);
  return true;
}

$("undo").addEventListener("click", undo);
$("policy").addEventListener("change", setPolicy);
$("export").addEventListener("click", exportLabels);
$("import").addEventListener("change", importLabels);
$("filter").addEventListener("change", () => { state.rowLimit = ROW_PAGE; render(); });
$("search").addEventListener("input", () => { state.rowLimit = ROW_PAGE; render(); });
$("show-more").addEventListener("click", () => { state.rowLimit += ROW_PAGE; render(); });
document.addEventListener("keydown", onKey);
const params = new URLSearchParams(location.search);
if (params.get("classifier")) { $("name").value = params.get("classifier"); restore(true); }
$("name").addEventListener("change", () => restore(true));

$("rows").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr.result");
  if (tr) toggleExplain(tr);
});
$("classify").addEventListener("click", classify);
$("label-next").addEventListener("click", () => labelNext(false));
$("download").addEventListener("click", download);
$("save").addEventListener("click", save);
$("upload").addEventListener("change", () => onUpload().catch((e) => setStatus(e.message, true)));

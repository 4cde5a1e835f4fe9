// mlplab playground: the page only sends controls and draws the frames the server computes.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sid: null, ws: null, meta: null, cfg: null, frame: null, archKey: "", pending: [],
  retries: 0, lastCmd: 0, streamError: null, lostReason: null, trace: null };
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5];
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189], GREEN = [60, 160, 80];
const CLASS_COLORS = [ORANGE, BLUE, GREEN];
// the canvases' labels: a system font, else (Chinese) the CJK subset style.css declares
const LABEL_FONT = '10px system-ui, "Noto Sans CJK SC", "mlplab CJK", sans-serif';

// ------------------------------------------------------------------ colours
function mix(a, b, t) { return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t)); }
function diverging(t) { return t < 0.5 ? mix(ORANGE, WHITE, t * 2) : mix(WHITE, BLUE, (t - 0.5) * 2); }
const LUT = Array.from({ length: 256 }, (_, q) => diverging(q / 255));
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
function bytes(b64) { const s = atob(b64); const a = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; }

function paint(canvas, map, n, soft = 0) {
  // a heat map sent as uint8 positions on the scale named by map.mode
  const q = bytes(map.q), img = new ImageData(n, n);
  const conf = map.mode === "classes" ? bytes(map.confidence) : null;
  for (let i = 0; i < n * n; i++) {
    const c = conf ? mix(WHITE, CLASS_COLORS[q[i] % 3], 0.15 + 0.75 * conf[i] / 255) : LUT[q[i]];
    const e = soft ? mix(c, WHITE, soft) : c;  // a paler background lets the points stand out
    img.data.set([e[0], e[1], e[2], 255], i * 4);
  }
  const off = document.createElement("canvas"); off.width = off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// ------------------------------------------------------------------ server calls
async function api(method, path, body, raw) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = raw ? body : JSON.stringify(body);
    opts.headers["Content-Type"] = raw ? "text/csv" : "application/json";
  }
  let r;
  try { r = await fetch(path, opts); }
  catch (err) { throw new Error(t("err_no_server")); }
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok) throw new Error((data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}
// a layer index as superscript digits, so that a⁽¹²⁾ is raised in HTML text and on canvases alike
// (a plain digit between ⁽ ⁾ came out full size: a⁽3⁾)
const sup = (n) => String(n).split("").map((c) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[c]).join("");
function showError(msg) { const e = $("error"); e.hidden = !msg; e.textContent = msg ? "⚠ " + msg : ""; }

async function sessionCall(method, what, body, raw) {
  try {
    const f = await api(method, `/api/sessions/${state.sid}/${what}`, body, raw);
    showError(state.streamError);  // a lost stream stays reported until it is back
    if (f && f.type === "frame") render(f);
    return f;
  } catch (err) { showError(err.message); if (state.frame) render(state.frame); return null; }
}

async function applyConfig(changes) {
  const cfg = Object.assign({}, state.cfg, changes);
  await sessionCall("PUT", "config", cfg);
}

// the stream: frames in, commands out. When it closes, the page says why and reconnects
// while the session lives (a blip, a rate limit, a busy server); a session that is gone
// (expired, closed, the server restarted) asks for a reload.
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/sessions/${state.sid}/stream`);
  let said = null;  // the last error the server sent before closing
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "frame") render(msg); else if (msg.error) { said = msg.error; showError(msg.error); }
  };
  ws.onclose = (ev) => { if (state.ws === ws) streamLost(ev, said); };
  ws.onopen = () => {
    state.retries = 0; setStream(true);
    if (state.streamError) { showError(t("stream_reopened", { reason: state.lostReason })); state.streamError = null; }
    for (const cmd of state.pending.splice(0)) ws.send(JSON.stringify({ cmd }));
  };
  state.ws = ws;
}
function streamLost(ev, said) {
  state.ws = null; setStream(false);
  $("status").textContent = t("status_no_stream");
  const reason = ev.reason || said || (ev.code === 1006 ? t("stream_lost") : t("stream_closed", { code: ev.code }));
  if (ev.code === 4404 || /reload the page/.test(reason)) {  // the session is gone: nothing to reconnect to
    state.streamError = reason.includes("reload") ? reason : t("stream_reload", { reason });
    showError(state.streamError); return;
  }
  const wait = Math.min(10, 2 ** state.retries++);
  state.lostReason = reason;
  state.streamError = t("stream_retry", { reason, wait });
  showError(state.streamError);
  setTimeout(connect, wait * 1000);
}
function setStream(open) {
  // play, step and reset go through the stream: off while there is none
  for (const id of ["play", "step", "reset"]) $(id).disabled = !open;
  if (!open) setPlaying(false);
}
function command(cmd) {
  // the server closes a stream sent more than 20 commands a second (a held key repeats
  // about 30 times a second): a command within 60 ms of the last one is dropped
  const now = performance.now();
  if (cmd === "step" && now - state.lastCmd < 60) return;
  state.lastCmd = now;
  showError(null);
  // commands given before the stream is open wait for it
  if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify({ cmd }));
  else state.pending.push(cmd);
}

// ------------------------------------------------------------------ the share URL
function encodeConfig(cfg) {
  return btoa(unescape(encodeURIComponent(JSON.stringify(cfg)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decodeConfig(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(b64))));
}
// the page's language travels with it: ?lang=en|zh
function shareUrl() { return location.origin + withLanguage("#c=" + encodeConfig(state.cfg)); }

// ------------------------------------------------------------------ controls
function fillSelect(sel, values, label) {
  sel.innerHTML = values.map((v) => `<option value="${v}">${label ? label(v) : v}</option>`).join("");
}
function fillDatasets() {
  fillSelect($("dataset"), Object.keys(state.meta.datasets), (k) => {
    const d = state.meta.datasets[k];
    return t("dataset_option", { name: tName("ds_", k), kind: d.kind === "regression" ? t("kind_regression") : t("n_classes", { n: d.classes }) });
  });
}
function setupControls() {
  fillDatasets();
  fillSelect($("learning_rate"), RATES);
  fillSelect($("reg_rate"), REG_RATES);
  $("features").innerHTML = state.meta.features.map((f) =>
    `<label><input type="checkbox" value="${f}"> ${f.replace("^2", "²").replace("x1", "x₁").replace("x2", "x₂")}</label>`).join("");
  for (const id of ["dataset", "optimizer", "loss", "regularization", "output"])
    $(id).onchange = () => applyConfig({ [id]: $(id).value });
  for (const id of ["learning_rate", "reg_rate", "noise", "train_ratio"])
    $(id).onchange = () => applyConfig({ [id]: Number($(id).value) });
  for (const [id, name] of [["n_points", "field_points"], ["batch_size", "field_batch_size"], ["seed", "field_seed"]])
    $(id).onchange = () => { const v = readNumber(id, name); if (v !== null) applyConfig({ [id]: v }); };
  $("stop_epochs").onchange = () => {
    const el = $("stop_epochs");
    if (el.value === "" && !el.validity.badInput) return applyConfig({ stop_epochs: null });  // empty: never stop
    const v = readNumber("stop_epochs", "field_stop"); if (v !== null) applyConfig({ stop_epochs: v });
  };
  $("features").onchange = () => applyConfig({ features: [...$("features").querySelectorAll("input:checked")].map((c) => c.value) });
  $("add_layer").onclick = () => applyConfig({ hidden: [...state.cfg.hidden, 4], activations: [...state.cfg.activations, state.cfg.activations.at(-1) || "tanh"] });
  $("remove_layer").onclick = () => applyConfig({ hidden: state.cfg.hidden.slice(0, -1), activations: state.cfg.activations.slice(0, -1) });
  $("play").onclick = () => { if (state.frame && state.frame.playing) { command("pause"); setPlaying(false); } else { command("play"); setPlaying(true); } };
  $("step").onclick = () => command("step");
  $("reset").onclick = () => command("reset");
  $("warp_layer").onchange = () => sessionCall("POST", "view", { warp_layer: Number($("warp_layer").value) });
  $("csv_pick").onclick = () => $("csv").click();
  $("csv").onchange = async () => { const f = $("csv").files[0]; if (f) await sessionCall("POST", "csv", await f.text(), true); $("csv").value = ""; };
  $("heatmap").onclick = onHeatmapClick;
  $("share").onclick = () => { $("share_url").value = shareUrl(); $("share_url").select(); navigator.clipboard?.writeText($("share_url").value).catch(() => {}); };
  $("card_close").onclick = () => { $("card").hidden = true; };
  $("card_set").onclick = setWeightFromCard;
  $("card_value").onkeydown = (e) => { if (e.key === "Enter") setWeightFromCard(); };
}
function readNumber(id, nameKey) {
  // an empty or non-numeric entry is refused, not read as 0 (Number("") is 0)
  const el = $(id), v = Number(el.value);
  if (el.value.trim() === "" || el.validity.badInput || !Number.isFinite(v)) {
    showError(t("err_not_a_number", { name: t(nameKey), value: el.value, example: el.min || 0 }));
    if (state.frame) render(state.frame);  // the field shows the value in use again
    return null;
  }
  return v;
}
function setPlaying(on) { $("play").textContent = on ? t("pause") : t("play"); if (state.frame) state.frame.playing = on; }

function syncControls(cfg) {
  for (const id of ["dataset", "optimizer", "loss", "regularization", "output", "n_points", "batch_size", "seed", "noise", "train_ratio"])
    if (document.activeElement !== $(id)) $(id).value = cfg[id];
  $("learning_rate").value = cfg.learning_rate; $("reg_rate").value = cfg.reg_rate;
  if (!RATES.includes(cfg.learning_rate)) { $("learning_rate").add(new Option(cfg.learning_rate, cfg.learning_rate)); $("learning_rate").value = cfg.learning_rate; }
  if (!REG_RATES.includes(cfg.reg_rate)) { $("reg_rate").add(new Option(cfg.reg_rate, cfg.reg_rate)); $("reg_rate").value = cfg.reg_rate; }
  if (document.activeElement !== $("stop_epochs")) $("stop_epochs").value = cfg.stop_epochs ?? "";
  $("noise_out").textContent = cfg.noise.toFixed(2); $("train_ratio_out").textContent = Math.round(cfg.train_ratio * 100) + " %";
  for (const c of $("features").querySelectorAll("input")) c.checked = cfg.features.includes(c.value);
  $("layer_count").textContent = cfg.hidden.length === 1 ? t("hidden_layers_one") : t("hidden_layers", { n: cfg.hidden.length });
  $("add_layer").disabled = cfg.hidden.length >= state.meta.max_hidden_layers;
  $("remove_layer").disabled = cfg.hidden.length === 0;
  const canStep = cfg.hidden.length === 0;
  $("output").querySelector('option[value="step"]').disabled = !canStep;
  $("output_note").textContent = canStep ? t("output_note_step") : t("output_note_no_step");
}

// ------------------------------------------------------------------ rendering
function render(f) {
  // a request's answer and the stream's frames cross: a frame older than the one shown is late
  if (state.frame && f.seq < state.frame.seq) return;
  state.frame = f; state.cfg = f.config;
  history.replaceState(null, "", withLanguage("#c=" + encodeConfig(f.config)));
  syncControls(f.config);
  setPlaying(f.playing);
  $("epoch").textContent = f.epoch;
  $("status").textContent = statusText(f);
  $("test_loss").textContent = f.loss.last_test == null ? "–" : f.loss.last_test.toFixed(4);
  $("train_loss").textContent = f.loss.last_train == null ? "–" : f.loss.last_train.toFixed(4);
  $("accuracy").textContent = f.accuracy.test == null ? "" : t("accuracy_line", { train: (100 * f.accuracy.train).toFixed(1), test: (100 * f.accuracy.test).toFixed(1) });
  const k = f.task;
  $("task").textContent = tName("kind_", k.kind) + (k.classes ? t("task_classes", { n: k.classes }) : "") +
    t("task_points", { train: k.n_train, test: k.n_test }) + t("task_source", { source: tName("src_", k.source) }) +
    (k.sigma == null ? "" : t("task_noise", { sigma: k.sigma.toPrecision(2) })) + t("task_loss", { loss: tName("lossname_", k.loss) });
  $("export").href = `/api/sessions/${state.sid}/model`;
  if (!$("card").hidden) cardTitle(f);
  drawHeatmap(f); drawDiagram(f); drawCurves(f); drawWarp(f); drawGrads(f); drawTables(f);
}

function toCanvas(f, canvas, x1, x2) {
  const [a, b, c, d] = f.domain;
  return [(x1 - a) / (b - a) * canvas.width, (d - x2) / (d - c) * canvas.height];
}
function pointColor(f, y) {
  if (f.task.classes) return rgb(CLASS_COLORS[y % 3]);
  const m = f.output.range[1]; return rgb(diverging(Math.min(1, Math.max(0, (y / m + 1) / 2))));
}
function drawHeatmap(f) {
  const cv = $("heatmap"), ctx = cv.getContext("2d");
  paint(cv, f.output, f.grid, 0.35);
  for (const [subset, ring] of [["train", "#fff"], ["test", "#222"]]) {
    for (const [x1, x2, y] of f.points[subset]) {
      const [px, py] = toCanvas(f, cv, x1, x2);
      ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(f, y); ctx.fill(); ctx.lineWidth = 1.2; ctx.strokeStyle = ring; ctx.stroke();
    }
  }
  ctx.fillStyle = "#333"; ctx.font = LABEL_FONT;
  const [a, b, c, d] = f.domain;
  ctx.fillText(`x₁ ${a.toFixed(1)} … ${b.toFixed(1)}`, 4, cv.height - 4);
  ctx.fillText(`x₂ ${c.toFixed(1)} … ${d.toFixed(1)}`, 4, 11);
}

function drawCurves(f) {
  const cv = $("curves"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H);
  const all = [...f.loss.train, ...f.loss.test].filter((p) => p[1] != null);
  if (!all.length) return;
  const xmax = Math.max(1, ...all.map((p) => p[0])), ymax = Math.max(1e-9, ...all.map((p) => p[1]));
  for (const [series, color] of [[f.loss.train, "#999"], [f.loss.test, "#111"]]) {
    ctx.beginPath(); ctx.strokeStyle = color; ctx.lineWidth = 1.5;
    series.forEach(([e, v], k) => { if (v == null) return; const x = 4 + e / xmax * (W - 8), y = H - 14 - v / ymax * (H - 32); k ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  }
  ctx.fillStyle = "#333"; ctx.font = LABEL_FONT;
  ctx.fillText(t("curves_legend", { max: ymax.toPrecision(3) }), 4, 10);
  ctx.fillText(t("curves_epoch", { epoch: f.epoch }), W - 70, H - 3);
}

function drawWarp(f) {
  const sel = $("warp_layer"), n = f.config.hidden.length;
  if (sel.options.length !== n + 1) {
    fillSelect(sel, Array.from({ length: n + 1 }, (_, k) => k), (k) => k ? t("warp_hidden", { k }) : t("warp_input"));
  }
  sel.value = f.warp.layer;
  const cv = $("warp"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H);
  const pts = [...f.warp.lines.flat(), ...f.warp.points];
  let [xa, xb, ya, yb] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of pts) { xa = Math.min(xa, p[0]); xb = Math.max(xb, p[0]); ya = Math.min(ya, p[1]); yb = Math.max(yb, p[1]); }
  const s = Math.max(xb - xa, yb - ya, 1e-9) * 1.08, cx = (xa + xb) / 2, cy = (ya + yb) / 2;
  const X = (x) => W / 2 + (x - cx) / s * Math.min(W, H), Y = (y) => H / 2 - (y - cy) / s * Math.min(W, H);
  ctx.strokeStyle = "rgba(60,60,60,0.45)"; ctx.lineWidth = 1;
  for (const line of f.warp.lines) { ctx.beginPath(); line.forEach(([x, y], k) => k ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))); ctx.stroke(); }
  for (const [x, y, label] of f.warp.points) { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.2, 0, 2 * Math.PI); ctx.fillStyle = pointColor(f, label); ctx.fill(); }
  $("warp_note").textContent = warpNote(f) + t("warp_legend");
}

function warpNote(f) {
  // the server's note in the page's words: the layer's width and, past 2, the share of the
  // variance its 2 principal components keep (read from the note); else the note as sent
  const k = f.warp.layer, width = k ? f.config.hidden[k - 1] : f.inputs.length;
  const name = k ? t("warp_name_hidden", { k, a: `a⁽${sup(k)}⁾` }) : t("warp_name_input");
  const share = /\((\d+%) of the variance\)/.exec(f.warp.note);
  if (width === 1) return t("warp_line", { name });
  if (width === 2) return t("warp_plane", { name });
  return share ? t("warp_pca", { name, width, share: share[1] }) : f.warp.note;
}

function drawGrads(f) {
  const cv = $("grads"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H);
  const g = f.grad_norms, n = g.length, lo = -8, hi = 1, bw = Math.min(50, (W - 40) / Math.max(n, 1) - 8);
  ctx.font = LABEL_FONT; ctx.fillStyle = "#333";
  ctx.fillText(t("grads_scale"), 4, 10);
  if (f.config.output === "step") { ctx.fillText(t("grads_perceptron"), 30, H / 2); return; }
  g.forEach((v, k) => {
    const t = v ? Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo))) : 0;
    const x = 30 + k * (bw + 8), h = t * (H - 40);
    ctx.fillStyle = "#4a7ab0"; ctx.fillRect(x, H - 16 - h, bw, h);
    ctx.fillStyle = "#333"; ctx.fillText(`W⁽${sup(k + 1)}⁾`, x + 2, H - 4);
    ctx.fillText(v ? v.toExponential(1) : "0", x, H - 19 - h);
  });
}

function drawTables(f) {
  const cell = (v) => `<td style="background:${rgb(mix(WHITE, v >= 0 ? BLUE : ORANGE, Math.min(1, Math.abs(v)) * 0.5))}">${v.toFixed(3)}</td>`;
  $("tables").innerHTML = f.layers.map((layer, k) => {
    const inputs = k === 0 ? f.inputs : layer.W[0].map((_, j) => `a${j + 1}`);
    return `<div>W⁽${sup(k + 1)}⁾ ${layer.W.length}×${layer.W[0].length}, b⁽${sup(k + 1)}⁾ (${layer.activation})</div><table class="wb"><tr><th></th>` +
      inputs.map((x) => `<th>${x}</th>`).join("") + "<th>b</th></tr>" +
      layer.W.map((row, i) => `<tr><th>${i + 1}</th>${row.map(cell).join("")}${cell(layer.b[i])}</tr>`).join("") + "</table>";
  }).join("");
}

// ------------------------------------------------------------------ clicks on the map
async function onHeatmapClick(ev) {
  const f = state.frame, cv = $("heatmap"), r = cv.getBoundingClientRect();
  const px = (ev.clientX - r.left) * cv.width / r.width, py = (ev.clientY - r.top) * cv.height / r.height;
  const [a, b, c, d] = f.domain, x1 = a + px / cv.width * (b - a), x2 = d - py / cv.height * (d - c);
  const mode = document.querySelector('input[name="click"]:checked').value;
  if (mode === "add") {
    const label = readNumber("click_label", "field_click_label");
    return label === null ? null : sessionCall("POST", "points", { action: "add", x1, x2, label });
  }
  if (mode === "remove") return sessionCall("POST", "points", { action: "remove", x1, x2 });
  let best = null;
  for (const subset of ["train", "test"]) f.points[subset].forEach((p, index) => {
    const [qx, qy] = toCanvas(f, cv, p[0], p[1]), dist = Math.hypot(qx - px, qy - py);
    if (!best || dist < best.dist) best = { subset, index, dist, p };
  });
  if (!best || best.dist > 12) { state.trace = "none"; return renderTrace(); }
  try {
    const res = await api("POST", `/api/sessions/${state.sid}/trace`, { subset: best.subset, index: best.index });
    state.trace = { best, res }; renderTrace();
  } catch (err) { showError(err.message); }
}
function renderTrace() {
  // the hint, "no point there", or the last trace (kept, and redrawn in the other language)
  const tr = state.trace;
  if (!tr || tr === "none") { $("trace").textContent = t(tr ? "trace_none" : "trace_hint"); return; }
  const { best, res } = tr, fmt = (v) => Array.isArray(v) ? "[" + v.map(fmt).join(", ") + "]" : Number(v).toFixed(4);
  $("trace").innerHTML = `<div>${t("trace_head", { subset: tName("subset_", best.subset), index: best.index, x1: best.p[0], x2: best.p[1], y: best.p[2] })}` +
    (res.cost == null ? "" : t("trace_cost", { cost: res.cost.toFixed(5) })) + `</div>` + (res.note ? `<div class="server">${res.note}</div>` : "") +
    "<table>" + res.steps.filter((s) => !s.formula.startsWith("given")).map((s) =>
      `<tr><td class="sym">${s.symbol}</td><td>${s.formula}</td><td>${fmt(s.value)}</td></tr>`).join("") + "</table>";
}

// ------------------------------------------------------------------ start
// the language switch: the same session and network, every text redrawn
function relabel() {
  fillDatasets();
  $("warp_layer").innerHTML = "";  // refilled by drawWarp
  state.archKey = "";  // the diagram is rebuilt: its heads and tooltips
  renderTrace();
  if (state.frame) render(state.frame);
}

async function start() {
  I18N.onChange = relabel;
  await loadStrings();
  state.meta = await api("GET", "/api/meta");
  setupControls();
  renderTrace();
  let cfg = state.meta.defaults;
  const m = location.hash.match(/c=([A-Za-z0-9_-]+)/);
  if (m) { try { cfg = decodeConfig(m[1]); } catch (err) { showError(t("err_url_unreadable")); } }
  let created;
  try { created = await api("POST", "/api/sessions", cfg); }
  catch (err) { showError(t("err_url_refused", { reason: err.message })); created = await api("POST", "/api/sessions", state.meta.defaults); }
  state.sid = created.id;
  render(created.frame);
  connect();
  window.addEventListener("pagehide", () => navigator.sendBeacon(`/api/sessions/${state.sid}/close`));
}
start().catch((err) => showError(err.message));

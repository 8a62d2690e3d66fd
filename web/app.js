/*
 * app.js - the behaviour of the tinymlaas page.
 *
 * Every two seconds it reads the JSON API (devices, models, builds, deployments, and
 * /api/fl/jobs when the service has it) and redraws the visible view from that snapshot; a
 * view is a pure function of the snapshot, so there is no client state to get out of step.
 * Text reaches the DOM through textContent only (device names and error messages come from the
 * network). "Try it" turns the 28x28 drawing into the model's input tensor (float32, 0..1,
 * row-major, as Fashion-MNIST) and POSTs it to /api/infer, which forwards it to the device over
 * CoAP; that request needs the admin token, which stays in this browser's localStorage.
 */
"use strict";

const CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const POLL_MS = 2000;
let snap = { devices: [], models: [], builds: [], deployments: [], jobs: null, health: null };

/* ---- small helpers ---- */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined)
    e.append(typeof k === "string" || typeof k === "number" ? String(k) : k);
  return e;
}

function bytes(n) {
  if (n === undefined || n === null || isNaN(n)) return "-";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(2) + " MiB";
}

function ago(iso) {
  if (!iso) return "never";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (isNaN(s)) return iso;
  if (s < 5) return "just now";
  if (s < 120) return s + " s ago";
  if (s < 7200) return Math.round(s / 60) + " min ago";
  return iso.replace("T", " ").replace("Z", " UTC");
}

function timeCell(iso) {
  return el("td", {}, el("time", { datetime: iso || undefined, title: iso || undefined }, ago(iso)));
}

function badge(state) {
  return el("span", { class: "badge s-" + state }, state);
}

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

function fill(tableId, rows) {
  const t = document.getElementById(tableId);
  const tb = t.tBodies[0];
  tb.replaceChildren(...rows);
  const empty = t.parentElement.querySelector("p.empty");
  if (empty) empty.hidden = rows.length > 0;
  t.hidden = rows.length === 0;
}

/* the model version a device runs: its reported sha256 looked up among the uploads, or among
 * the builds' packages (a device that reports what it installed names the package) */
function modelOf(dev) {
  if (!dev.model) return null;
  let m = snap.models.find(x => x.sha256 === dev.model.sha256);
  if (!m) {
    const b = snap.builds.find(x => x.artifact_sha256 === dev.model.sha256);
    if (b) m = snap.models.find(x => x.sha256 === b.model_sha256);
  }
  return m ? { name: m.name, version: m.version } : { name: dev.model.name, version: null };
}

function lastDeployment(ep) {
  let best = null;
  for (const d of snap.deployments)
    if (d.device === ep && (!best || d.id > best.id)) best = d;
  return best;
}

/* ---- views ---- */

function renderDevices() {
  const rows = snap.devices.map(d => {
    const n = d.node || {};
    const m = modelOf(d);
    const dep = lastDeployment(d.endpoint);
    return el("tr", { "data-endpoint": d.endpoint },
      el("th", { scope: "row" }, d.endpoint),
      el("td", {}, badge(d.state)),
      el("td", {}, n.target || n.core || "-"),
      el("td", { class: "num" }, bytes(n.ram)),
      el("td", { class: "num" }, bytes(n.flash)),
      el("td", {}, m ? m.name + (m.version ? " v" + m.version : "") : el("span", { class: "muted" }, "none")),
      el("td", {}, dep ? badge(dep.state) : el("span", { class: "muted" }, "none"),
         dep ? " " + dep.model + " v" + dep.version : null),
      timeCell(d.last_seen));
  });
  fill("devices-table", rows);
}

/* one labelled bar: used of budget (budget 0 or missing: the bar shows used alone) */
function bar(label, used, budget) {
  const pct = budget ? Math.min(100, (100 * used) / budget) : 0;
  const over = budget && used > budget;
  const text = bytes(used) + (budget ? " of " + bytes(budget) + " (" + ((100 * used) / budget).toFixed(1) + "%)" : "");
  return [
    el("span", {}, label),
    el("div", { class: "bar" + (over ? " over" : ""), role: "meter", "aria-label": label,
                "aria-valuemin": 0, "aria-valuemax": budget || used, "aria-valuenow": used,
                "aria-valuetext": text },
       el("span", { style: "width:" + pct.toFixed(1) + "%" })),
    el("span", { class: over ? "s-failed" : "" }, text + (over ? " - does not fit" : "")),
  ];
}

function renderModels() {
  const rows = snap.models.map(m => el("tr", {},
    el("th", { scope: "row" }, m.name),
    el("td", { class: "num" }, m.version),
    el("td", { class: "num" }, bytes(m.size)),
    el("td", { class: "mono", title: m.sha256 }, m.sha256.slice(0, 16) + "..."),
    timeCell(m.created)));
  fill("models-table", rows);

  const box = document.getElementById("builds");
  const cards = snap.builds.map(b => {
    const rep = b.report || {};
    const model = snap.models.find(m => m.sha256 === b.model_sha256);
    const title = (model ? model.name + " v" + model.version : b.model_sha256.slice(0, 12)) +
                  " for " + b.profile;
    /* the devices this build is for: those it was deployed to, else those of its profile */
    const eps = new Set(snap.deployments.filter(d => d.build === b.id).map(d => d.device));
    let devs = snap.devices.filter(d => eps.has(d.endpoint));
    if (!devs.length)
      devs = snap.devices.filter(d => d.node && (d.node.target || d.node.core) === b.profile);
    const bars = el("div", { class: "bars" });
    if (b.status === "ok" || rep.arena_bytes !== undefined) {
      if (devs.length) {
        for (const d of devs) {
          bars.append(el("strong", { style: "grid-column: 1 / -1" }, d.endpoint));
          bars.append(...bar("flash", rep.package_bytes, d.node.flash));
          bars.append(...bar("RAM", rep.arena_bytes, d.node.ram));
        }
      } else {
        bars.append(...bar("flash", rep.package_bytes, 0));
        bars.append(...bar("RAM", rep.arena_bytes, 0));
      }
    }
    const ops = Object.entries(rep.op_counts || {}).map(([k, v]) => el("li", {}, k + " \u00d7" + v));
    return el("article", { class: "build", "data-build": b.id, "aria-label": "build " + b.id },
      el("h4", {}, "Build " + b.id + ": " + title + " ", badge(b.status)),
      el("div", { class: "muted" },
        "compiler " + b.compiler_version +
        (rep.parameters !== undefined ? " \u00b7 " + rep.parameters + " parameters" : "") +
        (rep.macs !== undefined ? " \u00b7 " + rep.macs + " MACs" : "")),
      b.error ? el("p", { class: "s-failed" }, b.error) : null,
      bars,
      ops.length ? el("div", {}, el("span", {}, "Ops:"), el("ul", { class: "ops" }, ...ops)) : null,
      rep.kernels ? el("div", { class: "muted" }, "Kernels: " + rep.kernels.join(", ")) : null);
  });
  box.replaceChildren(...cards);
  document.getElementById("builds-empty").hidden = cards.length > 0;
}

/* LwM2M Firmware Update result codes (/5/0/5) */
const RESULT = ["initial", "success", "not enough flash", "out of RAM", "connection lost",
                "integrity check failed", "unsupported package", "invalid URI", "update failed",
                "unsupported protocol"];
const STEP = { pending: 10, building: 35, delivering: 70, installed: 100, failed: 100 };

function renderDeployments() {
  const list = snap.deployments.slice().sort((a, b) => b.id - a.id);
  const rows = list.map(d => el("tr", { "data-id": d.id, class: "dep-" + d.state },
    el("td", { class: "num" }, d.id),
    el("th", { scope: "row" }, d.device),
    el("td", {}, d.model + " v" + d.version),
    el("td", {}, el("progress", { class: "progress", max: 100, value: STEP[d.state] || 0,
                                  "aria-label": "deployment " + d.id + " to " + d.device + ": " + d.state })),
    el("td", {}, badge(d.state)),
    el("td", { class: "detail" }, d.error || (d.result ? "LwM2M result " + d.result + " (" + (RESULT[d.result] || "?") + ")" : "")),
    timeCell(d.updated)));
  fill("deployments-table", rows);
}

/* a line chart of one or more series over rounds, hand-written SVG */
function lineChart(series, label) {
  const W = 600, H = 220, L = 44, R = 12, T = 12, B = 28;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const all = series.flatMap(s => s.points);
  if (!all.length) return svg;
  const xmax = Math.max(...all.map(p => p[0]), 1), xmin = Math.min(...all.map(p => p[0]));
  const ymax = Math.max(...all.map(p => p[1]), 1e-9), ymin = Math.min(0, ...all.map(p => p[1]));
  const sx = x => L + ((x - xmin) / Math.max(1, xmax - xmin)) * (W - L - R);
  const sy = y => H - B - ((y - ymin) / (ymax - ymin)) * (H - T - B);
  const add = (tag, a, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(a)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  add("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" });
  add("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" });
  add("text", { x: L - 6, y: T + 8, "text-anchor": "end" }, ymax.toFixed(2));
  add("text", { x: L - 6, y: H - B, "text-anchor": "end" }, ymin.toFixed(2));
  add("text", { x: L, y: H - 8 }, "round " + xmin);
  add("text", { x: W - R, y: H - 8, "text-anchor": "end" }, "round " + xmax);
  for (const s of series) {
    add("polyline", { points: s.points.map(p => sx(p[0]) + "," + sy(p[1])).join(" "),
                      fill: "none", stroke: s.color, "stroke-width": 2 });
    for (const p of s.points) add("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: s.color });
  }
  return svg;
}

function renderTraining() {
  const box = document.getElementById("training");
  const jobs = snap.jobs;
  if (!jobs || !jobs.length) {
    box.replaceChildren(el("p", { class: "empty", id: "no-jobs" }, "No jobs."));
    return;
  }
  box.replaceChildren(...jobs.map(j => {
    const rounds = j.rounds || j.history || [];
    const num = (r, k) => (typeof r[k] === "number" ? r[k] : null);
    const pts = k => rounds.map((r, i) => [num(r, "round") ?? i + 1, num(r, k)]).filter(p => p[1] !== null);
    const acc = pts("accuracy"), loss = pts("loss");
    const parts = rounds.map((r, i) => el("tr", {},
      el("td", { class: "num" }, num(r, "round") ?? i + 1),
      el("td", { class: "num" }, num(r, "accuracy") !== null ? (100 * r.accuracy).toFixed(1) + "%" : "-"),
      el("td", { class: "num" }, num(r, "loss") !== null ? r.loss.toFixed(4) : "-"),
      el("td", { class: "num" }, Array.isArray(r.participants) ? r.participants.length : (r.participants ?? "-"))));
    return el("article", { class: "build" },
      el("h3", {}, "Job " + (j.id ?? "") + " " + (j.name || j.model || ""), " ", badge(j.state || j.status || "")),
      el("div", { class: "legend" },
        el("span", {}, el("span", { class: "sw", style: "background:#1a7f37" }), "accuracy"),
        el("span", {}, el("span", { class: "sw", style: "background:#0b5cad" }), "loss")),
      el("div", { class: "chart" }, lineChart([{ points: acc, color: "#1a7f37" },
                                               { points: loss, color: "#0b5cad" }],
                                              "accuracy and loss per round")),
      el("table", {}, el("caption", {}, "Rounds"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Round"), el("th", { scope: "col" }, "Accuracy"),
                         el("th", { scope: "col" }, "Loss"), el("th", { scope: "col" }, "Participants"))),
        el("tbody", {}, ...parts)));
  }));
}

function renderTryDevices() {
  const sel = document.getElementById("try-device");
  const cur = sel.value;
  const opts = snap.devices.map(d => {
    const m = modelOf(d);
    return el("option", { value: d.endpoint, selected: d.endpoint === cur },
      d.endpoint + " (" + ((d.node && d.node.target) || "?") + ", " + d.state + ", " +
      (m ? m.name : "no model") + ")");
  });
  if (!opts.length) opts.push(el("option", { value: "" }, "no device"));
  /* rebuild only when the list changed, so an open menu is not disturbed */
  const sig = opts.map(o => o.value + o.textContent).join("|");
  if (sel.dataset.sig !== sig) {
    sel.replaceChildren(...opts);
    sel.dataset.sig = sig;
    if (cur && snap.devices.some(d => d.endpoint === cur)) sel.value = cur;
    else {
      const best = snap.devices.find(d => d.state === "online" && d.model);
      if (best) sel.value = best.endpoint;
    }
  }
}

function render() {
  renderDevices();
  renderModels();
  renderDeployments();
  renderTraining();
  renderTryDevices();
}

/* ---- polling ---- */

async function refresh() {
  const h = document.getElementById("health");
  try {
    const [health, dv, md, bd, dp] = await Promise.all([
      getJSON("api/health"), getJSON("api/devices"), getJSON("api/models"),
      getJSON("api/builds"), getJSON("api/deployments")]);
    let jobs = null;
    try {
      const j = await getJSON("api/fl/jobs");
      jobs = Array.isArray(j) ? j : j.jobs || [];
    } catch (e) { jobs = null; /* no training service: "no jobs" */ }
    snap = { health, devices: dv.devices, models: md.models, builds: bd.builds,
             deployments: dp.deployments, jobs };
    h.textContent = "service " + health.version + " \u00b7 " + dv.devices.length + " devices \u00b7 " +
                    md.models.length + " model versions \u00b7 updated " + new Date().toLocaleTimeString();
    render();
    document.body.dataset.loaded = "1";
  } catch (e) {
    h.textContent = "cannot reach the service (" + e.message + "); retrying";
  }
}

/* ---- navigation ---- */

function show() {
  const v = (location.hash || "#devices").slice(1);
  const name = document.getElementById("view-" + v) ? v : "devices";
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + name;
  for (const a of document.querySelectorAll("nav a"))
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
}

/* ---- try it ---- */

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");

function clearCanvas() {
  canvas.sample = null;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const b of document.querySelectorAll("#samples button")) b.setAttribute("aria-pressed", "false");
}

function setupDrawing() {
  let down = false, last = null;
  const pos = e => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const stroke = p => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 22;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...(last || p));
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
  };
  canvas.addEventListener("pointerdown", e => { down = true; last = null; canvas.setPointerCapture(e.pointerId); stroke(pos(e)); });
  canvas.addEventListener("pointermove", e => { if (down) stroke(pos(e)); });
  const up = () => { down = false; last = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
}

function samplePixels(i) {
  const raw = atob(window.TML_SAMPLES.pixels);
  const px = new Uint8Array(784);
  for (let k = 0; k < 784; k++) px[k] = raw.charCodeAt(i * 784 + k);
  return px;
}

function putPixels(c, px) {
  const g = c.getContext("2d");
  const img = g.createImageData(28, 28);
  for (let k = 0; k < 784; k++) {
    img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = px[k];
    img.data[4 * k + 3] = 255;
  }
  const tmp = document.createElement("canvas");
  tmp.width = tmp.height = 28;
  tmp.getContext("2d").putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, c.width, c.height);
}

function setupSamples() {
  const box = document.getElementById("samples");
  const S = window.TML_SAMPLES;
  if (!S) return;
  S.labels.forEach((lab, i) => {
    const c = el("canvas", { width: 28, height: 28 });
    putPixels(c, samplePixels(i));
    const b = el("button", { type: "button", "aria-pressed": "false", "data-sample": i,
                             "aria-label": "test image " + (i + 1) + ": " + CLASSES[lab] }, c);
    b.addEventListener("click", () => {
      clearCanvas();
      putPixels(canvas, samplePixels(i));
      b.setAttribute("aria-pressed", "true");
      canvas.sample = samplePixels(i);
      canvas.dataset.label = lab;
    });
    box.append(b);
  });
}

/* the drawing as the model's input: 28x28 float32 in 0..1 (the red channel) */
function inputTensor() {
  if (canvas.sample) /* a test image as it is, not resampled from the screen */
    return Float32Array.from(canvas.sample, v => v / 255);
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const g = small.getContext("2d");
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = "high";
  g.drawImage(canvas, 0, 0, 28, 28);
  const d = g.getImageData(0, 0, 28, 28).data;
  const x = new Float32Array(784);
  for (let k = 0; k < 784; k++) x[k] = d[4 * k] / 255;
  return x;
}

/* the input tensor of the model a device runs, from its build's report: {dtype, shape} or null */
function inputSpec(ep) {
  const dev = snap.devices.find(d => d.endpoint === ep);
  let b = null;
  if (dev && dev.model)
    b = snap.builds.find(x => x.artifact_sha256 === dev.model.sha256);
  if (!b) {
    const dep = snap.deployments.filter(d => d.device === ep && d.state === "installed" && d.build)
                                .sort((x, y) => y.id - x.id)[0];
    if (dep) b = snap.builds.find(x => x.id === dep.build);
  }
  const t = b && b.report && b.report.inputs && b.report.inputs[0];
  return t ? { dtype: t.dtype, shape: t.shape || [] } : null;
}

/* the 784 pixels (0..1) in the model's input type; int8 assumes the usual image quantization
 * of 0..1 inputs (scale 1/255, zero point -128) */
function encodeInput(x, spec) {
  const dtype = spec ? spec.dtype : "float32";
  if (spec) {
    const n = spec.shape.reduce((a, v) => a * v, 1);
    if (n !== 784)
      throw new Error("the model takes an input of shape [" + spec.shape.join(", ") +
                      "]; Try it sends 28x28 images");
  }
  if (dtype === "float32") return x.buffer;
  if (dtype === "uint8") return Uint8Array.from(x, v => Math.round(v * 255)).buffer;
  if (dtype === "int8") return Int8Array.from(x, v => Math.round(v * 255) - 128).buffer;
  throw new Error("the model's input type " + dtype + " is not one Try it can send");
}

async function classify(ev) {
  ev.preventDefault();
  const out = document.getElementById("result");
  const dev = document.getElementById("try-device").value;
  const token = document.getElementById("try-token").value.trim();
  const btn = document.getElementById("classify");
  out.className = "result";
  if (!dev) { out.className = "result error"; out.textContent = "No device to ask."; return; }
  localStorage.setItem("tmlaas.token", token);
  btn.disabled = true;
  out.textContent = "asking '" + dev + "'...";
  try {
    const t0 = performance.now();
    const r = await fetch("api/infer?device=" + encodeURIComponent(dev), {
      method: "POST", body: encodeInput(inputTensor(), inputSpec(dev)),
      headers: { "Content-Type": "application/octet-stream", "Authorization": "Bearer " + token } });
    const ms = performance.now() - t0;
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || "HTTP " + r.status);
    const k = j.class;
    const scores = Array.isArray(j.scores) ? j.scores : [];
    const grid = el("div", { class: "scores", "aria-label": "scores per class" });
    const mx = Math.max(...scores), mn = Math.min(...scores, 0);
    scores.forEach((s, i) => grid.append(
      el("span", {}, CLASSES[i] || "class " + i),
      el("div", { class: "bar" }, el("span", { style: "width:" + (mx > mn ? (100 * (s - mn)) / (mx - mn) : 0).toFixed(1) + "%" })),
      el("span", { class: "mono" }, typeof s === "number" ? s.toFixed(3) : String(s))));
    const lab = canvas.dataset.label;
    out.replaceChildren(
      el("div", {}, "Device '" + dev + "' says: ", el("span", { class: "cls", id: "result-class", "data-class": k },
        (CLASSES[k] || "class " + k)), " (class " + k + ")"),
      el("div", { id: "result-latency" }, "inference " + j.latency_us + " \u00b5s on the device \u00b7 " +
        ms.toFixed(0) + " ms round trip from this browser" +
        (lab !== undefined && lab !== "" ? " \u00b7 true class: " + CLASSES[lab] : "")),
      grid);
  } catch (e) {
    out.className = "result error";
    out.textContent = "Failed: " + e.message;
  } finally {
    btn.disabled = false;
  }
}

function main() {
  window.addEventListener("hashchange", show);
  show();
  clearCanvas();
  setupDrawing();
  setupSamples();
  document.getElementById("clear").addEventListener("click", () => { clearCanvas(); delete canvas.dataset.label; });
  canvas.addEventListener("pointerdown", () => {
    for (const b of document.querySelectorAll("#samples button")) b.setAttribute("aria-pressed", "false");
    delete canvas.dataset.label;
    canvas.sample = null;
  });
  document.getElementById("try-form").addEventListener("submit", classify);
  document.getElementById("try-token").value = localStorage.getItem("tmlaas.token") || "";
  refresh();
  /* poll while the page is visible; at once when it becomes visible again */
  setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
}

main();

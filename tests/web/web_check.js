/*
 * web_check.js - drives the tinymlaas page in the system Chromium through playwright-core
 * (run by tests/web/test_web.sh, which starts the service and a device first).
 *
 *   node web_check.js URL TOKEN SHOT_DIR DEVICE|- [CLASS]
 *
 * Loads the page as a person would, checks every view against what the service holds (the
 * device row with its target and budgets, the model, the build's bars and op list, the
 * deployment's state, "no jobs"), draws on the canvas and asks the device, then picks test
 * image 1 and checks the device's class is CLASS. Saves a screenshot of each view. DEVICE "-"
 * means no device answers here: the Try it part is checked only up to the request. Prints one
 * "ok: ..." line per check and exits 1 at the first failure.
 */
"use strict";
const path = require("path");
const fs = require("fs");
const os = require("os");
const { chromium } = require("playwright-core");

const [url, token, shots, device, wantClass] = process.argv.slice(2);
let passed = 0;
function ok(msg) { passed++; console.log("ok: " + msg); }
function fail(msg) { throw new Error(msg); }

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tml-chromium-"));
  /* a fresh profile: launchPersistentContext passes it as --user-data-dir */
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 860 },
    timeout: 60000,
  });
  const errors = [];
  const outside = [];
  try {
    const page = browser.pages()[0] || await browser.newPage();
    page.on("pageerror", e => errors.push(e.message));
    /* a service without federated training answers 404 on /api/fl/jobs: that is expected */
    page.on("console", m => {
      if (m.type() === "error" && !/\/api\/fl\/jobs/.test(m.location().url || ""))
        errors.push(m.text() + " (" + (m.location().url || "") + ")");
    });
    page.on("request", r => { if (!r.url().startsWith(url) && !r.url().startsWith("data:")) outside.push(r.url()); });
    page.setDefaultTimeout(20000);

    await page.goto(url + "/", { waitUntil: "load" });
    await page.waitForSelector("body[data-loaded='1']");
    ok("page loaded and read the API");

    /* Devices */
    await page.click("nav a[data-view=devices]");
    if (device !== "-") {
      const row = page.locator(`#devices-table tr[data-endpoint="${device}"]`);
      await row.waitFor();
      const text = await row.innerText();
      if (!/host/.test(text)) fail("device row lacks its target: " + text);
      if (!/MiB|KiB/.test(text)) fail("device row lacks its budgets: " + text);
      await page.waitForFunction(d => {
        const r = document.querySelector(`#devices-table tr[data-endpoint="${d}"]`);
        return r && /fmnist_cnn v1/.test(r.innerText) && /installed/.test(r.innerText);
      }, device);
      ok("devices table: " + text.replace(/\s+/g, " "));
      const m4 = await page.locator('#devices-table tr[data-endpoint="web-m4"]').innerText();
      if (!/cortex-m4/.test(m4) || !/64\.0 KiB/.test(m4) || !/failed/.test(m4))
        fail("web-m4 row: " + m4);
      ok("devices table: " + m4.replace(/\s+/g, " "));
    } else {
      await page.waitForSelector("#view-devices p.empty:not([hidden])");
      ok("devices table: empty, with a hint");
    }
    await page.screenshot({ path: path.join(shots, "devices.png") });

    /* Models and builds */
    await page.click("nav a[data-view=models]");
    const mtext = await page.locator("#models-table tbody").innerText();
    if (!/fmnist_cnn/.test(mtext)) fail("models table lacks fmnist_cnn: " + mtext);
    ok("models table lists fmnist_cnn");
    if (device !== "-") {
      await page.waitForSelector("#builds article.build [role=meter]");
      const meters = await page.locator("#builds [role=meter]").count();
      if (meters < 2) fail("build shows " + meters + " bars, want flash and RAM");
      const btext = await page.locator("#builds").innerText();
      if (!/Conv/.test(btext) || !/Gemm/.test(btext)) fail("build lacks the op list: " + btext);
      if (!/of \d/.test(btext)) fail("bars are not set against the device's budget: " + btext);
      ok("builds: flash and RAM bars against the budget, op list (" + meters + " bars)");
      const over = await page.locator("#builds .bar.over").count();
      if (over < 1 || !/does not fit/.test(btext)) fail("web-m4's flash bar is not marked as over budget");
      ok("builds: web-m4's flash bar marked 'does not fit'");
    }
    await page.screenshot({ path: path.join(shots, "models.png"), fullPage: true });

    /* Deployments */
    await page.click("nav a[data-view=deployments]");
    if (device !== "-") {
      const dtext = await page.locator("#deployments-table tbody").innerText();
      if (!new RegExp(device).test(dtext) || !/installed/.test(dtext))
        fail("deployments table: " + dtext);
      if (!/web-m4/.test(dtext) || !/failed/.test(dtext) || !/flash/.test(dtext))
        fail("deployments table lacks web-m4's failure and its reason: " + dtext);
      const v = await page.locator(`#deployments-table tr:has-text("${device}") progress`).getAttribute("value");
      if (v !== "100") fail("installed deployment shows progress " + v);
      ok("deployments table: installed (progress 100), web-m4 failed with the reason");
    }
    await page.screenshot({ path: path.join(shots, "deployments.png") });

    /* Training jobs */
    await page.click("nav a[data-view=training]");
    const ttext = await page.locator("#training").innerText();
    if (!/No jobs|Job/.test(ttext)) fail("training view: " + ttext);
    ok("training view: " + ttext.split("\n")[0]);
    await page.screenshot({ path: path.join(shots, "training.png") });

    /* Try it */
    await page.click("nav a[data-view=try]");
    if (device !== "-")
      await page.selectOption("#try-device", device);
    await page.fill("#try-token", token);
    const box = await page.locator("#canvas").boundingBox();
    /* a T-shirt-ish shape: two strokes */
    await page.mouse.move(box.x + 60, box.y + 70);
    await page.mouse.down();
    for (const [x, y] of [[220, 70], [220, 240], [60, 240], [60, 70]])
      await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
    await page.mouse.up();
    const lit = await page.evaluate(() => {
      const d = document.getElementById("canvas").getContext("2d").getImageData(0, 0, 280, 280).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
      return n;
    });
    if (lit < 1000) fail("drawing left only " + lit + " lit pixels");
    ok("drew on the canvas (" + lit + " lit pixels)");
    await page.click("#classify");
    if (device !== "-") {
      await page.waitForSelector("#result-class");
      const drawn = await page.locator("#result").innerText();
      if (!/µs on the device/.test(drawn)) fail("no latency in: " + drawn);
      ok("drawing classified: " + drawn.split("\n").slice(0, 2).join(" / "));
      await page.click("#samples button[data-sample='0']");
      await page.click("#classify");
      await page.waitForFunction(() => {
        const e = document.getElementById("result-class");
        return e && document.getElementById("result").innerText.includes("true class");
      });
      const k = await page.locator("#result-class").getAttribute("data-class");
      const res = await page.locator("#result").innerText();
      if (wantClass !== undefined && k !== wantClass)
        fail("test image 1: device says class " + k + ", want " + wantClass + ": " + res);
      ok("test image 1 classified as class " + k + " (" + res.split("\n").slice(0, 2).join(" / ") + ")");
    } else {
      await page.waitForSelector("#result.error");
      ok("no device: the page says so (" + (await page.locator("#result").innerText()) + ")");
    }
    await page.screenshot({ path: path.join(shots, "try.png"), fullPage: true });

    /* the input encodings Try it knows, and its refusal of other shapes */
    const enc = await page.evaluate(() => {
      const x = new Float32Array(784).fill(1);
      const r = {};
      r.f32 = new Float32Array(encodeInput(x, { dtype: "float32", shape: [1, 1, 28, 28] }))[5];
      r.u8 = new Uint8Array(encodeInput(x, { dtype: "uint8", shape: [1, 784] }))[5];
      r.s8 = new Int8Array(encodeInput(x, { dtype: "int8", shape: [784] }))[5];
      r.len = encodeInput(x, null).byteLength;
      try { encodeInput(x, { dtype: "float32", shape: [1, 3, 32, 32] }); r.shape = "accepted"; }
      catch (e) { r.shape = e.message; }
      return r;
    });
    if (enc.f32 !== 1 || enc.u8 !== 255 || enc.s8 !== 127 || enc.len !== 3136 || !/shape \[1, 3, 32, 32\]/.test(enc.shape))
      fail("input encodings: " + JSON.stringify(enc));
    ok("input encodings: float32, uint8, int8 (zero point -128); other shapes refused");

    /* keyboard: the views are reachable by Tab + Enter */
    await page.goto(url + "/#devices");
    let tabs = 0;
    while (tabs < 10 && !(await page.evaluate(() => document.activeElement &&
                                              document.activeElement.dataset.view === "models"))) {
      await page.keyboard.press("Tab");
      tabs++;
    }
    if (tabs >= 10) fail("the models link is not reachable with Tab");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#models");
    if (await page.locator("#view-models").isHidden()) fail("keyboard navigation did not show the models view");
    ok("keyboard navigation: models view after " + tabs + " Tab presses and Enter");

    /* Training jobs with data: the service here has no federated training, so the chart is
     * checked against a mocked /api/fl/jobs answer (the shape docs/web.md describes) */
    await page.route("**/api/fl/jobs", route => route.fulfill({
      status: 200, contentType: "application/json",
      body: JSON.stringify({ jobs: [{ id: 1, model: "fmnist_cnn", state: "running", rounds: [
        { round: 1, accuracy: 0.62, loss: 1.21, participants: 3 },
        { round: 2, accuracy: 0.74, loss: 0.83, participants: ["a", "b"] },
        { round: 3, accuracy: 0.81, loss: 0.61, participants: 3 }] }] }) }));
    await page.goto(url + "/#training");
    await page.waitForSelector("#training svg polyline");
    const lines = await page.locator("#training svg polyline").count();
    const rrows = await page.locator("#training tbody tr").count();
    const ttxt = await page.locator("#training tbody").innerText();
    if (lines !== 2 || rrows !== 3 || !/81\.0%/.test(ttxt) || !/0\.6100/.test(ttxt))
      fail("training chart: " + lines + " lines, " + rrows + " rows: " + ttxt);
    ok("training jobs (mocked /api/fl/jobs): accuracy and loss lines, 3 rounds with participants");
    await page.screenshot({ path: path.join(shots, "training-example.png") });
    await page.unroute("**/api/fl/jobs");

    if (errors.length) fail("page errors: " + errors.join("; "));
    ok("no script errors");
    if (outside.length) fail("requests outside the service: " + outside.join(", "));
    ok("nothing fetched from outside the service");
    console.log(passed + " passed, 0 failed");
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch(e => {
  console.log("FAIL: " + e.message);
  console.log(passed + " passed, 1 failed");
  process.exit(1);
});

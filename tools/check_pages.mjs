// Headless-browser check of the built book, with the network cut off.
//
//   node tools/check_pages.mjs [HTML_DIR=_build/html] [SCREENSHOT_DIR=_build/screenshots]
//
// Serves HTML_DIR on 127.0.0.1 (a free port), opens every page in Debian's chromium through
// playwright-core, and fails (exit 1) if
//   - any request goes to a host other than 127.0.0.1 (it is blocked and recorded), or a local file is missing;
//   - the console shows an error, or a script throws;
//   - math is left unrendered (an element Sphinx marked as math without MathJax output in it, or raw "$$" text);
//   - a page with saved ipywidgets state shows no rendered widgets, or shows a widget error;
//   - a plotly figure is not drawn, or moving a plotly slider does not change the figure's data;
//   - a page listed in SLIDER_PAGES has no plotly slider (unless it is still a placeholder without outputs);
//   - a notebook page has no Colab launch link (it is not followed: that would leave 127.0.0.1);
//   - a Markdown table was left as raw pipe text ("| a | b |" / "|---|" outside code);
//   - an image is displayed at under 60% of its natural width (text in it would be too small to read);
//   - a code or output block is cut off at the right (its content is wider than the column).
// Screenshots go to SCREENSHOT_DIR (one per page, plus each plotly figure after its slider moved).
// Environment: CHROMIUM (default /usr/bin/chromium).

import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, relative, resolve, sep } from "node:path";
import { chromium } from "playwright-core";

const HTML_DIR = resolve(process.argv[2] || "_build/html");
const SHOT_DIR = resolve(process.argv[3] || join(HTML_DIR, "..", "screenshots"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Pages that must show a plotly figure with a working slider once they have real content.
const SLIDER_PAGES = ["book/02_curved_paths.html"];
const SKIP_DIRS = new Set(["_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"]);

const MIME = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
  ".svg": "image/svg+xml", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".eot": "application/vnd.ms-fontobject",
  ".ico": "image/x-icon", ".txt": "text/plain", ".ipynb": "application/json", ".md": "text/plain", ".map": "application/json",
};

function listPages(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) out.push(...listPages(full, base));
    } else if (name.endsWith(".html")) {
      out.push(relative(base, full).split(sep).join("/"));
    }
  }
  return out;
}

function serve(root) {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "Content-Type": MIME[extname(file).toLowerCase()] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// Runs in the page: what needs checking there.
function inspectPage() {
  const mathEls = [...document.querySelectorAll(".math")];
  const unrenderedMath = mathEls.filter((el) => !el.querySelector("mjx-container")).map((el) => el.textContent.slice(0, 80));
  const rawDollar = [];
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest("pre, code, script, style, textarea, mjx-container, .highlight")) continue;
    if (/\$\$|\\begin\{/.test(n.textContent)) rawDollar.push(n.textContent.trim().slice(0, 80));
  }
  const widgetViews = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  const widgetsRendered = document.querySelectorAll(".jupyter-widgets, .widget-inline-hbox, .lm-Widget").length;
  const widgetErrors = [...document.querySelectorAll(".jupyter-widgets")].filter((el) => /Error displaying widget/.test(el.textContent)).length;
  const plotlyDivs = document.querySelectorAll(".floq-plotly, .js-plotly-plot").length;
  const outputs = document.querySelectorAll(".cell_output").length;
  const main = document.querySelector("main") || document.body;
  const rawTables = [];
  const tw = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = tw.nextNode(); n; n = tw.nextNode()) {
    if (n.parentElement.closest("pre, code, script, style, textarea, .highlight")) continue;
    if (/\|\s*:?-{3,}:?\s*\|/.test(n.textContent)) rawTables.push(n.textContent.trim().slice(0, 80));
  }
  const shrunk = [...main.querySelectorAll("img")].filter((img) => img.naturalWidth > 0 && img.clientWidth > 0
    && img.clientWidth < 0.6 * img.naturalWidth).map((img) => `${(img.getAttribute("src") || "").split("/").pop()} shown at `
    + `${img.clientWidth}px of ${img.naturalWidth}px`);
  const cut = [...main.querySelectorAll("pre")].filter((el) => el.scrollWidth > el.clientWidth + 2)
    .map((el) => (el.textContent.split("\n").find((line) => line.length > 80) || el.textContent).slice(0, 90));
  const colab = [...document.querySelectorAll("a[href]")].map((a) => a.href).filter((h) => h.startsWith("https://colab.research.google.com/github/"));
  return { colab, mathCount: mathEls.length, mjx: document.querySelectorAll("mjx-container").length, unrenderedMath, rawDollar,
    widgetViews, widgetsRendered, widgetErrors, plotlyDivs, outputs, rawTables, shrunk, cut };
}

function plotState(i) {
  const gd = document.querySelectorAll(".js-plotly-plot")[i];
  // What a reader sees: the coordinates and whether each trace is shown (a slider may do either).
  const data = (gd.data || []).map((t) => [t.x, t.y, t.z].map((v) => (v && v.length !== undefined ? Array.from(v) : v))
    .concat([t.visible === undefined ? true : t.visible]));
  const sliders = (gd.layout && gd.layout.sliders) || [];
  return { data: JSON.stringify(data), active: sliders.map((s) => s.active || 0), nsteps: sliders.map((s) => (s.steps || []).length) };
}

async function moveSliders(page, name, failures, notes) {
  // Move every slider of every plotly figure; each move must change what the figure shows.
  const nplots = await page.locator(".js-plotly-plot").count();
  let moved = 0;
  for (let i = 0; i < nplots; i++) {
    const initial = await page.evaluate(plotState, i);
    const plot = page.locator(".js-plotly-plot").nth(i);
    for (let j = 0; j < initial.nsteps.length; j++) {
      if (initial.nsteps[j] < 2) continue;
      const before = await page.evaluate(plotState, i);
      await plot.scrollIntoViewIfNeeded();
      const rail = plot.locator(".slider-container .slider-rail-touch-rect").nth(j);
      const box = await rail.boundingBox();
      if (!box) { failures.push(`${name}: plotly figure ${i} has slider ${j} but no visible rail`); continue; }
      // click near the end opposite to the current step
      const frac = before.active[j] < before.nsteps[j] / 2 ? 0.97 : 0.03;
      await page.mouse.click(box.x + frac * box.width, box.y + box.height / 2);
      let after = before;
      for (let t = 0; t < 20 && after.data === before.data; t++) {
        await page.waitForTimeout(150);
        after = await page.evaluate(plotState, i);
      }
      const tag = `${name.replace(/\.html$/, "").replaceAll("/", "_")}-plotly${i}-slider${j}`;
      await plot.screenshot({ path: join(SHOT_DIR, `${tag}.png`) });
      if (after.data === before.data) {
        failures.push(`${name}: moving slider ${j} of plotly figure ${i} did not change the figure ` +
          `(active ${before.active} -> ${after.active})`);
      } else {
        moved++;
        notes.push(`plotly figure ${i}, slider ${j}: step ${before.active[j]} -> ${after.active[j]}, figure changed`);
      }
    }
  }
  return moved;
}

async function main() {
  mkdirSync(SHOT_DIR, { recursive: true });
  const pages = listPages(HTML_DIR);
  if (!pages.length) throw new Error(`no .html pages under ${HTML_DIR}`);
  const server = await serve(HTML_DIR);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), "floq-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
    viewport: { width: 1400, height: 900 },
  });
  const external = new Set();
  const missing = new Set();
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    external.add(route.request().url());
    return route.abort("blockedbyclient");
  });
  context.on("response", (resp) => {
    if (resp.status() >= 400 && resp.url().startsWith(origin)) missing.add(`${resp.status()} ${resp.url().slice(origin.length)}`);
  });

  const failures = [];
  const report = [];
  const t0 = Date.now();
  for (const name of pages) {
    const tPage = Date.now();
    const page = await context.newPage();
    const errors = [];
    page.on("console", (msg) => { if (msg.type() === "error") errors.push(`console: ${msg.text()}`); });
    page.on("pageerror", (err) => errors.push(`exception: ${err.message}`));
    const notes = [];
    await page.goto(`${origin}/${name}`, { waitUntil: "load", timeout: 60000 });
    await page.waitForLoadState("networkidle", { timeout: 30000 }).catch(() => notes.push("network never idle"));
    // MathJax typesets asynchronously after load
    await page.evaluate(() => (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) || null).catch(() => {});
    let info = await page.evaluate(inspectPage);
    if (info.widgetViews) {
      await page.waitForFunction(() => document.querySelectorAll(".jupyter-widgets, .widget-inline-hbox, .lm-Widget").length > 0,
        null, { timeout: 20000 }).catch(() => {});
    }
    if (info.plotlyDivs) {
      await page.waitForFunction(() => [...document.querySelectorAll(".floq-plotly")].every((el) => el.classList.contains("js-plotly-plot")),
        null, { timeout: 20000 }).catch(() => {});
    }
    info = await page.evaluate(inspectPage);
    const problems = [];
    if (info.unrenderedMath.length) problems.push(`${info.unrenderedMath.length} math elements without MathJax output, e.g. ${JSON.stringify(info.unrenderedMath[0])}`);
    if (info.rawDollar.length) problems.push(`raw math source left in the text, e.g. ${JSON.stringify(info.rawDollar[0])}`);
    if (info.widgetViews && !info.widgetsRendered) problems.push(`${info.widgetViews} saved ipywidgets views but none rendered`);
    if (info.widgetErrors) problems.push(`${info.widgetErrors} widgets show "Error displaying widget"`);
    if (info.rawTables.length) problems.push(`${info.rawTables.length} tables left as raw text, e.g. ${JSON.stringify(info.rawTables[0])}`);
    for (const s of info.shrunk) problems.push(`image too small to read: ${s} (size figures for the ~780 px column)`);
    for (const c of info.cut) problems.push(`code or output line cut off: ${JSON.stringify(c)} (keep lines within ~88 characters)`);
    const undrawn = await page.locator(".floq-plotly:not(.js-plotly-plot)").count();
    if (undrawn) problems.push(`${undrawn} plotly figures not drawn`);
    const notebookSource = name.replace(/\.html$/, ".ipynb");
    const isNotebook = statSync(join(HTML_DIR, "_sources", notebookSource), { throwIfNoEntry: false });
    if (isNotebook && !info.colab.some((h) => h.endsWith("/" + notebookSource))) problems.push(`no Colab launch link to ${notebookSource}`);
    if (isNotebook) {
      const labels = await page.$$eval('a[href*="_sources/"][href$=".ipynb"]', (as) => as.map((a) => a.textContent.trim()));
      if (!labels.some((t) => t.includes("no outputs"))) problems.push(`the .ipynb download is not labelled as a notebook without outputs (found ${JSON.stringify(labels)})`);
    }
    await page.screenshot({ path: join(SHOT_DIR, `${name.replace(/\.html$/, "").replaceAll("/", "_")}.png`), fullPage: true });
    if (info.widgetViews) {
      // a close-up of the first few rendered widget areas
      const areas = page.locator(".cell_output .jupyter-widgets.widget-area, .cell_output .jupyter-widgets-view, .cell_output .widget-inline-hbox");
      const n = Math.min(await areas.count(), 3);
      for (let i = 0; i < n; i++) {
        await areas.nth(i).screenshot({ path: join(SHOT_DIR, `${name.replace(/\.html$/, "").replaceAll("/", "_")}-widget${i}.png`), timeout: 3000 }).catch(() => {});  // hidden areas: skip, do not wait 30 s
      }
    }
    const sliders = info.plotlyDivs ? await moveSliders(page, name, problems, notes) : 0;
    if (SLIDER_PAGES.includes(name) && !sliders) {
      if (info.outputs) problems.push("expected a plotly figure with a working slider on this page, found none");
      else notes.push("placeholder page (no outputs yet): plotly slider check not applicable");
    }
    for (const e of errors) problems.push(e);
    await page.close();
    const secs = ((Date.now() - tPage) / 1000).toFixed(1);
    const summary = `math ${info.mjx}/${info.mathCount} rendered, widgets ${info.widgetsRendered ? "rendered" : "-"} (${info.widgetViews} views), plotly ${info.plotlyDivs} (${sliders} sliders moved)`;
    console.log(`${problems.length ? "FAIL" : "ok  "} ${name}  [${summary}] ${secs}s${notes.length ? "  (" + notes.join("; ") + ")" : ""}`);
    for (const p of problems) console.log(`       - ${p}`);
    failures.push(...problems.map((p) => `${name}: ${p}`));
    report.push({ page: name, ...info, sliders, problems, notes, seconds: Number(secs) });
  }
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });

  if (external.size) failures.push(`requests to external hosts (blocked): ${[...external].join(", ")}`);
  if (missing.size) failures.push(`local files missing: ${[...missing].join(", ")}`);
  writeFileSync(join(SHOT_DIR, "report.json"), JSON.stringify({ failures, external: [...external], missing: [...missing], pages: report }, null, 1));
  const total = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`\n${pages.length} pages checked in ${total}s with the network blocked; screenshots in ${relative(process.cwd(), SHOT_DIR) || "."}`);
  if (external.size) console.log(`external requests blocked: ${[...external].join("\n  ")}`);
  if (missing.size) console.log(`missing local files: ${[...missing].join("\n  ")}`);
  if (failures.length) {
    console.log(`check_pages: FAILED (${failures.length} problems)`);
    process.exit(1);
  }
  console.log("check_pages: all pages OK");
}

main().catch((err) => { console.error(err); process.exit(2); });

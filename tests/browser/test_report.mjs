// tests/browser/test_report.mjs: an nl.report page in headless Chromium (ctest
// browser.report).
//
//   node test_report.mjs NEUROLUA [CHROMIUM]
//
// Runs neurolua to write a report with a table, a PNG figure and a NiiVue viewer of a
// small synthetic volume (a bright sphere) over the template, opens it through file://
// in Chromium (software WebGL: SwiftShader through ANGLE), waits until NiiVue has drawn,
// and checks a screenshot of the viewer's canvas: the template's grey and the sphere's
// warm colours are there. Fails on any console error, uncaught page error or request
// other than file: and data:. Exits 77 (ctest's SKIP_RETURN_CODE) only when Chromium
// cannot start; a page that does not draw is a failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../viewer/package.json"));
const SKIP = 77;
const [neurolua, chromiumPath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!neurolua) {
  console.error("usage: node test_report.mjs NEUROLUA [CHROMIUM]");
  process.exit(2);
}

let playwright;
try {
  playwright = require("playwright-core");
} catch (e) {
  // viewer/node_modules is installed by tools/bootstrap.sh; without it nothing can run
  console.error(`FAIL: playwright-core is not installed (run tools/bootstrap.sh): ${e.message}`);
  process.exit(1);
}

const t0 = Date.now();
const dir = mkdtempSync(join(tmpdir(), "nl-browser-"));
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

// ---------------------------------------------------------------- the report

const script = join(dir, "make.lua");
writeFileSync(script, String.raw`
local dir = ...
-- a 2x2 PNG (the same bytes as tests/lua/test_report.lua)
local png = "\137PNG\013\010\026\010\000\000\000\013IHDR\000\000\000\002\000\000\000\002\008\002\000\000\000"
            .. "\253\212\154s\000\000\000\016IDATx\218c\248\207\000\004\255\025 \020\000\027\242\003\253>\151]"
            .. "\164\000\000\000\000IEND\174B\096\130"
local f = assert(io.open(dir .. "/fig.png", "wb")); f:write(png); f:close()
-- a sphere of radius 12 mm around (20, -10, 10) mm on the template's 2 mm grid
local _, grid = nl._report.template()
local v = nl.volume.new(nl.volume.load(grid))
local d = v:dims()
for k = 1, d[3] do for j = 1, d[2] do for i = 1, d[1] do
  local x, y, z = v:world(i, j, k)
  local r2 = (x - 20)^2 + (y + 10)^2 + (z - 10)^2
  if r2 < 144 then v:set(i, j, k, 5 - r2 / 48) end
end end end
v:save(dir .. "/sphere.nii.gz")
local t = nl.table.new{ { "id", { "s1", "s2", "<script>" } }, { "age", { 31, nl.table.NA, 45.5 } } }
local rep = nl.report.new{ title = "Browser test", subtitle = "nl.report in Chromium" }
rep:heading("Table"):table(t, { caption = "Participants" })
rep:heading("Figure"):figure(dir .. "/fig.png", { caption = "A tiny PNG", width = 64 })
rep:heading("Viewer"):viewer(dir .. "/sphere.nii.gz", { background = "template", cmap = "warm", threshold = 1,
                                                       caption = "A synthetic sphere over the template" })
rep:provenance{ seeds = { test = 1 } }
print(rep:write(dir .. "/report.html"))
`);
const run = spawnSync(neurolua, [script, dir], { encoding: "utf8" });
if (run.status !== 0) {
  console.error(`FAIL: neurolua could not write the report (status ${run.status}):\n${run.stdout}${run.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
const report = join(dir, "report.html");
const bytes = statSync(report).size;
console.log(`report: ${(bytes / 1024 / 1024).toFixed(2)} MiB (written in ${Date.now() - t0} ms)`);

// ---------------------------------------------------------------- PNG decoding

// RGBA pixels of an 8-bit RGB or RGBA PNG (what Chromium's screenshots are).
function decodePng(buf) {
  let pos = 8, width = 0, height = 0, type = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), name = buf.toString("latin1", pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (name === "IHDR") {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4); type = body[9];
      if (body[8] !== 8 || (type !== 2 && type !== 6)) throw new Error(`unsupported PNG (depth ${body[8]}, type ${type})`);
    } else if (name === "IDAT") idat.push(body);
    pos += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3, stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  const out = Buffer.alloc(width * height * 4);
  const prev = Buffer.alloc(stride), cur = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    raw.copy(cur, 0, y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
      let p = 0;
      if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = (cur[x] + p) & 255;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) out[(y * width + x) * 4 + k] = cur[x * bpp + k];
      out[(y * width + x) * 4 + 3] = bpp === 4 ? cur[x * bpp + 3] : 255;
    }
    cur.copy(prev);
  }
  return { width, height, data: out };
}

// ---------------------------------------------------------------- the browser

let browser;
try {
  browser = await playwright.chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--use-gl=angle",
           "--ignore-gpu-blocklist"],
    timeout: 60000,
  });
} catch (e) {
  console.log(`skip: Chromium cannot start (${chromiumPath}): ${e.message.split("\n")[0]}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(SKIP);
}

try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const console_errors = [], requests = [];
  page.on("console", (m) => { if (m.type() === "error") console_errors.push(m.text()); });
  page.on("pageerror", (e) => console_errors.push(`uncaught: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("file:") && !u.startsWith("data:")) requests.push(u);
  });
  await page.goto(pathToFileURL(report).href, { waitUntil: "load" });
  const state = await page.waitForFunction(
    () => window.neuroluaViewers && (window.neuroluaViewers.ready === window.neuroluaViewers.total ||
                                     window.neuroluaViewers.errors.length > 0) && window.neuroluaViewers,
    null, { timeout: 90000 }).then((h) => h.jsonValue());
  check(state.total === 1 && state.ready === 1, `the viewer did not start: ${JSON.stringify(state)}`);
  // let NiiVue finish its first frames
  await page.waitForTimeout(1500);

  // the page itself
  check(await page.locator("td", { hasText: "<script>" }).count() === 1, "the escaped cell shows as text");
  check(await page.locator("nav.toc a").count() === 4, "table of contents: 3 headings + provenance");
  check(await page.locator("figure img").evaluate((img) => img.complete && img.naturalWidth === 2),
        "the PNG figure decodes (2 px wide)");
  check(await page.locator("#provenance").isVisible(), "the provenance block is shown");
  const badRefs = await page.evaluate(() => [...document.querySelectorAll("[src],[href]")]
    .map((e) => e.getAttribute("src") || e.getAttribute("href")).filter((u) => /^https?:/i.test(u)));
  check(badRefs.length === 0, `network references: ${badRefs.join(", ")}`);

  // the canvas: a screenshot, and the pixels that are not the black background
  const canvas = page.locator("figure.viewer canvas");
  await canvas.scrollIntoViewIfNeeded();
  const shot = await canvas.screenshot();
  writeFileSync(join(dir, "canvas.png"), shot);
  if (process.env.NL_BROWSER_SHOT) writeFileSync(process.env.NL_BROWSER_SHOT, shot);
  const img = decodePng(shot);
  let lit = 0, warm = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const r = img.data[4 * i], g = img.data[4 * i + 1], b = img.data[4 * i + 2];
    if (r + g + b > 60) lit++;
    if (r > 150 && r > b + 80) warm++;
  }
  const n = img.width * img.height;
  console.log(`canvas ${img.width}x${img.height}: ${(100 * lit / n).toFixed(1)} % drawn, ${warm} warm pixels`);
  check(lit > 0.05 * n, `the canvas is mostly background: ${lit} of ${n} pixels drawn`);
  check(warm > 50, `the sphere is not drawn: ${warm} warm pixels`);
  check(console_errors.length === 0, `console errors: ${console_errors.join(" | ")}`);
  check(requests.length === 0, `network requests: ${requests.join(", ")}`);
} catch (e) {
  failures.push(`${e.message.split("\n")[0]}`);
} finally {
  await browser.close();
}

console.log(`browser test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (failures.length) {
  for (const f of failures) console.error(`FAIL: ${f}`);
  console.error(`(report and screenshot kept in ${dir})`);
  process.exit(1);
}
rmSync(dir, { recursive: true, force: true });
console.log("1 passed, 0 failed");

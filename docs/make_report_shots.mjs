// docs/make_report_shots.mjs: the README's pictures of the main job's report, taken in
// headless Chromium (playwright-core from viewer/node_modules, SwiftShader WebGL).
//
//   build/neurolua scripts/ketamine/replicate.lua out=/tmp/nl-report   # the main job
//   node docs/make_report_shots.mjs /tmp/nl-report/report.html
//
// Writes docs/figures/report_top.png (title, summary, tables), report_figures.png (the
// discovery ROC curve and permutation null) and report_viewer.png (the NiiVue viewer of
// the weight map), each a 1100-pixel-wide view of the page.
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../viewer/package.json"));
const { chromium } = require("playwright-core");
const report = process.argv[2];
if (!report) {
  console.error("usage: node docs/make_report_shots.mjs REPORT.html");
  process.exit(2);
}
const out = join(here, "figures");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--use-gl=angle",
         "--ignore-gpu-blocklist"],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
await page.goto(pathToFileURL(resolve(report)).href, { waitUntil: "load" });
await page.waitForTimeout(3000);  // NiiVue loads the volumes
await page.screenshot({ path: join(out, "report_top.png") });
const shoot = async (selector, name, height) => {
  const el = page.locator(selector).first();
  await el.scrollIntoViewIfNeeded();
  const box = await el.boundingBox();
  await page.screenshot({ path: join(out, name), clip: { x: 0, y: box.y - 60, width: 1100, height } });
};
await shoot("h3", "report_figures.png", 1000);
await shoot("figure.viewer", "report_viewer.png", 700);
await browser.close();
console.log(`wrote ${out}/report_top.png, report_figures.png, report_viewer.png`);

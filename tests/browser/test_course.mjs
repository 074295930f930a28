// tests/browser/test_course.mjs: the course's offline website (nl.course.site) in
// headless Chromium (ctest browser.course).
//
//   node test_course.mjs NEUROLUA [CHROMIUM]
//
// Builds the site from docs/course/ with the neurolua executable, then opens the index
// and every lesson page through file:// and checks, on each: no console error, uncaught
// page error or request other than file: and data:; every <img> decoded (naturalWidth >
// 0: the figures are embedded); code blocks present; the contents list filled; every
// local link (href without a scheme) points to a file of the site, and following the
// "next" link from the index's first lesson walks every lesson in order. Also opens a
// <details> solution and checks that its code becomes visible. Exits 77 (ctest's
// SKIP_RETURN_CODE) only when Chromium cannot start.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../viewer/package.json"));
const SKIP = 77;
const [neurolua, chromiumPath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!neurolua) {
  console.error("usage: node test_course.mjs NEUROLUA [CHROMIUM]");
  process.exit(2);
}
let playwright;
try {
  playwright = require("playwright-core");
} catch (e) {
  console.error(`FAIL: playwright-core is not installed (run tools/bootstrap.sh): ${e.message}`);
  process.exit(1);
}

const t0 = Date.now();
const dir = mkdtempSync(join(tmpdir(), "nl-course-"));
const site = join(dir, "site");
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

const run = spawnSync(neurolua, [join(here, "../../scripts/course/site.lua"), site], { encoding: "utf8" });
if (run.status !== 0) {
  console.error(`FAIL: neurolua could not build the site (status ${run.status}):\n${run.stdout}${run.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
const list = spawnSync(neurolua, ["-e", "for _, n in ipairs(nl.course.lessons().name) do print(n) end"],
                       { encoding: "utf8" });
const lessons = list.stdout.trim().split("\n").filter((s) => s);
check(lessons.length >= 10, `lessons listed: ${lessons.length}`);

let browser;
try {
  browser = await playwright.chromium.launch({ executablePath: chromiumPath, headless: true,
                                              args: ["--no-sandbox"], timeout: 60000 });
} catch (e) {
  console.log(`skip: Chromium cannot start (${chromiumPath}): ${e.message.split("\n")[0]}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(SKIP);
}

try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  let errors = [], requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("file:") && !u.startsWith("data:")) requests.push(u);
  });

  // A page: loads clean, its images decode, its local links resolve. Returns its links.
  async function visit(file, { lesson }) {
    errors = []; requests = [];
    const path = join(site, file);
    check(existsSync(path), `${file} exists`);
    await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
    const imgs = await page.evaluate(() => [...document.images].map((i) => ({ ok: i.complete && i.naturalWidth > 0,
                                                                                  alt: i.alt })));
    for (const i of imgs) check(i.ok, `${file}: image '${i.alt}' does not decode`);
    const links = await page.evaluate(() => [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")));
    for (const href of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#")) {
        check(!/^https?:/i.test(href), `${file}: network link ${href}`);
        continue;
      }
      const target = join(dirname(path), href.split("#")[0]);
      check(existsSync(target), `${file}: the link '${href}' leads nowhere`);
    }
    if (lesson) {
      check(await page.locator("pre code.language-lua").count() > 0, `${file}: no Lua code block`);
      check(await page.locator("nav.toc a").count() >= 3, `${file}: the contents list is nearly empty`);
      check(imgs.length >= 1, `${file}: no figure`);
      const title = await page.locator("h1.report-title").textContent();
      check(title && title.length > 5, `${file}: no title`);
    }
    check(errors.length === 0, `${file}: console errors: ${errors.join(" | ")}`);
    check(requests.length === 0, `${file}: network requests: ${requests.join(", ")}`);
    return links;
  }

  const indexLinks = await visit("index.html", { lesson: false });
  for (const l of lessons) check(indexLinks.includes(`${l}.html`), `the index does not link ${l}.html`);

  // walk the lessons by their "next" links
  let file = `${lessons[0]}.html`;
  const seen = [];
  while (file && seen.length <= lessons.length) {
    seen.push(file.replace(/\.html$/, ""));
    await visit(file, { lesson: true });
    const next = await page.locator("a", { hasText: /^next:/ }).first();
    file = (await next.count()) ? await next.getAttribute("href") : null;
  }
  check(JSON.stringify(seen) === JSON.stringify(lessons), `the next links walk ${seen.join(", ")}`);

  // a solution opens
  await page.goto(pathToFileURL(join(site, "05_leakage.html")).href, { waitUntil: "load" });
  const details = page.locator("details").first();
  const code = details.locator("pre code");
  check(!(await code.first().isVisible()), "a solution's code is hidden before it is opened");
  await details.locator("summary").click();
  check(await code.first().isVisible(), "a solution's code shows when opened");

  for (const ref of ["docs/reference/cv.html", "docs/methods-notes.html", "files/scripts/course/05_leakage.lua"]) check(existsSync(join(site, ref)), `${ref} in the site`);
} catch (e) {
  failures.push(`${e.message.split("\n")[0]}`);
} finally {
  await browser.close();
}

console.log(`course site in the browser: ${lessons.length} lessons, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (failures.length) {
  for (const f of failures) console.error(`FAIL: ${f}`);
  console.error(`(site kept in ${site})`);
  process.exit(1);
}
rmSync(dir, { recursive: true, force: true });

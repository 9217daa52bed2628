// Opens a peaktrace HTML report in Debian's chromium, headless, with the
// network off, and prints what it rendered as JSON on stdout:
//   node tests/browser/check_html.js REPORT.html SCREENSHOT.png
// The e2e test (tests/e2e/test_formats.py) asserts on it.
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

(async () => {
  const [file, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-default-apps", "--disable-sync",
           "--no-first-run", "--disable-extensions"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.setOffline(true);
  const page = await context.newPage();
  const errors = [], requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
  const t0 = Date.now();
  await page.goto("file://" + path.resolve(file));
  await page.waitForSelector("body[data-rendered='1']", { timeout: 10000 });
  const renderMs = Date.now() - t0;
  const seen = await page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const depth1 = [...document.querySelectorAll(".fg[data-depth='1']")]
      .map((d) => ({ name: d.dataset.name, bytes: +d.dataset.bytes, width: d.getBoundingClientRect().width }))
      .sort((a, b) => b.width - a.width);
    const marker = q("#peak-marker");
    return {
      summaryPeakBytes: q("#summary-peak") && +q("#summary-peak").dataset.bytes,
      summaryPeakText: q("#summary-peak") && q("#summary-peak").textContent,
      incomplete: !!q("#incomplete"),
      widestUnderRoot: depth1.length ? depth1[0] : null,
      flameNodes: document.querySelectorAll(".fg").length,
      peakMarker: marker && { t: +marker.dataset.t, bytes: +marker.dataset.bytes,
                              visible: marker.getBoundingClientRect().width > 0 },
      peakLabel: q("#peak-label") && q("#peak-label").textContent,
      timelinePoints: (q("#timeline .tree-heap") &&
                       q("#timeline .tree-heap").getAttribute("points").split(" ").length) || 0,
      views: [...document.querySelectorAll("#view option")].map((o) => o.textContent),
    };
  });
  // the search box highlights the frames it matches
  await page.fill("#search", seen.widestUnderRoot ? seen.widestUnderRoot.name : "main");
  seen.matches = await page.evaluate(() => document.querySelectorAll(".fg.match").length);
  await page.screenshot({ path: shot, fullPage: true });
  seen.errors = errors;
  seen.requests = requests;
  seen.renderMs = renderMs;
  process.stdout.write(JSON.stringify(seen) + "\n");
  await browser.close();
})().catch((e) => { process.stderr.write(String(e.stack || e) + "\n"); process.exit(1); });

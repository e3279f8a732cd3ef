/**
 * `deno task map-screenshot`: the README's picture. Draws the bundled PCIe trace's map under
 * linux-3.12 and linux-3.16 (`p2mtrace map ... --compare linux-3.12,linux-3.16`), opens it in
 * headless Chromium and saves a PNG of the picture to docs/map-pcie-bar-above-e820.png.
 *
 * @module
 */

import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { Browser } from "./chromium.ts";

const OUT = "docs/map-pcie-bar-above-e820.png";
const io = memoryIo();
const code = await main([
  "map",
  "traces/pcie-bar-above-e820.jsonl",
  "--compare",
  "linux-3.12,linux-3.16",
], io);
if (code !== 0) throw new Error(`map failed (${code}): ${io.err()}`);
const html = await Deno.makeTempFile({ suffix: ".html" });
await Deno.writeTextFile(html, io.out());
const browser = await Browser.launch();
try {
  const page = await browser.newPage(1320, 900);
  await page.goto(`file://${html}`);
  const box = await page.eval<{ x: number; y: number; width: number; height: number }>(
    `(() => { const r = document.getElementById("map").getBoundingClientRect();
      return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }; })()`,
  );
  const shot = await page.send("Page.captureScreenshot", {
    format: "png",
    captureBeyondViewport: true,
    clip: { ...box, scale: 1 },
  });
  if (page.problems.length) throw new Error(`page problems: ${JSON.stringify(page.problems)}`);
  await Deno.writeFile(OUT, Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0)));
  console.log(`wrote ${OUT} (${box.width}x${box.height})`);
} finally {
  await browser.close();
  await Deno.remove(html);
}

/**
 * `escapeXml` runs in the map page too, so it spells out its own character class: it must make
 * visible exactly what `escapeControls` does (issue 14: a bidi override or a zero-width
 * character in a mark, a lookup's `by` or a file name cannot reorder or hide the map's text).
 */

import assert from "node:assert/strict";
import { escapeXml } from "./draw.ts";
import { escapeControls } from "../report/text.ts";

Deno.test("escapeXml escapes every character escapeControls escapes, and no other", () => {
  const differ: string[] = [];
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const s = String.fromCharCode(c);
    if ('&<>"'.includes(s)) continue;
    if (escapeXml(s) !== escapeControls(s)) differ.push(c.toString(16));
  }
  assert.deepEqual(differ, []);
});

Deno.test("escapeXml: markup, bidi overrides and zero-width characters come out visible", () => {
  assert.equal(
    escapeXml('<script>"x"</script>\u202eevil\u200b\u2066'),
    "&lt;script&gt;&quot;x&quot;&lt;/script&gt;\\u202eevil\\u200b\\u2066",
  );
});

import assert from "node:assert/strict";
import { LineNumberStripper, NUMBERED_PROOF } from "./line_numbers.ts";

function strip(lines: string[]): string[] {
  const s = new LineNumberStripper();
  return [...lines.flatMap((l) => s.push(l)), ...s.end()];
}

Deno.test("consecutive line numbers in every style come off, continuation lines too", () => {
  for (
    const style of [
      (n: number) => `${n}: `,
      (n: number) => `  ${n} | `,
      (n: number) => `L${n} `,
      (n: number) => `${n}.\t`,
      (n: number) => `${n}\t`,
    ]
  ) {
    const body = [
      "Linux version 3.2.0",
      "Xen: [mem 0x0-0x9ffff]",
      "usable",
      "",
      "pcifront pci-0: x",
      "Released 0 page(s)",
      "0: 0x100",
    ];
    const numbered = body.map((l, i) =>
      `${style(i + 40)}${l}`.replace(/[ \t]+$/, (w) => l === "" ? "" : w)
    );
    assert.deepEqual(strip(numbered), body, style(40));
  }
});

Deno.test("a log that only starts lines with numbers is never changed", () => {
  const lines = ["0: 0x100 -> 0x200", "1: 0x200 -> 0x300", "7: x", "8: y", "9: z", "10: w"];
  assert.deepEqual(strip(lines), lines);
  assert.deepEqual(strip(["12: a", "13: b"]), ["12: a", "13: b"], "two lines prove nothing");
  assert.deepEqual(strip(["3: a", "4: b", "5: c"]), ["a", "b", "c"], "a short numbered paste");
});

Deno.test("after the proof, a line out of count is kept whole; a new block may restart at 1", () => {
  const head = [...Array(NUMBERED_PROOF)].map((_, i) => `${i + 1}: l${i + 1}`);
  assert.deepEqual(
    strip([...head, "an unnumbered remark", `${NUMBERED_PROOF + 1}: next`, "1: again", "2: more"]),
    [...head.map((_, i) => `l${i + 1}`), "an unnumbered remark", "next", "again", "more"],
  );
});

Deno.test("one blank after the number is its separator: a continuation keeps its indent", () => {
  const lines = [
    "L1 (XEN) Dom0 alloc.: 0000000840000000->0000000844000000 (16379466 pages to=",
    "L2  be allocated)",
    "L3 a",
    "L4 b",
    "L5 c",
  ];
  assert.deepEqual(strip(lines)[1], " be allocated)");
});

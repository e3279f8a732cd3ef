import assert from "node:assert/strict";
import { BpftraceLineError, parseBpftraceLine } from "./line_format.ts";

const pos = { file: "out.txt", line: 9 };
const parse = (t: string) => parseBpftraceLine(t, pos);
const P2M = "p2mtrace1 10 p2m fn=set_phys_to_machine pfn=0x10 value=0x20 ok=1 tid=1 " +
  "caller=balloon_process ctx=- ctxcaller=-";

function rejects(text: string, field: string | undefined, message: string) {
  assert.throws(
    () => parse(text),
    (e: unknown) => e instanceof BpftraceLineError && e.field === field && e.message === message,
  );
}

Deno.test("parseBpftraceLine() reads every key of a p2m line", () => {
  assert.deepEqual(parse(P2M), {
    record: {
      kind: "p2m",
      line: 9,
      ns: 10,
      fn: "set_phys_to_machine",
      pfn: 0x10,
      value: 0x20n,
      ok: true,
      tid: 1,
      caller: "balloon_process",
      ctx: "-",
      ctxCaller: "-",
    },
  });
});

Deno.test("parseBpftraceLine() strips +offset from symbols and ignores unknown keys", () => {
  const r = parse(P2M.replace("caller=balloon_process", "caller=balloon_process+0x1a3") + " cpu=3");
  assert.ok("record" in r && r.record.kind === "p2m" && r.record.caller === "balloon_process");
});

Deno.test("parseBpftraceLine() skips chatter and unknown kinds, and reads Lost lines", () => {
  assert.deepEqual(parse("@depth[163]: 0"), { skipped: "chatter" });
  assert.deepEqual(parse("p2mtrace1 5 grant_map ref=3"), {
    skipped: "unknown-kind",
    kind: "grant_map",
  });
  assert.deepEqual(parse("Lost 12 events"), { record: { kind: "lost", line: 9, count: 12 } });
});

Deno.test("parseBpftraceLine() names the field of a malformed known line", () => {
  rejects(
    P2M.replace("pfn=0x10", "pfn=0x10000000000"),
    "pfn",
    'out.txt:9: field "pfn": expected a PFN below 2^40, got 0x10000000000',
  );
  rejects(
    P2M.replace(" tid=1", ""),
    "tid",
    'out.txt:9: field "tid": expected this key (it is required), got nothing',
  );
  rejects(
    P2M.replace("ok=1", "ok=yes"),
    "ok",
    'out.txt:9: field "ok": expected one of 0, 1, got "yes"',
  );
  rejects(
    P2M.replace("tid=1", "tid=1 tid=2"),
    "tid",
    'out.txt:9: field "tid": expected each key once, got it twice',
  );
  rejects(P2M + " stray", undefined, 'out.txt:9: expected "key=value" pairs, got "stray"');
  rejects(
    "p2mtrace1 10 pci_notify action=add dev=0000:3:00.0",
    "dev",
    'out.txt:9: field "dev": expected a PCI device "ssss:bb:dd.f" in lower-case hex, got ' +
      '"0000:3:00.0"',
  );
  rejects(
    "p2mtrace1 10 pci_res dev=0000:03:00.0 index=1 start=0x2000 end=0x1fff flags=0x200",
    "end",
    'out.txt:9: field "end": expected an inclusive end not below start 0x2000, got 0x1fff',
  );
  rejects(
    "p2mtrace1 10 pci_res dev=0000:03:00.0 index=70 start=0x0 end=0x1 flags=0x200",
    "index",
    'out.txt:9: field "index": expected a resource index below 64 (PCI_NUM_RESOURCES is 17), ' +
      "got 70",
  );
  rejects(
    "p2mtrace1 1x begin script=1",
    "nsecs",
    'out.txt:9: field "nsecs": expected a decimal timestamp in ns after the prefix, got "1x"',
  );
  rejects("p2mtrace1 10", "kind", 'out.txt:9: field "kind": expected an event kind, got nothing');
});

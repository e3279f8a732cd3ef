/**
 * `import dmesg` of a Xen console log that relays more than one domain. Xen writes the hardware
 * domain's console output straight to the serial line (no prefix; newer Xen prefixes it `(d0)`
 * while another domain has the console) and every other domain's through guest_printk with a
 * `(dN)` prefix (`(XEN) (dN)` on older Xen, whose printk prefixed every line with `(XEN)`; the
 * `(dNvM)` form names the vCPU) — xen/drivers/char/console.c. The rule pinned here: one
 * domain's kernel lines are imported, never two domains' mixed; the default is the first
 * domain whose kernel lines appear; `--domain N` chooses; the report names the imported and
 * the skipped domains; the hypervisor's lines, which describe dom0 and the machine, do not make
 * a domU's trace a dom0's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { importCommand } from "../src/cli/import.ts";
import { memoryIo } from "../src/cli/io.ts";
import { reportError } from "../src/cli/report_error.ts";
import type { TraceEvent, TraceHeader } from "../src/trace/event.ts";
import { TraceReader } from "../src/trace/read.ts";

const FIXTURES = new URL("./fixtures/dmesg/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, FIXTURES));

/** The domU log's messages without their `dmesg -T` dates (a console relays bare lines). */
const DOMU = read("domU-6.1-dmesg-T.log").split("\n").filter((l) => l !== "")
  .map((l) => l.replace(/^\[[^\]]*\] /, ""));
/** A dom0 boot on a Xen serial console: (XEN) lines, then dom0's unprefixed kernel lines. */
const DOM0 = read("dom0-6.8-xen-timestamps.log").split("\n").filter((l) => l !== "");
const XEN_ONLY = DOM0.filter((l) => l.startsWith("(XEN)"));

async function importLog(text: string, ...args: string[]) {
  const io = memoryIo(text);
  let code: number;
  try {
    code = await importCommand.run(["dmesg", "-", ...args], io);
  } catch (e) {
    code = reportError(e, io);
  }
  if (code !== 0) return { code, err: io.err(), header: undefined, events: [] as TraceEvent[] };
  const r = TraceReader.fromText("t.jsonl", io.out());
  const header: TraceHeader = await r.header();
  const events: TraceEvent[] = [];
  for await (const b of r.batches()) events.push(...b);
  return { code, err: io.err(), header, events };
}

/** Events without where they were in the log, to compare imports of the same kernel lines. */
const payload = (events: TraceEvent[]) =>
  events.map(({ line: _l, seq: _s, ...rest }) => JSON.stringify(rest));

const alone = await importLog(DOMU.join("\n") + "\n");

/** Each console form of domain 1's lines. */
const FORMS: [string, (l: string) => string][] = [
  ["(d1)", (l) => `(d1) ${l}`],
  ["(XEN) (d1)", (l) => `(XEN) (d1) ${l}`],
  ["(d1v0)", (l) => `(d1v0) ${l}`],
  ["(XEN) [time] (d1)", (l) => `(XEN) [2024-03-18 10:11:12.345] (d1) ${l}`],
  // xen/arch/arm/vpl011.c vpl011_write_data_xen: printk("DOM%u: %s", ...).
  ["(XEN) DOM1:", (l) => `(XEN) DOM1: ${l}`],
  ["(XEN) [time] DOM1:", (l) => `(XEN) [2024-03-18 10:11:12.345] DOM1: ${l}`],
];

for (const [form, wrap] of FORMS) {
  Deno.test(`import dmesg: ${form} lines after the hypervisor's are domain 1's kernel, not dom0's`, async () => {
    const log = [...XEN_ONLY, ...DOMU.map(wrap)].join("\n") + "\n";
    const r = await importLog(log);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.header!.guest.type, "pv");
    assert.equal(r.header!.guest.domain, "domU", "(XEN) lines describe dom0, not domain 1");
    assert.deepEqual(payload(r.events), payload(alone.events), "the same trace as the bare log");
    assert.equal((r.header!.raw.source as Record<string, unknown>).domain, 1);
    assert.match(
      JSON.stringify(r.header!.raw.guest_source),
      /\(d1\)/,
      "the header says the (d1) prefix decided the domain",
    );
  });
}

Deno.test("import dmesg: '(d0)' lines are dom0's own, the same as unprefixed ones", async () => {
  const plain = await importLog(DOM0.join("\n") + "\n");
  const d0 = await importLog(
    DOM0.map((l) => l.startsWith("(XEN)") ? l : `(d0) ${l}`).join("\n") + "\n",
  );
  assert.equal(d0.code, 0, d0.err);
  assert.equal(d0.header!.guest.domain, plain.header!.guest.domain);
  assert.deepEqual(payload(d0.events), payload(plain.events));
});

/** dom0's boot, then a domU started later, its lines relayed as (d1), interleaved with dom0's. */
function dom0ThenGuest(): string {
  const out = [...DOM0];
  DOMU.forEach((l, i) => out.splice(Math.min(out.length, 60 + 2 * i), 0, `(d1) ${l}`));
  return out.join("\n") + "\n";
}

Deno.test("import dmesg: dom0 and a (d1) guest interleaved import dom0 by default, the guest with --domain 1, never mixed", async () => {
  const plain = await importLog(DOM0.join("\n") + "\n");
  const log = dom0ThenGuest();
  const first = await importLog(log);
  assert.equal(first.code, 0, first.err);
  assert.deepEqual(payload(first.events), payload(plain.events), "dom0's trace, no domU event");
  assert.match(first.err, /domain 0 .* were imported/);
  assert.match(
    first.err,
    /skipped, never mixed into the trace: domain 1 \('\(d1\)' lines\): 54 line/,
  );

  const guest = await importLog(log, "--domain", "1");
  assert.equal(guest.code, 0, guest.err);
  assert.equal(guest.header!.guest.domain, "domU");
  assert.deepEqual(payload(guest.events), payload(alone.events), "the domU's trace, no dom0 event");
  assert.match(guest.err, /domain 1 .* were imported .*given with --domain/);
  assert.equal(guest.header!.guest.nrPages, alone.header!.guest.nrPages, "not dom0's Dom0 alloc.");
});

// A line Xen prints on behalf of domain 1 ("(XEN) DOM1: ...", its vpl011 console) is domain 1's
// kernel, not the hypervisor's: it is neither dom0 evidence (the "(XEN) console is dom0's" rule)
// nor read into dom0's trace, and a domU's own lines relayed that way ("ACPI in unprivileged
// domain disabled") do not make dom0 a domU.
Deno.test("import dmesg: '(XEN) DOM1:' relayed lines are domain 1's, never dom0 evidence nor dom0's trace", async () => {
  const plain = await importLog(DOM0.join("\n") + "\n");
  const out = [...DOM0];
  DOMU.forEach((l, i) => out.splice(Math.min(out.length, 60 + 2 * i), 0, `(XEN) DOM1: ${l}`));
  const log = out.join("\n") + "\n";
  const r = await importLog(log);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(payload(r.events), payload(plain.events), "dom0's trace, no domU event");
  assert.equal(r.header!.guest.domain, plain.header!.guest.domain);
  assert.deepEqual(r.header!.raw.guest_source, plain.header!.raw.guest_source);
  assert.match(r.err, /skipped, never mixed into the trace: domain 1 /);
  // The relayed lines alone, after the hypervisor's: domain 1, a domU, from its own lines.
  const xen = await importLog([...XEN_ONLY, ...DOMU.map((l) => `(XEN) DOM1: ${l}`)].join("\n"));
  assert.equal(xen.code, 0, xen.err);
  assert.equal(xen.header!.guest.domain, "domU");
  assert.doesNotMatch(JSON.stringify(xen.header!.raw.guest_source), /DOM1: .*\(dom0/);
});

Deno.test("import dmesg: two guests' consoles interleaved: the first is imported alone", async () => {
  const other = DOMU.map((l) =>
    l.replace("mem=1536M", "mem=1024M").replace("5fffffff", "3fffffff")
  );
  const lines: string[] = [...XEN_ONLY];
  DOMU.forEach((l, i) => lines.push(`(d2) ${l}`, `(d7) ${other[i]}`));
  const r = await importLog(lines.join("\n") + "\n");
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(payload(r.events), payload(alone.events));
  assert.match(r.err, /domain 2 .* were imported/);
  assert.match(r.err, /skipped.*domain 7/);
});

Deno.test("import dmesg --domain N names the domains the log holds when N is not one of them", async () => {
  const r = await importLog(dom0ThenGuest(), "--domain", "5");
  assert.equal(r.code, 65);
  assert.match(r.err, /no kernel line of domain 5 \(it holds domain 0 .*, domain 1 .*\)/);
  const bad = await importLog(dom0ThenGuest(), "--domain", "x");
  assert.equal(bad.code, 64);
  assert.match(bad.err, /--domain expects a Xen domain id/);
});

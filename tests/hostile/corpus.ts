/**
 * The hostile corpus: inputs a stranger might attach to a bug report, generated at test time
 * (nothing big on disk; big cases are written by streaming). Each case says what every
 * trace-reading command must do with it: its exit code, and for a data error the file, line
 * and field the message names. Classes: gzip, line length, nesting, encoding, numbers, header
 * policy, control characters, frame ranges, structure, extreme valid traces, file names.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

/** How to produce a case's input file. */
export type CaseInput =
  | { text: string }
  | { bytes: Uint8Array }
  /** Written in pieces by a generator, so a 100 MB input never exists in memory. */
  | { stream: () => Iterable<Uint8Array> }
  /** A directory where the trace should be. */
  | { directory: true };

/** One hostile input and what must happen to it. */
export interface HostileCase {
  /** Unique, stable name (also the base of the file name, unless `fileName` is given). */
  name: string;
  /** Class, for sampling and reports. */
  cls: string;
  /** The input. */
  input: CaseInput;
  /** File name to use (e.g. with control characters); default `${name}.jsonl`. */
  fileName?: string;
  /** Exit code every trace command must give (validate: `validateExit`, default the same). */
  exit: number;
  /** `validate`'s exit code when it differs (a cut-off trace is usable: 0). */
  validateExit?: number;
  /** Exit codes of the commands whose result depends on the trace's meaning (valid traces). */
  anyOf?: readonly number[];
  /**
   * `check`'s exit code on a valid trace, exact: 4 (cannot judge) when nothing was judged on a
   * P2M the boot pass never built (every valid trace here has an E820 map but no
   * memory_setup: docs/verdicts.md), 1 when a detector that does not rest on the pass found
   * something.
   */
  checkExit?: number;
  /** For exit 65: the line the message names. */
  line?: number;
  /** For exit 65: the compressed byte offset the message names instead of a line. */
  byte?: number;
  /** For exit 65: the field the message names (`field "x"`), if any. */
  field?: string;
  /** A part of the message (regular expression source). */
  message?: string;
  /** `validate`'s problem name, when the trace has an error. */
  problem?: string;
  /** Big: streamed, slower; sampled in CI. */
  heavy?: boolean;
  /** The commands to run instead of {@link TRACE_COMMANDS} (same `T` and `O` placeholders). */
  commands?: readonly (readonly string[])[];
  /** Prepares the run's directory after the input is written (links, other files). */
  setup?: (dir: string, file: string) => Promise<void>;
  /** Deno's `--allow-write` names only this file of the directory (default: the directory). */
  writeOnly?: string;
}

const enc = new TextEncoder();

/** A valid header line (PV dom0 with nr_pages) plus extra fields. */
export function header(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    format: "p2mtrace",
    version: 1,
    producer: "hostile corpus",
    guest: { type: "pv", domain: "dom0", nr_pages: "0x100000" },
    description: "hostile",
    ...extra,
  });
}

const E820 = [
  '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
  '{"seq":2,"kind":"e820","start":"0x100000","end":"0xbfffffff","type":"ram"}',
  '{"seq":3,"kind":"e820","start":"0x100000000","end":"0x43fffffff","type":"ram"}',
];

/** A complete trace: header, the E820 events, `events` (seq from 4), the end record. */
export function trace(events: readonly string[], head = header()): string {
  const lines = [head, ...E820, ...events];
  return lines.join("\n") + `\n{"kind":"end","events":${E820.length + events.length}}\n`;
}

function nested(depth: number, leaf = "1"): string {
  return "[".repeat(depth - 1) + leaf + "]".repeat(depth - 1);
}

function nestedObject(depth: number): string {
  return '{"a":'.repeat(depth - 1) + "1" + "}".repeat(depth - 1);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * A valid trace whose boot pass never runs (an E820 map, no memory_setup): the commands whose
 * result depends on its meaning exit 0 or 1, `check` exits 4, cannot judge (docs/verdicts.md).
 */
const NEVER_BUILT = { exit: 0, anyOf: [0, 1], checkExit: 4 } as const;

/** Every case, in a fixed order. */
export function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (c: HostileCase) => cases.push(c);
  const valid = trace(['{"seq":4,"kind":"mark","text":"ok"}']);

  // --- gzip ---------------------------------------------------------------------------------
  const half = valid.indexOf("\n", valid.length / 2) + 1;
  add({
    name: "gzip-multi-member",
    cls: "gzip",
    input: {
      bytes: concat(gzipSync(valid.slice(0, half)), gzipSync(valid.slice(half))),
    },
    ...NEVER_BUILT,
  });
  for (const [i, junk] of ["garbage!", "\x1f", "\x1f\x8b\x08junk", "PK\x03\x04"].entries()) {
    add({
      name: `gzip-trailing-data-${i}`,
      cls: "gzip",
      input: { bytes: concat(gzipSync(valid), enc.encode(junk)) },
      exit: 65,
      // One byte is a truncated member; more are a bad header: data after the stream.
      ...(junk.length === 1
        ? { message: "truncated gzip" }
        : { message: "trailing data after the gzip stream", byte: gzipSync(valid).length }),
      problem: "bad-gzip",
    });
  }
  for (const cut of [10, 30, 60]) {
    const gz = gzipSync(valid);
    add({
      name: `gzip-truncated-at-${cut}`,
      cls: "gzip",
      input: { bytes: gz.subarray(0, cut) },
      exit: 65,
      message: "gzip",
      problem: "bad-gzip",
    });
  }
  for (const flip of [12, 20, 40]) {
    const gz = new Uint8Array(gzipSync(valid));
    gz[flip] ^= 0xff;
    add({
      name: `gzip-corrupt-byte-${flip}`,
      cls: "gzip",
      input: { bytes: gz },
      // A flipped byte in the deflate data can still inflate to some text: 65 either way.
      exit: 65,
    });
  }
  add({
    name: "gzip-bomb-newlines",
    cls: "gzip",
    heavy: true,
    input: {
      // 200 members of 1 MiB of newlines each: 200 MiB from about 200 KiB.
      bytes: (() => {
        const member = gzipSync(new Uint8Array(1 << 20).fill(10), { level: 9 });
        return concat(...Array.from({ length: 200 }, () => member));
      })(),
    },
    exit: 65,
    message: "gzip bomb",
    problem: "bad-gzip",
  });

  // --- line length --------------------------------------------------------------------------
  add({
    name: "line-100mb",
    cls: "line-length",
    heavy: true,
    input: {
      stream: function* () {
        yield enc.encode(header() + "\n" + '{"seq":1,"kind":"mark","text":"');
        const block = new Uint8Array(1 << 20).fill(0x61);
        for (let i = 0; i < 100; i++) yield block;
        yield enc.encode('"}\n');
      },
    },
    exit: 65,
    line: 2,
    message: "a line of at most",
    problem: "line-too-long",
  });
  add({
    name: "no-newline-80mb",
    cls: "line-length",
    heavy: true,
    input: {
      stream: function* () {
        const block = new Uint8Array(1 << 20).fill(0x20);
        for (let i = 0; i < 80; i++) yield block;
      },
    },
    exit: 65,
    line: 1,
    message: "a line of at most",
    problem: "line-too-long",
  });

  // --- nesting ------------------------------------------------------------------------------
  for (const depth of [65, 66, 100, 1000, 5000, 100_000]) {
    add({
      name: `nesting-array-event-${depth}`,
      cls: "nesting",
      input: { text: trace([`{"seq":4,"kind":"mark","text":"x","junk":${nested(depth)}}`]) },
      exit: 65,
      line: 5,
      field: "junk",
      problem: "bad-field:junk",
    });
    add({
      name: `nesting-object-header-${depth}`,
      cls: "nesting",
      input: { text: trace([], header().slice(0, -1) + `,"junk":${nestedObject(depth)}}`) },
      exit: 65,
      line: 1,
      field: "junk",
    });
    add({
      name: `nesting-in-resources-${depth}`,
      cls: "nesting",
      input: {
        text: trace([
          `{"seq":4,"kind":"xen_remove_device","device":"0000:03:00.0","x":${nestedObject(depth)}}`,
        ]),
      },
      exit: 65,
      line: 5,
      field: "x",
    });
  }
  for (const depth of [2, 10, 64]) {
    add({
      name: `nesting-allowed-${depth}`,
      cls: "nesting",
      input: { text: trace([`{"seq":4,"kind":"mark","text":"x","junk":${nested(depth)}}`]) },
      ...NEVER_BUILT,
    });
  }

  // --- object keys ------------------------------------------------------------------------
  // JSON.parse keeps a repeated key's last value, and builds an object of millions of members
  // (a 50 MB line of 4M keys took 825 MB and 28 s): both are refused before replay.
  const members = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":0`).join(",");
  add({
    name: "keys-repeated-kind",
    cls: "keys",
    input: { text: trace(['{"seq":4,"kind":"lookup","pfn":"0x10","kind":"mark","text":"x"}']) },
    exit: 65,
    line: 5,
    field: "kind",
    problem: "repeated-key",
  });
  add({
    name: "keys-repeated-header",
    cls: "keys",
    input: { text: trace([], header().slice(0, -1) + ',"producer":"forged"}') },
    exit: 65,
    line: 1,
    field: "producer",
  });
  add({
    name: "keys-members-1025",
    cls: "keys",
    input: { text: trace([`{"seq":4,"kind":"mark","text":"x",${members(1022)}}`]) },
    exit: 65,
    line: 5,
    message: "at most 1024 members",
    problem: "too-many-members",
  });
  add({
    name: "keys-members-in-resources",
    cls: "keys",
    input: {
      text: trace([
        `{"seq":4,"kind":"xen_remove_device","device":"0000:03:00.0","x":{${members(1025)}}}`,
      ]),
    },
    exit: 65,
    line: 5,
    field: "x",
  });
  add({
    name: "keys-members-1024-allowed",
    cls: "keys",
    input: { text: trace([`{"seq":4,"kind":"mark","text":"x",${members(1021)}}`]) },
    ...NEVER_BUILT,
  });
  add({
    name: "keys-members-4m",
    cls: "keys",
    heavy: true,
    input: {
      stream: function* () {
        yield enc.encode(header() + "\n" + '{"seq":1,"kind":"mark","text":"x"');
        for (let b = 0; b < 400; b++) {
          yield enc.encode(Array.from({ length: 10_000 }, (_, i) => `,"k${b}_${i}":0`).join(""));
        }
        yield enc.encode("}\n");
      },
    },
    exit: 65,
    line: 2,
    message: "at most 1024 members",
    problem: "too-many-members",
  });

  // --- encoding -----------------------------------------------------------------------------
  const badUtf8: [string, number[]][] = [
    ["lone-continuation", [0x80]],
    ["overlong-slash", [0xc0, 0xaf]],
    ["surrogate", [0xed, 0xa0, 0x80]],
    ["truncated-3byte", [0xe2, 0x82]],
    ["invalid-ff", [0xff]],
    ["too-large-f5", [0xf5, 0x80, 0x80, 0x80]],
    ["latin1-e9", [0xe9]],
    ["nul-then-ff", [0x00, 0xff]],
  ];
  for (const [name, bytes] of badUtf8) {
    const [a, b] = ['{"seq":4,"kind":"mark","text":"', '"}'];
    add({
      name: `utf8-${name}-in-mark`,
      cls: "encoding",
      input: {
        bytes: concat(
          enc.encode([header(), ...E820, a].join("\n")),
          new Uint8Array(bytes),
          enc.encode(b + '\n{"kind":"end","events":4}\n'),
        ),
      },
      exit: 65,
      line: 5,
      message: "UTF-8",
      problem: "bad-encoding",
    });
    add({
      name: `utf8-${name}-in-header`,
      cls: "encoding",
      input: {
        bytes: concat(
          enc.encode(header().slice(0, -1) + ',"x":"'),
          new Uint8Array(bytes),
          enc.encode('"}\n' + E820.join("\n") + '\n{"kind":"end","events":3}\n'),
        ),
      },
      exit: 65,
      line: 1,
      message: "UTF-8",
      problem: "bad-encoding",
    });
  }
  add({
    name: "utf8-truncated-at-eof",
    cls: "encoding",
    input: { bytes: concat(enc.encode(valid.slice(0, -1)), new Uint8Array([0xe2, 0x82])) },
    exit: 65,
    message: "UTF-8",
    problem: "bad-encoding",
  });
  add({
    name: "utf16le-bom",
    cls: "encoding",
    input: {
      bytes: new Uint8Array([0xff, 0xfe, ...[...valid].flatMap((c) => [c.charCodeAt(0), 0])]),
    },
    exit: 65,
    line: 1,
    problem: "bad-encoding",
  });

  // --- numbers ------------------------------------------------------------------------------
  for (
    const [field, event] of [
      ["seq", '{"seq":1e309,"kind":"mark","text":"x"}'],
      ["time", '{"seq":4,"time":1e309,"kind":"mark","text":"x"}'],
      ["pfn", '{"seq":4,"kind":"set_identity","pfn":1e309,"end_pfn":"0x10"}'],
      ["end_pfn", '{"seq":4,"kind":"set_identity","pfn":"0x0","end_pfn":-1e309}'],
      ["mfn", '{"seq":4,"kind":"set_p2m","pfn":"0x0","end_pfn":"0x1","value":"mfn","mfn":1e400}'],
    ] as const
  ) {
    add({
      name: `number-too-large-${field}`,
      cls: "numbers",
      input: { text: trace([event]) },
      exit: 65,
      line: 5,
      field,
      message: "a number too large",
      problem: `bad-field:${field}`,
    });
  }
  for (
    const [name, value] of [["fraction", "0.5"], ["negative", "-1"], [
      "huge-hex",
      '"0x1' + "0".repeat(40) + '"',
    ], ["string-nan", '"NaN"']]
  ) {
    add({
      name: `number-pfn-${name}`,
      cls: "numbers",
      input: { text: trace([`{"seq":4,"kind":"set_identity","pfn":${value},"end_pfn":"0x10"}`]) },
      exit: 65,
      line: 5,
      field: "pfn",
      problem: "bad-field:pfn",
    });
  }

  // --- header policy ------------------------------------------------------------------------
  for (
    const policy of [
      "linux-9.99",
      "linux-3.12:bogus=1",
      "linux-3.12:primitive=nope",
      ":",
      "",
      "constructor",
      "__proto__",
      "toString",
      "linux-3.12\u001b[2J",
      "x".repeat(300),
    ]
  ) {
    add({
      name: `header-policy-${policy.length > 30 ? "long" : encodeURIComponent(policy)}`,
      cls: "policy",
      input: { text: trace([], header({ policy })) },
      exit: 65,
      line: 1,
      field: "policy",
      problem: "bad-field:policy",
    });
  }
  for (const policy of [1, null, [], {}, true]) {
    add({
      name: `header-policy-type-${JSON.stringify(policy)}`,
      cls: "policy",
      input: { text: trace([], header({ policy })) },
      exit: 65,
      line: 1,
      field: "policy",
      problem: "bad-field:policy",
    });
  }

  // --- control characters (valid traces: output must not carry them) ------------------------
  const controls: [string, string][] = [
    ["esc-clear", "\u001b[2J\u001b[H"],
    ["osc-title", "\u001b]0;pwned\u0007"],
    ["cr-overwrite", "\rstep 9 (line 9) lookup-zero: FAKE"],
    ["lf-fake-line", "\nstep 9 (line 9) lookup-zero: FAKE"],
    ["bel", "\u0007\u0007"],
    ["c1-csi", "\u009b2J"],
    ["c1-nel", "a\u0085b"],
    ["del", "\u007f"],
    ["bidi-rlo", "\u202eevil"],
    ["line-separator", "a\u2028b"],
    ["nul", "a\u0000b"],
    ["backspace", "abc\b\b\bxyz"],
    ["cr-run", "\r".repeat(4000) + "step 9 (line 9) lookup-zero: FAKE"],
    ["bidi-rlo-pdf", "\u202dabc\u202c\u202edef\u202c"],
    ["bidi-isolates", "\u2066\u2067\u2068x\u2069"],
    ["bidi-marks", "a\u200e\u200f\u061cb"],
    ["zero-width", "a\u200bb\u200cc\u200dd\u2060e\ufeff"],
    ["html-markup", "<script>alert(1)</script><img src=x onerror=alert(1)>\"'&amp;"],
  ];
  for (const [name, text] of controls) {
    add({
      name: `control-mark-${name}`,
      cls: "control",
      input: { text: trace([JSON.stringify({ seq: 4, kind: "mark", text })]) },
      ...NEVER_BUILT,
    });
    add({
      name: `control-lookup-by-${name}`,
      cls: "control",
      input: {
        text: trace([
          JSON.stringify({ seq: 4, kind: "lookup", pfn: "0x10", by: text }),
        ]),
      },
      ...NEVER_BUILT,
    });
  }
  for (const [name, text] of controls.slice(0, 6)) {
    for (const field of ["description", "producer"]) {
      add({
        name: `control-header-${field}-${name}`,
        cls: "control",
        input: { text: trace(['{"seq":4,"kind":"mark","text":"x"}'], header({ [field]: text })) },
        ...NEVER_BUILT,
      });
    }
    add({
      name: `control-header-kernel-${name}`,
      cls: "control",
      input: {
        text: trace(
          ['{"seq":4,"kind":"mark","text":"x"}'],
          header({
            guest: { type: "pv", domain: "dom0", nr_pages: "0x100000", kernel: text },
          }),
        ),
      },
      ...NEVER_BUILT,
    });
  }
  // File names: markup, quotes, bidi and zero-width characters, on a valid trace (every
  // command names it in its output, map in its title).
  for (
    const [name, fileName] of [
      ["markup", "<img src=x onerror=alert(1)><script>alert(1)\"q'.jsonl"],
      ["bidi", "evil\u202egpj.jsonl"],
      ["zero-width", "a\u200bb\u200d\ufeff.jsonl"],
      ["cr-run", "x" + "\r".repeat(200) + "FAKE.jsonl"],
    ]
  ) {
    add({
      name: `control-file-name-${name}`,
      cls: "control",
      fileName,
      input: { text: valid },
      ...NEVER_BUILT,
    });
  }
  add({
    name: "control-file-name",
    cls: "control",
    fileName: "evil\u001b]0;title\u0007\nstep 1: FAKE.jsonl",
    input: { text: trace([], "not json") },
    exit: 65,
    line: 1,
    problem: "not-json",
  });

  // --- frame ranges -------------------------------------------------------------------------
  const ranges: [string, string, string][] = [
    [
      "mfn-range-reaches-2^40",
      '"pfn":"0x0","end_pfn":"0x2","value":"mfn","mfn":"0xffffffffff"',
      "mfn",
    ],
    [
      "mfn-range-far-past",
      '"pfn":"0x0","end_pfn":"0x10000000000","value":"mfn","mfn":"0x1"',
      "mfn",
    ],
    ["mfn-2^40", '"pfn":"0x0","end_pfn":"0x1","value":"mfn","mfn":"0x10000000000"', "mfn"],
    ["pfn-2^40", '"pfn":"0x10000000000","end_pfn":"0x10000000001","value":"invalid"', "pfn"],
    ["end-past-2^40", '"pfn":"0x0","end_pfn":"0x10000000001","value":"invalid"', "end_pfn"],
    ["pages-past-2^40", '"pfn":"0x1","pages":"0x10000000000","value":"invalid"', "pages"],
  ];
  for (const [name, body, field] of ranges) {
    add({
      name: `range-${name}`,
      cls: "frames",
      input: { text: trace([`{"seq":4,"kind":"set_p2m",${body}}`]) },
      exit: 65,
      line: 5,
      field,
      problem: `bad-field:${field}`,
    });
  }

  // --- structure ----------------------------------------------------------------------------
  const structural: [string, string, number, number, string?][] = [
    ["empty-file", "", 65, 1],
    ["blank-lines-only", "\n\n  \n\t\n", 65, 1],
    ["header-array", "[]\n", 65, 1],
    ["header-null", "null\n", 65, 1],
    ["header-string", '"p2mtrace"\n', 65, 1],
    ["header-number", "1e309\n", 65, 1],
    ["header-wrong-format", '{"format":"other","version":1}\n', 65, 1, "format"],
    ["header-version-2", header({ version: 2 }) + "\n", 65, 1, "version"],
    ["header-guest-array", header({ guest: [] }) + "\n", 65, 1, "guest"],
    ["header-proto-key", '{"__proto__":{"format":"p2mtrace"},"version":1}\n', 65, 1, "format"],
    ["event-kind-constructor", trace(['{"seq":4,"kind":"constructor"}']), 65, 5, "kind"],
    ["event-kind-proto", trace(['{"seq":4,"kind":"__proto__"}']), 65, 5, "kind"],
    ["event-kind-toString", trace(['{"seq":4,"kind":"toString"}']), 65, 5, "kind"],
    [
      "event-proto-key",
      trace(['{"seq":4,"kind":"mark","text":"x","__proto__":{"kind":"e820"}}']),
      0,
      0,
    ],
    ["seq-backwards", trace(['{"seq":2,"kind":"mark","text":"x"}']), 65, 5, "seq"],
    ["seq-string", trace(['{"seq":"4","kind":"mark","text":"x"}']), 65, 5, "seq"],
    ["after-end", valid + '{"seq":9,"kind":"mark","text":"late"}\n', 65, 7],
    ["end-count-wrong", valid.replace('"events":4', '"events":7'), 65, 6, "events"],
    ["not-json-event", trace(["{not json}"]), 65, 5],
    ["truncated-json-mid", trace(['{"seq":4,"kind":"mark"']), 65, 5],
    [
      "pfns-too-many",
      trace([
        JSON.stringify({
          seq: 4,
          kind: "balloon_append",
          pfns: Array.from({ length: 65537 }, (_, i) => "0x" + (0x200000 + i).toString(16)),
        }),
      ]),
      65,
      5,
      "pfns",
    ],
    [
      "resources-too-many",
      trace([
        JSON.stringify({
          seq: 4,
          kind: "pci_host_bridge",
          bus: "0000:00",
          resources: Array.from(
            { length: 65 },
            () => ({ start: "0x0", end: "0xfff", flags: "0x200" }),
          ),
        }),
      ]),
      65,
      5,
      "resources",
    ],
    [
      "text-too-long",
      trace([JSON.stringify({ seq: 4, kind: "mark", text: "x".repeat(65537) })]),
      65,
      5,
      "text",
    ],
    [
      "device-garbled",
      trace(['{"seq":4,"kind":"xen_remove_device","device":"../../etc"}']),
      65,
      5,
      "device",
    ],
    [
      "duplicate-pfn",
      trace(['{"seq":4,"kind":"decrease_reservation","pfns":["0x10","0x10"]}']),
      65,
      5,
      "pfns[1]",
    ],
    [
      "e820-overlap",
      trace(['{"seq":4,"kind":"e820","start":"0x0","end":"0xfff","type":"ram"}']),
      65,
      5,
    ],
  ];
  for (const [name, text, exit, line, field] of structural) {
    add({
      name: `structure-${name}`,
      cls: "structure",
      input: { text },
      exit,
      ...(exit === 0 ? NEVER_BUILT : { line }),
      ...(field ? { field } : {}),
    });
  }
  add({
    name: "cut-off-last-line",
    cls: "structure",
    input: { text: trace([]).replace(/\{"kind":"end".*\n$/, '{"seq":4,"kind":"ma') },
    exit: 3,
    validateExit: 0,
  });

  // --- extreme but valid ----------------------------------------------------------------------
  add({
    name: "extreme-set-p2m-2^40-pages",
    cls: "extreme",
    input: {
      text: trace([
        '{"seq":4,"kind":"set_p2m","pfn":"0x0","end_pfn":"0x10000000000","value":"mfn","mfn":"0x0"}',
        '{"seq":5,"kind":"lookup","pfn":"0xffffffffff"}',
      ]),
    },
    ...NEVER_BUILT,
    // bug-out-of-range does not rest on the boot pass: the write past the P2M is judged (1).
    checkExit: 1,
  });
  add({
    name: "extreme-set-identity-2^40-pages",
    cls: "extreme",
    input: {
      text: trace([
        '{"seq":4,"kind":"set_identity","pfn":"0x0","end_pfn":"0x10000000000"}',
      ]),
    },
    ...NEVER_BUILT,
  });
  add({
    name: "extreme-p2m-dump-900k-lines",
    cls: "extreme",
    heavy: true,
    input: {
      stream: function* () {
        yield enc.encode(header() + "\n" + E820.join("\n") + "\n");
        yield enc.encode('{"seq":4,"kind":"p2m_dump","format":"list","lines":[');
        const n = 900_000;
        let part: string[] = [];
        for (let i = 0; i < n; i++) {
          const s = (i * 2).toString(16);
          const e = (i * 2 + 2).toString(16);
          part.push(JSON.stringify(` [0x${s}->0x${e}] ${i % 2 === 0 ? "pfn" : "identity"}`));
          if (part.length === 10_000) {
            yield enc.encode(part.join(",") + (i === n - 1 ? "" : ","));
            part = [];
          }
        }
        if (part.length > 0) yield enc.encode(part.join(","));
        yield enc.encode(']}\n{"kind":"end","events":4}\n');
      },
    },
    ...NEVER_BUILT,
  });
  add({
    name: "extreme-many-blank-lines",
    cls: "extreme",
    heavy: true,
    input: {
      stream: function* () {
        yield enc.encode(header() + "\n");
        const block = new Uint8Array(1 << 20).fill(10);
        for (let i = 0; i < 50; i++) yield block;
        yield enc.encode(E820.join("\n") + '\n{"kind":"end","events":3}\n');
      },
    },
    ...NEVER_BUILT,
  });
  // --- boundaries: addresses at the 52-bit limit, many ranges, nearly empty traces ------------
  const atLimit: [string, string, number, string?][] = [
    [
      "e820-end-2^52-1",
      '"kind":"e820","start":"0x440000000","end":"0xfffffffffffff","type":"reserved"',
      0,
    ],
    [
      "e820-end-2^52",
      '"kind":"e820","start":"0x440000000","end":"0x10000000000000","type":"reserved"',
      65,
      "end",
    ],
    ["lookup-addr-2^52-1", '"kind":"lookup","addr":"0xfffffffffffff"', 0],
    ["lookup-addr-2^52", '"kind":"lookup","addr":"0x10000000000000"', 65, "addr"],
    [
      "bar-end-2^52-1",
      '"kind":"xen_add_device","device":"0000:03:00.0","resources":[{"index":0,' +
      '"start":"0xffffff0000000","end":"0xfffffffffffff","flags":"0x200"}]',
      0,
    ],
    [
      "bar-end-2^52",
      '"kind":"xen_add_device","device":"0000:03:00.0","resources":[{"index":0,' +
      '"start":"0xffffff0000000","end":"0x10000000000000","flags":"0x200"}]',
      65,
      "resources[0].end",
    ],
  ];
  for (const [name, body, exit, field] of atLimit) {
    add({
      name: `address-${name}`,
      cls: "addresses",
      input: { text: trace([`{"seq":4,${body}}`]) },
      exit,
      ...(exit === 0 ? { anyOf: [0, 1, 4] } : {
        line: 5,
        field,
        problem: `bad-field:${field?.replace(/\[\d+\]/g, "[]")}`,
      }),
    });
  }
  add({
    name: "identity-5000-overlapping",
    cls: "extreme",
    input: {
      text: trace(Array.from({ length: 5000 }, (_, i) =>
        JSON.stringify({
          seq: i + 4,
          kind: "set_identity",
          pfn: "0x" + (i * 7).toString(16),
          end_pfn: "0x" + (i * 7 + 100_000).toString(16),
        }))),
    },
    exit: 0,
    anyOf: [0, 1, 4],
  });
  const marksOnly = Array.from(
    { length: 2000 },
    (_, i) => `{"seq":${i + 1},"kind":"mark","text":"m${i}"}`,
  );
  for (
    const [name, text] of [
      ["header-only", header() + "\n"],
      ["header-and-end", header() + '\n{"kind":"end","events":0}\n'],
      ["marks-only", [header(), ...marksOnly, '{"kind":"end","events":2000}'].join("\n") + "\n"],
      ["cr-runs-before-newline", valid.replace(/\n/g, "\r\r\r\n")],
      ["cr-run-lines", valid.replace(/\n/g, "\n" + "\r".repeat(100_000) + "\n")],
    ]
  ) {
    add({ name: `sparse-${name}`, cls: "sparse", input: { text }, exit: 0, anyOf: [0, 1, 4] });
  }

  // --- paths: the trace a directory, `-o` naming the input, symlinks, stdin twice --------------
  add({
    name: "path-directory-as-trace",
    cls: "paths",
    input: { directory: true },
    exit: 66,
    commands: TRACE_COMMANDS,
  });
  const writers = (out: string, force: boolean) =>
    [["minimize", "T"], ["map", "T"]].map((c) => [...c, "-o", out, ...(force ? ["--force"] : [])]);
  const refuse = (name: string, out: string, setup?: HostileCase["setup"], writeOnly?: string) =>
    add({
      name: `path-output-${name}`,
      cls: "paths",
      input: { text: valid },
      exit: 74,
      commands: [...writers(out, false), ...writers(out, true)],
      ...(setup ? { setup } : {}),
      ...(writeOnly ? { writeOnly } : {}),
    });
  refuse("same-name", "T");
  refuse("dot-slash", "./T");
  refuse("symlink-to-input", "link.jsonl", (dir, file) => Deno.symlink(file, `${dir}/link.jsonl`));
  refuse("symlink-outside", "link.jsonl", async (dir) => {
    await Deno.mkdir(`${dir}/elsewhere`);
    await Deno.writeTextFile(`${dir}/elsewhere/keep.txt`, "not yours\n");
    await Deno.symlink("elsewhere/keep.txt", `${dir}/link.jsonl`);
  });
  refuse("symlink-dangling", "link.jsonl", (dir) => Deno.symlink("nowhere/x", `${dir}/link.jsonl`));
  // A hard link to the input, written in place (Deno may write only that name): truncating it
  // would truncate the input.
  refuse(
    "hard-link-to-input",
    "hard.jsonl",
    (dir, file) => Deno.link(`${dir}/${file}`, `${dir}/hard.jsonl`),
    "hard.jsonl",
  );
  add({
    name: "path-stdin-twice",
    cls: "paths",
    input: { text: valid },
    exit: 64,
    commands: [["summarize", "-", "-"], ["check", "-", "-"], ["check", "T", "-"]],
  });
  return cases;
}

/** The commands that read a trace, as argv after `p2mtrace` (`T` is the trace, `O` an output). */
export const TRACE_COMMANDS: readonly (readonly string[])[] = [
  ["replay", "T"],
  ["check", "T"],
  ["compare", "T"],
  ["snapshot", "T"],
  ["lookup", "T", "0x80000"],
  ["diff", "T", "0", "end"],
  ["bisect", "T", "--detector", "lookup-zero"],
  ["validate", "T"],
  ["minimize", "T", "-o", "O"],
  ["summarize", "T"],
  ["map", "T", "-o", "O"],
  ["map", "T", "--format", "text"],
];

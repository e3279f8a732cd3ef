/**
 * `deno task bench`: measures p2mtrace against the floor of any JavaScript tool (read the file,
 * split it, `JSON.parse` every line) and against `jq`, on generated traces, and prints one
 * table per run.
 *
 * Every measurement is a subprocess timed with `performance.now()` around `Deno.Command`
 * (wall time, startup included); peak memory is the child's maximum resident set size from
 * `/usr/bin/time` when it exists, otherwise `VmHWM` polled from `/proc/<pid>/status`. Each entry
 * runs `--runs` times, entries interleaved so that a busy machine slows them alike; the table
 * gives the median. An entry whose command is missing (`p2mtrace help <cmd>` fails) or whose
 * library API is missing prints a "not available yet" row instead.
 *
 * ```sh
 * deno task bench                   # sizes 1m and 10m, 5 runs each
 * deno task bench --sizes 1m --runs 3 --only floor,replay
 * deno task bench --smoke           # 10k events, 1 run: checks the harness, not the speed
 * ```
 *
 * Files are generated into `bench/out/` (or `--out DIR`) once and reused while the generator
 * version, size and seed match.
 *
 * @module
 */

import { generateTrace, TRACE_GENERATOR_VERSION } from "../src/gen/trace_gen.ts";
import { generateDmesg } from "../src/gen/dmesg_gen.ts";
import { main as cliMain } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const SEED = 1;
/** `minimize` runs on a trace of this many events (the target is stated for it). */
const MINIMIZE_EVENTS = 100_000;
/** `minimize` keeping the meaning runs on the largest size up to this many events. */
const MINIMIZE_MEANING_EVENTS = 1_000_000;
/** Logs for `import dmesg` are capped at this many lines (a boot log is not 10M lines). */
const DMESG_MAX_LINES = 1_000_000;
/** Random access builds an index holding every event line: measured up to this size. */
const RANDOM_ACCESS_MAX = 1_000_000;
/** Boot logs imported for the many-traces entries (a CI farm's night), and lines per log. */
const MANY_TRACES = 1000;
const MANY_LOG_LINES = 600;
/** The one-process-per-trace baseline runs on this many of them (its rate is per trace). */
const MANY_BASELINE = 40;

/** One measured run. */
export interface Sample {
  /** Wall seconds, Deno's startup included for a `deno run`. */
  wall: number;
  /** CPU seconds (user + system), when `/usr/bin/time` exists. */
  cpu: number | undefined;
  /** Peak RSS, MB. */
  peakMb: number | undefined;
  /** Exit code. */
  code: number;
  /** Standard output, when kept. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** A table row. */
export interface Row {
  /** Entry name. */
  name: string;
  /** Events (or log lines) processed. */
  events: number;
  /** Median wall seconds, or undefined when not measured. */
  seconds?: number;
  /** Median wall seconds divided by the floor's on the same file. */
  ratio?: number;
  /** Largest peak RSS of the runs, MB. */
  peakMb?: number;
  /** Median CPU seconds (user + system), when known. */
  cpu?: number;
  /** Why the entry has no figures, or extra figures it measured. */
  note?: string;
}

/**
 * The median of a non-empty list.
 *
 * @example
 * ```ts
 * import { median } from "./main.ts";
 * import assert from "node:assert/strict";
 * assert.equal(median([3, 1, 2]), 2);
 * assert.equal(median([4, 1, 2, 3]), 2.5);
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Parses `--sizes`: comma-separated counts with an optional `k` or `m` suffix.
 *
 * @example
 * ```ts
 * import { parseSizes } from "./main.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseSizes("10k,1m"), [10_000, 1_000_000]);
 * assert.throws(() => parseSizes("big"), /--sizes/);
 * ```
 */
export function parseSizes(text: string): number[] {
  return text.split(",").map((t) => {
    const m = /^(\d+)([km]?)$/i.exec(t.trim());
    if (!m) throw new Error(`--sizes takes counts like 10k,1m,10m; got '${t}'`);
    return Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2]) ? 1e3 : 1e6);
  });
}

/** Column headers of the table, in order. */
export const COLUMNS = [
  "name",
  "events",
  "median s",
  "events/s",
  "x floor",
  "peak MB",
  "cpu s",
  "note",
] as const;

function fmt(n: number | undefined, digits: number): string {
  return n === undefined ? "-" : n.toFixed(digits);
}

function rate(r: Row): string {
  if (r.seconds === undefined || r.seconds === 0) return "-";
  const v = r.events / r.seconds;
  if (v < 1e3) return v.toFixed(1);
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(0)}k`;
}

/**
 * The table as aligned Markdown.
 *
 * @example
 * ```ts
 * import { formatTable } from "./main.ts";
 * import assert from "node:assert/strict";
 * const t = formatTable([{ name: "floor", events: 1000, seconds: 0.5, ratio: 1, peakMb: 40 }]);
 * assert.match(t, /^\| name +\| events +\| median s/);
 * assert.match(t, /\| floor +\| 1000 +\| 0\.500 +\| 2k +\| 1\.00 +\| 40 /);
 * ```
 */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.name,
    String(r.events),
    fmt(r.seconds, 3),
    rate(r),
    fmt(r.ratio, 2),
    fmt(r.peakMb, 0),
    fmt(r.cpu, 2),
    r.note ?? "",
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (xs: readonly string[]) =>
    `| ${xs.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
  return [line(COLUMNS), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") +
    "\n";
}

// ---- running commands -------------------------------------------------------------------

let timeBin: string | undefined | null = null;

async function findTimeBin(): Promise<string | undefined> {
  if (timeBin !== null) return timeBin;
  try {
    const st = await Deno.stat("/usr/bin/time");
    timeBin = st.isFile ? "/usr/bin/time" : undefined;
  } catch {
    timeBin = undefined;
  }
  return timeBin;
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const p = `${dir}/${cmd}`;
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

async function readVmHwm(pid: number): Promise<number | undefined> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `argv` in the repository root with `env` added to the environment (and `NO_COLOR`),
 * timing it and recording its CPU time and peak memory.
 *
 * @example
 * ```ts
 * import { run } from "./main.ts";
 * import assert from "node:assert/strict";
 * const s = await run([Deno.execPath(), "--version"], true);
 * assert.equal(s.code, 0);
 * assert.match(s.stdout, /^deno /);
 * ```
 */
export async function run(
  argv: string[],
  keepStdout: boolean,
  env: Record<string, string> = {},
): Promise<Sample> {
  const time = await findTimeBin();
  const stat = await Deno.makeTempFile({ prefix: "p2mtrace-bench-" });
  try {
    const [cmd, ...args] = time ? [time, "-f", "%M %U %S", "-o", stat, ...argv] : argv;
    const child = new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      stdout: keepStdout ? "piped" : "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    });
    const t0 = performance.now();
    const proc = child.spawn();
    let hwm: number | undefined;
    let polling = !time;
    const poll = (async () => {
      while (polling) {
        hwm = Math.max(hwm ?? 0, (await readVmHwm(proc.pid)) ?? 0) || hwm;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const out = await proc.output();
    const wall = (performance.now() - t0) / 1000;
    polling = false;
    await poll;
    const dec = new TextDecoder();
    let peakMb = hwm, cpu: number | undefined;
    if (time) {
      const m = /(\d+) ([\d.]+) ([\d.]+)\s*$/.exec(await Deno.readTextFile(stat));
      if (m) {
        peakMb = Number(m[1]) / 1024;
        cpu = Number(m[2]) + Number(m[3]);
      }
    }
    return {
      wall,
      cpu,
      peakMb,
      code: out.code,
      stdout: keepStdout ? dec.decode(out.stdout) : "",
      stderr: dec.decode(out.stderr),
    };
  } finally {
    await Deno.remove(stat).catch(() => {});
  }
}

// ---- inputs -------------------------------------------------------------------------------

async function ensureFile(
  path: string,
  key: string,
  lines: () => Iterable<string>,
  log: (s: string) => void,
): Promise<void> {
  const keyFile = `${path}.key`;
  try {
    if ((await Deno.readTextFile(keyFile)) === key) return;
  } catch { /* generate */ }
  log(`generating ${path} (${key})`);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let buf: string[] = [];
  let size = 0;
  const flush = () => {
    const bytes = enc.encode(buf.join("\n") + "\n");
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    buf = [];
    size = 0;
  };
  try {
    for (const l of lines()) {
      buf.push(l);
      size += l.length;
      if (size > 1 << 20) flush();
    }
    if (buf.length > 0) flush();
  } finally {
    f.close();
  }
  await Deno.writeTextFile(keyFile, key);
}

function tracePath(out: string, events: number): string {
  return `${out}/trace-${events}.jsonl`;
}

async function ensureTrace(out: string, events: number, log: (s: string) => void) {
  const path = tracePath(out, events);
  await ensureFile(
    path,
    `trace v${TRACE_GENERATOR_VERSION} events ${events} seed ${SEED}`,
    () => generateTrace({ events, seed: SEED }),
    log,
  );
  return path;
}

async function ensureLog(out: string, lines: number, log: (s: string) => void) {
  const path = `${out}/dmesg-${lines}.log`;
  await ensureFile(
    path,
    `dmesg v${TRACE_GENERATOR_VERSION} lines ${lines} seed ${SEED}`,
    () => generateDmesg({ lines, seed: SEED }),
    log,
  );
  return path;
}

// ---- entries ------------------------------------------------------------------------------

/** What an entry needs to build its command line. */
interface Inputs {
  trace: string;
  log: string;
  logLines: number;
  out: string;
  deno: string;
}

/** A named measurement. */
interface Entry {
  name: string;
  /** The CLI command it needs (`p2mtrace help <cmd>` must succeed). */
  command?: string;
  /** Extra availability test (a missing tool). */
  available?: () => Promise<string | undefined>;
  /** Events it processes for a trace of `n` events. */
  events: (n: number, inp: Inputs) => number;
  /** Largest trace it runs on. */
  maxEvents?: number;
  argv: (inp: Inputs) => string[];
  /** Exit codes that mean success (default 0). */
  ok?: number[];
  /** Keep stdout and turn it into a note (and optionally an availability answer). */
  parse?: (stdout: string) => { unavailable?: string; note?: string };
  /** Compared with the floor of the trace (default) or of the log. */
  floor?: "trace" | "log" | "none" | "own";
}

const CLI = ["run", "--allow-read", "cli.ts"];

/**
 * The CLI commands measured on the trace, in table order: entry name, then `cli.ts COMMAND TRACE
 * ARGS...`; `findings` when exit 1 (a finding, a difference) counts as success too.
 */
const COMMAND_ENTRIES: readonly { name: string; argv: string[]; findings?: boolean }[] = [
  { name: "replay --quiet", argv: ["replay", "--quiet"] },
  { name: "check", argv: ["check"], findings: true },
  // The parse thread, forced either way: the default picks it by size (a second thread from
  // 4 MiB), so --smoke's small trace would not reach the worker without --threads 2.
  { name: "replay --quiet --threads 1", argv: ["replay", "--quiet", "--threads", "1"] },
  { name: "replay --quiet --threads 2", argv: ["replay", "--quiet", "--threads", "2"] },
  { name: "check --threads 1", argv: ["check", "--threads", "1"], findings: true },
  {
    name: "bisect --detector lookup-zero",
    argv: ["bisect", "--detector", "lookup-zero"],
    findings: true,
  },
  { name: "map (html, 250 frames)", argv: ["map"] },
  { name: "snapshot --at end", argv: ["snapshot"] },
  { name: "lookup 0x80000 (history)", argv: ["lookup", "0x80000"] },
  { name: "diff 0 end", argv: ["diff", "0", "end"], findings: true },
  { name: "summarize", argv: ["summarize"], findings: true },
  { name: "validate", argv: ["validate"] },
  { name: "compare (every policy)", argv: ["compare"], findings: true },
];

/** A `bench/` script run on the trace (or the log), e.g. the floor. */
function scriptEntry(name: string, script: string, args: string[], floor?: "none"): Entry {
  return {
    name,
    events: (n) => n,
    argv: (i) => [i.deno, "run", "--allow-read", `${HERE}${script}`, i.trace, ...args],
    floor,
  };
}

const ENTRIES: readonly Entry[] = [
  scriptEntry("floor: read+split+JSON.parse", "floor.ts", [], "none"),
  scriptEntry("stage: read+validate", "stages.ts", ["read"]),
  scriptEntry("stage: +model, no detector", "stages.ts", ["model"]),
  ...COMMAND_ENTRIES.map(({ name, argv: [command, ...args], findings }): Entry => ({
    name,
    command,
    events: (n) => n,
    argv: (i) => [i.deno, ...CLI, command, i.trace, ...args],
    ok: findings ? [0, 1] : undefined,
  })),
  {
    name: "random access: 100 steps",
    events: (n) => n,
    maxEvents: RANDOM_ACCESS_MAX,
    argv: (i) => [
      i.deno,
      "run",
      "--allow-read",
      "--v8-flags=--expose-gc",
      `${HERE}random_access.ts`,
      i.trace,
      "100",
    ],
    parse: (stdout) => {
      const r = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
      if (!r.available) return { unavailable: r.why ?? "no random-access API" };
      return {
        note:
          `index ${r.index_s.toFixed(2)} s, ${r.index_mb.toFixed(0)} MB held (heap + buffers), ` +
          `${r.checkpoints} checkpoints; step median ${r.median_ms.toFixed(1)} ms, ` +
          `max ${r.max_ms.toFixed(1)} ms`,
      };
    },
  },
  {
    name: "index build; cached lookup/diff/snapshot",
    command: "index",
    events: (n) => n,
    maxEvents: RANDOM_ACCESS_MAX,
    argv: (i) => [
      i.deno,
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      `${HERE}cached_index.ts`,
      i.trace,
      "15",
    ],
    parse: (stdout) => {
      const r = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
      if (!r.available) return { unavailable: r.why ?? "no index command" };
      const f = (v: number) => v.toFixed(v < 10 ? 1 : 0);
      return {
        note: `build ${(r.build_ms / 1000).toFixed(2)} s = ${r.build_over_replay.toFixed(2)}x ` +
          `one replay, ${r.index_mb.toFixed(0)} MB on disk; median in-process lookup ` +
          `${f(r.lookup_ms)} ms (max ${f(r.lookup_max_ms)}), diff ${f(r.diff_ms)}, snapshot ` +
          `${f(r.snapshot_ms)}; as subprocesses ${f(r.lookup_subprocess_ms)}, ` +
          `${f(r.diff_subprocess_ms)}, ${f(r.snapshot_subprocess_ms)} ms (startup alone ` +
          `${f(r.startup_ms)} ms, Deno's alone ${f(r.deno_startup_ms)} ms)` +
          (r.lookup_subprocess_cpu_ms === undefined
            ? ""
            : `, CPU (user + system) ${f(r.lookup_subprocess_cpu_ms)}, ${
              f(r.diff_subprocess_cpu_ms)
            }, ${f(r.snapshot_subprocess_cpu_ms)} ms (startup ${f(r.startup_cpu_ms)}, Deno's ${
              f(r.deno_startup_cpu_ms)
            })`),
      };
    },
    floor: "own",
  },
  {
    name: "floor: read+split log",
    events: (_n, i) => i.logLines,
    argv: (i) => [i.deno, "run", "--allow-read", `${HERE}floor.ts`, i.log, "--no-parse"],
    floor: "none",
  },
  {
    name: "import dmesg",
    command: "import",
    events: (_n, i) => i.logLines,
    argv: (i) => [
      i.deno,
      "run",
      "--allow-read",
      `--allow-write=${i.out}`,
      "cli.ts",
      "import",
      "dmesg",
      i.log,
      "-o",
      `${i.out}/imported.jsonl`,
      "--force",
    ],
    floor: "log",
  },
  {
    name: "jq -c select(kind==lookup)",
    available: async () => (await which("jq")) ? undefined : "jq is not on PATH",
    events: (n) => n,
    argv: (i) => ["jq", "-c", 'select(.kind == "lookup")', i.trace],
  },
];

async function commandAvailable(deno: string, command: string): Promise<string | undefined> {
  const out = await new Deno.Command(deno, {
    args: [...CLI, "help", command],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code === 0 ? undefined : `'p2mtrace help ${command}' exits ${out.code}`;
}

// ---- main ---------------------------------------------------------------------------------

interface Options {
  sizes: number[];
  runs: number;
  only: string[] | undefined;
  out: string;
  json: boolean;
}

function parseOptions(args: string[]): Options {
  const o: Options = {
    sizes: [1_000_000, 10_000_000],
    runs: 5,
    only: undefined,
    out: `${HERE}out`,
    json: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--smoke") {
      o.sizes = [10_000];
      o.runs = 1;
    } else if (a.startsWith("--sizes")) o.sizes = parseSizes(value());
    else if (a.startsWith("--runs")) o.runs = Math.max(1, Number(value()));
    else if (a.startsWith("--only")) o.only = value().split(",");
    else if (a.startsWith("--out")) o.out = value();
    else if (a === "--json") o.json = true;
    else throw new Error(`unknown option ${a} (see bench/main.ts)`);
  }
  return o;
}

function selected(o: Options, name: string): boolean {
  return o.only === undefined || o.only.some((w) => name.startsWith(w));
}

function firstLine(s: string): string {
  return s.trim().split("\n").filter((l) => l.trim() !== "")[0]?.slice(0, 80) ?? "";
}

async function measureSize(
  o: Options,
  n: number,
  deno: string,
  log: (s: string) => void,
): Promise<Row[]> {
  const logLines = Math.min(n, DMESG_MAX_LINES);
  const inp: Inputs = {
    trace: await ensureTrace(o.out, n, log),
    log: await ensureLog(o.out, logLines, log),
    logLines,
    out: o.out,
    deno,
  };
  const warm: Inputs = {
    ...inp,
    trace: await ensureTrace(o.out, 1000, log),
    log: await ensureLog(o.out, 1000, log),
  };
  const entries = ENTRIES.filter((e) => selected(o, e.name) || e.name.startsWith("floor"));
  const rows = new Map<Entry, Row>();
  const samples = new Map<Entry, Sample[]>();
  for (const e of entries) {
    const row: Row = { name: e.name, events: e.events(n, inp) };
    rows.set(e, row);
    let why = e.command ? await commandAvailable(deno, e.command) : undefined;
    why ??= await e.available?.();
    if (why === undefined && e.maxEvents !== undefined && n > e.maxEvents) {
      row.note = `skipped: measured up to ${e.maxEvents} events`;
      continue;
    }
    if (why !== undefined) {
      row.note = `not available yet (${why})`;
      continue;
    }
    // Warm up the module cache (and catch a command line that does not work) on a small input.
    const w = await run(e.argv(warm), e.parse !== undefined);
    if (!(e.ok ?? [0]).includes(w.code)) {
      row.note = `failed: exit ${w.code}: ${firstLine(w.stderr)}`;
      continue;
    }
    const p = e.parse?.(w.stdout);
    if (p?.unavailable) {
      row.note = `not available yet (${p.unavailable})`;
      continue;
    }
    samples.set(e, []);
  }
  for (let r = 0; r < o.runs; r++) {
    for (const [e, list] of samples) {
      log(`${n} events, run ${r + 1}/${o.runs}: ${e.name}`);
      const s = await run(e.argv(inp), e.parse !== undefined);
      if (!(e.ok ?? [0]).includes(s.code)) {
        rows.get(e)!.note = `failed: exit ${s.code}: ${firstLine(s.stderr)}`;
        samples.delete(e);
        continue;
      }
      list.push(s);
    }
  }
  const floorOf = (kind: "trace" | "log") => {
    const name = kind === "trace" ? "floor: read+split+JSON.parse" : "floor: read+split log";
    const e = entries.find((x) => x.name === name);
    const s = e && samples.get(e);
    return s && s.length > 0 ? median(s.map((x) => x.wall)) : undefined;
  };
  for (const [e, list] of samples) {
    const row = rows.get(e)!;
    row.seconds = median(list.map((s) => s.wall));
    const f = e.floor === "none" || e.floor === "own" ? undefined : floorOf(e.floor ?? "trace");
    if (e.floor === "none") row.ratio = 1;
    else if (e.floor === "own") row.ratio = undefined; // the note gives its own ratios
    else if (f !== undefined) row.ratio = row.seconds / f;
    const peaks = list.map((s) => s.peakMb).filter((x): x is number => x !== undefined);
    if (peaks.length > 0) row.peakMb = Math.max(...peaks);
    const cpus = list.map((s) => s.cpu).filter((x): x is number => x !== undefined);
    if (cpus.length > 0) row.cpu = median(cpus);
    if (e.parse) row.note = e.parse(list[list.length - 1].stdout).note;
  }
  return [...rows.values()].filter((r) => selected(o, r.name) || o.only === undefined);
}

async function measureMinimize(
  o: Options,
  deno: string,
  log: (s: string) => void,
  strict: boolean,
): Promise<Row> {
  // --strict-minimal on 100k events (its target is stated for it); the default, which keeps the
  // meaning, on the largest size up to 1M (README Limits: minimize in bounded memory).
  const cap = strict ? MINIMIZE_EVENTS : MINIMIZE_MEANING_EVENTS;
  const n = o.sizes.every((s) => s < cap) ? Math.max(...o.sizes) : cap;
  const row: Row = {
    name: strict ? "minimize --detector lookup-zero" : "minimize, keeping the meaning",
    events: n,
  };
  const why = await commandAvailable(deno, "minimize");
  if (why !== undefined) return { ...row, note: `not available yet (${why})` };
  const trace = await ensureTrace(o.out, n, log);
  const outFile = `${o.out}/minimized.jsonl`;
  const argv = [
    deno,
    "run",
    "--allow-read",
    `--allow-write=${o.out}`,
    "cli.ts",
    "minimize",
    trace,
    // --strict-minimal: the shrink itself; the default also keeps every policy's verdict, which
    // replays all ten policies per candidate (README, Performance).
    ...(strict ? ["--strict-minimal"] : []),
    "--detector",
    "lookup-zero",
    "-o",
    outFile,
    "--force",
  ];
  log(`minimize${strict ? " --strict-minimal" : ""} on ${n} events`);
  const s = await run(argv, false);
  if (s.code !== 0) return { ...row, note: `failed: exit ${s.code}: ${firstLine(s.stderr)}` };
  const kept = (await Deno.readTextFile(outFile)).split("\n")
    .filter((l) => l.startsWith('{"seq"')).length;
  return {
    ...row,
    seconds: s.wall,
    peakMb: s.peakMb,
    cpu: s.cpu,
    note: `kept ${kept} event(s); one run`,
  };
}

/**
 * Many traces: `MANY_TRACES` generated boot logs (a different machine each), imported once into
 * traces in a directory, then `check DIR` with one worker and with one per core, against the way
 * a script would do it without batch mode: one `check` process per trace (measured on the first
 * `MANY_BASELINE` traces; its rate is per trace). Rows are in traces, not events.
 */
async function measureMany(o: Options, deno: string, log: (s: string) => void): Promise<Row[]> {
  const count = o.sizes.every((s) => s < 100_000) ? 20 : MANY_TRACES;
  const dir = `${o.out}/many-${count}`;
  const key = `many v${TRACE_GENERATOR_VERSION} traces ${count} lines ${MANY_LOG_LINES}`;
  let fresh = false;
  try {
    fresh = (await Deno.readTextFile(`${dir}.key`)) === key;
  } catch { /* generate */ }
  if (!fresh) {
    log(`importing ${count} generated boot logs into ${dir}`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    for (let i = 0; i < count; i++) {
      const name = `${dir}/boot-${String(i).padStart(4, "0")}`;
      await Deno.writeTextFile(
        `${name}.log`,
        [...generateDmesg({ lines: MANY_LOG_LINES, seed: i + 1 })].join("\n") + "\n",
      );
      const io = memoryIo();
      const code = await cliMain(["import", "dmesg", `${name}.log`, "-o", `${name}.jsonl`], io);
      if (code !== 0) throw new Error(`import of ${name}.log failed: ${io.err()}`);
      await Deno.remove(`${name}.log`);
    }
    await Deno.writeTextFile(`${dir}.key`, key);
  }
  const traces = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort();
  const rows: Row[] = [];
  const timeOf = async (name: string, argvs: string[][], n: number, note: string) => {
    const walls: number[] = [], peaks: number[] = [], cpus: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      log(`many traces, run ${r + 1}/${o.runs}: ${name}`);
      let wall = 0, cpu = 0;
      for (const argv of argvs) {
        const s = await run(argv, false);
        if (s.code !== 0 && s.code !== 1) {
          rows.push({ name, events: n, note: `failed: exit ${s.code}: ${firstLine(s.stderr)}` });
          return;
        }
        wall += s.wall;
        cpu += s.cpu ?? 0;
        if (s.peakMb !== undefined) peaks.push(s.peakMb);
      }
      walls.push(wall);
      cpus.push(cpu);
    }
    rows.push({
      name,
      events: n,
      seconds: median(walls),
      peakMb: peaks.length > 0 ? Math.max(...peaks) : undefined,
      cpu: median(cpus),
      note,
    });
  };
  const base = traces.slice(0, Math.min(MANY_BASELINE, traces.length));
  await timeOf(
    "many: one check process per trace",
    base.map((t) => [deno, ...CLI, "check", t]),
    base.length,
    `${base.length} traces, one Deno start each (the baseline)`,
  );
  const jobs = navigator.hardwareConcurrency ?? 1;
  for (const j of [1, jobs]) {
    await timeOf(
      `many: check DIR --jobs ${j}`,
      [[deno, ...CLI, "check", dir, "--jobs", String(j)]],
      traces.length,
      `${traces.length} imported boot logs of ${MANY_LOG_LINES} lines`,
    );
  }
  // Ratios against the baseline's per-trace time, measured in the same run.
  const perTrace = (r: Row) => r.seconds === undefined ? undefined : r.seconds / r.events;
  const b = perTrace(rows[0]);
  for (const r of rows) {
    const t = perTrace(r);
    if (b !== undefined && t !== undefined) r.ratio = t / b;
  }
  return rows;
}

async function measureRangeWrites(deno: string, log: (s: string) => void): Promise<string> {
  log("range writes");
  const s = await run(
    [deno, "run", "--allow-read", "--v8-flags=--expose-gc", `${HERE}range_write.ts`],
    true,
  );
  if (s.code !== 0) return `range writes: failed: exit ${s.code}: ${firstLine(s.stderr)}\n`;
  const rows = s.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const out = [
    "| policy | value | pages | median us | retained KB |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.policy} | ${r.value} | ${r.pages} | ${r.median_us} | ${r.retained_kb} |`,
    );
  }
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  let o: Options;
  try {
    o = parseOptions(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(64);
  }
  await Deno.mkdir(o.out, { recursive: true });
  const log = (s: string) => console.error(`bench: ${s}`);
  const deno = Deno.execPath();
  const memory = (await findTimeBin())
    ? "peak memory: max RSS from /usr/bin/time"
    : "peak memory: VmHWM polled from /proc/<pid>/status every 10 ms";
  const results: { size: number; rows: Row[] }[] = [];
  for (const n of o.sizes) results.push({ size: n, rows: await measureSize(o, n, deno, log) });
  const minimize = selected(o, "minimize")
    ? [await measureMinimize(o, deno, log, true), await measureMinimize(o, deno, log, false)]
    : undefined;
  const ranges = selected(o, "range") ? await measureRangeWrites(deno, log) : undefined;
  const many = selected(o, "many") ? await measureMany(o, deno, log) : undefined;
  if (o.json) {
    console.log(JSON.stringify({ results, minimize, ranges, many }, null, 1));
  } else {
    const head = `p2mtrace bench: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} ` +
      `CPUs; median of ${o.runs} run(s), wall time with startup; ${memory}; ` +
      `generator v${TRACE_GENERATOR_VERSION}, seed ${SEED}`;
    console.log(head + "\n");
    for (const { size, rows } of results) {
      console.log(`### ${size} events\n`);
      console.log(formatTable(rows));
    }
    if (minimize) console.log(`### minimize\n\n${formatTable(minimize)}`);
    if (ranges) console.log(`### one write over 1 page vs 2^27 pages\n\n${ranges}`);
    if (many) {
      console.log(
        "### many traces (events = traces; x floor = time per trace / one process per trace)\n",
      );
      console.log(formatTable(many));
    }
  }
}

/**
 * The hostile corpus (corpus.ts) through every trace-reading command, each run a subprocess of
 * the real CLI with a time bound and a memory bound (peak RSS read from /proc/PID/status,
 * VmHWM, killed past {@link RSS_LIMIT_MB}), asserting the exit code, a message naming file,
 * line and field, and that no file but `-o` appeared or changed.
 *
 * Contract pinned: issue 14 — untrusted traces never crash p2mtrace, never take it past 500 MB,
 * never hang it, never make it write anything but its output.
 *
 * CI runs a sample: every light case through two commands (rotating, so each command sees
 * about a fifth of the corpus) and every heavy case through one: 309 subprocess runs, measured
 * at 6m4s on two cores shared with seven other test runs (load 16); expect 2-3 minutes alone. `deno task hostile` (HOSTILE_FULL=1) runs every case through every
 * command.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type HostileCase, hostileCases, TRACE_COMMANDS } from "./corpus.ts";
import { escapeText } from "../../src/report/text.ts";

/** Peak resident memory allowed for one run, in MB. */
export const RSS_LIMIT_MB = 500;

const ROOT = new URL("../../", import.meta.url).pathname;
const FULL = Deno.env.get("HOSTILE_FULL") === "1";
/** Only cases whose name matches this regular expression (debugging). */
const ONLY = Deno.env.get("HOSTILE_ONLY");
const PARALLEL = 3;
// Controls, line separators, bidi controls and invisible format characters (zero-width).
const RAW_CONTROL_CLASS = "\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u180e" +
  "\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb";
const RAW_CONTROL = new RegExp(`[${RAW_CONTROL_CLASS}]`);

async function writeInput(path: string, c: HostileCase): Promise<void> {
  const input = c.input;
  if ("directory" in input) await Deno.mkdir(path);
  else if ("text" in input) await Deno.writeTextFile(path, input.text);
  else if ("bytes" in input) await Deno.writeFile(path, input.bytes);
  else {
    const f = await Deno.open(path, { write: true, createNew: true });
    try {
      for (const chunk of input.stream()) {
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
      }
    } finally {
      f.close();
    }
  }
}

/** Every name under `dir` (symlinks not followed) with its size and mtime. */
async function listing(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const st = await Deno.lstat(`${dir}/${e.name}`);
    out.push(`${prefix}${e.name} ${st.size} ${st.mtime?.getTime()}`);
    if (st.isDirectory) out.push(...await listing(`${dir}/${e.name}`, `${prefix}${e.name}/`));
  }
  return out.sort();
}

async function peakMb(pid: number): Promise<number | undefined> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function collect(stream: ReadableStream<Uint8Array>, cap = 1 << 20): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size < cap) parts.push(chunk.subarray(0, cap - size));
    size += chunk.length;
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return new TextDecoder().decode(all);
}

/** One run's result. */
interface RunResult {
  code: number;
  out: string;
  err: string;
  peak: number;
  seconds: number;
  killed?: string;
}

async function runCli(
  dir: string,
  argv: string[],
  limitSeconds: number,
  allowWrite = dir,
): Promise<RunResult> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `--allow-write=${allowWrite}`, `${ROOT}cli.ts`, ...argv],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let peak = 0;
  let killed: string | undefined;
  let running = true;
  const watch = (async () => {
    while (running) {
      const mb = await peakMb(child.pid);
      if (mb !== undefined) peak = Math.max(peak, mb);
      const seconds = (performance.now() - start) / 1000;
      if (peak > RSS_LIMIT_MB || seconds > limitSeconds) {
        killed = peak > RSS_LIMIT_MB ? `peak RSS ${peak} MB` : `ran over ${limitSeconds} s`;
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const [status, out, err] = await Promise.all([
    child.status,
    collect(child.stdout),
    collect(child.stderr),
  ]);
  running = false;
  await watch;
  const r: RunResult = {
    code: status.code,
    out,
    err,
    peak,
    seconds: (performance.now() - start) / 1000,
  };
  if (killed !== undefined) r.killed = killed;
  return r;
}

function argvFor(command: readonly string[], file: string): string[] {
  return command.map((a) =>
    a === "T" ? file : a === "./T" ? `./${file}` : a === "O" ? "out.jsonl" : a
  );
}

async function runCase(c: HostileCase, command: readonly string[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2mtrace-hostile-" });
  try {
    const file = c.fileName ?? `${c.name}.jsonl`;
    await writeInput(`${dir}/${file}`, c);
    await c.setup?.(dir, file);
    const before = await listing(dir);
    const argv = argvFor(command, file);
    const allowWrite = c.writeOnly === undefined ? dir : `${dir}/${c.writeOnly}`;
    const r = await runCli(dir, argv, c.heavy ? 120 : 60, allowWrite);
    const what = `${c.name}: p2mtrace ${argv.map(escapeText).join(" ")}`;
    assert.equal(r.killed, undefined, `${what}: killed: ${r.killed}`);
    assert.ok(r.peak < RSS_LIMIT_MB, `${what}: peak RSS ${r.peak} MB`);
    assert.doesNotMatch(r.err, /internal error|Uncaught|at file:/, `${what}: ${r.err}`);
    const isValidate = command[0] === "validate";
    const expected = isValidate ? (c.validateExit ?? c.exit) : c.exit;
    if (command[0] === "check" && c.checkExit !== undefined) {
      assert.equal(r.code, c.checkExit, `${what}: exit ${r.code}, wanted ${c.checkExit}\n${r.err}`);
    } else if (c.anyOf !== undefined && !isValidate) {
      assert.ok(c.anyOf.includes(r.code), `${what}: exit ${r.code}, wanted ${c.anyOf}\n${r.err}`);
    } else {
      assert.equal(r.code, expected, `${what}: exit ${r.code}, wanted ${expected}\n${r.err}`);
    }
    // Nothing read from the trace or its name reaches the terminal raw.
    assert.doesNotMatch(r.out, RAW_CONTROL, `${what}: raw control character on stdout`);
    assert.doesNotMatch(r.err, RAW_CONTROL, `${what}: raw control character on stderr`);
    if (r.code === 65 && !isValidate) {
      const name = escapeText(file);
      if (c.byte !== undefined) {
        assert.ok(
          r.err.includes(`${name}: byte ${c.byte} (compressed): `),
          `${what}: wanted byte ${c.byte}: ${r.err}`,
        );
      } else if (c.line !== undefined) {
        assert.ok(
          r.err.includes(`${name}:${c.line}: `),
          `${what}: wanted line ${c.line}: ${r.err}`,
        );
      } else assert.match(r.err, new RegExp(`${escapeRegExp(name)}:\\d+: `), what);
      if (c.field !== undefined) {
        assert.ok(r.err.includes(`field "${c.field}"`), `${what}: ${r.err}`);
      }
      if (c.message !== undefined) assert.match(r.err, new RegExp(c.message), what);
    }
    if (isValidate && c.problem !== undefined) {
      assert.ok(r.out.includes(c.problem), `${what}: no ${c.problem} in\n${r.out}`);
    }
    // No file changed but the output; no temporary file left behind.
    const after = await listing(dir);
    const wrote = command.includes("O") && r.code === 0;
    if (wrote) {
      // The output (a trace, or map's HTML) carries nothing raw either, and no markup.
      const text = await Deno.readTextFile(`${dir}/out.jsonl`);
      assert.doesNotMatch(text, RAW_CONTROL, `${what}: raw control character in the output`);
      if (command[0] === "map") {
        assert.doesNotMatch(text, /<script>alert|<img /, `${what}: markup from the trace`);
      }
    }
    assert.deepEqual(
      after.filter((l) => !(wrote && l.startsWith("out.jsonl "))),
      before,
      `${what}: files changed`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The (case, command) pairs to run: everything with HOSTILE_FULL=1, else the CI sample. */
function plan(): [HostileCase, readonly string[]][] {
  const cases = hostileCases().filter((c) => ONLY === undefined || new RegExp(ONLY).test(c.name));
  const out: [HostileCase, readonly string[]][] = [];
  const n = TRACE_COMMANDS.length;
  cases.forEach((c, i) => {
    if (c.commands !== undefined) {
      for (const cmd of c.commands) out.push([c, cmd]);
    } else if (FULL) {
      for (const cmd of TRACE_COMMANDS) out.push([c, cmd]);
    } else if (c.heavy) {
      out.push([c, TRACE_COMMANDS[(i * 3) % n]]);
    } else {
      for (const cmd of [TRACE_COMMANDS[i % n], TRACE_COMMANDS[(i + 5) % n]]) out.push([c, cmd]);
    }
  });
  return out;
}

Deno.test("the hostile corpus has at least 150 inputs across every class", () => {
  const cases = hostileCases();
  assert.ok(cases.length >= 150, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "names are unique");
  const classes = new Set(cases.map((c) => c.cls));
  for (
    const cls of [
      "gzip",
      "line-length",
      "nesting",
      "keys",
      "encoding",
      "numbers",
      "policy",
      "control",
      "frames",
      "structure",
      "extreme",
    ]
  ) assert.ok(classes.has(cls), cls);
});

Deno.test({
  name: "every trace command survives the hostile corpus within time, memory and its output",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const jobs = plan();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const [c, cmd] = jobs[next++];
        try {
          await runCase(c, cmd);
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    assert.deepEqual(failures, [], `${failures.length} of ${jobs.length} runs failed`);
  },
});

/**
 * Docs that run: every command line of README.md, docs/*.md, traces/README.md, bench/README.md
 * and the `help` texts (found by tests/support/doc_commands.ts, which documents the rules and the
 * `<!-- doc-test: ... -->` markers) runs exactly as written, permission flags included, with `sh
 * -c` in a scratch copy of the repository: `deno` on PATH is this Deno, `p2mtrace` is what the
 * README's install line installs, and `npx` is the real one. Each doc's commands run in order in
 * the doc's own copy (a later line may read what an earlier one wrote); two docs run at once.
 * Placeholders name bundled files: `TRACE` in a command becomes the bundled PCIe trace, and the
 * files a doc's commands read (`boot.log`, `captured/`, ...) are put in its copy beforehand.
 *
 * Runtime: about 60 commands, 40-60 s on the 2-core CI machine (each is a Deno start-up of
 * 0.3-1 s; the `npx` lines 2-3 s).
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../src/cli/commands.ts";
import {
  type DocCommand,
  helpCommands,
  markdownCommands,
  shellCommands,
} from "./support/doc_commands.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CONCURRENCY = 2;
const TIMEOUT_MS = 120_000;

/** Uppercase placeholders of inline examples, and the bundled file each stands for. */
const PLACEHOLDERS: Record<string, string> = {
  TRACE: "traces/pcie-bar-above-e820.jsonl",
};

/** Files a doc's commands read that a user would have: the bundled file standing for each. */
const INPUT_FILES: Record<string, string> = {
  "boot.log": "tests/fixtures/dmesg/dom0-3.12-serial.log",
  "journal.txt": "tests/fixtures/dmesg/dom0-5.10-journalctl.log",
  "domU.log": "tests/fixtures/dmesg/domU-4.19-syslog.log",
  "serial.log": "tests/fixtures/dmesg/xen-console-dom0-and-d1.log",
  "run.txt": "tests/fixtures/bpftrace/dom0-5.10-balloon-sriov-hotplug.txt",
  "captured": "tests/fixtures/sysfs/dom0-3.16-bar-above-ram",
};

/** Per doc, inputs that a skipped line (a live guest) would have written. */
const STAND_INS: Record<string, Record<string, string>> = {
  // The help's bisect predicate shows a good revision's log (exit 0); README's shows a bad one.
  "help": { "boot.log": "tests/fixtures/dmesg/dom0-5.10-journalctl.log" },
  "docs/runtime-tracing.md": { "boot.jsonl": "tests/golden/record/dom0-3.16-bar-above-ram.jsonl" },
};

function docFiles(): string[] {
  const docs = [...Deno.readDirSync(`${REPO}/docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs, "traces/README.md", "bench/README.md"];
}

async function allCommands(): Promise<{ groups: DocCommand[][]; problems: string[] }> {
  const groups: DocCommand[][] = [];
  const problems: string[] = [];
  for (const f of docFiles()) {
    const r = markdownCommands(f, Deno.readTextFileSync(`${REPO}/${f}`));
    groups.push(r.commands);
    problems.push(...r.problems);
  }
  const help: DocCommand[] = [];
  for (const [name, c] of Object.entries(COMMANDS)) {
    help.push(...helpCommands(name, (await c.load()).help));
  }
  groups.push(help);
  return { groups: groups.filter((g) => g.length > 0), problems };
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    if (from === REPO && e.name === "bench") {
      await Deno.mkdir(`${to}/bench`);
      for (const b of Deno.readDirSync(`${from}/bench`)) {
        if (b.isFile) await Deno.copyFile(`${from}/bench/${b.name}`, `${to}/bench/${b.name}`);
      }
      continue;
    }
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function sandbox(root: string, name: string, doc: string): Promise<string> {
  const dir = `${root}/${name}`;
  await copyTree(REPO, dir);
  const inputs = { ...INPUT_FILES, ...STAND_INS[doc] };
  for (const [file, source] of Object.entries(inputs)) {
    if (Deno.statSync(`${REPO}/${source}`).isDirectory) {
      await copyTree(`${REPO}/${source}`, `${dir}/${file}`);
    } else await Deno.copyFile(`${REPO}/${source}`, `${dir}/${file}`);
  }
  return dir;
}

function substitute(text: string): string {
  return text.replace(/\b[A-Z][A-Z_]+\b/g, (w) => PLACEHOLDERS[w] ?? w);
}

interface Env {
  [name: string]: string;
}

async function runOne(c: DocCommand, cwd: string, env: Env): Promise<string | undefined> {
  const text = substitute(c.text);
  const where = `${c.file}:${c.line}`;
  const child = new Deno.Command("sh", {
    args: ["-c", text],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const tail = (s: string) => s.trimEnd().split("\n").slice(-8).join("\n    ");
  if (out.code !== c.exit) {
    return `${where}: \`${text}\` exited ${out.code}${out.signal ? ` (${out.signal})` : ""}, ` +
      `the doc says ${c.exit}${c.exit === 0 ? "" : " (# exit / marker)"}\n    stderr: ` +
      tail(stderr);
  }
  if (c.stdout !== undefined && stdout.trimEnd() !== c.stdout.trimEnd()) {
    const got = stdout.split("\n");
    const want = c.stdout.split("\n");
    const i = want.findIndex((w, k) => w.trimEnd() !== (got[k] ?? "").trimEnd());
    return `${where}: \`${text}\` printed other output than the doc shows, first at output ` +
      `line ${i + 1}:\n    doc:  ${want[i]}\n    got:  ${got[i]}`;
  }
  return undefined;
}

Deno.test("every documented command line runs as written, with the exit status and output shown", async () => {
  const { groups, problems } = await allCommands();
  assert.deepEqual(problems, [], problems.join("\n"));
  const root = await Deno.makeTempDir({ prefix: "p2mtrace-docs-" });
  try {
    const home = `${root}/home`;
    const bin = `${root}/bin`;
    await Deno.mkdir(bin, { recursive: true });
    await Deno.symlink(Deno.execPath(), `${bin}/deno`);
    const env: Env = {
      HOME: home,
      PATH: `${home}/.local/bin:${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    };
    for (const name of ["DENO_DIR", "TMPDIR", "npm_config_cache", "XDG_CACHE_HOME", "LANG"]) {
      const v = Deno.env.get(name);
      if (v !== undefined) env[name] = v;
    }
    // npx keeps its cache under HOME: point it at the real one so no download happens.
    const realHome = Deno.env.get("HOME");
    if (realHome && env.npm_config_cache === undefined) env.npm_config_cache = `${realHome}/.npm`;
    if (realHome && env.DENO_DIR === undefined) env.DENO_DIR = `${realHome}/.cache/deno`;
    // What the README's install line does, so every doc's `p2mtrace` works from the start.
    const setup = await sandbox(root, "install", "");
    const inst = await new Deno.Command("sh", {
      args: ["tools/install.sh"],
      cwd: setup,
      env,
      clearEnv: true,
    }).output();
    assert.equal(inst.code, 0, new TextDecoder().decode(inst.stderr));

    const failures: string[] = [];
    let ran = 0;
    const skipped: string[] = [];
    const queue = [...groups];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        const doc = g[0].file.startsWith("help ") ? "help" : g[0].file;
        const dir = await sandbox(root, doc.replace(/[^\w.-]+/g, "_"), doc);
        for (const c of g) {
          if (c.skip !== undefined) {
            skipped.push(`${c.file}:${c.line}`);
            continue;
          }
          ran++;
          const f = await runOne(c, dir, env);
          if (f) failures.push(f);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.ok(ran >= 30, `only ${ran} documented command(s) ran: is the extractor broken?`);
    assert.deepEqual(failures, [], `\n${failures.join("\n")}\n`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("doc extractor: continuation lines and compound commands are one command", () => {
  const cmds = shellCommands([
    "for f in a \\",
    "    b; do",
    '  [ -r "$f" ] && echo "$f"',
    "done",
    "echo x |",
    "  cat   # exit 0",
  ], 1);
  assert.deepEqual(cmds.map((c) => c.line), [1, 5]);
});

Deno.test("doc extractor: a skip marker needs a reason, and a marker that matches nothing is an error", () => {
  const md = [
    "<!-- doc-test: skip `p2mtrace record` -->",
    "<!-- doc-test: skip `deno task nothing` no such line -->",
    "```sh",
    "p2mtrace record -o x.jsonl",
    "```",
  ].join("\n");
  const { problems } = markdownCommands("x.md", md);
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^x\.md:1: doc-test marker not understood/);
  assert.match(problems[1], /^x\.md:2: doc-test marker matches no command line/);
});

Deno.test("doc extractor: synopses, headings and bare command names are not commands", () => {
  const md = [
    "# `p2mtrace import dmesg`",
    "Use `p2mtrace help <cmd>`, `p2mtrace generate`, `npx -y deno@2.9.6 run cli.ts ...`.",
    "Or `p2mtrace check t.jsonl --json`.",
  ].join("\n");
  const { commands } = markdownCommands("x.md", md);
  assert.deepEqual(commands.map((c) => `${c.line}: ${c.text}`), [
    "3: p2mtrace check t.jsonl --json",
  ]);
});

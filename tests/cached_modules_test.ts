// A question answered from the on-disk index runs in a fresh process, where Deno's loading
// and compiling of modules is a large part of its time (README, Performance): the modules
// `snapshot`, `lookup` and `diff` import statically — everything a cached answer loads
// before it runs — must not bring the Node modules only a build, a replay from step 0 or a
// streamed hash needs (`node:zlib` alone costs a fresh process about 40 ms of CPU,
// `node:worker_threads` and `node:crypto` about 10 and 35), nor the modules of those paths
// (the streaming reader, the forward pass, the build's line spans and threaded reader: about
// 10 ms together), nor the replayer and its detectors (an answer replays without them). They
// may import them dynamically, on the path that needs them. Checked on Deno's own module graph
// (`deno info --json`).
import assert from "node:assert/strict";
import "./support/repo_root.ts";

/** Modules a cached answer must not load (the project's, relative to its root). */
const HEAVY = [
  "node:zlib",
  "node:worker_threads",
  "node:crypto",
  "src/trace/read.ts",
  "src/trace/threaded_read.ts",
  "src/replay/forward.ts",
  "src/replay/event_lines.ts",
  // An answer replays at most a quarter interval without detectors (step.ts's applyEvents).
  "src/replay/replayer.ts",
  "src/detect/detectors.ts",
];

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

/** Deno's module graph of `roots`: each module's static and dynamic imports. */
async function graph(roots: string[]): Promise<Map<string, Dependency[]>> {
  const out = new Map<string, Dependency[]>();
  for (const root of roots) {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
    const json = JSON.parse(new TextDecoder().decode(info.stdout));
    for (const m of json.modules) out.set(m.specifier, m.dependencies ?? []);
  }
  return out;
}

/** The modules `from` reaches through static imports, each with the chain that reaches it. */
function staticClosure(g: Map<string, Dependency[]>, from: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[from, [from]]]);
  const todo = [from];
  while (todo.length) {
    const m = todo.pop()!;
    for (const d of g.get(m) ?? []) {
      const to = d.code?.specifier;
      if (to === undefined || d.isDynamic || seen.has(to)) continue;
      seen.set(to, [...seen.get(m)!, to]);
      todo.push(to);
    }
  }
  return seen;
}

const COMMANDS = ["snapshot", "lookup", "diff"];

Deno.test("a cached snapshot, lookup or diff loads no node:zlib, worker_threads, crypto, reader, forward pass, replayer or detector", async () => {
  const root = new URL("../", import.meta.url);
  const files = ["cli.ts", ...COMMANDS.map((c) => `src/cli/${c}.ts`)].map((f) =>
    new URL(f, root).href
  );
  const g = await graph(files);
  // The command table loads a command's module dynamically: cli.ts's own static graph, then
  // the command's.
  for (const from of files) {
    assert.ok(g.has(from), `${from} is not in the module graph`);
    const reach = staticClosure(g, from);
    for (const heavy of HEAVY) {
      const chain = reach.get(heavy.startsWith("node:") ? heavy : new URL(heavy, root).href);
      assert.equal(
        chain,
        undefined,
        `${heavy} is imported statically: ${
          chain?.map((s) => s.replace(root.href, "")).join(" -> ")
        }`,
      );
    }
  }
});

/**
 * `p2mtrace index TRACE [--policy P]`: builds (or checks) the on-disk index that lets
 * `snapshot`, `lookup` and `diff` answer any step without a replay from step 0.
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { EXIT, OutputError, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { sha256File } from "../trace/sha.ts";
import { choosePolicy } from "../replay/replayer.ts";
import { policySpec } from "../report/snapshot_report.ts";
import { fileKey, IndexUnusable, TraceIndex } from "../replay/trace_index.ts";
import {
  cacheDir,
  indexFileName,
  mayHoldIndexOf,
  readAlias,
  touchIndex,
  writeAlias,
} from "../replay/index_cache.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { buildIndex } from "./cached_trace.ts";

const HELP = `usage: p2mtrace index TRACE [options]

Builds the random-access index of a trace file under one policy in the cache directory, so
that 'snapshot', 'lookup' and 'diff' answer any step of it by decoding the nearest of its
saved model states and replaying at most a few thousand events, instead of replaying the
trace from step 0 (about 30 ms instead of 7 s on a 1M-event trace). Those commands build it
themselves the first time they read a trace file of 8 MiB or more; this command builds it
for any size, and reuses an existing index of the same bytes (hashing the whole trace when
the cache may hold one). Pass --no-cache to those commands to replay without it.

The cache directory is $P2MTRACE_CACHE_DIR, else $XDG_CACHE_HOME/p2mtrace, else
~/.cache/p2mtrace: never beside the trace. An index is named by the trace's SHA-256, the
policy, the p2mtrace version and a hash of its model's source, so a copy of a trace reuses
it and an edited trace or a changed model never does; a small alias file maps the trace
file's device, inode, size and times to its SHA-256, so that a question does not hash the
whole trace. Every part is checked before use, and a damaged or stale file is ignored (with
a note) and rebuilt. After each build the cache keeps at most 16 indices and 2 GiB of them,
least recently used removed first (never the one just built). Stdin, FIFOs and .gz traces
cannot be indexed (nothing to seek in): those commands replay them from step 0.

options:
  --policy P        kernel behaviour, as for replay ('--policy list' lists them); one index
                    per policy

exit: 0 built or up to date, 64 usage (also stdin or a .gz trace), 65 malformed trace, 66
unreadable file, 74 the cache directory cannot be written.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("index", args, { policy: { type: "string" } });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file] = operands("index", p.positionals, ["TRACE"]);
  const policyOpt = p.values.policy as string | undefined;
  if (file === "-") throw new UsageError("index: stdin cannot be indexed (nothing to seek in)");
  const reader = await TraceReader.open(file, undefined, { hash: false });
  const header = await reader.header();
  const { policy } = choosePolicy(header, policyOpt);
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(file);
  } catch {
    stat = await Deno.stat(file);
  }
  const magic = new Uint8Array(2);
  const f = Deno.openSync(file, { read: true });
  const got = f.readSync(magic);
  f.close();
  if (!stat.isFile || (got === 2 && magic[0] === 0x1f && magic[1] === 0x8b)) {
    throw new UsageError(
      `index: ${escapeText(file)} is not a plain trace file (a FIFO or .gz has nothing to seek in)`,
    );
  }
  const spec = policySpec(policy);
  const dir = cacheDir(io.env, true);
  if (dir.dir === undefined) throw new OutputError("the index cache", dir.why);
  const memo = { dir: dir.dir, write: true };
  let index: TraceIndex | undefined;
  // An index of these bytes may be there only when this file's alias names one, or a file of
  // its size has one (a copy): then hashing the whole trace is this command's check (read raw,
  // not split into lines). Otherwise the build hashes the bytes it parses: one read, not two.
  const key = fileKey(stat);
  const alias = await readAlias(dir.dir, key);
  const maybe = alias !== undefined
    ? await exists(`${dir.dir}/${await indexFileName(alias, spec, memo)}`)
    : await mayHoldIndexOf(dir.dir, stat.size, spec, memo);
  if (maybe) {
    const sha = await sha256File(file);
    const path = `${dir.dir}/${await indexFileName(sha, spec, memo)}`;
    try {
      index = await TraceIndex.open(path, file, header, spec, sha);
      await writeAlias(dir.dir, key, sha).catch(() => {});
      await touchIndex(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        const why = e instanceof IndexUnusable || e instanceof SyntaxError ? e.message : String(e);
        io.stderr(`p2mtrace: note: ignoring the index cache file ${escapeText(path)}: ${why}\n`);
      }
    }
  }
  const fresh = index === undefined;
  if (index === undefined) {
    try {
      index = await buildIndex(file, header, policyOpt, policy, dir.dir);
    } catch (e) {
      if (
        e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable ||
        e instanceof IndexUnusable
      ) {
        throw new OutputError(dir.dir, e.message);
      }
      throw e;
    }
  }
  const mb = (Deno.statSync(index.path).size / 1e6).toFixed(1);
  io.stdout(
    `${fresh ? "indexed" : "up to date:"} ${
      escapeText(file)
    } under ${spec}: ${index.events} events, ` +
      `${index.checkpoints} checkpoint(s) (every ${index.interval} events and after a boot pass), ` +
      `${mb} MB\n` +
      `  ${index.path}\n`,
  );
  return EXIT.ok;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The `index` command. */
export const indexCommand: CommandModule = {
  help: HELP,
  run,
};

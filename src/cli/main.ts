/**
 * The command dispatcher: argv to a command to an exit code. Errors a user can cause become a
 * one-line message on stderr and the exit code of their class; anything else is reported as an
 * internal error (exit 70) without a stack trace unless `P2MTRACE_DEBUG=1`.
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import { COMMANDS } from "./commands.ts";
import type { Io } from "./io.ts";
import { reportError } from "./report_error.ts";
import { escapeText } from "../report/text.ts";

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `usage: ${TOOL_NAME} <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n` +
    `'${TOOL_NAME} help <command>' shows a command's options.\n`;
}

/**
 * Runs one command line and returns its exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo();
 * assert.equal(await main(["version"], io), 0);
 * assert.match(io.out(), /^p2mtrace \d+\.\d+\.\d+\n$/);
 * ```
 */
export async function main(argv: string[], io: Io): Promise<number> {
  if (!bisectExitWanted(argv)) return await guarded(argv, io);
  // A global option: every command takes it, so a predicate's first step (import) can too.
  const end = argv.includes("--") ? argv.indexOf("--") : argv.length;
  // `check` declares it itself (it refuses it with several traces); others never see it.
  const own = argv[0] === "check"
    ? argv.slice(0, end)
    : argv.slice(0, end).filter((a) => a !== "--bisect-exit");
  const code = await guarded([...own, ...argv.slice(end)], io);
  return bisectExitCode(argv, code, io);
}

async function guarded(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    return reportError(e, io);
  }
}

/**
 * Whether `--bisect-exit` is among p2mtrace's own arguments (before a `--`, after which the
 * arguments belong to another program).
 *
 * @example
 * ```ts
 * import { bisectExitWanted } from "./main.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bisectExitWanted(["check", "--detetor", "x", "--bisect-exit"]), true);
 * assert.equal(bisectExitWanted(["bisect", "run", "t", "--", "cmd", "--bisect-exit"]), false);
 * ```
 */
export function bisectExitWanted(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--bisect-exit");
}

/**
 * The exit code under `--bisect-exit`, so that `git bisect run` can never be told "bad" by a
 * failure that says nothing about the revision: 0 (good), 1 (bad) and 125 (skip) stand; an
 * input that cannot test the revision (cut off 3, malformed 65, unreadable 66, refused 77)
 * becomes 125; everything else (usage 64, output 74, internal 70, help text, `bisect run`
 * stopped 2) becomes 128, which stops `git bisect run`. Codes of 128 and above stand.
 *
 * @example
 * ```ts
 * import { bisectExitCode } from "./main.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo();
 * assert.equal(bisectExitCode(["check", "t", "--bisect-exit"], 1, io), 1);
 * assert.equal(bisectExitCode(["check", "t", "--bisect-exit"], 65, io), 125);
 * assert.equal(bisectExitCode(["check", "--detetor", "--bisect-exit"], 64, io), 128);
 * assert.match(io.err(), /exit 64 says nothing about the revision/);
 * ```
 */
export function bisectExitCode(argv: readonly string[], code: number, io: Io): number {
  const own = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  const helpOnly = own.some((a) => a === "-h" || a === "--help") ||
    ["help", "version", "--version"].includes(own[0] ?? "");
  if (!helpOnly && (code === EXIT.ok || code === EXIT.found || code === EXIT.cannotTest)) {
    return code;
  }
  if (code >= EXIT.abortBisect) return code;
  if (!helpOnly && UNTESTABLE.has(code)) {
    io.stderr(
      `${TOOL_NAME}: the input cannot test this revision (exit ${code}): exit 125 (skip)\n`,
    );
    return EXIT.cannotTest;
  }
  const what = helpOnly ? "help is no verdict" : `exit ${code} says nothing about the revision`;
  io.stderr(`${TOOL_NAME}: --bisect-exit: ${what}: exit 128 (git bisect run stops)\n`);
  return EXIT.abortBisect;
}

const UNTESTABLE = new Set<number>([
  EXIT.cutOff,
  EXIT.cannotJudge,
  EXIT.dataError,
  EXIT.noInput,
  EXIT.noPermission,
]);

/** The command table's entry for `name`: own entries only (`constructor` is no command). */
function commandNamed(name: string): (typeof COMMANDS)[string] | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help") {
    io.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "version" || name === "--version") {
    io.stdout(`${TOOL_NAME} ${TOOL_VERSION}\n`);
    return EXIT.ok;
  }
  if (name === "help") {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout(usage());
      return EXIT.ok;
    }
    const c = commandNamed(topic);
    if (!c) {
      io.stderr(`${TOOL_NAME}: no command '${escapeText(topic)}'\n`);
      return EXIT.usage;
    }
    io.stdout((await c.load()).help);
    return EXIT.ok;
  }
  const entry = commandNamed(name);
  if (!entry) {
    io.stderr(`${TOOL_NAME}: no command '${escapeText(name)}'\n\n${usage()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (rest.includes("-h") || rest.includes("--help")) {
    io.stdout(command.help);
    return EXIT.ok;
  }
  return await command.run(rest, io);
}

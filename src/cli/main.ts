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
  try {
    return await dispatch(argv, io);
  } catch (e) {
    return reportError(e, io);
  }
}

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
    io.stdout(c.help);
    return EXIT.ok;
  }
  const command = commandNamed(name);
  if (!command) {
    io.stderr(`${TOOL_NAME}: no command '${escapeText(name)}'\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    io.stdout(command.help);
    return EXIT.ok;
  }
  return await command.run(rest, io);
}

/**
 * The command table. Each command lives in its own file and exports a `Command` and its help.
 *
 * @module
 */

import type { Command } from "./io.ts";
import { bisectCommand } from "./bisect.ts";
import { checkCommand } from "./check.ts";
import { compareCommand } from "./compare.ts";
import { diffCommand } from "./diff.ts";
import { generateCommand } from "./generate.ts";
import { importCommand } from "./import.ts";
import { indexCommand } from "./index.ts";
import { lookupCommand } from "./lookup.ts";
import { mapCommand } from "./map.ts";
import { minimizeCommand } from "./minimize.ts";
import { recordCommand } from "./record.ts";
import { replayCommand } from "./replay.ts";
import { snapshotCommand } from "./snapshot.ts";
import { summarizeCommand } from "./summarize.ts";
import { validateCommand } from "./validate.ts";

/** A registered command. */
export interface CommandEntry {
  /** One line for the command list. */
  summary: string;
  /** Full help text (usage, options, exit codes). */
  help: string;
  /** The implementation. */
  run: Command;
}

/** Every command, in the order `help` lists them. */
export const COMMANDS: Record<string, CommandEntry> = {
  replay: replayCommand,
  check: checkCommand,
  compare: compareCommand,
  snapshot: snapshotCommand,
  map: mapCommand,
  lookup: lookupCommand,
  diff: diffCommand,
  index: indexCommand,
  bisect: bisectCommand,
  validate: validateCommand,
  minimize: minimizeCommand,
  summarize: summarizeCommand,
  generate: generateCommand,
  import: importCommand,
  record: recordCommand,
};

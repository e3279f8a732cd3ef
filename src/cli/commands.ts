/**
 * The command table: each command's name, its one-line summary and how to load it. A command
 * lives in its own file, exporting a `CommandModule` (help and implementation); the table loads
 * that file only when the command runs or its help is asked for (a static specifier in a dynamic
 * `import()`, so `deno check` still follows it), so that one command pays Deno's module loading
 * for its own code only and `help` lists every command without loading any.
 *
 * @module
 */

import type { Command } from "./io.ts";

/** What a command's module exports. */
export interface CommandModule {
  /** Full help text (usage, options, exit codes). */
  help: string;
  /** The implementation. */
  run: Command;
}

/** A subcommand (an import format): a command module with its line for the list. */
export interface SubcommandEntry extends CommandModule {
  /** One line for the list of subcommands. */
  summary: string;
}

/** A registered command. */
export interface CommandEntry {
  /** One line for the command list. */
  summary: string;
  /** Loads the command's module. */
  load: () => Promise<CommandModule>;
}

/**
 * Every command, in the order `help` lists them.
 *
 * @example
 * ```ts
 * import { COMMANDS } from "./commands.ts";
 * import assert from "node:assert/strict";
 * assert.match(COMMANDS.lookup.summary, /one PFN/);
 * assert.match((await COMMANDS.lookup.load()).help, /^usage: p2mtrace lookup/);
 * ```
 */
export const COMMANDS: Record<string, CommandEntry> = {
  replay: {
    summary: "replay a trace under a kernel policy, step by step, with findings",
    load: async () => (await import("./replay.ts")).replayCommand,
  },
  check: {
    summary: "replay a trace and report each finding once, with evidence (exit 1 when found)",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  compare: {
    summary: "replay a trace under every policy and print the policy x detector matrix",
    load: async () => (await import("./compare.ts")).compareCommand,
  },
  snapshot: {
    summary: "the P2M at one step: coalesced ranges, JSON, or the kernel's debugfs text",
    load: async () => (await import("./snapshot.ts")).snapshotCommand,
  },
  map: {
    summary: "an address-space map of the guest at any step: HTML with a step slider, SVG or text",
    load: async () => (await import("./map.ts")).mapCommand,
  },
  lookup: {
    summary: "one PFN at one step: entry, pfn_to_mfn, PTE, bus address, structure, blame, history",
    load: async () => (await import("./lookup.ts")).lookupCommand,
  },
  diff: {
    summary: "the PFN ranges whose entry differs between two steps (exit 1 when any do)",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  index: {
    summary:
      "build the on-disk index that answers snapshot/lookup/diff at any step in milliseconds",
    load: async () => (await import("./index.ts")).indexCommand,
  },
  bisect: {
    summary: "the first step after which a predicate goes bad (built-in scan, or run a command)",
    load: async () => (await import("./bisect.ts")).bisectCommand,
  },
  validate: {
    summary: "check every line of a trace and list named problems (severity, count, first line)",
    load: async () => (await import("./validate.ts")).validateCommand,
  },
  minimize: {
    summary: "shrink a trace to the fewest events that still show a finding",
    load: async () => (await import("./minimize.ts")).minimizeCommand,
  },
  summarize: {
    summary: "a paste-ready summary of a trace for a bug report (plain text or Markdown)",
    load: async () => (await import("./summarize.ts")).summarizeCommand,
  },
  generate: {
    summary: "write a deterministic synthetic trace or kernel log (tests, benchmarks)",
    load: async () => (await import("./generate.ts")).generateCommand,
  },
  import: {
    summary:
      "turn another tool's recording (dmesg, bpftrace output, a debugfs p2m dump) into a trace",
    load: async () => (await import("./import.ts")).importCommand,
  },
  record: {
    summary: "record the running Xen guest's memory map, PCI devices, balloon and P2M dump",
    load: async () => (await import("./record.ts")).recordCommand,
  },
};

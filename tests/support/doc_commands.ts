/**
 * Finds the command lines the documentation shows, so a test can run each exactly as written.
 *
 * What counts as a command line:
 * - in Markdown, every line of a fenced `sh` (`bash`, `shell`) block that is not a comment;
 *   a command continues over lines ending in `\`, `&&`, `||` or `|`, and over a shell compound
 *   (`for ... do ... done`, `if ... fi`) until it closes;
 * - in a fenced `console` block, each line starting with `$ `; the lines after it, up to the next
 *   `$ ` line or the end of the block, are its exact standard output;
 * - in Markdown prose and in `help` texts, an inline example: a backquoted span (prose) or an
 *   indented line (help) that starts with `p2mtrace COMMAND`, `deno `, `npx ` or `jq `, unless it
 *   is a synopsis (it holds `...`, `[` or `<`, which mark syntax, not a command);
 * - a trailing shell comment `# exit N` states the exit status the command must give (default 0).
 *
 * A command that cannot run in a test is marked in the source, with the reason, by an HTML
 * comment anywhere in the same file:
 *
 * ```md
 * <!-- doc-test: skip `bpftrace tools/p2mtrace.bt` needs root in a running Xen guest -->
 * <!-- doc-test: exit 1 `deno run --allow-read cli.ts check` (prose cannot hold a comment) -->
 * ```
 *
 * A marker applies to every command of its file that starts with the backquoted text. A skip
 * marker must give a reason, and a marker that matches no command is itself an error, so
 * markers cannot outlive the lines they excuse.
 *
 * @module
 */

/** One documented command line. */
export interface DocCommand {
  /** The doc it comes from: a path, or `help COMMAND`. */
  file: string;
  /** 1-based line of its first line in that doc. */
  line: number;
  /** The command as written, continuation lines included, for `sh -c`. */
  text: string;
  /** The exit status the doc states (`# exit N`, a marker), else 0. */
  exit: number;
  /** Exact standard output the doc shows (a `console` block), if any. */
  stdout?: string;
  /** Why it cannot run in a test (a skip marker), if so. */
  skip?: string;
}

/** A `<!-- doc-test: ... -->` marker. */
export interface DocMarker {
  /** 1-based line of the marker. */
  line: number;
  /** `skip` or `exit`. */
  action: "skip" | "exit";
  /** The command prefix it applies to. */
  prefix: string;
  /** The skip reason, or the exit status as text. */
  value: string;
}

/** A doc's commands, and the problems with its markers (unknown form, no reason, unused). */
export interface DocExtract {
  /** Commands in document order. */
  commands: DocCommand[];
  /** Marker problems, each naming file and line. */
  problems: string[];
}

const SHELL_LANGS = new Set(["sh", "bash", "shell"]);
const INLINE_START = /^(p2mtrace [a-z][\w-]* \S|deno |npx |jq )/;
const SYNOPSIS = /\.\.\.|\[|</;

function continues(line: string): boolean {
  return /(\\|&&|\|\||\|)\s*$/.test(line);
}

function compoundDepth(line: string): number {
  const code = line.replace(/'[^']*'|"[^"]*"/g, "").replace(/(^|\s)#.*$/, "");
  const open = code.match(/(^|[;&|(]|\s)(for|while|until|if|case)\s/g)?.length ?? 0;
  const close = code.match(/(^|[;&\s])(done|fi|esac)\b/g)?.length ?? 0;
  return open - close;
}

function statedExit(text: string): number {
  const m = text.match(/#\s*exit (\d+)\b/);
  return m ? Number(m[1]) : 0;
}

/**
 * Splits the lines of a shell block into commands (continuations and compounds joined).
 *
 * @example
 * ```ts
 * import { shellCommands } from "./doc_commands.ts";
 * import assert from "node:assert/strict";
 * const cmds = shellCommands(["# note", "a \\", "  b", "c && d # exit 1"], 10);
 * assert.deepEqual(cmds.map((c) => [c.line, c.text, c.exit]), [[11, "a \\\n  b", 0],
 *   [13, "c && d # exit 1", 1]]);
 * ```
 */
export function shellCommands(
  lines: string[],
  firstLine: number,
): { line: number; text: string; exit: number }[] {
  const out: { line: number; text: string; exit: number }[] = [];
  let buf: string[] = [];
  let start = 0;
  let depth = 0;
  lines.forEach((raw, i) => {
    if (buf.length === 0) {
      if (/^\s*(#|$)/.test(raw)) return;
      start = firstLine + i;
    }
    buf.push(raw);
    depth += compoundDepth(raw);
    if (continues(raw) || depth > 0) return;
    const text = buf.join("\n");
    out.push({ line: start, text, exit: statedExit(text) });
    buf = [];
    depth = 0;
  });
  if (buf.length > 0) {
    const text = buf.join("\n");
    out.push({ line: start, text, exit: statedExit(text) });
  }
  return out;
}

/**
 * Reads the `<!-- doc-test: ... -->` markers of a doc.
 *
 * @example
 * ```ts
 * import { docMarkers } from "./doc_commands.ts";
 * import assert from "node:assert/strict";
 * const { markers } = docMarkers("a.md", "x\n<!-- doc-test: skip `deno task bench` full size -->\n");
 * assert.deepEqual(markers, [{ line: 2, action: "skip", prefix: "deno task bench", value: "full size" }]);
 * ```
 */
export function docMarkers(file: string, text: string): {
  markers: DocMarker[];
  problems: string[];
} {
  const markers: DocMarker[] = [];
  const problems: string[] = [];
  for (const m of text.matchAll(/<!--\s*doc-test:([\s\S]*?)-->/g)) {
    const line = text.slice(0, m.index).split("\n").length;
    const body = m[1].trim().replace(/\s+/g, " ");
    const skip = body.match(/^skip `([^`]+)` (.*\S)$/);
    const exit = body.match(/^exit (\d+) `([^`]+)`(.*)$/);
    if (skip) {
      markers.push({ line, action: "skip", prefix: skip[1], value: skip[2] });
    } else if (exit) {
      markers.push({ line, action: "exit", prefix: exit[2], value: exit[1] });
    } else {
      problems.push(
        `${file}:${line}: doc-test marker not understood (expected "skip \`PREFIX\` REASON" ` +
          `or "exit N \`PREFIX\`"): ${body}`,
      );
    }
  }
  return { markers, problems };
}

function applyMarkers(
  file: string,
  commands: DocCommand[],
  markers: DocMarker[],
  problems: string[],
): void {
  for (const mk of markers) {
    const hits = commands.filter((c) => c.text.startsWith(mk.prefix));
    if (hits.length === 0) {
      problems.push(
        `${file}:${mk.line}: doc-test marker matches no command line: \`${mk.prefix}\``,
      );
    }
    for (const c of hits) {
      if (mk.action === "skip") c.skip = mk.value;
      else c.exit = Number(mk.value);
    }
  }
}

/**
 * Every command line of a Markdown doc, with markers applied.
 *
 * @example
 * ```ts
 * import { markdownCommands } from "./doc_commands.ts";
 * import assert from "node:assert/strict";
 * const fence = "`".repeat(3);
 * const md = [
 *   "Run `p2mtrace check t.jsonl` or `p2mtrace help <cmd>`.",
 *   fence + "console",
 *   "$ echo hi",
 *   "hi",
 *   fence,
 * ].join("\n");
 * const { commands } = markdownCommands("a.md", md);
 * assert.deepEqual(commands.map((c) => [c.line, c.text, c.stdout]), [
 *   [1, "p2mtrace check t.jsonl", undefined],
 *   [3, "echo hi", "hi\n"],
 * ]);
 * ```
 */
export function markdownCommands(file: string, text: string): DocExtract {
  const lines = text.split("\n");
  const commands: DocCommand[] = [];
  let fence: { marker: string; lang: string; start: number; body: string[] } | undefined;
  let inComment = false;
  lines.forEach((line, i) => {
    if (fence) {
      if (line.trim() === fence.marker) {
        commands.push(...fenceCommands(file, fence.lang, fence.body, fence.start + 1));
        fence = undefined;
      } else fence.body.push(line);
      return;
    }
    const open = line.match(/^\s*(```+|~~~+)\s*([\w-]*)/);
    if (open) {
      fence = { marker: open[1], lang: open[2], start: i + 1, body: [] };
      return;
    }
    // HTML comments (markers included) are not prose.
    let prose = line;
    if (inComment) {
      const end = prose.indexOf("-->");
      if (end < 0) return;
      prose = prose.slice(end + 3);
      inComment = false;
    }
    prose = prose.replace(/<!--[\s\S]*?-->/g, "");
    if (prose.includes("<!--")) {
      inComment = true;
      prose = prose.slice(0, prose.indexOf("<!--"));
    }
    if (/^\s*#/.test(prose)) return; // a heading names a command, it shows no example
    for (const m of prose.matchAll(/`([^`]+)`/g)) {
      const span = m[1];
      if (INLINE_START.test(span) && !SYNOPSIS.test(span)) {
        commands.push({ file, line: i + 1, text: span, exit: 0 });
      }
    }
  });
  const { markers, problems } = docMarkers(file, text);
  applyMarkers(file, commands, markers, problems);
  return { commands, problems };
}

function fenceCommands(file: string, lang: string, body: string[], first: number): DocCommand[] {
  const indent = Math.min(
    ...body.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
  );
  const lines = body.map((l) => l.slice(Number.isFinite(indent) ? indent : 0));
  if (SHELL_LANGS.has(lang)) {
    return shellCommands(lines, first).map((c) => ({ file, ...c }));
  }
  if (lang !== "console") return [];
  const out: DocCommand[] = [];
  lines.forEach((l, i) => {
    if (l.startsWith("$ ")) {
      const text = l.slice(2);
      out.push({ file, line: first + i, text, exit: statedExit(text), stdout: "" });
    } else if (out.length > 0) {
      out[out.length - 1].stdout += l + "\n";
    }
  });
  return out;
}

/**
 * The examples of a `help` text: indented lines starting with `p2mtrace COMMAND` or `deno `
 * (continued over `&&`, `|`, `\`), except synopses and the `usage:` paragraph.
 *
 * @example
 * ```ts
 * import { helpCommands } from "./doc_commands.ts";
 * import assert from "node:assert/strict";
 * const help = "usage: p2mtrace check TRACE [options]\n\n  p2mtrace import dmesg b.log &&\n" +
 *   "  p2mtrace check t.jsonl   # exit 1\n";
 * assert.deepEqual(helpCommands("check", help).map((c) => [c.line, c.exit]), [[3, 1]]);
 * ```
 */
export function helpCommands(command: string, help: string): DocCommand[] {
  const file = `help ${command}`;
  const lines = help.split("\n");
  const out: DocCommand[] = [];
  let usage = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    // The usage paragraph is synopses: "usage: p2mtrace x TRACE" and its continuation lines.
    if (l.startsWith("usage:")) usage = true;
    if (l.trim() === "") usage = false;
    if (usage || !/^\s{2,}(p2mtrace [a-z]|deno )/.test(l)) continue;
    const start = i;
    const parts = [l.trim()];
    while (continues(lines[i]) && i + 1 < lines.length) parts.push(lines[++i].trim());
    const text = parts.join("\n");
    if (SYNOPSIS.test(text.replace(/#.*$/gm, ""))) continue;
    out.push({ file, line: start + 1, text, exit: statedExit(text) });
  }
  return out;
}

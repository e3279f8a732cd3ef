/**
 * The error every sysfs/procfs/debugfs parser of `record` throws when a file is not in the
 * kernel's format. The assembler catches it and degrades with a note; the message names the
 * guest path, the line and what was expected.
 *
 * @module
 */

import { type SourcePosition, TraceError } from "../../errors.ts";

/**
 * A guest file that is not in the format the kernel writes.
 *
 * @example
 * ```ts
 * import { SysfsFormatError } from "./format_error.ts";
 * import assert from "node:assert/strict";
 * const e = new SysfsFormatError({ file: "/proc/iomem", line: 3 }, 'a line "start-end : name"', '"x"');
 * assert.equal(e.message, '/proc/iomem:3: expected a line "start-end : name", got "x"');
 * assert.equal(e.exitCode, 65);
 * ```
 */
export class SysfsFormatError extends TraceError {
  /** Builds the error; the field is always undefined (whole-line problems). */
  constructor(position: SourcePosition, expected: string, got?: string) {
    super(position, undefined, expected, got);
    this.name = "SysfsFormatError";
  }
}

/**
 * A file's text, shortened and quoted for an error message.
 *
 * @example
 * ```ts
 * import { quoted } from "./format_error.ts";
 * import assert from "node:assert/strict";
 * assert.equal(quoted("0x1000\n"), '"0x1000"');
 * ```
 */
export function quoted(text: string): string {
  const t = text.trimEnd();
  return JSON.stringify(t.length > 60 ? t.slice(0, 57) + "..." : t);
}

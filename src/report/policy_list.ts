/**
 * `--policy list`: every policy with its summary, description and options.
 *
 * @module
 */

import { POLICIES } from "../policy/policies.ts";

/** Wraps `text` at `width` columns with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

/**
 * The text of `--policy list`.
 *
 * @example
 * ```ts
 * import { policyListText } from "./policy_list.ts";
 * import assert from "node:assert/strict";
 * assert.match(policyListText(), /^linux-3\.12: /);
 * ```
 */
export function policyListText(): string {
  const out: string[] = [];
  for (const [name, def] of POLICIES) {
    out.push(`${name}: ${def.base.summary}`);
    out.push(...wrap(def.base.description, 100, "    "));
    for (const o of def.options) {
      out.push(`    option ${o.name}=${o.values.join("|")} (default ${o.values[0]})`);
      out.push(...wrap(o.description, 100, "        "));
    }
    out.push("");
  }
  return out.join("\n");
}

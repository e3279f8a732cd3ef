/**
 * Keys given twice in one JSON object. `JSON.parse` keeps the last value of a repeated key and
 * drops the others without a word, so `{"kind":"lookup","kind":"mark"}` would replay as a mark
 * and a trace's own data would be lost. RFC 8259 leaves such an object's meaning to the
 * reader; p2mtrace refuses it, naming the key.
 *
 * @module
 */

import { type SourcePosition, TraceError } from "../errors.ts";

/**
 * A key was given twice in one object of a JSON text: `path` names it as the trace errors name
 * fields (`kind`, `guest.type`, `resources[1].flags`).
 *
 * @example
 * ```ts
 * import { parseJson, RepeatedKeyError } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseJson('{"a":1,"a":2}'), RepeatedKeyError);
 * ```
 */
export class RepeatedKeyError extends SyntaxError {
  /** The repeated key, as a field path. */
  readonly path: string;

  /** The error for the key at `path`. */
  constructor(path: string) {
    super(`the key "${path}" is given twice in one object`);
    this.name = "RepeatedKeyError";
    this.path = path;
  }
}

/**
 * The trace error for a key given twice on the line at `position`.
 *
 * @example
 * ```ts
 * import { RepeatedKeyError, repeatedKeyError } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * const e = repeatedKeyError({ file: "t.jsonl", line: 3 }, new RepeatedKeyError("kind"));
 * assert.equal(e.field, "kind");
 * ```
 */
export function repeatedKeyError(position: SourcePosition, e: RepeatedKeyError): TraceError {
  return new TraceError(
    position,
    e.path,
    "each key once in an object",
    "it twice (JSON keeps only the last value, so the others would be lost)",
  );
}

/**
 * `JSON.parse(text)`, refusing a key given twice in one object ({@link RepeatedKeyError});
 * malformed text throws `JSON.parse`'s own `SyntaxError`.
 *
 * @example
 * ```ts
 * import { parseJson } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseJson('{"seq":1,"pfns":["0x10"]}'), { seq: 1, pfns: ["0x10"] });
 * assert.throws(() => parseJson('{"guest":{"type":"pv","type":"hvm"}}'), /"guest.type"/);
 * ```
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(text);
  const path = repeatedKey(text);
  if (path !== undefined) throw new RepeatedKeyError(path);
  return value;
}

/**
 * The path of the first key given twice in one object of `text`, valid JSON; undefined when
 * every object's keys are distinct. Keys are compared as `JSON.parse` reads them, so
 * `"kind"` and `"k\u0069nd"` are the same key.
 *
 * @example
 * ```ts
 * import { repeatedKey } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * assert.equal(repeatedKey('{"a":1,"b":{"a":2}}'), undefined);
 * assert.equal(repeatedKey('{"r":[{"f":1},{"f":1,"f":2}]}'), "r[1].f");
 * assert.equal(repeatedKey('{"kind":1,"k\\u0069nd":2}'), "kind");
 * ```
 */
export function repeatedKey(text: string): string | undefined {
  // One frame per open object or array: an object's keys so far, or an array's index.
  const keys: (Set<string> | undefined)[] = [];
  const names: (string | number)[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 123) { // {
      keys.push(new Set());
      names.push("");
      expectKey = true;
    } else if (c === 91) { // [
      keys.push(undefined);
      names.push(0);
      expectKey = false;
    } else if (c === 125 || c === 93) { // } ]
      keys.pop();
      names.pop();
      expectKey = false; // `{}`: no key came
    } else if (c === 44) { // ,
      const top = names.length - 1;
      if (keys[top] === undefined) (names[top] as number)++;
      else expectKey = true;
    } else if (c === 34) { // a string
      let e = i + 1;
      let escaped = false;
      for (; e < n; e++) {
        const d = text.charCodeAt(e);
        if (d === 34) break;
        if (d === 92) {
          escaped = true;
          e++;
        }
      }
      if (expectKey) {
        const key = escaped ? JSON.parse(text.slice(i, e + 1)) as string : text.slice(i + 1, e);
        const top = keys.length - 1;
        const seen = keys[top]!;
        names[top] = key;
        if (seen.has(key)) return pathOf(names);
        seen.add(key);
        expectKey = false;
      }
      i = e;
    }
  }
  return undefined;
}

/** `names` (object keys and array indexes, outermost first) as a field path. */
function pathOf(names: readonly (string | number)[]): string {
  let path = "";
  for (const name of names) {
    if (typeof name === "number") path += `[${name}]`;
    else path += path === "" ? name : `.${name}`;
  }
  return path;
}

/**
 * Keys given twice in one JSON object. `JSON.parse` keeps the last value of a repeated key and
 * drops the others without a word, so `{"kind":"lookup","kind":"mark"}` would replay as a mark
 * and a trace's own data would be lost. RFC 8259 leaves such an object's meaning to the
 * reader; p2mtrace refuses it, naming the key.
 *
 * @module
 */

import { type SourcePosition, TraceError } from "../errors.ts";

/** Most members one object of a record may hold (a trace record has about a dozen). */
export const MAX_MEMBERS = 1024;

/** What is wrong with an object's keys. */
export type KeysProblem = "repeated-key" | "too-many-members";

/**
 * An object of a JSON text repeats a key, or holds more than {@link MAX_MEMBERS} members:
 * `path` names the key, or the object, as the trace errors name fields (`kind`, `guest.type`,
 * `resources[1].flags`; `""` for the record itself).
 *
 * @example
 * ```ts
 * import { ObjectKeysError, parseJson } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseJson('{"a":1,"a":2}'), ObjectKeysError);
 * ```
 */
export class ObjectKeysError extends SyntaxError {
  /** What is wrong. */
  readonly problem: KeysProblem;
  /** The repeated key, or the object with too many members, as a field path. */
  readonly path: string;

  /** The error for `problem` at `path`. */
  constructor(problem: KeysProblem, path: string) {
    super(
      problem === "repeated-key"
        ? `the key "${path}" is given twice in one object`
        : `an object${path === "" ? "" : ` ("${path}")`} holds more than ${MAX_MEMBERS} members`,
    );
    this.name = "ObjectKeysError";
    this.problem = problem;
    this.path = path;
  }

  /**
   * This error as the trace error for the line at `position`.
   *
   * @example
   * ```ts
   * import { ObjectKeysError } from "./json_keys.ts";
   * import assert from "node:assert/strict";
   * const e = new ObjectKeysError("repeated-key", "kind").traceError({ file: "t.jsonl", line: 3 });
   * assert.equal(e.field, "kind");
   * ```
   */
  traceError(position: SourcePosition): TraceError {
    if (this.problem === "repeated-key") {
      return new TraceError(
        position,
        this.path,
        "each key once in an object",
        "it twice (JSON keeps only the last value, so the others would be lost)",
      );
    }
    return new TraceError(
      position,
      this.path === "" ? undefined : this.path,
      `at most ${MAX_MEMBERS} members in an object`,
      "more",
    );
  }
}

/**
 * `JSON.parse(text)`, refusing an object that repeats a key or holds more than
 * {@link MAX_MEMBERS} members ({@link ObjectKeysError}); the members are counted before
 * anything is built, so a line of millions of keys costs no memory. Malformed text throws
 * `JSON.parse`'s own `SyntaxError`.
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
  const found = keysProblem(text);
  if (found?.problem === "too-many-members") throw found;
  const value = JSON.parse(text);
  if (found !== undefined) throw found;
  return value;
}

/**
 * The path of the first key given twice in one object of `text`, valid JSON; undefined when
 * every object's keys are distinct (see {@link keysProblem}).
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
  const found = keysProblem(text);
  return found?.problem === "repeated-key" ? found.path : undefined;
}

/**
 * The first object of `text` that repeats a key or holds more than {@link MAX_MEMBERS}
 * members, as the error to throw; undefined when there is none. Keys are compared as
 * `JSON.parse` reads them, so `"kind"` and `"k\u0069nd"` are the same key. Malformed text
 * gives some answer and never a crash: `JSON.parse` then says what is wrong with it.
 *
 * @example
 * ```ts
 * import { keysProblem } from "./json_keys.ts";
 * import assert from "node:assert/strict";
 * assert.equal(keysProblem('{"a":1,"b":{"a":2}}'), undefined);
 * assert.equal(keysProblem('{"a":1,"a":2}')?.problem, "repeated-key");
 * ```
 */
export function keysProblem(text: string): ObjectKeysError | undefined {
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
        let key = text.slice(i + 1, e);
        if (escaped) {
          try {
            key = JSON.parse(text.slice(i, e + 1));
          } catch {
            return undefined; // a bad escape: JSON.parse(text) says so
          }
        }
        const top = keys.length - 1;
        const seen = keys[top]!;
        names[top] = key;
        if (seen.has(key)) return new ObjectKeysError("repeated-key", pathOf(names));
        if (seen.size === MAX_MEMBERS) {
          return new ObjectKeysError("too-many-members", pathOf(names.slice(0, top)));
        }
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

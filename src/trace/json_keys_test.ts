import fc from "fast-check";
import assert from "node:assert/strict";
import { MAX_MEMBERS, ObjectKeysError, parseJson, repeatedKey } from "./json_keys.ts";

// RFC 8259 section 4: names within an object SHOULD be unique, and JSON.parse keeps the last
// value of a repeated one. p2mtrace refuses such an object, so these pin repeatedKey.

Deno.test("repeatedKey names the first key given twice in one object, as a field path", () => {
  for (
    const [text, want] of [
      ['{"seq":1,"kind":"lookup","kind":"mark"}', "kind"],
      ['{"a":1,"b":{"a":2}}', undefined],
      ['{"a":{"x":1},"b":{"x":1}}', undefined],
      ['{"guest":{"type":"pv","type":"hvm"}}', "guest.type"],
      ['{"resources":[{"flags":1},{"flags":1,"flags":2}]}', "resources[1].flags"],
      ['{"r":[[1,2],[{"a":1,"a":1}]]}', "r[1][0].a"],
      ['[{"a":1},{"a":1,"a":2}]', "[1].a"],
      ['{"kind":"x","k\\u0069nd":"y"}', "kind"],
      ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
      ['{"t":"\\",\\"t\\":{","u":1}', undefined],
      ['{"t":"x\\\\","t":2}', "t"],
      ['{ "a" : 1 , "a" : 2 }', "a"],
      ['{"a":[],"b":{},"a":null}', "a"],
      ['{"__proto__":1,"__proto__":2}', "__proto__"],
      ["{}", undefined],
      ['"a"', undefined],
    ] as const
  ) {
    assert.equal(repeatedKey(text), want, text);
  }
});

Deno.test("parseJson refuses a repeated key and gives JSON.parse's value and errors otherwise", () => {
  assert.throws(
    () => parseJson('{"kind":"lookup","kind":"mark"}'),
    new ObjectKeysError("repeated-key", "kind"),
  );
  assert.deepEqual(parseJson('{"a":[1,{"b":2}]}'), { a: [1, { b: 2 }] });
  assert.throws(() => parseJson('{"a":1,}'), SyntaxError);
  assert.throws(() => parseJson('{"a":1,}'), (e) => !(e instanceof ObjectKeysError));
});

Deno.test("an object of more than MAX_MEMBERS members is refused before it is built", () => {
  const obj = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(",")}}`;
  assert.equal(Object.keys(parseJson(obj(MAX_MEMBERS)) as object).length, MAX_MEMBERS);
  assert.throws(() => parseJson(obj(MAX_MEMBERS + 1)), new ObjectKeysError("too-many-members", ""));
  assert.throws(
    () => parseJson(`{"r":[1,${obj(MAX_MEMBERS + 1)}]}`),
    new ObjectKeysError("too-many-members", "r[1]"),
  );
  // Counted before JSON.parse: the error comes even where the text is malformed after it.
  assert.throws(() => parseJson(obj(MAX_MEMBERS + 1) + ","), ObjectKeysError);
});

Deno.test("JSON.stringify's output never has a repeated key, compact or indented (fast-check)", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.equal(repeatedKey(JSON.stringify(v)), undefined);
      assert.equal(repeatedKey(JSON.stringify(v, null, 2)), undefined);
    }),
    { seed: 31, numRuns: 2000 },
  );
});

/** An object as its members in order, so a key may repeat; a leaf is any JSON text. */
type Node = { members: [string, Node][] } | { items: Node[] } | { leaf: string };

const leaf = fc.oneof(
  fc.constantFrom('"{"', '"}"', '"\\""', '"a\\\\"', '",\\"a\\":"', '":"', "[]", "{}", "1", "null"),
  fc.jsonValue().map((v) => JSON.stringify(v)),
).map((text) => ({ leaf: text }) as Node);

const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(fc.tuple(fc.constantFrom("a", "b", "kind", 'q"', "é"), tie("node")), {
      maxLength: 5,
    }).map((members) => ({ members }) as Node),
    fc.array(tie("node"), { maxLength: 4 }).map((items) => ({ items }) as Node),
  ),
})).node;

/** `node` as JSON text; a key's characters are sometimes written as `\u` escapes. */
function render(n: Node, escape: boolean): string {
  if ("leaf" in n) return n.leaf;
  if ("items" in n) return `[${n.items.map((i) => render(i, escape)).join(",")}]`;
  const key = (k: string) =>
    escape
      ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`
      : JSON.stringify(k);
  return `{${n.members.map(([k, v]) => `${key(k)}:${render(v, escape)}`).join(",")}}`;
}

/** The oracle: the first repeat met walking the tree in document order, as a path. */
function firstRepeat(n: Node, path: string): string | undefined {
  if ("leaf" in n) return undefined;
  if ("items" in n) {
    for (let i = 0; i < n.items.length; i++) {
      const r = firstRepeat(n.items[i], `${path}[${i}]`);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (const [k, v] of n.members) {
    const p = path === "" ? k : `${path}.${k}`;
    if (seen.has(k)) return p;
    seen.add(k);
    const r = firstRepeat(v, p);
    if (r !== undefined) return r;
  }
  return undefined;
}

Deno.test("repeatedKey finds what a walk of the object tree finds, escaped keys too (fast-check)", () => {
  fc.assert(
    fc.property(node, fc.boolean(), (n, escape) => {
      assert.equal(repeatedKey(render(n, escape)), firstRepeat(n, ""));
    }),
    { seed: 32, numRuns: 3000 },
  );
});

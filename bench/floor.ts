/**
 * The floor every JavaScript trace tool stands on: read the file, split it into lines and
 * `JSON.parse` every line; nothing else. With `--no-parse`, only read and split (the floor of a
 * log importer). Prints the number of lines.
 *
 * Usage: `deno run --allow-read bench/floor.ts FILE [--no-parse]`
 *
 * @module
 */

if (import.meta.main) {
  const parse = !Deno.args.includes("--no-parse");
  const file = await Deno.open(Deno.args[0], { read: true });
  const decoder = new TextDecoder();
  let carry = "";
  let count = 0;
  for await (const chunk of file.readable) {
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const line of lines) {
      if (line.length === 0) continue;
      if (parse) JSON.parse(line);
      count++;
    }
  }
  carry += decoder.decode();
  if (carry.length > 0) {
    if (parse) JSON.parse(carry);
    count++;
  }
  console.log(count);
}

/**
 * Tests hand the CLI paths such as `traces/pcie-bar-above-e820.jsonl`, which golden output
 * names, so they must resolve against the repository, not against wherever `deno test` was
 * started. Importing this module makes the repository root (found from this file) the working
 * directory of the test process.
 *
 * @module
 */

/** The repository root. */
export const REPO_ROOT: URL = new URL("../../", import.meta.url);

Deno.chdir(REPO_ROOT);

/**
 * The tool's name and version, printed by `p2mtrace version` and written into trace headers
 * and bug-report blocks.
 *
 * @module
 */

/** Tool name. */
export const TOOL_NAME = "p2mtrace";
/** Tool version; matches deno.json. */
export const TOOL_VERSION = "0.1.0";

/**
 * Direct P2M writes seen at runtime: `set_phys_range_identity` and the set_phys_to_machine
 * family. An auto-translated guest has no P2M to write.
 *
 * @module
 */

import { K } from "../../p2m/leaf_runs.ts";
import { add } from "../../model/outcome.ts";
import type { Handler } from "../handler.ts";

/** `set_phys_range_identity(pfn_s, pfn_e)`. */
export const onSetIdentity: Handler<"set_identity"> = (d, e, out) => {
  if (d.guest.type !== "pv") return;
  const n = d.p2m.setIdentityRange(e.range.pfn, e.range.endPfn);
  if (n > 0) {
    add(
      out,
      "messages",
      `1-1 mapping on ${e.range.pfn.toString(16)}->${(e.range.pfn + n).toString(16)}`,
    );
  } else {
    add(
      out,
      "messages",
      `set_phys_range_identity(${e.range.pfn.toString(16)}, ${
        e.range.endPfn.toString(16)
      }) returned 0`,
    );
  }
};

const VALUE_KIND = { mfn: K.MFN, invalid: K.INVALID, identity: K.IDENTITY, foreign: K.FOREIGN };

/** One of `set_phys_to_machine`, `__set_phys_to_machine`, `early_set_phys_to_machine`. */
export const onSetP2m: Handler<"set_p2m"> = (d, e, out) => {
  if (d.guest.type !== "pv") return;
  const failed = d.p2m.write(e.range.pfn, e.range.endPfn, {
    kind: VALUE_KIND[e.value],
    base: e.mfn ?? 0,
    startPfn: e.range.pfn,
  }, e.primitive);
  if (failed > 0) {
    add(out, "messages", `${e.primitive} failed for ${failed} PFN(s): the leaf is missing`);
  }
};

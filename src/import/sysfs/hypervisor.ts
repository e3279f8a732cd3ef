/**
 * What kind of Xen guest `record` runs in, from the files a guest can read without hypercalls:
 * `/sys/hypervisor/{type,guest_type,uuid}`, `/sys/hypervisor/properties/features` (the
 * XENVER_get_features bitmap, `%08x`), `/sys/hypervisor/start_flags/initdomain` (v6.x),
 * `/sys/hypervisor/version/{major,minor,extra}`, `/proc/xen/capabilities` (xenfs) and
 * `/proc/sys/kernel/osrelease`. Each decision says which file decided it, so the trace header
 * can show its derivation.
 *
 * @module
 */

import type { GuestType } from "../../trace/event.ts";
import { quoted, SysfsFormatError } from "./format_error.ts";

/** XENFEAT_auto_translated_physmap: the guest does not manage a P2M (HVM, PVH). */
export const XENFEAT_AUTO_TRANSLATED_PHYSMAP = 2;
/** XENFEAT_dom0: the domain is the hardware domain. */
export const XENFEAT_DOM0 = 11;

/** The files' contents, trimmed; absent when the file could not be read. */
export interface HypervisorFiles {
  /** `/sys/hypervisor/type` (`xen`). */
  type?: string;
  /** `/sys/hypervisor/guest_type` (v4.13+: `PV`, `HVM`, `PVH`). */
  guestType?: string;
  /** `/sys/hypervisor/properties/features`, parsed. */
  features?: number;
  /** `/proc/xen/capabilities` (`control_d` in dom0, empty in a domU). */
  capabilities?: string;
  /** `/sys/hypervisor/start_flags/initdomain` (`1` in dom0). */
  initdomain?: string;
  /** `/sys/hypervisor/uuid` (all zeros for dom0). */
  uuid?: string;
}

/** A decided value and the file (and content) that decided it. */
export interface Decision<T> {
  /** The value. */
  value: T;
  /** How it was decided, for the trace header. */
  from: string;
  /** True when no file decided it and a default was taken. */
  assumed: boolean;
}

/**
 * Parses the `features` file (`%08x` per submap, no `0x`).
 *
 * @example
 * ```ts
 * import { parseFeatures } from "./hypervisor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseFeatures("000008e0\n", "features"), 0x8e0);
 * ```
 */
export function parseFeatures(text: string, file: string): number {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{1,8}$/.test(t)) {
    throw new SysfsFormatError({ file, line: 1 }, "a feature bitmap in hex (%08x)", quoted(text));
  }
  return parseInt(t, 16);
}

function bit(features: number, n: number): boolean {
  return ((features >>> n) & 1) === 1;
}

/**
 * PV, HVM or PVH: `guest_type` when the kernel has it (v4.13+); otherwise the
 * auto-translated-physmap feature bit (set: HVM, since PVH cannot be told apart without
 * `guest_type` — both are auto-translated, and replay treats them alike); otherwise `control_d`
 * (dom0 kernels before PVH dom0 are PV); otherwise PV, assumed.
 *
 * @example
 * ```ts
 * import { decideGuestType } from "./hypervisor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decideGuestType({ type: "xen", guestType: "PVH" }).value, "pvh");
 * assert.equal(decideGuestType({ type: "xen", features: 0x8e0 }).value, "pv");
 * assert.equal(decideGuestType({ type: "xen", features: 0x2705 }).value, "hvm");
 * assert.equal(decideGuestType({}).assumed, true);
 * ```
 */
export function decideGuestType(f: HypervisorFiles): Decision<GuestType> {
  const g = f.guestType?.toUpperCase();
  if (g === "PV" || g === "HVM" || g === "PVH") {
    return {
      value: g.toLowerCase() as GuestType,
      from: `/sys/hypervisor/guest_type is ${f.guestType}`,
      assumed: false,
    };
  }
  if (f.features !== undefined) {
    const hex = f.features.toString(16).padStart(8, "0");
    return bit(f.features, XENFEAT_AUTO_TRANSLATED_PHYSMAP)
      ? {
        value: "hvm",
        from: `/sys/hypervisor/properties/features ${hex} has auto_translated_physmap ` +
          "(HVM or PVH: both auto-translated; PVH needs guest_type, v4.13+, to tell)",
        assumed: false,
      }
      : {
        value: "pv",
        from: `/sys/hypervisor/properties/features ${hex} lacks auto_translated_physmap`,
        assumed: false,
      };
  }
  if (f.capabilities !== undefined && f.capabilities.includes("control_d")) {
    return {
      value: "pv",
      from: "/proc/xen/capabilities has control_d (a dom0 without guest_type or features is PV)",
      assumed: false,
    };
  }
  const why = f.type === undefined
    ? "/sys/hypervisor/type is unreadable (not a Xen guest?)"
    : `/sys/hypervisor/type is ${JSON.stringify(f.type)} and nothing tells the guest type`;
  return { value: "pv", from: `assumed pv: ${why}`, assumed: true };
}

/**
 * dom0 or domU: `/proc/xen/capabilities` (`control_d` means dom0); otherwise
 * `start_flags/initdomain`; otherwise the XENFEAT_dom0 feature bit; otherwise the domain UUID
 * (all zeros is dom0); otherwise domU, assumed.
 *
 * @example
 * ```ts
 * import { decideDomain } from "./hypervisor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decideDomain({ capabilities: "control_d" }).value, "dom0");
 * assert.equal(decideDomain({ capabilities: "" }).value, "domU");
 * assert.equal(decideDomain({ features: 0x8e0 }).value, "dom0");
 * assert.equal(decideDomain({ uuid: "00000000-0000-0000-0000-000000000000" }).value, "dom0");
 * assert.equal(decideDomain({}).assumed, true);
 * ```
 */
export function decideDomain(f: HypervisorFiles): Decision<"dom0" | "domU"> {
  if (f.capabilities !== undefined) {
    const dom0 = f.capabilities.includes("control_d");
    return {
      value: dom0 ? "dom0" : "domU",
      from: `/proc/xen/capabilities ${dom0 ? "has" : "lacks"} control_d`,
      assumed: false,
    };
  }
  if (f.initdomain === "1" || f.initdomain === "0") {
    return {
      value: f.initdomain === "1" ? "dom0" : "domU",
      from: `/sys/hypervisor/start_flags/initdomain is ${f.initdomain}`,
      assumed: false,
    };
  }
  if (f.features !== undefined) {
    const dom0 = bit(f.features, XENFEAT_DOM0);
    return {
      value: dom0 ? "dom0" : "domU",
      from: `/sys/hypervisor/properties/features ${dom0 ? "has" : "lacks"} XENFEAT_dom0`,
      assumed: false,
    };
  }
  if (f.uuid !== undefined && /^[0-9a-f-]{36}$/i.test(f.uuid)) {
    const dom0 = /^[0-]+$/.test(f.uuid);
    return {
      value: dom0 ? "dom0" : "domU",
      from: `/sys/hypervisor/uuid is ${dom0 ? "all zeros (dom0's)" : "not all zeros"}`,
      assumed: false,
    };
  }
  return { value: "domU", from: "assumed domU: nothing tells dom0 from domU", assumed: true };
}

/**
 * The hypervisor version as `xl info` prints it: `major.minor` plus `extra` verbatim.
 *
 * @example
 * ```ts
 * import { xenVersion } from "./hypervisor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(xenVersion("4\n", "4\n", ".1\n"), "4.4.1");
 * assert.equal(xenVersion("4", "18", undefined), "4.18");
 * assert.equal(xenVersion(undefined, "4", ".1"), undefined);
 * ```
 */
export function xenVersion(
  major: string | undefined,
  minor: string | undefined,
  extra: string | undefined,
): string | undefined {
  const ma = major?.trim();
  const mi = minor?.trim();
  if (!ma || !mi || !/^\d+$/.test(ma) || !/^\d+$/.test(mi)) return undefined;
  return `${ma}.${mi}${extra?.trim() ?? ""}`;
}

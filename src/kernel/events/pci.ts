/**
 * PCI events: host bridges, `xen_add_device`/`xen_remove_device` notifications and resource
 * (re)assignment. Released kernels only record them; the patch rules of a policy (seed BAR walk,
 * host-bridge windows) write identity from them.
 *
 * @module
 */

import type { Resource } from "../../trace/event.ts";
import type { ModelDraft } from "../../model/state.ts";
import { add, type StepOutcome } from "../../model/outcome.ts";
import { applyIdentityRule } from "../identity_rule.ts";
import { isMmio, isUnassigned, resourceName, resourcePfns } from "../pci_resource.ts";
import { IORESOURCE } from "../ioresource.ts";
import type { Handler } from "../handler.ts";

/** Runs the policy's identity rule over `r` and records the walk and its grants. */
function grantIdentity(
  d: ModelDraft,
  out: StepOutcome,
  r: Resource,
  source: string,
  seq: number,
  ioAsMemory: boolean,
  device?: string,
): void {
  const span = resourcePfns(r);
  const written = applyIdentityRule(d, span);
  add(out, "rules", { source, resource: r, span, written, ioAsMemory });
  for (const w of written) {
    d.addGrant(
      device === undefined
        ? { range: w, source, seq }
        : { range: w, source, device, index: r.index, seq },
    );
  }
}

/** A root bus appears with its windows; the host-bridge rule walks its memory windows. */
export const onPciHostBridge: Handler<"pci_host_bridge"> = (d, e, out) => {
  d.setBridge(e.bus, e.resources);
  if (!d.policy.bridgeRule || d.guest.type !== "pv") return;
  for (const w of e.resources) {
    if ((w.flags & IORESOURCE.MEM) === 0 || (!d.policy.walkUnset && isUnassigned(w))) continue;
    const source = `bus ${e.bus} window [mem 0x${w.start.toString(16)}-0x${w.end.toString(16)}]`;
    grantIdentity(d, out, w, source, e.seq, false);
  }
};

/** `xen_add_device` (dom0): the device is recorded; the seed patch walks its resources. */
export const onXenAddDevice: Handler<"xen_add_device"> = (d, e, out) => {
  d.setDevice({ device: e.device, resources: e.resources, seq: e.seq });
  const walk = d.policy.barWalk;
  if (!walk || d.guest.type !== "pv" || d.guest.domain !== "dom0") return;
  for (const r of e.resources) {
    const io = (r.flags & IORESOURCE.TYPE_BITS) === IORESOURCE.IO;
    const skip = walk.skip === "eq" ? r.flags === IORESOURCE.IO : (r.flags & IORESOURCE.IO) !== 0;
    if (skip) continue;
    if (!d.policy.walkUnset && isUnassigned(r)) continue;
    grantIdentity(d, out, r, `${e.device} ${resourceName(r.index)}`, e.seq, io, e.device);
  }
};

/** `xen_remove_device`. */
export const onXenRemoveDevice: Handler<"xen_remove_device"> = (d, e, out) => {
  const removed = d.removeDevice(e.device);
  if (removed) out.removed = removed;
  else {
    add(out, "anomalies", { message: `xen_remove_device of ${e.device}, which was never added` });
  }
};

/**
 * A resource assigned, reassigned, claimed, released or failed: the device's resources follow;
 * a moved resource is stale-identity evidence; with `windows=all` a bridge window is walked.
 */
export const onPciResourceAssign: Handler<"pci_resource_assign"> = (d, e, out) => {
  const dev = d.devices.get(e.device);
  const resources = dev ? dev.resources.slice() : [];
  const i = resources.findIndex((r) => r.index === e.resource.index);
  const before = i >= 0 ? resources[i] : undefined;
  if (e.action === "released" || e.action === "failed") {
    if (i >= 0) resources.splice(i, 1);
  } else if (i >= 0) resources[i] = e.resource;
  else resources.push(e.resource);
  d.setDevice({ device: e.device, resources, seq: dev?.seq ?? e.seq });
  if (
    before &&
    (before.start !== e.resource.start || before.end !== e.resource.end ||
      e.action === "released")
  ) {
    add(out, "moved", { device: e.device, before, after: e.resource, action: e.action });
  }
  if (
    d.policy.bridgeRule?.windows === "all" && d.guest.type === "pv" && e.resource.index >= 13 &&
    isMmio(e.resource)
  ) {
    const source = `${e.device} ${resourceName(e.resource.index)}`;
    grantIdentity(d, out, e.resource, source, e.seq, false, e.device);
  }
};

/**
 * A piecewise PFN axis: the PFN space cut at the boundaries that matter (E820 entries, BARs,
 * windows, P2M structure changes), each segment drawn linearly inside but given a width that
 * grows with the logarithm of its length. A 4 KiB BAR, a 64 GiB E820 map and a 512 GiB tree
 * then share one screen. A segment drawn much narrower than a linear axis would draw it is
 * **compressed**, and the picture marks it with a break.
 *
 * Invariants: `starts[0] === 0`, segments are contiguous and non-empty, `x[i + 1] === x[i] +
 * w[i]`, every `w[i] >= minWidth`, and the widths sum to `width`.
 *
 * @module
 */

/** A piecewise axis (see the module header). */
export interface Axis {
  /** First PFN of each segment. */
  starts: number[];
  /** One past the last PFN of the axis. */
  endPfn: number;
  /** Left edge of each segment, in drawing units (pixels or columns). */
  x: number[];
  /** Width of each segment. */
  w: number[];
  /** Total width. */
  width: number;
  /** Whether each segment is drawn at less than a quarter of its linear share. */
  compressed: boolean[];
}

/** How important a cut is: higher priorities survive when there are too many. */
export type CutPriority = 1 | 2 | 3;

/** Options of {@link buildAxis}. */
export interface AxisOptions {
  /** Total width. */
  width: number;
  /** Narrowest segment. */
  minWidth: number;
}

function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor((i * xs.length) / n)]);
  return out;
}

/**
 * Builds an axis over `[0, endPfn)` cut at `cuts` (PFN to priority). When the cuts would need
 * segments narrower than `minWidth`, the lowest-priority cuts go first (spread evenly within
 * the priority that no longer fits whole).
 *
 * @example
 * ```ts
 * import { axisX, buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * // A one-page BAR at 224 GiB on a 512 GiB axis stays visible.
 * const ax = buildAxis(new Map([[0x3800000, 3], [0x3800001, 3]]), 0x8000000,
 *   { width: 100, minWidth: 4 });
 * assert.equal(ax.starts.length, 3);
 * assert.ok(axisX(ax, 0x3800001) - axisX(ax, 0x3800000) >= 4);
 * assert.equal(ax.w.reduce((a, b) => a + b), 100);
 * ```
 */
export function buildAxis(
  cuts: ReadonlyMap<number, CutPriority>,
  endPfn: number,
  opts: AxisOptions,
): Axis {
  const end = Math.max(1, endPfn);
  const maxSegments = Math.max(1, Math.floor(opts.width / opts.minWidth));
  let kept: number[] = [];
  for (const p of [3, 2, 1] as const) {
    const level = [...cuts].filter(([pfn, q]) => q === p && pfn > 0 && pfn < end)
      .map(([pfn]) => pfn).sort((a, b) => a - b);
    // Lower priorities get at most a quarter of the segments each, so a P2M cut in every GiB
    // (identity aliased through a shared page) cannot crowd out the E820 map and the BARs.
    const room = Math.min(
      maxSegments - 1 - kept.length,
      p === 3 ? Infinity : Math.ceil(maxSegments / 4),
    );
    if (room <= 0) break;
    kept = kept.concat(spread(level, room));
  }
  const starts = [0, ...[...new Set(kept)].sort((a, b) => a - b)];
  const lens = starts.map((s, i) => (i + 1 < starts.length ? starts[i + 1] : end) - s);
  const weights = lens.map((n) => Math.log2(n) + 2);
  const free = opts.width - starts.length * opts.minWidth;
  const total = weights.reduce((a, b) => a + b, 0);
  // Integer widths by largest remainder, so the output is exact and deterministic.
  const raw = weights.map((wt) => (free * wt) / total);
  const w = raw.map((r) => opts.minWidth + Math.floor(r));
  let left = opts.width - w.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i]).sort((a, b) =>
    b[0] - a[0] || a[1] - b[1]
  );
  for (let k = 0; left > 0 && k < order.length; k++, left--) w[order[k][1]]++;
  const x: number[] = [];
  let at = 0;
  for (const wi of w) {
    x.push(at);
    at += wi;
  }
  const compressed = lens.map((n, i) => w[i] / opts.width < (n / end) / 4);
  return { starts, endPfn: end, x, w, width: opts.width, compressed };
}

/** Index of the segment holding `pfn` (clamped to the axis). */
export function segmentOf(ax: Axis, pfn: number): number {
  let lo = 0, hi = ax.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ax.starts[mid] <= pfn) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The position of `pfn` (a boundary between pages: `endPfn` of a range is its right edge).
 *
 * @example
 * ```ts
 * import { axisX, buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * const ax = buildAxis(new Map(), 0x100, { width: 10, minWidth: 1 });
 * assert.equal(axisX(ax, 0), 0);
 * assert.equal(axisX(ax, 0x80), 5);
 * assert.equal(axisX(ax, 0x100), 10);
 * ```
 */
export function axisX(ax: Axis, pfn: number): number {
  if (pfn >= ax.endPfn) return ax.width;
  if (pfn <= 0) return 0;
  const i = segmentOf(ax, pfn);
  const end = i + 1 < ax.starts.length ? ax.starts[i + 1] : ax.endPfn;
  return ax.x[i] + (ax.w[i] * (pfn - ax.starts[i])) / (end - ax.starts[i]);
}

/**
 * The PFN at position `x` (the page whose left edge is at or before it).
 *
 * @example
 * ```ts
 * import { axisPfn, buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * const ax = buildAxis(new Map(), 0x100, { width: 10, minWidth: 1 });
 * assert.equal(axisPfn(ax, 5), 0x80);
 * assert.equal(axisPfn(ax, 10), 0xff);
 * ```
 */
export function axisPfn(ax: Axis, x: number): number {
  let i = ax.x.length - 1;
  while (i > 0 && ax.x[i] > x) i--;
  const end = i + 1 < ax.starts.length ? ax.starts[i + 1] : ax.endPfn;
  const f = Math.min(1, Math.max(0, (x - ax.x[i]) / ax.w[i]));
  return Math.min(end - 1, ax.starts[i] + Math.floor(f * (end - ax.starts[i])));
}

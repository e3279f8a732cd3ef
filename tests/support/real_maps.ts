/**
 * E820 maps of real public boot logs, typed in once for the tests that need them.
 *
 * @module
 */

/**
 * The machine map (the `(XEN) Xen-e820 RAM map` table) of the 3.8 dom0 boot log Konrad
 * Rzeszutek Wilk posted to LKML on 2013-02-22 (tests/fixtures/real-logs/01-*): `[start, end exclusive,
 * E820 type]`. Its kernel printed 283999 for "Released", "Set ... 1-1" and "Populating", with
 * nr_pages 0x1acb65.
 */
export const KONRAD_2013_DOM0_E820: readonly (readonly [number, number, number])[] = [
  [0x0, 0x9ec00, 1],
  [0x9ec00, 0xa0000, 2],
  [0xe0000, 0x100000, 2],
  [0x100000, 0x20000000, 1],
  [0x20000000, 0x20200000, 2],
  [0x20200000, 0x40000000, 1],
  [0x40000000, 0x40200000, 2],
  [0x40200000, 0xbad80000, 1],
  [0xbad80000, 0xbadc9000, 4],
  [0xbadc9000, 0xbadd1000, 3],
  [0xbadd1000, 0xbadf4000, 2],
  [0xbadf4000, 0xbadf6000, 1],
  [0xbadf6000, 0xbae06000, 2],
  [0xbae06000, 0xbae14000, 4],
  [0xbae14000, 0xbae3c000, 2],
  [0xbae3c000, 0xbae7f000, 4],
  [0xbae7f000, 0xbb000000, 1],
  [0xbb800000, 0xbfa00000, 2],
  [0xfed1c000, 0xfed40000, 2],
  [0xff000000, 0x100000000, 2],
  [0x100000000, 0x23fe00000, 1],
];

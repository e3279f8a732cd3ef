/**
 * x86_64 constants of the Xen PV P2M, as `arch/x86/include/asm/xen/page.h` and
 * `arch/x86/xen/p2m.c` define them (p2m-semantics.md section 1).
 *
 * @module
 */

/** log2 of the page size. */
export const PAGE_SHIFT = 12;
/** Bytes per page. */
export const PAGE_SIZE = 4096;
/** Entries per leaf page: PAGE_SIZE / sizeof(long). A leaf spans 2 MiB of PFN space. */
export const P2M_PER_PAGE = 512;
/** Leaf pointers per mid page. A mid spans 1 GiB of PFN space. */
export const P2M_MID_PER_PAGE = 512;
/** Mid pointers in the top page. */
export const P2M_TOP_PER_PAGE = 512;
/** PFNs one mid page covers (2^18). */
export const PFNS_PER_MID = P2M_PER_PAGE * P2M_MID_PER_PAGE;
/** First PFN the 3-level tree cannot hold: 2^27 (512 GiB). */
export const MAX_P2M_PFN = P2M_TOP_PER_PAGE * PFNS_PER_MID;
/** CONFIG_XEN_MAX_DOMAIN_MEMORY default on x86_64, in GiB. */
export const XEN_MAX_DOMAIN_MEMORY_GIB = 500;
/** MAX_DOMAIN_PAGES: 500 GiB of pages (0x7d00000). */
export const MAX_DOMAIN_PAGES = XEN_MAX_DOMAIN_MEMORY_GIB * (2 ** 30 / PAGE_SIZE);
/** CONFIG_XEN_BALLOON_MEMORY_HOTPLUG_LIMIT default (GiB): the v3.19+ p2m VA area covers it. */
export const P2M_LIMIT_GIB = 512;
/**
 * The v3.19+ p2m list's virtual area is a whole number of these bytes: `xen_vmalloc_p2m_tree`
 * (arch/x86/xen/p2m.c) aligns `vm.size` to `PMD_SIZE * PMDS_PER_MID_PAGE`, with PMD_SIZE 2 MiB
 * and PMDS_PER_MID_PAGE = P2M_MID_PER_PAGE / PTRS_PER_PTE = 1 on x86_64.
 */
export const P2M_AREA_ALIGN = 2 * 2 ** 20;
/** Bytes per p2m list entry: sizeof(unsigned long) on x86_64. */
export const P2M_ENTRY_SIZE = 8;
/** Pages per memory section on x86_64 (128 MiB): hotplug granularity. */
export const PAGES_PER_SECTION = 32768;
/** EXTRA_MEM_RATIO of setup.c: extra memory is clamped to 10x the base size. */
export const EXTRA_MEM_RATIO = 10;
/** INVALID_P2M_ENTRY as a 64-bit value. */
export const INVALID_P2M_ENTRY = 0xffffffffffffffffn;
/** IDENTITY_FRAME_BIT (bit 62). */
export const IDENTITY_FRAME_BIT = 1n << 62n;
/** FOREIGN_FRAME_BIT (bit 63). */
export const FOREIGN_FRAME_BIT = 1n << 63n;

/**
 * brk pages the tree eras reserve for the p2m (RESERVE_BRK): the shared pages and top arrays
 * (7 in v3.12-3.15, 9 from v3.16 with the shared mid-identity page and its mfn page), p2m_mid
 * and p2m_mid_mfn (MAX_DOMAIN_PAGES / PFNS_PER_MID each), 6 pages for boundary leaves
 * (`p2m_mid_identity` in T12, renamed `p2m_mid_extra` in T16) and 3 for `p2m_populated`.
 */
export const BRK_RESERVED = {
  T12: 7 + 2 * (MAX_DOMAIN_PAGES / PFNS_PER_MID) + 6 + 3,
  T16: 9 + 2 * (MAX_DOMAIN_PAGES / PFNS_PER_MID) + 6 + 3,
  L19: 0,
} as const;

/**
 * v3.17-3.18 add `RESERVE_BRK(p2m_identity_remap, PAGE_SIZE * 2 * 3 * MAX_REMAP_RANGES)` for the
 * remap pass on the tree: per remapped range up to two boundary leaves and three mids, for
 * MAX_REMAP_RANGES (10) ranges.
 */
export const BRK_IDENTITY_REMAP = 2 * 3 * 10;

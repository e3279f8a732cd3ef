import assert from "node:assert/strict";
import { decodeQuotedPrintable, QP_LOOKAHEAD, QuotedPrintableDecoder } from "./quoted_printable.ts";

function decodeAll(lines: string[]): string[] {
  const d = new QuotedPrintableDecoder();
  return [...lines.flatMap((l) => d.push(l)), ...d.end()];
}

Deno.test("decodeQuotedPrintable() decodes =XX escapes, UTF-8 runs whole, leaves bare = alone", () => {
  assert.equal(decodeQuotedPrintable("last_pfn =3D 0x2080000"), "last_pfn = 0x2080000");
  assert.equal(decodeQuotedPrintable("Monn=C3=A9"), "Monné");
  assert.equal(decodeQuotedPrintable("GSI 24=\n"), "GSI 24=\n");
  assert.equal(decodeQuotedPrintable("x=y =Zq"), "x=y =Zq");
});

// RFC 2045 6.7 rule (5): a line ending in '=' is a soft break; the encoded line goes on at the
// next one with no blank. The kernel line "(32890764 pages to be allocated)" comes back whole.
Deno.test("a soft break on the first line is joined once a later line proves the encoding", () => {
  assert.deepEqual(
    decodeAll([
      "(XEN) Xen version 4.13.0-rc (hahn@mch.fsc.net) (gcc (SUSE Linux) 7.4.1 2019=",
      "0905 [gcc-7-branch revision 275407]) debug=3Dy  Mon Nov 11 13:48:47 CET 2019",
      "(XEN) Xen-e820 RAM map:          =",
      "    =20",
      "(XEN)  0000000000099400 - 00000000000a0000 (reserved)",
    ]),
    [
      "(XEN) Xen version 4.13.0-rc (hahn@mch.fsc.net) (gcc (SUSE Linux) 7.4.1 20190905 " +
      "[gcc-7-branch revision 275407]) debug=y  Mon Nov 11 13:48:47 CET 2019",
      "",
      "(XEN) Xen-e820 RAM map:" + " ".repeat(15),
      "",
      "(XEN)  0000000000099400 - 00000000000a0000 (reserved)",
    ],
  );
});

Deno.test("a plain log is never changed, even with '=' ending a line or '=3' in text", () => {
  const plain = [
    '[    0.000000] Unknown kernel command line parameters "foo="',
    "[    0.000000] e820: last_pfn = 0x80000 max_arch_pfn = 0x400000000",
    "[    0.000000] xen: --> pirq=3 -> irq=3 (gsi=3)",
    "[    0.000000] Kernel command line: root=/dev/xvda1 maxcpus=20",
    "[    0.000000] pci=0000:00:1f.0 split=",
    "next",
  ];
  assert.deepEqual(decodeAll(plain), plain);
  const long = Array.from({ length: QP_LOOKAHEAD + 5 }, (_, i) => `[    0.0] line ${i} a=`);
  assert.deepEqual(decodeAll(long), long);
});

Deno.test("a Content-Transfer-Encoding header turns decoding on for what follows", () => {
  assert.deepEqual(
    decodeAll([
      "Content-Transfer-Encoding: quoted-printable",
      "[    0.000000] Linux version 6.8.0-48-generic (root@a5570d9c6ad5) (x86_64-l=",
      "inux-gnu-gcc-12)",
    ]),
    [
      "Content-Transfer-Encoding: quoted-printable",
      "[    0.000000] Linux version 6.8.0-48-generic (root@a5570d9c6ad5) (x86_64-linux-gnu-gcc-12)",
      "",
    ],
  );
});

Deno.test("a run of soft breaks is cut at maxLine characters and the input ends cleanly", () => {
  const d = new QuotedPrintableDecoder(20);
  const out = [
    ...d.push("a=3D"),
    ...["bbbbbbbbbb=", "cccccccccc=", "dddddddddd="].flatMap((l) => d.push(l)),
    ...d.end(),
  ];
  assert.equal(out[0], "a=");
  assert.ok(out[1].length <= 20, out[1]);
  assert.equal(out.length, 4);
});

// RFC 2045 6.7 rule (3): blanks ending an encoded line came with transport and are deleted, so
// a soft break followed by a pasted line's trailing blanks still joins the lines.
Deno.test("a soft break followed by trailing blanks is still a soft break", () => {
  assert.deepEqual(
    decodeAll([
      "(XEN) Command line: console=3Dvga dom=  ",
      "0_mem=3D4096M,max:4096M\t",
      "(XEN) done  ",
    ]),
    ["(XEN) Command line: console=vga dom0_mem=4096M,max:4096M", "", "(XEN) done"],
  );
});

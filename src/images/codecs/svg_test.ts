import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { svgAnswer } from "../../../tests/fake/models.ts";
import { makePng } from "../../../tests/fake/png.ts";
import { sniffSvg } from "./svg.ts";

const NS = 'xmlns="http://www.w3.org/2000/svg"';
const text = (s: string) => new TextEncoder().encode(s);

const RECOGNISED: [string, string, { width?: number; height?: number }][] = [
  ["a bare root with a size", `<svg ${NS} width="1024" height="768"><rect/></svg>`, {
    width: 1024,
    height: 768,
  }],
  ["px units", `<svg ${NS} width="512px" height='256px'/>`, { width: 512, height: 256 }],
  ["a viewBox only", `<svg ${NS} viewBox="0 0 1536 1024"></svg>`, { width: 1536, height: 1024 }],
  ["a width and a viewBox", `<svg ${NS} width="300" viewBox="0,0,1536,1024">`, {
    width: 300,
    height: 200,
  }],
  ["a percentage size falls back to the viewBox", `<svg width="100%" viewBox="0 0 64 32" ${NS}>`, {
    width: 64,
    height: 32,
  }],
  ["no size at all", `<svg ${NS}><circle r="4"/></svg>`, {}],
  [
    "a byte order mark, XML declaration, comments and a doctype first",
    `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by a model -->\n` +
    `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">` +
    `\n  <svg ${NS} width="10" height="20">`,
    { width: 10, height: 20 },
  ],
  [
    "a doctype with an internal subset",
    `<!DOCTYPE svg [ <!ENTITY a "<svg>"> ]><!-- x --><svg\n${NS}\nwidth="3" height="4">`,
    { width: 3, height: 4 },
  ],
];

Deno.test("recognises SVG documents and reads the size the root declares", () => {
  for (const [name, source, size] of RECOGNISED) {
    const info = sniffSvg(text(source));
    assert.ok(info, name);
    assert.deepEqual(
      [info.format, info.mimeType, info.width, info.height],
      ["svg", "image/svg+xml", size.width, size.height],
      name,
    );
  }
});

const REFUSED: [string, Uint8Array][] = [
  ["empty", new Uint8Array()],
  ["plain text", text("hello <svg>")],
  ["HTML around an svg", text(`<html><body><svg ${NS}></svg></body></html>`)],
  ["an element that only starts with svg", text(`<svgfoo ${NS}/>`)],
  ["upper case, which XML does not equate", text(`<SVG ${NS}/>`)],
  ["an unterminated comment", text(`<!-- <svg ${NS}>`)],
  ["an unterminated declaration", text(`<?xml version="1.0" <svg ${NS}>`)],
  ["an unterminated root tag", text(`<svg ${NS} width="1"`)],
  ["invalid UTF-8", Uint8Array.of(0x3c, 0x73, 0x76, 0x67, 0x20, 0xff, 0xfe, 0x3e)],
  ["a PNG", makePng(64, 64, { noise: 0 })],
];

Deno.test("anything that is not an SVG document is not recognised", () => {
  for (const [name, bytes] of REFUSED) assert.equal(sniffSvg(bytes), undefined, name);
});

Deno.test("a large SVG is recognised from its head, even when the head ends mid-character", () => {
  let head = `<svg ${NS} width="8" height="8"><desc>`;
  if (text(head).length % 2 === 0) head += " ";
  const bytes = text(`${head}${"é".repeat(40_000)}</desc></svg>`); // "é" is two bytes
  assert.equal(bytes[65_536] & 0xc0, 0x80, "byte 65,536 continues a character");
  const info = sniffSvg(bytes);
  assert.deepEqual([info?.width, info?.height], [8, 8]);
});

Deno.test("property: sniffing never throws, and leading comments and whitespace never hide the root", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }), (bytes, s) => {
      sniffSvg(bytes);
      sniffSvg(text(s));
    }),
    { numRuns: 2000 },
  );
  const prolog = fc.array(
    fc.oneof(
      fc.constantFrom(" ", "\n", "\t", "\r\n"),
      fc.string().filter((c) => !c.includes("--") && !c.endsWith("-")).map((c) => `<!--${c}-->`),
      fc.string().filter((c) => !c.includes("?>")).map((c) => `<?pi ${c}?>`),
    ),
    { maxLength: 6 },
  );
  fc.assert(
    fc.property(prolog, fc.integer({ min: 1, max: 5000 }), (parts, width) => {
      const info = sniffSvg(text(`${parts.join("")}<svg ${NS} width="${width}" height="1">`));
      assert.equal(info?.width, width);
    }),
  );
});

Deno.test("the fake API's SVG answer is recognised with its size", () => {
  const info = sniffSvg(text(svgAnswer({ size: "1536x1024" })));
  assert.deepEqual([info?.width, info?.height, info?.viewBox?.width], [1536, 1024, 1536]);
});

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { makePng } from "../../../tests/fake/png.ts";
import { describeBytes, sniffImage } from "./sniff.ts";

Deno.test("sniffs PNG, JPEG and WebP dimensions from real files", async () => {
  const png = sniffImage(makePng(1536, 1024, { noise: 0 }))!;
  assert.deepEqual([png.format, png.width, png.height, png.hasAlpha], ["png", 1536, 1024, false]);
  const rgba = sniffImage(makePng(1024, 1024, { alpha: true, noise: 0 }))!;
  assert.equal(rgba.hasAlpha, true);
  const { Image } = await import("npm:imagescript@1.3.1");
  const image = new Image(640, 480);
  const jpeg = sniffImage(await image.encodeJPEG(80))!;
  assert.deepEqual([jpeg.format, jpeg.width, jpeg.height], ["jpeg", 640, 480]);
  const webp = sniffImage(await image.encodeWEBP(80))!;
  assert.deepEqual([webp.format, webp.width, webp.height], ["webp", 640, 480]);
});

const text = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);
const png = makePng(64, 64, { noise: 0 });

/** [what, bytes, description]. */
const KINDS: [string, Uint8Array, string][] = [
  ["nothing", new Uint8Array(0), "it is an empty file"],
  ["an API key", text("sk-secret-0123456789abcdef\n"), "it looks like a text file"],
  [
    "an AWS credentials file",
    text("[default]\naws_secret_access_key = abc\n"),
    "it looks like a text file",
  ],
  [
    "UTF-8 text cut inside a character",
    text("é".repeat(600)).subarray(0, 1100),
    "it looks like a text file",
  ],
  ["UTF-16 text", bytes(0xff, 0xfe, 0x68, 0x00, 0x69, 0x00), "it looks like a text file"],
  ["an SVG", text('<svg xmlns="http://www.w3.org/2000/svg"/>'), "it looks like an SVG"],
  [
    "an SVG with a prolog",
    text(
      '<?xml version="1.0"?>\n<!-- drawn -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">\n<svg>',
    ),
    "it looks like an SVG",
  ],
  ["an HTML page", text("  <!DOCTYPE html><html>"), "it looks like an HTML page"],
  ["a PNG cut in its header", png.subarray(0, 20), "it looks like a truncated PNG"],
  ["a PNG signature alone", png.subarray(0, 5), "it looks like a truncated PNG"],
  [
    "a PNG with a broken IHDR",
    new Uint8Array([...png.subarray(0, 12), ...text("XXXX"), ...png.subarray(16, 40)]),
    "it looks like a damaged PNG",
  ],
  [
    "a JPEG with no frame",
    bytes(0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46),
    "it looks like a truncated or damaged JPEG",
  ],
  [
    "a WebP with an unknown chunk",
    new Uint8Array([...text("RIFF"), 0, 0, 0, 0, ...text("WEBPVP8Z"), ...new Uint8Array(20)]),
    "it looks like a truncated or damaged WebP",
  ],
  ["a GIF", text("GIF89a\x01\x00\x01\x00"), "it looks like a GIF image"],
  ["a ZIP archive", bytes(0x50, 0x4b, 0x03, 0x04, 0x14, 0x00), "it looks like a ZIP archive"],
  ["a PDF", text("%PDF-1.7\n"), "it looks like a PDF document"],
  [
    "an ELF program",
    bytes(0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01),
    "it looks like an executable program",
  ],
  ["a gzip archive", bytes(0x1f, 0x8b, 0x08, 0x00), "it looks like a gzip archive"],
  [
    "a HEIC photo",
    new Uint8Array([0, 0, 0, 24, ...text("ftypheic")]),
    "it looks like a HEIC, AVIF or MP4 file",
  ],
  ["a TIFF", bytes(0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0), "it looks like a TIFF image"],
  [
    "random bytes",
    bytes(0x07, 0x07, 0x07, 0x00, 0x9c, 0xfe),
    "it looks like binary data in no format this server reads",
  ],
];

Deno.test("bytes that are no image are described by kind, never quoted", () => {
  for (const [what, b, expected] of KINDS) {
    assert.equal(sniffImage(b), undefined, what);
    assert.equal(describeBytes(b), expected, what);
  }
});

Deno.test("property: every description is one of a fixed set of phrases, so no byte leaks", () => {
  const phrases = new Set(KINDS.map(([, , description]) => description));
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string().map(text)),
      (b) => assert.ok(phrases.has(describeBytes(b)), describeBytes(b)),
    ),
    { numRuns: 2000 },
  );
});

Deno.test("property: sniffing arbitrary or truncated bytes never throws", () => {
  const real = makePng(1024, 1024, { noise: 0 }).subarray(0, 200);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 200 }), (bytes, cut) => {
      sniffImage(bytes);
      sniffImage(real.subarray(0, cut));
      const spliced = new Uint8Array([...real.subarray(0, 16), ...bytes]);
      const info = sniffImage(spliced);
      if (info) assert.ok(info.width > 0 && info.height > 0);
    }),
    { numRuns: 2000 },
  );
});

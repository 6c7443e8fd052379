import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import fc from "npm:fast-check@4.10.2";
import { decode as decodePng, encode as encodePng } from "npm:fast-png@8.0.0";
import jpeg from "npm:jpeg-js@0.4.4";
import { pngFromScanlines } from "../../../tests/fake/png.ts";
import { type MaskMarks, maskProblem, prepareMask, readMask } from "./mask.ts";
import { sniffImage } from "../codecs/sniff.ts";

type Encoding = "grey" | "grey16" | "rgb" | "rgba-opaque" | "rgba-254" | "palette" | "grey1";

/** `luma` (one grey level per pixel) written in one of the ways PNG files carry it. */
function encodeGrey(luma: Uint8Array, width: number, height: number, as: Encoding): Uint8Array {
  const n = width * height;
  const rgb = (alpha?: number) => {
    const channels = alpha === undefined ? 3 : 4;
    const data = new Uint8Array(n * channels);
    for (let i = 0; i < n; i++) {
      data.fill(luma[i], i * channels, i * channels + 3);
      if (alpha !== undefined) data[i * 4 + 3] = alpha;
    }
    return encodePng({ width, height, data, channels, depth: 8 });
  };
  switch (as) {
    case "grey":
      return encodePng({ width, height, data: luma, channels: 1, depth: 8 });
    case "grey16":
      return encodePng({
        width,
        height,
        data: Uint16Array.from(luma, (v) => v * 257),
        channels: 1,
        depth: 16,
      });
    case "grey1": {
      const rowBytes = Math.ceil(width / 8);
      const data = new Uint8Array(rowBytes * height);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          if (luma[y * width + x] >= 128) data[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7);
        }
      }
      return encodePng({ width, height, data, channels: 1, depth: 1 });
    }
    case "rgb":
      return rgb();
    case "rgba-opaque":
      return rgb(255);
    case "rgba-254":
      return rgb(254);
    case "palette": {
      const levels = [...new Set(luma)];
      const data = Uint8Array.from(luma, (v) => levels.indexOf(v));
      return encodePng({
        width,
        height,
        data,
        channels: 1,
        depth: 8,
        palette: levels.map((v) => [v, v, v]),
      });
    }
  }
}

/** Inserts a chunk after IHDR (bytes 8..33), with its CRC. */
function withChunk(png: Uint8Array, type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return Uint8Array.of(...png.subarray(0, 33), ...chunk, ...png.subarray(33));
}

/** Alpha of every pixel of a decoded RGBA PNG. */
function alphas(png: Uint8Array): number[] {
  const decoded = decodePng(png);
  assert.deepEqual([decoded.channels, decoded.depth], [4, 8]);
  return Array.from({ length: decoded.width * decoded.height }, (_, i) => decoded.data[i * 4 + 3]);
}

/** 8x4: left half black, right half white, one anti-aliased column of 127 and 128 between. */
const W = 8, H = 4;
const PICTURE = Uint8Array.from(
  { length: W * H },
  (_, i) => [0, 0, 0, 127, 128, 255, 255, 255][i % W],
);
const WHITE_MARKED = Array.from(PICTURE, (v) => (v >= 128 ? 0 : 255));

Deno.test("a black-and-white mask in any PNG layout converts to the same alpha mask", async () => {
  const layouts: Encoding[] = ["grey", "grey16", "rgb", "rgba-opaque", "rgba-254", "palette"];
  for (const as of layouts) {
    const bytes = encodeGrey(PICTURE, W, H, as);
    const white = await prepareMask(bytes, { marks: "white" });
    assert.equal(white.converted, true, as);
    assert.deepEqual(alphas(white.png), WHITE_MARKED, `${as}, white marks`);
    const black = await prepareMask(bytes, { marks: "black" });
    assert.deepEqual(alphas(black.png), WHITE_MARKED.map((a) => 255 - a), `${as}, black marks`);
  }
});

Deno.test("the threshold is mid-grey: 127 is black, 128 is white, also at 1 bit per pixel", async () => {
  const pure = Uint8Array.from(PICTURE, (v) => (v >= 128 ? 255 : 0));
  const converted = await prepareMask(encodeGrey(pure, W, H, "grey1"), { marks: "white" });
  assert.deepEqual(alphas(converted.png), WHITE_MARKED);
});

Deno.test("the converted mask is a PNG with alpha of the mask's size, and the note counts it", async () => {
  const { png, note } = await prepareMask(encodeGrey(PICTURE, W, H, "rgb"), { marks: "white" });
  const info = sniffImage(png)!;
  assert.deepEqual([info.format, info.width, info.height, info.hasAlpha], ["png", W, H, true]);
  assert.equal(
    note,
    "mask: converted from black and white (white marks the area to edit) to an alpha mask; " +
      "16 of 32 pixels (50.0%) will be edited",
  );
});

Deno.test("a mask that already has transparent pixels goes as it is", async () => {
  const data = new Uint8Array(W * H * 2).fill(255);
  data[1] = 0; // pixel 0 fully transparent
  const greyAlpha = encodePng({ width: W, height: H, data, channels: 2, depth: 8 });
  const prepared = await prepareMask(greyAlpha);
  assert.equal(prepared.converted, false);
  assert.equal(prepared.png, greyAlpha);
  // Grey with a tRNS key: every pixel of grey level 0 is transparent.
  const keyed = withChunk(encodeGrey(PICTURE, W, H, "grey"), "tRNS", Uint8Array.of(0, 0));
  const scan = await readMask(keyed);
  assert.deepEqual([scan.alphaChannel, scan.transparentPixels], [true, 12]);
  assert.equal((await prepareMask(keyed)).converted, false);
  // A palette entry with alpha 0 marks its pixels.
  const palette = encodePng({
    width: 2,
    height: 1,
    data: Uint8Array.of(0, 1),
    channels: 1,
    depth: 8,
    palette: [[0, 0, 0, 0], [255, 255, 255, 255]],
  });
  assert.equal((await readMask(palette)).transparentPixels, 1);
});

const REFUSED: [string, () => Uint8Array, MaskMarks | undefined, RegExp][] = [
  [
    "RGB without marks",
    () => encodeGrey(PICTURE, W, H, "rgb"),
    undefined,
    /^mask: the mask has no alpha channel, and the API edits only where a mask is fully transparent; either pass mask_marks: "white" or "black" .*, or send a PNG whose area to edit is fully transparent \(alpha 0\)$/,
  ],
  [
    "RGBA without a transparent pixel",
    () => encodeGrey(PICTURE, W, H, "rgba-opaque"),
    undefined,
    /^mask: the mask has an alpha channel but no fully transparent pixel, so the API would edit nothing; either pass mask_marks/,
  ],
  [
    "a JPEG without marks",
    () =>
      jpeg.encode({ data: new Uint8Array(16 * 16 * 4).fill(255), width: 16, height: 16 }, 90).data,
    undefined,
    /^mask: the mask has no alpha channel/,
  ],
  [
    "marks on a mask that already has alpha",
    () =>
      encodePng({
        width: 1,
        height: 2,
        data: Uint8Array.of(0, 0, 255, 255),
        channels: 2,
        depth: 8,
      }),
    "white",
    /^mask_marks: the mask already has 1 fully transparent pixels, which the API reads as the area to edit; leave out mask_marks/,
  ],
  [
    "white marks on an all-black mask",
    () => encodeGrey(new Uint8Array(W * H), W, H, "grey"),
    "white",
    /^mask_marks: "white" marks no pixel of this mask .*so nothing would be edited/,
  ],
  [
    "text",
    () => new TextEncoder().encode("not a mask at all"),
    "black",
    /^mask: a mask must be a PNG \(or, with mask_marks, a PNG or JPEG\)$/,
  ],
  [
    "a header claiming 60000x60000",
    () => {
      const png = encodeGrey(PICTURE, W, H, "grey");
      new DataView(png.buffer, png.byteOffset).setUint32(16, 60000);
      new DataView(png.buffer, png.byteOffset).setUint32(20, 60000);
      return png;
    },
    "white",
    /^mask: the mask is 60000x60000, over the 33,177,600 pixels this server reads$/,
  ],
  [
    "a PNG that breaks off",
    () => encodeGrey(PICTURE, W, H, "grey").subarray(0, 45),
    "white",
    /^mask: the PNG cannot be decoded/,
  ],
];

Deno.test("a mask the API would refuse or ignore gets one error naming both fixes", async () => {
  for (const [name, make, marks, message] of REFUSED) {
    await assert.rejects(
      () => prepareMask(make(), { marks }),
      (e: Error) => e.name === "ToolError" && message.test(e.message),
      name,
    );
  }
  const plain = await readMask(encodeGrey(PICTURE, W, H, "grey"));
  assert.match(maskProblem(plain, "images[1] mask")!, /^images\[1\] mask: /);
});

Deno.test("a black-and-white JPEG mask converts when the marks are given", async () => {
  const width = 32, height = 16;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = i % width < 16 ? 255 : 0; // white left half, on 8x8 block edges
    rgba.set([v, v, v, 255], i * 4);
  }
  const bytes = jpeg.encode({ data: rgba, width, height }, 95).data;
  const { png } = await prepareMask(bytes, { marks: "white" });
  assert.deepEqual(
    alphas(png),
    Array.from({ length: width * height }, (_, i) => i % width < 16 ? 0 : 255),
  );
});

Deno.test("property: pixels of the marked colour, and only those, become transparent", async () => {
  const layouts: Encoding[] = ["grey", "grey16", "rgb", "rgba-opaque", "palette"];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 24 }),
      fc.constantFrom(...layouts),
      fc.constantFrom<MaskMarks>("white", "black"),
      fc.integer(),
      async (width, height, as, marks, seed) => {
        let state = seed >>> 0 || 1;
        const luma = Uint8Array.from({ length: width * height }, () => {
          state = (state * 1103515245 + 12345) >>> 0;
          // Mostly pure black or white, some anti-aliased greys around the threshold.
          const r = state >>> 24;
          return r < 100 ? 0 : r < 200 ? 255 : 96 + (r % 64);
        });
        const expected = Array.from(luma, (v) => ((v >= 128) === (marks === "white") ? 0 : 255));
        const bytes = encodeGrey(luma, width, height, as);
        if (!expected.includes(0)) {
          await assert.rejects(() => prepareMask(bytes, { marks }), /: "\w+" marks no pixel/);
          return;
        }
        const prepared = await prepareMask(bytes, { marks });
        assert.deepEqual(alphas(prepared.png), expected);
        // The converted mask is then usable as it is.
        assert.equal((await prepareMask(prepared.png)).converted, false);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("property: whatever the bytes, preparing a mask only fails with a ToolError", async () => {
  const real = pngFromScanlines({
    width: 2,
    height: 2,
    colorType: 0,
    scanlines: new Uint8Array(6),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 120 }),
      fc.nat({ max: real.length }),
      async (noise, cut) => {
        for (const bytes of [noise, Uint8Array.of(...real.subarray(0, cut), ...noise)]) {
          try {
            await prepareMask(bytes, { marks: "white" });
          } catch (e) {
            assert.equal((e as Error).name, "ToolError", String(e));
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { pngFromScanlines } from "../../../tests/fake/png.ts";
import { decodePngScaled, MAX_DECODE_EDGE } from "./png_decode.ts";

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Filters `pixels` row by row with filter `y % 5`, so every filter type is exercised. */
function filtered(pixels: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    out[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const x = pixels[y * stride + i];
      const a = i >= bpp ? pixels[y * stride + i - bpp] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= bpp ? pixels[(y - 1) * stride + i - bpp] : 0;
      const predicted = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      out[y * (stride + 1) + 1 + i] = (x - predicted) & 0xff;
    }
  }
  return out;
}

/** The reference: each output pixel is the rounded mean of its box of source pixels. */
function boxAverage(
  pixels: Uint8Array,
  src: { width: number; height: number; bpp: number },
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const span = (o: number, from: number, to: number) => {
    const start = Math.floor((o * from) / to);
    const end = o === to - 1 ? from : Math.max(start + 1, Math.floor(((o + 1) * from) / to));
    return [start, end];
  };
  for (let oy = 0; oy < height; oy++) {
    const [y0, y1] = span(oy, src.height, height);
    for (let ox = 0; ox < width; ox++) {
      const [x0, x1] = span(ox, src.width, width);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            sum += pixels[(y * src.width + x) * src.bpp + (src.bpp >= 3 ? c : 0)];
          }
        }
        out[(oy * width + ox) * 3 + c] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return out;
}

Deno.test("every filter and colour type decodes, at full size and boxed down to any size", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(0, 2, 4, 6),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer(),
      async (colorType, width, height, outW, outH, seed) => {
        const bpp = CHANNELS[colorType];
        const pixels = new Uint8Array(width * height * bpp).map((_, i) => (i * 7919 + seed) % 251);
        const png = pngFromScanlines({
          width,
          height,
          colorType,
          scanlines: filtered(pixels, width, height, bpp),
        });
        const target = { width: Math.min(width, outW), height: Math.min(height, outH) };
        const decoded = (await decodePngScaled(png, { size: target }))!;
        assert.deepEqual([decoded.width, decoded.height], [target.width, target.height]);
        const expected = boxAverage(pixels, { width, height, bpp }, target.width, target.height);
        const worst = decoded.data.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
        assert.ok(worst <= 1, `off by ${worst}`);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("truncated image data is an error; 16-bit and interlaced PNGs are left to others", async () => {
  const pixels = new Uint8Array(8 * 8 * 3).fill(100);
  const png = pngFromScanlines({
    width: 8,
    height: 8,
    colorType: 2,
    scanlines: filtered(pixels, 8, 8, 3).subarray(0, 40),
  });
  await assert.rejects(decodePngScaled(png), /truncated/);
  const sixteen = png.slice();
  sixteen[24] = 16;
  assert.equal(await decodePngScaled(sixteen), undefined);
  const interlaced = png.slice();
  interlaced[28] = 1;
  assert.equal(await decodePngScaled(interlaced), undefined);
});

Deno.test("a header claiming more than MAX_DECODE_EDGE is refused before any row is allocated", async () => {
  const pixels = new Uint8Array(4 * 1 * 3).fill(100);
  const png = pngFromScanlines({
    width: 4,
    height: 1,
    colorType: 2,
    scanlines: filtered(pixels, 4, 1, 3),
  });
  for (const [width, height] of [[2147483647, 1], [1, MAX_DECODE_EDGE + 1], [16000, 16000]]) {
    const lying = png.slice();
    new DataView(lying.buffer).setUint32(16, width);
    new DataView(lying.buffer).setUint32(20, height);
    await assert.rejects(
      decodePngScaled(lying, { size: { width: 4, height: 1 } }),
      new RegExp(`claims ${width}x${height}, beyond ${MAX_DECODE_EDGE} px`),
    );
  }
});

Deno.test("image data that does not inflate is an error", async () => {
  const png = pngFromScanlines({
    width: 8,
    height: 8,
    colorType: 2,
    scanlines: new Uint8Array(8 * 25).fill(1),
  });
  const corrupt = png.slice();
  corrupt.fill(0xa5, 41, 60); // inside the IDAT chunk's deflate stream
  await assert.rejects(decodePngScaled(corrupt));
});

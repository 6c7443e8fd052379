import assert from "node:assert/strict";
import jpeg from "npm:jpeg-js@0.4.4";
import { makePng } from "../../../tests/fake/png.ts";
import { encodeJpeg } from "./jpeg_encode.ts";
import { decodePngScaled } from "./png_decode.ts";

/** Peak signal-to-noise ratio of the decoded JPEG against the source, over RGB. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0, n = 0;
  for (let i = 0; i < a.length; i += 3) {
    for (let c = 0; c < 3; c++, n++) sum += (a[i + c] - b[i + c]) ** 2;
  }
  return 10 * Math.log10(255 ** 2 / (sum / n));
}

function rgb(width: number, height: number, at: (x: number, y: number) => number[]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(at(x, y), (y * width + x) * 3);
  }
  return data;
}

/** Decodes with jpeg-js (an independent decoder) to RGB. */
function decodeRgb(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  const data = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data.set(image.data.subarray(i, i + 3), j);
  }
  return { width: image.width, height: image.height, data };
}

Deno.test("luma is as faithful as jpeg-js at the same quality, in fewer bytes", () => {
  const data = rgb(256, 256, (x, y) => {
    const v = Math.round(128 + 100 * Math.sin(x / 9) * Math.cos(y / 13) + ((x * 7 + y * 13) % 17));
    return [v, v, v];
  });
  const ours = encodeJpeg({ data, width: 256, height: 256, quality: 82 });
  const rgba = new Uint8Array(256 * 256 * 4).map((
    _,
    i,
  ) => (i % 4 === 3 ? 255 : data[(i >> 2) * 3]));
  const theirs = jpeg.encode({ data: rgba, width: 256, height: 256 }, 82).data;
  const [a, b] = [psnr(data, decodeRgb(ours).data), psnr(data, decodeRgb(theirs).data)];
  assert.ok(a > 33 && Math.abs(a - b) < 0.5, `PSNR ours ${a.toFixed(1)}, jpeg-js ${b.toFixed(1)}`);
  assert.ok(ours.length < theirs.length);
});

Deno.test("a generated image round-trips through an independent decoder", async () => {
  const { data } = (await decodePngScaled(makePng(512, 384)))!;
  const encoded = encodeJpeg({ data, width: 512, height: 384, quality: 82 });
  const decoded = decodeRgb(encoded);
  assert.deepEqual([decoded.width, decoded.height], [512, 384]);
  // The fake's per-channel noise is the worst case for 4:2:0 chroma; real images do far better.
  const quality = psnr(data, decoded.data);
  assert.ok(quality > 27, `PSNR ${quality.toFixed(1)} dB`);
  const lower = encodeJpeg({ data, width: 512, height: 384, quality: 40 });
  assert.ok(lower.length < encoded.length, "lower quality, fewer bytes");
});

Deno.test("sizes that are not multiples of 16, flat and extreme colours all decode", () => {
  for (const [width, height] of [[1, 1], [17, 9], [33, 50], [250, 3]]) {
    for (const colour of [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]) {
      const data = rgb(width, height, () => colour);
      const decoded = decodeRgb(encodeJpeg({ data, width, height, quality: 90 }));
      assert.deepEqual([decoded.width, decoded.height], [width, height]);
      assert.ok(psnr(data, decoded.data) > 30, `${width}x${height} ${colour}`);
    }
  }
  const gradient = rgb(100, 60, (x, y) => [x * 2, y * 4, (x + y) % 256]);
  const decoded = decodeRgb(encodeJpeg({ data: gradient, width: 100, height: 60, quality: 82 }));
  assert.ok(psnr(gradient, decoded.data) > 30);
});

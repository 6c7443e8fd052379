/** Real PNG files for the fake API and for test inputs: sized and compressible like real output. */

import { deflateSync } from "node:zlib";
import { concatBytes } from "../../src/bytes.ts";

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Options for a synthetic image. */
export interface PngOptions {
  /** Adds an alpha channel; `transparentBox` then marks a fully transparent rectangle. */
  alpha?: boolean;
  transparentBox?: { x: number; y: number; width: number; height: number };
  /** Noise amplitude 0..255: 0 compresses to almost nothing, the default 6 gives photo-like sizes (2.6 MB at 1024x1024). */
  noise?: number;
  seed?: number;
}

/** Encodes a gradient-plus-noise image as a PNG of exactly `width` x `height`. */
export function makePng(
  width: number,
  height: number,
  options: PngOptions = {},
): Uint8Array<ArrayBuffer> {
  const channels = options.alpha ? 4 : 3;
  const stride = width * channels + 1;
  const raw = new Uint8Array(stride * height);
  const noise = options.noise ?? 6;
  let state = (options.seed ?? 0x9e3779b9) >>> 0 || 1;
  const box = options.transparentBox;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    raw[row] = 0;
    for (let x = 0; x < width; x++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const jitter = noise ? (state >>> 0) % noise : 0;
      const i = row + 1 + x * channels;
      raw[i] = ((x * 255) / width + jitter) & 0xff;
      raw[i + 1] = ((y * 255) / height + jitter) & 0xff;
      raw[i + 2] = (((x + y) * 127) / (width + height) + jitter) & 0xff;
      if (channels === 4) {
        const inBox = box && x >= box.x && x < box.x + box.width && y >= box.y &&
          y < box.y + box.height;
        raw[i + 3] = inBox ? 0 : 255;
      }
    }
  }
  return pngFromScanlines({ width, height, colorType: channels === 4 ? 6 : 2, scanlines: raw });
}

/** A PNG around already filtered scanlines (each row: filter byte, then samples). */
export function pngFromScanlines(
  options: { width: number; height: number; colorType: number; scanlines: Uint8Array },
): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, options.width);
  view.setUint32(4, options.height);
  header.set([8, options.colorType, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(options.scanlines, { level: 1 }))),
    chunk("IEND", new Uint8Array()),
  ];
  return concatBytes(parts);
}

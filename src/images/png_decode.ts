/**
 * Decodes the PNGs the image model produces (8-bit, not interlaced, grey/RGB with or without
 * alpha) straight to a downscaled RGB picture: the runtime's native inflate streams the rows,
 * each row is unfiltered against the one before and added into the output row it belongs to.
 * A 4K image never exists at full size in memory (that was ~70 MB per preview); anything else
 * is left to the general decoder.
 */

import { BoxScaler } from "./box_scale.ts";

/** Decoded pixels, 8 bits per sample. */
export interface Pixels {
  width: number;
  height: number;
  /** Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  data: Uint8Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
const INFLATE_SLICE = 1 << 16;

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

/** Size and samples per pixel, or undefined for a layout this decoder does not handle. */
function pngLayout(
  png: Uint8Array,
): { width: number; height: number; channels: number } | undefined {
  const [depth, colorType, , , interlace] = png.subarray(24, 29);
  if (depth !== 8 || interlace !== 0 || !CHANNELS[colorType]) return undefined;
  return { width: u32(png, 16), height: u32(png, 20), channels: CHANNELS[colorType] };
}

function unfilterRow(filter: number, row: Uint8Array, up: Uint8Array, bpp: number): void {
  const n = row.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] += row[i - bpp];
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] += up[i];
      return;
    case 3:
      for (let i = 0; i < bpp; i++) row[i] += up[i] >> 1;
      for (let i = bpp; i < n; i++) row[i] += (row[i - bpp] + up[i]) >> 1;
      return;
    case 4:
      for (let i = 0; i < bpp; i++) row[i] += up[i];
      for (let i = bpp; i < n; i++) {
        const a = row[i - bpp], b = up[i], c = up[i - bpp];
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        row[i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      return;
    default:
      throw new Error(`PNG row has an unknown filter ${filter}`);
  }
}

function idatParts(png: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 8; i + 8 <= png.length;) {
    const length = u32(png, i);
    const type = String.fromCharCode(png[i + 4], png[i + 5], png[i + 6], png[i + 7]);
    // Fed in slices so that inflate answers in slices too: one 4K IDAT would inflate to 25 MB.
    for (let at = i + 8; type === "IDAT" && at < i + 8 + length; at += INFLATE_SLICE) {
      parts.push(png.subarray(at, Math.min(at + INFLATE_SLICE, i + 8 + length)));
    }
    if (type === "IEND") break;
    i += 12 + length;
  }
  return parts;
}

/** Options of `decodePngScaled`. */
export interface ScaleOptions {
  /** The output size, at most the image's own (the default). */
  size?: { width: number; height: number };
  /** A buffer to decode into when it is large enough, instead of a new one. */
  output?: Uint8Array;
}

/**
 * Decodes `png` to RGB (alpha dropped: previews are JPEGs), averaging each output pixel's box
 * of source pixels. Undefined for a layout this decoder does not handle.
 */
export async function decodePngScaled(
  png: Uint8Array,
  options: ScaleOptions = {},
): Promise<Pixels | undefined> {
  const layout = pngLayout(png);
  if (!layout) return undefined;
  const channels = layout.channels;
  const width = Math.min(layout.width, options.size?.width ?? layout.width);
  const height = Math.min(layout.height, options.size?.height ?? layout.height);
  const stride = layout.width * channels;
  const out = options.output && options.output.length >= width * height * 3
    ? options.output.subarray(0, width * height * 3)
    : new Uint8Array(width * height * 3);
  let row = new Uint8Array(stride), up = new Uint8Array(stride);
  let filter = -1, filled = 0, y = 0;

  const identity = width === layout.width && height === layout.height;
  const scaler = new BoxScaler({ from: layout, to: { width, height } }, out);
  const addRow = () => {
    unfilterRow(filter, row, up, channels);
    // RGB at full size is the output row itself; anything else goes through the scaler.
    if (identity && channels === 3) out.set(row, y * stride);
    else scaler.addRow(row, channels);
    [row, up] = [up, row];
    filter = -1;
    filled = 0;
    y++;
  };
  const inflated = ReadableStream.from(idatParts(png) as Uint8Array<ArrayBuffer>[])
    .pipeThrough(new DecompressionStream("deflate"));
  for await (const chunk of inflated) {
    for (let i = 0; i < chunk.length && y < layout.height;) {
      if (filter === -1) {
        filter = chunk[i++];
        continue;
      }
      const take = Math.min(stride - filled, chunk.length - i);
      row.set(chunk.subarray(i, i + take), filled);
      filled += take;
      i += take;
      if (filled === stride) addRow();
    }
    // Its native memory goes back now instead of at some later collection: V8 barely counts it,
    // so 16 previews left ~25 MB of inflate output for the allocator to hold on to. Only a chunk
    // that is its whole buffer is ours alone to detach.
    if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) {
      (chunk.buffer as ArrayBuffer).transfer(0);
    }
  }
  if (y < layout.height) throw new Error("PNG image data is truncated");
  return { width, height, channels: 3, data: out };
}

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

/**
 * The longest edge decoded (the API's largest is 3840). A header is only a claim: one saying
 * 2147483647 columns would otherwise size the row buffers before any pixel arrives.
 */
export const MAX_DECODE_EDGE = 8192;
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

const IEND = 0x49454e44;
const IDAT = 0x49444154;

/**
 * The IDAT data of a PNG that arrives in pieces (the signature first), in slices of at most
 * `INFLATE_SLICE`, so that inflate answers in slices too: one 4K IDAT would inflate to 25 MB.
 */
async function* idatData(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  const header = new Uint8Array(8);
  let skip = 8; // the signature, later each chunk's CRC
  let filled = 0; // of the chunk header being read
  let left = 0; // data bytes of the current chunk still to come
  let idat = false;
  for await (const piece of pieces as AsyncIterable<Uint8Array<ArrayBuffer>>) {
    for (let i = 0; i < piece.length;) {
      if (skip > 0 || left > 0) {
        const n = Math.min(skip || left, piece.length - i, INFLATE_SLICE);
        if (skip) skip -= n;
        else {
          if (idat) yield piece.subarray(i, i + n);
          left -= n;
          if (left === 0) skip = 4;
        }
        i += n;
        continue;
      }
      const n = Math.min(8 - filled, piece.length - i);
      header.set(piece.subarray(i, i + n), filled);
      filled += n;
      i += n;
      if (filled < 8) continue;
      filled = 0;
      const type = u32(header, 4);
      if (type === IEND) return;
      idat = type === IDAT;
      left = u32(header, 0);
      if (left === 0) skip = 4;
    }
  }
}

/**
 * Writes `slices` to `sink` one at a time, each once the one before is taken in: a slice may be
 * a view of a read buffer that the next read fills again. (`pipeThrough` reads ahead.)
 */
async function feed(
  sink: WritableStream<Uint8Array<ArrayBuffer>>,
  slices: AsyncIterable<Uint8Array<ArrayBuffer>>,
): Promise<void> {
  const writer = sink.getWriter();
  try {
    for await (const slice of slices) await writer.write(slice);
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/** A PNG as its first bytes (the header) and all its bytes in pieces. */
export interface PngPieces {
  head: Uint8Array;
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
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
  png: Uint8Array | PngPieces,
  options: ScaleOptions = {},
): Promise<Pixels | undefined> {
  const { head, pieces } = png instanceof Uint8Array ? { head: png, pieces: [png] } : png;
  const layout = pngLayout(head);
  if (!layout) return undefined;
  if (Math.max(layout.width, layout.height) > MAX_DECODE_EDGE) {
    throw new RangeError(
      `The PNG header claims ${layout.width}x${layout.height}, beyond ${MAX_DECODE_EDGE} px`,
    );
  }
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
  const inflate = new DecompressionStream("deflate");
  const feeding = feed(inflate.writable, idatData(pieces));
  try {
    for await (const chunk of inflate.readable) {
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
  } catch (error) {
    await feeding.catch(() => {}); // failed too, once the reading side stopped
    throw error;
  }
  await feeding;
  if (y < layout.height) throw new Error("PNG image data is truncated");
  return { width, height, channels: 3, data: out };
}

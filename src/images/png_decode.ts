/**
 * Decodes the PNGs the image model produces (8-bit, not interlaced, grey/RGB with or without
 * alpha) with the runtime's native inflate; anything else is left to the general decoder.
 */

/** Decoded pixels, 8 bits per sample. */
export interface Pixels {
  width: number;
  height: number;
  /** Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  data: Uint8Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

async function inflate(parts: Uint8Array[]): Promise<Uint8Array> {
  const stream = new Blob(parts as BlobPart[]).stream().pipeThrough(
    new DecompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function unfilterRow(
  filter: number,
  raw: Uint8Array,
  src: number,
  out: Uint8Array,
  row: number,
  stride: number,
  bpp: number,
  first: boolean,
): void {
  const up = row - stride;
  switch (filter) {
    case 0:
      out.set(raw.subarray(src, src + stride), row);
      return;
    case 1:
      for (let i = 0; i < stride; i++) {
        out[row + i] = raw[src + i] + (i >= bpp ? out[row + i - bpp] : 0);
      }
      return;
    case 2:
      if (first) out.set(raw.subarray(src, src + stride), row);
      else for (let i = 0; i < stride; i++) out[row + i] = raw[src + i] + out[up + i];
      return;
    case 3:
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? out[row + i - bpp] : 0;
        out[row + i] = raw[src + i] + ((a + (first ? 0 : out[up + i])) >> 1);
      }
      return;
    case 4:
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? out[row + i - bpp] : 0;
        const b = first ? 0 : out[up + i];
        const c = i >= bpp && !first ? out[up + i - bpp] : 0;
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        out[row + i] = raw[src + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return;
    default:
      throw new Error(`PNG row has an unknown filter ${filter}`);
  }
}

function unfilter(raw: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const src = y * (stride + 1);
    unfilterRow(raw[src], raw, src + 1, out, y * stride, stride, bpp, y === 0);
  }
  return out;
}

/** Decodes `png`, or returns undefined for a layout this fast path does not handle. */
export async function decodePngFast(png: Uint8Array): Promise<Pixels | undefined> {
  const width = u32(png, 16), height = u32(png, 20);
  const [depth, colorType, , , interlace] = png.subarray(24, 29);
  const channels = CHANNELS[colorType];
  if (depth !== 8 || interlace !== 0 || !channels) return undefined;
  const idat: Uint8Array[] = [];
  for (let i = 8; i + 8 <= png.length;) {
    const length = u32(png, i);
    const type = String.fromCharCode(png[i + 4], png[i + 5], png[i + 6], png[i + 7]);
    if (type === "IDAT") idat.push(png.subarray(i + 8, i + 8 + length));
    if (type === "IEND") break;
    i += 12 + length;
  }
  const raw = await inflate(idat);
  if (raw.length < height * (width * channels + 1)) throw new Error("PNG image data is truncated");
  return { width, height, channels, data: unfilter(raw, width, height, channels) };
}

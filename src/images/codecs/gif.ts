/**
 * Reads GIF files: the logical size, the frames and their timing, and the first frame decoded
 * to RGBA, which is what a preview shows while the saved file keeps the animation.
 */

import type { Pixels } from "./png_decode.ts";

/** What a GIF's structure says about it. */
export interface GifInfo {
  format: "gif";
  mimeType: "image/gif";
  width: number;
  height: number;
  frames: number;
  /** Sum of the frame delays. */
  durationMs: number;
  /** From the NETSCAPE2.0 extension: 0 loops forever; undefined plays once. */
  loops?: number;
  /** Whether any frame marks a colour as transparent. */
  hasAlpha: boolean;
}

/** The pixels of an RGBA frame at the GIF's logical size. */
export interface GifFrame extends Pixels {
  channels: 4;
}

interface ImageBlock {
  left: number;
  top: number;
  width: number;
  height: number;
  interlaced: boolean;
  /** Offset and entry count of the colour table that applies. */
  table?: { at: number; size: number };
  transparentIndex?: number;
  minCodeSize: number;
  /** Offset of the first data sub-block. */
  dataAt: number;
}

/** A GIF that cannot be read, with the reason in words. */
export class GifError extends Error {
  override name = "GifError";
}

const u16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);

function need(b: Uint8Array, end: number, what: string): void {
  if (end > b.length) throw new GifError(`the GIF ends inside ${what}`);
}

/** Skips data sub-blocks from `at`; returns the offset after the terminator. */
function skipSubBlocks(b: Uint8Array, at: number, what: string): number {
  for (;;) {
    need(b, at + 1, what);
    const size = b[at];
    at += 1 + size;
    if (size === 0) return at;
  }
}

interface Header {
  width: number;
  height: number;
  global?: { at: number; size: number };
  /** Offset of the first block after the header and global table. */
  blocksAt: number;
}

function header(b: Uint8Array): Header {
  need(b, 13, "its header");
  const signature = String.fromCharCode(...b.subarray(0, 6));
  if (signature !== "GIF87a" && signature !== "GIF89a") {
    throw new GifError("the data does not start with GIF87a or GIF89a");
  }
  const packed = b[10];
  const global = packed & 0x80 ? { at: 13, size: 2 << (packed & 7) } : undefined;
  const blocksAt = 13 + (global ? global.size * 3 : 0);
  need(b, blocksAt, "its global colour table");
  return { width: u16(b, 6), height: u16(b, 8), global, blocksAt };
}

/** Walks the blocks after the header, calling `onImage` for each frame until it returns true. */
function walk(
  b: Uint8Array,
  head: Header,
  visit: {
    onImage(image: ImageBlock, delayCs: number): boolean | void;
    onLoop?(count: number): void;
  },
): void {
  let at = head.blocksAt;
  let control: { delayCs: number; transparentIndex?: number } | undefined;
  for (let frame = 1;;) {
    need(b, at + 1, "its block list (no trailer)");
    const introducer = b[at];
    if (introducer === 0x3b) return;
    if (introducer === 0x21) {
      need(b, at + 2, "an extension");
      const label = b[at + 1];
      if (label === 0xf9 && b[at + 2] === 4) {
        need(b, at + 8, "a graphic control extension");
        const flags = b[at + 3];
        control = {
          delayCs: u16(b, at + 4),
          transparentIndex: flags & 1 ? b[at + 6] : undefined,
        };
      }
      if (label === 0xff && b[at + 2] === 11) {
        need(b, at + 14, "an application extension");
        const name = String.fromCharCode(...b.subarray(at + 3, at + 14));
        if (name === "NETSCAPE2.0" && b[at + 14] === 3 && b[at + 15] === 1) {
          need(b, at + 18, "the looping extension");
          visit.onLoop?.(u16(b, at + 16));
        }
      }
      at = skipSubBlocks(b, at + 2, "an extension");
      continue;
    }
    if (introducer !== 0x2c) {
      throw new GifError(`the GIF has an unknown block 0x${introducer.toString(16)} at byte ${at}`);
    }
    need(b, at + 10, `frame ${frame}'s descriptor`);
    const packed = b[at + 9];
    let tableAt = at + 10;
    const local = packed & 0x80 ? { at: tableAt, size: 2 << (packed & 7) } : undefined;
    if (local) tableAt += local.size * 3;
    need(b, tableAt + 1, `frame ${frame}'s colour table`);
    const image: ImageBlock = {
      left: u16(b, at + 1),
      top: u16(b, at + 3),
      width: u16(b, at + 5),
      height: u16(b, at + 7),
      interlaced: (packed & 0x40) !== 0,
      table: local ?? head.global,
      transparentIndex: control?.transparentIndex,
      minCodeSize: b[tableAt],
      dataAt: tableAt + 1,
    };
    at = skipSubBlocks(b, image.dataAt, `frame ${frame}'s image data`);
    if (visit.onImage(image, control?.delayCs ?? 0)) return;
    control = undefined;
    frame++;
  }
}

/** The structure of a GIF: size, frame count, timing, looping; throws GifError when malformed. */
export function readGif(bytes: Uint8Array): GifInfo {
  const head = header(bytes);
  let frames = 0;
  let durationMs = 0;
  let loops: number | undefined;
  let hasAlpha = false;
  walk(bytes, head, {
    onImage(image, delayCs) {
      frames++;
      durationMs += delayCs * 10;
      if (image.transparentIndex !== undefined) hasAlpha = true;
    },
    onLoop(count) {
      loops = count;
    },
  });
  if (frames === 0) throw new GifError("the GIF has no frames");
  return {
    format: "gif",
    mimeType: "image/gif",
    width: head.width,
    height: head.height,
    frames,
    durationMs,
    loops,
    hasAlpha,
  };
}

/** Recognises a whole, readable GIF; undefined for anything else. Never throws. */
export function sniffGif(bytes: Uint8Array): GifInfo | undefined {
  if (bytes.length < 6 || bytes[0] !== 0x47 || bytes[1] !== 0x49 || bytes[2] !== 0x46) {
    return undefined;
  }
  try {
    const info = readGif(bytes);
    return info.width > 0 && info.height > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The data sub-blocks of a frame, joined. */
function frameData(b: Uint8Array, at: number): Uint8Array {
  let total = 0;
  for (let i = at; b[i] !== 0; i += 1 + b[i]) total += b[i];
  const data = new Uint8Array(total);
  let filled = 0;
  for (let i = at; b[i] !== 0; i += 1 + b[i]) {
    data.set(b.subarray(i + 1, i + 1 + b[i]), filled);
    filled += b[i];
  }
  return data;
}

/**
 * Decodes GIF LZW data into `count` colour indices. Codes widen up to 12 bits; a full table
 * keeps its codes until the next clear code. Data that ends early leaves the rest at 0 and
 * returns how many indices arrived.
 */
export function lzwDecode(data: Uint8Array, minCodeSize: number, out: Uint8Array): number {
  if (minCodeSize < 2 || minCodeSize > 11) {
    throw new GifError(`the GIF's LZW code size ${minCodeSize} is outside 2..11`);
  }
  const count = out.length;
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let next = end + 1;
  let size = minCodeSize + 1;
  let previous = -1;
  let pos = 0;
  let acc = 0;
  let bits = 0;
  let at = 0;
  const write = (code: number) => {
    const len = length[code];
    let i = pos + len - 1;
    for (let c = code; c >= 0; c = prefix[c], i--) if (i < count) out[i] = suffix[c];
    pos += len;
  };
  while (pos < count) {
    while (bits < size && at < data.length) {
      acc |= data[at++] << bits;
      bits += 8;
    }
    if (bits < size) break;
    const code = acc & ((1 << size) - 1);
    acc >>>= size;
    bits -= size;
    if (code === clear) {
      next = end + 1;
      size = minCodeSize + 1;
      previous = -1;
      continue;
    }
    if (code === end) break;
    if (previous < 0) {
      if (code > clear) throw new GifError(`the GIF's LZW data starts with code ${code}`);
      write(code);
      previous = code;
      continue;
    }
    let head: number;
    if (code < next) {
      write(code);
      head = first[code];
    } else if (code === next) {
      head = first[previous];
      write(previous);
      if (pos < count) out[pos] = head;
      pos++;
    } else {
      throw new GifError(`the GIF's LZW data has code ${code} before it is defined`);
    }
    if (next < 4096) {
      prefix[next] = previous;
      suffix[next] = head;
      first[next] = first[previous];
      length[next] = length[previous] + 1;
      next++;
      if (next === 1 << size && size < 12) size++;
    }
    previous = code;
  }
  return Math.min(pos, count);
}

/** Destination row of each stored row of an interlaced frame. */
function interlacedRows(height: number): Uint32Array {
  const rows = new Uint32Array(height);
  let i = 0;
  for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]]) {
    for (let y = start; y < height; y += step) rows[i++] = y;
  }
  return rows;
}

/**
 * The first frame, drawn onto a transparent canvas of the logical size, as RGBA. Refuses
 * canvases over `maxPixels` (default 4096 x 4096) before allocating them.
 */
export function decodeGifFirstFrame(
  bytes: Uint8Array,
  options: { maxPixels?: number } = {},
): GifFrame {
  const head = header(bytes);
  let found: ImageBlock | undefined;
  walk(bytes, head, {
    onImage(image) {
      found = image;
      return true;
    },
  });
  if (!found) throw new GifError("the GIF has no frames");
  const image: ImageBlock = found;
  const width = head.width || image.left + image.width;
  const height = head.height || image.top + image.height;
  const maxPixels = options.maxPixels ?? 4096 * 4096;
  if (width * height > maxPixels || image.width * image.height > maxPixels) {
    throw new GifError(
      `the GIF is ${width}x${height}, over the ${
        maxPixels.toLocaleString("en-US")
      } pixels decoded for a preview`,
    );
  }
  if (!image.table) throw new GifError("the GIF's first frame has no colour table");
  const indices = new Uint8Array(image.width * image.height);
  lzwDecode(frameData(bytes, image.dataAt), image.minCodeSize, indices);
  const rgba = new Uint8Array(width * height * 4);
  const rows = image.interlaced ? interlacedRows(image.height) : undefined;
  const table = image.table;
  for (let r = 0; r < image.height; r++) {
    const y = image.top + (rows ? rows[r] : r);
    if (y >= height) continue;
    for (let x = 0; x < image.width; x++) {
      const cx = image.left + x;
      if (cx >= width) break;
      const index = indices[r * image.width + x];
      if (index === image.transparentIndex) continue;
      const o = (y * width + cx) * 4;
      if (index < table.size) {
        const t = table.at + index * 3;
        rgba[o] = bytes[t];
        rgba[o + 1] = bytes[t + 1];
        rgba[o + 2] = bytes[t + 2];
      }
      rgba[o + 3] = 255;
    }
  }
  return { width, height, channels: 4, data: rgba };
}

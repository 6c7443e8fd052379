/**
 * Edit masks. The API edits where a PNG mask is fully transparent; people and models mostly
 * draw black-and-white masks without alpha, which the API refuses. Such a mask is converted
 * when the call says which colour marks the area to edit, and explained when it does not.
 */

import { loadFastPng, loadJpegJs } from "../../deps.ts";
import { ToolError } from "../../errors.ts";

/** Which colour of a black-and-white mask marks the area to edit. */
export type MaskMarks = "white" | "black";

/** A mask's pixels reduced to what matters: grey level and full transparency. */
export interface MaskPixels {
  format: "png" | "jpeg";
  width: number;
  height: number;
  /** Whether the file can carry transparency at all: an alpha channel, or a tRNS chunk. */
  alphaChannel: boolean;
  /** Luma per pixel, 0..255 (Rec. 601 weights). */
  luma: Uint8Array;
  /** 1 where a pixel is fully transparent (alpha exactly 0). */
  transparent: Uint8Array;
  transparentPixels: number;
}

/** What goes to the API, and what the result should say about it. */
export interface PreparedMask {
  /** The PNG to upload: the caller's own, or the converted one. */
  png: Uint8Array;
  converted: boolean;
  /** For the result, when the mask was converted. */
  note?: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const DEFAULT_MAX_PIXELS = 7680 * 4320;

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

function isPng(b: Uint8Array): boolean {
  return b.length >= 33 && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function lumaOf(r: number, g: number, b: number): number {
  return ((299 * r + 587 * g + 114 * b + 500) / 1000) | 0;
}

function count(flags: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < flags.length; i++) n += flags[i];
  return n;
}

async function decodePngMask(bytes: Uint8Array, label: string): Promise<MaskPixels> {
  const { decode } = await loadFastPng();
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new ToolError(`${label}: the PNG cannot be decoded (${(error as Error).message})`);
  }
  const { width, height, depth, channels, data, palette, transparency } = png;
  const max = (1 << depth) - 1;
  const rowSamples = width * channels;
  const rowBytes = Math.ceil((rowSamples * depth) / 8);
  const sample = depth >= 8
    ? (y: number, s: number) => data[y * rowSamples + s]
    : (y: number, s: number) => {
      const bit = s * depth;
      return (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & max;
    };
  const to8 = depth === 16 ? (v: number) => v >> 8 : (v: number) => Math.round((v * 255) / max);
  const luma = new Uint8Array(width * height);
  const transparent = new Uint8Array(width * height);
  const key = palette ? undefined : transparency;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      if (palette) {
        const color = palette[sample(y, x)] ?? [0, 0, 0, 255];
        luma[i] = lumaOf(color[0], color[1], color[2]);
        transparent[i] = color[3] === 0 ? 1 : 0;
      } else if (channels <= 2) {
        const grey = sample(y, x * channels);
        luma[i] = to8(grey);
        const alpha = channels === 2 ? sample(y, x * 2 + 1) : key && grey === key[0] ? 0 : max;
        transparent[i] = alpha === 0 ? 1 : 0;
      } else {
        const s = x * channels;
        const r = sample(y, s), g = sample(y, s + 1), b = sample(y, s + 2);
        luma[i] = lumaOf(to8(r), to8(g), to8(b));
        const alpha = channels === 4
          ? sample(y, s + 3)
          : key && r === key[0] && g === key[1] && b === key[2]
          ? 0
          : max;
        transparent[i] = alpha === 0 ? 1 : 0;
      }
    }
  }
  const alphaChannel = channels === 2 || channels === 4 || transparency !== undefined ||
    (palette?.some((c) => c.length === 4) ?? false);
  return {
    format: "png",
    width,
    height,
    alphaChannel,
    luma,
    transparent,
    transparentPixels: count(transparent),
  };
}

async function decodeJpegMask(
  bytes: Uint8Array,
  label: string,
  maxPixels: number,
): Promise<MaskPixels> {
  const { default: jpeg } = await loadJpegJs();
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: 1024,
    });
  } catch (error) {
    throw new ToolError(`${label}: the JPEG cannot be decoded (${(error as Error).message})`);
  }
  const { width, height, data } = decoded;
  const luma = new Uint8Array(width * height);
  for (let i = 0; i < luma.length; i++) {
    luma[i] = lumaOf(data[i * 4], data[i * 4 + 1], data[i * 4 + 2]);
  }
  return {
    format: "jpeg",
    width,
    height,
    alphaChannel: false,
    luma,
    transparent: new Uint8Array(width * height),
    transparentPixels: 0,
  };
}

/** Decodes a PNG or JPEG mask; other bytes, or more than `maxPixels`, are a ToolError. */
export async function readMask(
  bytes: Uint8Array,
  options: { label?: string; maxPixels?: number } = {},
): Promise<MaskPixels> {
  const label = options.label ?? "mask";
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isPng(bytes)) {
    const width = u32(bytes, 16), height = u32(bytes, 20);
    if (width * height > maxPixels) {
      throw new ToolError(
        `${label}: the mask is ${width}x${height}, over the ${
          maxPixels.toLocaleString("en-US")
        } pixels this server reads`,
      );
    }
    return await decodePngMask(bytes, label);
  }
  if (isJpeg(bytes)) return await decodeJpegMask(bytes, label, maxPixels);
  throw new ToolError(`${label}: a mask must be a PNG (or, with mask_marks, a PNG or JPEG)`);
}

const FIXES = 'either pass mask_marks: "white" or "black" to say which colour marks the area to ' +
  "edit (the server then converts the mask), or send a PNG whose area to edit is fully " +
  "transparent (alpha 0)";

/** Why the API would refuse or ignore this mask as it is, with both fixes; undefined when usable. */
export function maskProblem(mask: MaskPixels, label = "mask"): string | undefined {
  if (mask.transparentPixels > 0) return undefined;
  if (!mask.alphaChannel) {
    return `${label}: the mask has no alpha channel, and the API edits only where a mask is ` +
      `fully transparent; ${FIXES}`;
  }
  return `${label}: the mask has an alpha channel but no fully transparent pixel, so the API ` +
    `would edit nothing; ${FIXES}`;
}

/** Pixels `marks` selects: luma at or above mid-grey (128) is white, below it black. */
export function markedPixels(mask: MaskPixels, marks: MaskMarks): Uint8Array {
  const white = marks === "white";
  return mask.luma.map((v) => (v >= 128) === white ? 1 : 0);
}

/** An RGBA PNG of the mask's size: the marked pixels fully transparent, the rest opaque black. */
export async function alphaMaskPng(
  mask: MaskPixels,
  marked: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const { encode } = await loadFastPng();
  const rgba = new Uint8Array(mask.width * mask.height * 4);
  for (let i = 0; i < marked.length; i++) rgba[i * 4 + 3] = marked[i] ? 0 : 255;
  const png = encode({ width: mask.width, height: mask.height, data: rgba, channels: 4, depth: 8 });
  return new Uint8Array(png);
}

/**
 * The mask to upload. Without `marks`, the caller's PNG when it has transparent pixels, else a
 * ToolError explaining both fixes. With `marks`, a black-and-white mask converted to an alpha
 * mask; a mask that already has transparent pixels, or no pixel of the marked colour, is refused.
 */
export async function prepareMask(
  bytes: Uint8Array,
  options: { marks?: MaskMarks; label?: string; maxPixels?: number } = {},
): Promise<PreparedMask> {
  const label = options.label ?? "mask";
  const mask = await readMask(bytes, options);
  const { marks } = options;
  if (!marks) {
    const problem = maskProblem(mask, label);
    if (problem) throw new ToolError(problem);
    return { png: bytes, converted: false };
  }
  if (mask.transparentPixels > 0) {
    throw new ToolError(
      `mask_marks: the mask already has ${
        mask.transparentPixels.toLocaleString("en-US")
      } fully transparent pixels, which the API reads as the area to edit; leave out ` +
        `mask_marks to send it as it is, or flatten it to black and white first`,
    );
  }
  const marked = markedPixels(mask, marks);
  const total = marked.length;
  const n = count(marked);
  if (n === 0) {
    throw new ToolError(
      `mask_marks: "${marks}" marks no pixel of this mask (it has no ${marks} area at the ` +
        `mid-grey threshold), so nothing would be edited; check which colour marks the area`,
    );
  }
  const share = ((100 * n) / total).toFixed(1);
  return {
    png: await alphaMaskPng(mask, marked),
    converted: true,
    note: `${label}: converted from black and white (${marks} marks the area to edit) to an ` +
      `alpha mask; ${n.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} pixels ` +
      `(${share}%) will be edited`,
  };
}

/** Inline images that clients accept: a downscaled JPEG preview unless the original already fits. */

import type { InlineMode } from "../config.ts";
import { loadFastPng, loadJpegJs } from "../deps.ts";
import { encodeBase64 } from "./codecs/base64.ts";
import type { ImagePayload } from "./storage/received.ts";
import type { ResultInfo } from "./codecs/result_sniff.ts";
import { decodeGifFirstFrame } from "./codecs/gif.ts";
import { CORES, Slots } from "../slots.ts";
import { BoxScaler } from "./codecs/box_scale.ts";
import { encodeJpeg } from "./codecs/jpeg_encode.ts";
import { decodePngScaled, MAX_DECODE_EDGE, type Pixels } from "./codecs/png_decode.ts";

/**
 * Previews are CPU-bound and each holds a pixel buffer: one per core at most. Plain answers are
 * already limited by the answer slots; streamed ones are not.
 */
const previewSlots = new Slots(CORES);

async function withPreviewSlot<T>(work: () => Promise<T>): Promise<T> {
  const release = await previewSlots.acquire();
  try {
    return await work();
  } finally {
    release();
  }
}

/** Claude downsizes anything with a longer edge, so a larger preview only costs bytes. */
export const PREVIEW_MAX_EDGE = 1568;
const QUALITIES = [82, 68, 54, 40];

/**
 * The most pixels a preview is decoded from: twice the API's largest image (3840x2160). With the
 * edge limit this bounds a decoder's buffers whatever a header claims.
 */
export const MAX_PREVIEW_SOURCE_PIXELS = 4096 * 4096;

/**
 * The most base64 one inline image takes, and all of a call's together. Clients built on the MCP
 * SDK drop the connection on a stdio message over 10 MB (their read buffer's limit), and Claude
 * refuses an image over 5 MB.
 */
export const INLINE_MAX_BASE64 = { image: 5 * 1024 * 1024, call: 8 * 1024 * 1024 };

/** Raw bytes that make `base64` characters of base64. */
function rawBytes(base64: number): number {
  return Math.floor(base64 / 4) * 3;
}

/** One inline image block's data. */
export interface InlineImage {
  data: string;
  mimeType: string;
  width: number;
  height: number;
  bytes: number;
  kind: "original" | "preview";
}

/** An image as saved, with what its header says. */
export interface SourceImage {
  image: ImagePayload;
  info: ResultInfo;
}

async function original(source: SourceImage): Promise<InlineImage> {
  return {
    data: await source.image.base64(),
    mimeType: source.info.mimeType,
    width: source.info.width,
    height: source.info.height,
    bytes: source.image.size,
    kind: "original",
  };
}

/** The size of the first preview: the original, or smaller so the longer edge fits. */
function previewSize(info: ResultInfo): { width: number; height: number } {
  const scale = Math.min(1, PREVIEW_MAX_EDGE / Math.max(info.width, info.height));
  return {
    width: Math.max(1, Math.round(info.width * scale)),
    height: Math.max(1, Math.round(info.height * scale)),
  };
}

/** Decodes `source` to RGB at `size`, into `output` when it is large enough. */
async function decodeTo(
  source: SourceImage,
  size: { width: number; height: number },
  output?: Uint8Array,
): Promise<Pixels | undefined> {
  const { image } = source;
  if (source.info.format === "png") {
    const scaled = await decodePngScaled({ head: image.head, pieces: image.pieces() }, {
      size,
      output,
    });
    if (scaled) return scaled;
    const { decode: decodePng } = await loadFastPng();
    const png = decodePng(await image.bytes());
    if (png.depth !== 8 || png.palette) return undefined;
    const pixels = { ...png, data: png.data as Uint8Array };
    return { ...size, channels: 3, data: resize(pixels, size.width, size.height) };
  }
  if (source.info.format === "jpeg") {
    const { default: jpeg } = await loadJpegJs();
    const decoded = jpeg.decode(await image.bytes(), {
      useTArray: true,
      formatAsRGBA: true,
      maxMemoryUsageInMB: 256,
    });
    const pixels = {
      width: decoded.width,
      height: decoded.height,
      channels: 4,
      data: decoded.data,
    };
    return { ...size, channels: 3, data: resize(pixels, size.width, size.height) };
  }
  if (source.info.format === "gif") {
    // The first frame: a preview is a still, the saved file keeps the animation.
    const frame = decodeGifFirstFrame(await image.bytes(), {
      maxPixels: MAX_PREVIEW_SOURCE_PIXELS,
    });
    return { ...size, channels: 3, data: resize(frame, size.width, size.height) };
  }
  return undefined;
}

/** `src` as RGB of `width` x `height`, area-averaged (alpha dropped: the preview is a JPEG). */
function resize(src: Pixels, width: number, height: number): Uint8Array {
  if (src.channels === 3 && width === src.width && height === src.height) return src.data;
  const out = new Uint8Array(width * height * 3);
  const scaler = new BoxScaler({ from: src, to: { width, height } }, out);
  const stride = src.width * src.channels;
  for (let y = 0; y < src.height; y++) {
    scaler.addRow(src.data.subarray(y * stride, (y + 1) * stride), src.channels);
  }
  return out;
}

/** Re-encodes `source` as a JPEG no larger than `maxBytes`, downscaling as far as needed. */
export async function makePreview(
  source: SourceImage,
  maxBytes: number,
): Promise<InlineImage | undefined> {
  const size = previewSize(source.info);
  const pixels = new Uint8Array(size.width * size.height * 3);
  try {
    const first = await decodeTo(source, size, pixels);
    if (!first) return undefined;
    for (let round = 0, scale = 1; round < 6; round++, scale *= 0.7) {
      const width = Math.max(1, Math.round(first.width * scale));
      const height = Math.max(1, Math.round(first.height * scale));
      const data = resize(first, width, height);
      for (const quality of QUALITIES) {
        const encoded = encodeJpeg({ data, width, height, quality });
        if (encoded.length <= maxBytes) {
          return {
            data: encodeBase64(encoded),
            mimeType: "image/jpeg",
            width,
            height,
            bytes: encoded.length,
            kind: "preview",
          };
        }
      }
    }
    return undefined;
  } finally {
    pixels.buffer.transfer(0); // its memory goes back now, not at some GC
  }
}

/** Why no inline image is made from `info`, or undefined when one may be. */
export function previewRefusal(info: { width: number; height: number }): string | undefined {
  const { width, height } = info;
  if (Math.max(width, height) > MAX_DECODE_EDGE) {
    return `its header claims ${width}x${height}, beyond the ${MAX_DECODE_EDGE} px edge a ` +
      `preview is made from (the API's largest is 3840)`;
  }
  if (width * height > MAX_PREVIEW_SOURCE_PIXELS) {
    return `its header claims ${width}x${height}, more than the ${MAX_PREVIEW_SOURCE_PIXELS} ` +
      `pixels a preview is made from`;
  }
  return undefined;
}

/** Characters of base64 for `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function kilobytes(bytes: number): string {
  return `${Math.round(bytes / 1000)} KB`;
}

/** One line of an error, short enough for a note. */
function reason(error: unknown): string {
  const text = String((error as Error)?.message ?? error).replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * The inline blocks for a call's images under `mode`, sharing `budgetBytes` between them. It
 * does not fail: the images are saved and paid for by now, so an image that cannot be shown
 * becomes a note.
 */
export async function inlineImages(
  sources: readonly SourceImage[],
  options: { mode: InlineMode; budgetBytes: number },
): Promise<{ images: InlineImage[]; notes: string[] }> {
  if (options.mode === "none" || sources.length === 0) return { images: [], notes: [] };
  const budget = Math.min(options.budgetBytes, rawBytes(INLINE_MAX_BASE64.call));
  const perImage = Math.min(
    Math.floor(budget / sources.length),
    rawBytes(INLINE_MAX_BASE64.image),
  );
  const images: InlineImage[] = [];
  const notes: string[] = [];
  let fullBase64 = 0;
  for (const [index, source] of sources.entries()) {
    const n = index + 1;
    // SVG is text: the caller shows it its own way.
    if (source.info.format === "svg") continue;
    const refusal = previewRefusal(source.info);
    if (refusal) {
      notes.push(
        `image ${n} is not shown inline: ${refusal}; the file is saved as the API sent it`,
      );
      continue;
    }
    try {
      const animated = source.info.format === "gif";
      if (animated) {
        notes.push(
          `image ${n} is a GIF of ${source.info.frames ?? "several"} frames: the inline image ` +
            `shows its first frame, the file keeps the animation`,
        );
      }
      if (options.mode === "full" && !animated) {
        const base64 = base64Length(source.image.size);
        const { image, call } = INLINE_MAX_BASE64;
        if (base64 <= image && fullBase64 + base64 <= call) {
          fullBase64 += base64;
          images.push(await original(source));
          continue;
        }
        const over = base64 > image
          ? `its ${megabytes(base64)} of base64 is over the ${megabytes(image)} one inline ` +
            `image may take`
          : `it would take the call's inline images past ${megabytes(call)} of base64`;
        notes.push(
          `image ${n} is shown as a preview, not in full: ${over} (clients built on the MCP ` +
            `SDK drop a message over 10 MB); the file on disk is the full original`,
        );
      }
      // Only PNG, JPEG and GIF (its first frame) are decoded here: a WebP that fits the budget goes as it is, whatever
      // its size in pixels (the client scales it), and one that does not says why.
      const reencodable = ["png", "jpeg", "gif"].includes(source.info.format);
      const bytes = source.image.size;
      const fits = !animated && bytes <= perImage &&
        (!reencodable || Math.max(source.info.width, source.info.height) <= PREVIEW_MAX_EDGE);
      if (!fits && !reencodable) {
        notes.push(
          `image ${n} is not shown inline: it is ${source.info.format.toUpperCase()}, which this ` +
            `server cannot re-encode into a smaller preview, and its ${kilobytes(bytes)} is over ` +
            `the ${
              kilobytes(perImage)
            } inline budget (GPT_IMAGE_2_INLINE_MAX_BYTES); open the file`,
        );
        continue;
      }
      const inline = fits
        ? await original(source)
        : await withPreviewSlot(() => makePreview(source, perImage));
      if (inline) images.push(inline);
      else {
        notes.push(
          `image ${n} is not shown inline (no preview fits ${perImage} bytes); open the file`,
        );
      }
    } catch (error) {
      notes.push(
        `image ${n} is not shown inline: its preview failed (${reason(error)}); ` +
          `the file is saved as the API sent it`,
      );
    }
  }
  return { images, notes };
}

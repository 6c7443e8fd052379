/** Inline images that clients accept: a downscaled JPEG preview unless the original already fits. */

import type { InlineMode } from "../config.ts";
import { loadFastPng, loadJpegJs } from "../deps.ts";
import { base64ForJson, encodeBase64 } from "./codec_base64.ts";
import {
  imageBytes,
  imageHead,
  imagePieces,
  imageSize,
  type ReceivedImage,
  SpilledImage,
} from "./received.ts";
import type { ImageInfo } from "./sniff.ts";
import { CORES, Slots } from "../slots.ts";
import { BoxScaler } from "./box_scale.ts";
import { encodeJpeg } from "./jpeg_encode.ts";
import { decodePngScaled, type Pixels } from "./png_decode.ts";

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
  image: ReceivedImage;
  info: ImageInfo;
}

/** The image's base64 for the result: a file on disk is read now, while failing is a tool error. */
async function inlineBase64(image: ReceivedImage): Promise<string> {
  if (!(image instanceof SpilledImage)) return base64ForJson(image);
  return encodeBase64(await imageBytes(image));
}

async function original(source: SourceImage): Promise<InlineImage> {
  return {
    data: await inlineBase64(source.image),
    mimeType: source.info.mimeType,
    width: source.info.width,
    height: source.info.height,
    bytes: imageSize(source.image),
    kind: "original",
  };
}

/** The size of the first preview: the original, or smaller so the longer edge fits. */
function previewSize(info: ImageInfo): { width: number; height: number } {
  const scale = Math.min(1, PREVIEW_MAX_EDGE / Math.max(info.width, info.height));
  return {
    width: Math.max(1, Math.round(info.width * scale)),
    height: Math.max(1, Math.round(info.height * scale)),
  };
}

/**
 * Pixel buffers kept between previews, one per preview slot at most: the same few megabytes
 * reused, instead of new ones (and the page faults to fill them) on every call. Larger ones (a
 * 4K image's preview) are given back as soon as their preview is done. Plain buffers: V8 reads
 * and writes those of resizable ones measurably slower in the codecs' loops.
 */
const pixelBuffers: Uint8Array[] = [];
const PIXELS_KEPT = 1024 * 1024 * 3;

function takePixelBuffer(size: { width: number; height: number }): Uint8Array {
  const length = size.width * size.height * 3;
  const index = pixelBuffers.findIndex((buffer) => buffer.length >= length);
  return index === -1 ? new Uint8Array(length) : pixelBuffers.splice(index, 1)[0];
}

function givePixelBuffer(buffer: Uint8Array): void {
  if (buffer.length <= PIXELS_KEPT && pixelBuffers.length < CORES) pixelBuffers.push(buffer);
  else (buffer.buffer as ArrayBuffer).transfer(0); // its memory goes back now, not at some GC
}

/** Decodes `source` to RGB at `size`, into `output` when it is large enough. */
async function decodeTo(
  source: SourceImage,
  size: { width: number; height: number },
  output?: Uint8Array,
): Promise<Pixels | undefined> {
  const { image } = source;
  if (source.info.format === "png") {
    const pieces = image instanceof SpilledImage ? imagePieces(image) : [image];
    const scaled = await decodePngScaled({ head: imageHead(image), pieces }, { size, output });
    if (scaled) return scaled;
    const { decode: decodePng } = await loadFastPng();
    const png = decodePng(await imageBytes(image));
    if (png.depth !== 8 || png.palette) return undefined;
    const pixels = { ...png, data: png.data as Uint8Array };
    return { ...size, channels: 3, data: resize(pixels, size.width, size.height) };
  }
  if (source.info.format === "jpeg") {
    const { default: jpeg } = await loadJpegJs();
    const decoded = jpeg.decode(await imageBytes(image), {
      useTArray: true,
      formatAsRGBA: true,
      maxMemoryUsageInMB: 1024,
    });
    const pixels = {
      width: decoded.width,
      height: decoded.height,
      channels: 4,
      data: decoded.data,
    };
    return { ...size, channels: 3, data: resize(pixels, size.width, size.height) };
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
  const pixels = takePixelBuffer(size);
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
    givePixelBuffer(pixels);
  }
}

/** The inline blocks for a call's images under `mode`, sharing `budgetBytes` between them. */
export async function inlineImages(
  sources: readonly SourceImage[],
  options: { mode: InlineMode; budgetBytes: number },
): Promise<{ images: InlineImage[]; notes: string[] }> {
  if (options.mode === "none" || sources.length === 0) return { images: [], notes: [] };
  if (options.mode === "full") {
    return { images: await Promise.all(sources.map(original)), notes: [] };
  }
  const perImage = Math.floor(options.budgetBytes / sources.length);
  const images: InlineImage[] = [];
  const notes: string[] = [];
  for (const [index, source] of sources.entries()) {
    const fits = imageSize(source.image) <= perImage &&
      Math.max(source.info.width, source.info.height) <= PREVIEW_MAX_EDGE;
    const inline = fits
      ? await original(source)
      : await withPreviewSlot(() => makePreview(source, perImage));
    if (inline) images.push(inline);
    else {notes.push(
        `image ${index + 1} is not shown inline (no preview fits ${perImage} bytes); open the file`,
      );}
  }
  return { images, notes };
}

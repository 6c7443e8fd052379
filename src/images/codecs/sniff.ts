/** Recognises PNG, JPEG and WebP by their bytes and reads their dimensions from the header. */

export type ImageFormat = "png" | "jpeg" | "webp";

/** What the bytes of an image say about it. */
export interface ImageInfo {
  format: ImageFormat;
  mimeType: string;
  width: number;
  height: number;
  /** Whether the image may carry transparency (PNG colour types with alpha or tRNS). */
  hasAlpha: boolean;
}

export const MIME_TYPES: Record<ImageFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}
function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}
function u24le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
}
function ascii(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...b.subarray(start, end));
}

function png(b: Uint8Array): ImageInfo | undefined {
  if (b.length < 33 || !PNG_SIGNATURE.every((v, i) => b[i] === v)) return undefined;
  if (ascii(b, 12, 16) !== "IHDR") return undefined;
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const colorType = b[25];
  if (!width || !height) return undefined;
  let hasAlpha = colorType === 4 || colorType === 6;
  // tRNS sits between IHDR and IDAT; scan a bounded number of chunks for it.
  for (let i = 33, chunks = 0; !hasAlpha && i + 8 <= b.length && chunks < 64; chunks++) {
    const type = ascii(b, i + 4, i + 8);
    if (type === "tRNS") hasAlpha = true;
    if (type === "IDAT" || type === "IEND") break;
    i += 12 + u32be(b, i);
  }
  return { format: "png", mimeType: MIME_TYPES.png, width, height, hasAlpha };
}

function jpeg(b: Uint8Array): ImageInfo | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc;
    if (isFrame) {
      const height = u16be(b, i + 5);
      const width = u16be(b, i + 7);
      return width && height
        ? { format: "jpeg", mimeType: MIME_TYPES.jpeg, width, height, hasAlpha: false }
        : undefined;
    }
    i += 2 + u16be(b, i + 2);
  }
  return undefined;
}

function webp(b: Uint8Array): ImageInfo | undefined {
  if (b.length < 30 || ascii(b, 0, 4) !== "RIFF" || ascii(b, 8, 12) !== "WEBP") return undefined;
  const chunk = ascii(b, 12, 16);
  const info = (width: number, height: number, hasAlpha: boolean): ImageInfo => ({
    format: "webp",
    mimeType: MIME_TYPES.webp,
    width,
    height,
    hasAlpha,
  });
  if (chunk === "VP8 " && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return info((b[26] | (b[27] << 8)) & 0x3fff, (b[28] | (b[29] << 8)) & 0x3fff, false);
  }
  if (chunk === "VP8L" && b[20] === 0x2f) {
    const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
    return info((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, ((bits >>> 28) & 1) === 1);
  }
  if (chunk === "VP8X") {
    return info(u24le(b, 24) + 1, u24le(b, 27) + 1, (b[20] & 0x10) !== 0);
  }
  return undefined;
}

/** Identifies an image by its magic numbers; undefined for anything else. */
export function sniffImage(bytes: Uint8Array): ImageInfo | undefined {
  return png(bytes) ?? jpeg(bytes) ?? webp(bytes);
}

function startsWith(b: Uint8Array, magic: readonly number[], at = 0): boolean {
  return magic.every((v, i) => b[at + i] === v);
}

/** Whether the bytes read as text: UTF-8 (or UTF-16 with a byte-order mark), no control codes. */
function isText(b: Uint8Array): boolean {
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff])) return true;
  const head = b.subarray(0, 1024);
  const control = (c: number) =>
    (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) || c === 0x7f;
  if (head.some(control)) return false;
  // A multi-byte character cut at the window's edge is still text: try up to 3 bytes shorter.
  const cuts = head.length < b.length ? 4 : 1;
  for (let cut = 0; cut < cuts && cut < head.length; cut++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // Not valid UTF-8 up to here; a shorter window may be.
    }
  }
  return false;
}

/** What kind of file some bytes that are no usable image look like, by their magic numbers. */
function kindOf(b: Uint8Array): string {
  if (startsWith(b, PNG_SIGNATURE.slice(0, Math.min(b.length, 8)))) {
    return b.length < 33 ? "a truncated PNG" : "a damaged PNG";
  }
  if (startsWith(b, [0xff, 0xd8, 0xff])) return "a truncated or damaged JPEG";
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) {
    return "a truncated or damaged WebP";
  }
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return "a GIF image";
  if (startsWith(b, [0x66, 0x74, 0x79, 0x70], 4)) return "a HEIC, AVIF or MP4 file";
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) {
    return "a TIFF image";
  }
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46])) return "a PDF document";
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06])) {
    return "a ZIP archive";
  }
  if (startsWith(b, [0x1f, 0x8b])) return "a gzip archive";
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) return "an executable program";
  if (isText(b)) {
    const head = new TextDecoder().decode(b.subarray(0, 1024)).trimStart().toLowerCase();
    if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(head)) {
      return "an SVG";
    }
    if (/^(<!doctype html|<html[\s>])/.test(head)) return "an HTML page";
    return "a text file";
  }
  if (startsWith(b, [0x4d, 0x5a])) return "an executable program";
  if (startsWith(b, [0x42, 0x4d]) && b.length >= 26) return "a BMP image";
  return "binary data in no format this server reads";
}

/**
 * What some bytes that are no usable image look like ("it looks like a text file"), for error
 * messages. It names a kind and never quotes the bytes: a file picked by mistake may hold a secret.
 */
export function describeBytes(bytes: Uint8Array): string {
  return bytes.length === 0 ? "it is an empty file" : `it looks like ${kindOf(bytes)}`;
}

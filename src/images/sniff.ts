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

/** A short, printable description of what some bytes start with, for error messages. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return "it is empty";
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `its first bytes are ${head}`;
}

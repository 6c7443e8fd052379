/** The size rules of gpt-image-2, checked before any request is made. */

/** A parsed `WxH` size. */
export interface Dimensions {
  width: number;
  height: number;
}

export const MIN_PIXELS = 655_360;
export const MAX_PIXELS = 8_294_400;
export const MAX_EDGE = 3840;

/** Returns why `size` is not acceptable, or undefined when it is. */
export function sizeProblem(size: string): string | undefined {
  if (size === "auto") return undefined;
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  if (!match) return `size must be "auto" or WIDTHxHEIGHT such as "1536x1024", got "${size}"`;
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width % 16 !== 0 || height % 16 !== 0) {
    return `size ${size}: both edges must be multiples of 16`;
  }
  if (Math.max(width, height) > MAX_EDGE) {
    return `size ${size}: the longest edge must be at most ${MAX_EDGE} px`;
  }
  if (Math.max(width, height) > 3 * Math.min(width, height)) {
    return `size ${size}: the aspect ratio must be within 1:3 and 3:1`;
  }
  const pixels = width * height;
  if (pixels < MIN_PIXELS || pixels > MAX_PIXELS) {
    return `size ${size}: total pixels must be between 655,360 and 8,294,400, got ${
      pixels.toLocaleString("en-US")
    }`;
  }
  return undefined;
}

/** Parses a `WxH` size; `auto` and malformed strings give undefined. */
export function parseSize(size: string | undefined): Dimensions | undefined {
  const match = size ? /^(\d+)x(\d+)$/.exec(size) : null;
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

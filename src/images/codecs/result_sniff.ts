/** Recognises what the API answered with, by its bytes: a raster image, an animated GIF or SVG text. */

import { type ImageFormat, sniffImage } from "./sniff.ts";
import { sniffGif } from "./gif.ts";
import { sniffSvg } from "./svg.ts";

/** Every format an image call can produce. */
export type ResultFormat = ImageFormat | "gif" | "svg";

/** What the bytes of a result say about it; an SVG's size is 0 where it declares none. */
export interface ResultInfo {
  format: ResultFormat;
  mimeType: string;
  width: number;
  height: number;
  hasAlpha: boolean;
  /** GIF only. */
  frames?: number;
}

/**
 * The format and size of a result. `head` is the start of the bytes; `whole` reads them all,
 * which only a GIF needs (its frames are counted, so a cut animation is not taken as whole).
 */
export async function sniffResult(
  head: Uint8Array,
  whole: () => Promise<Uint8Array>,
): Promise<ResultInfo | undefined> {
  const raster = sniffImage(head);
  if (raster) return raster;
  if (head[0] === 0x47 && head[1] === 0x49 && head[2] === 0x46) {
    const gif = sniffGif(await whole());
    return gif && {
      format: "gif",
      mimeType: gif.mimeType,
      width: gif.width,
      height: gif.height,
      hasAlpha: gif.hasAlpha,
      frames: gif.frames,
    };
  }
  const svg = sniffSvg(head);
  return svg && {
    format: "svg",
    mimeType: svg.mimeType,
    width: Math.round(svg.width ?? 0),
    height: Math.round(svg.height ?? 0),
    hasAlpha: true,
  };
}

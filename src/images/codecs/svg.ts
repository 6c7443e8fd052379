/** Recognises SVG text by its start, and reads the size its root element declares. */

/** What the start of an SVG document says about it; sizes are absent where it gives none. */
export interface SvgInfo {
  format: "svg";
  mimeType: "image/svg+xml";
  width?: number;
  height?: number;
  viewBox?: { x: number; y: number; width: number; height: number };
}

/** How much of the text is searched for the root element. */
const HEAD_BYTES = 64 * 1024;

/** The offset just past `close` at or after `from`, or -1. */
function after(text: string, from: number, close: string): number {
  const at = text.indexOf(close, from);
  return at < 0 ? -1 : at + close.length;
}

/** A length in user units or px; undefined for percentages, other units, or nonsense. */
function pixels(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$/.exec(value);
  const n = match ? Number(match[1]) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return match ? match[1] ?? match[2] : undefined;
}

/**
 * Recognises an SVG document: UTF-8 text that starts, after an optional byte order mark,
 * whitespace, XML declaration, comments, processing instructions and doctype, with an `<svg`
 * element. Undefined for anything else. Never throws.
 */
export function sniffSvg(bytes: Uint8Array): SvgInfo | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
      .decode(bytes.subarray(0, HEAD_BYTES));
  } catch {
    // A cut in the middle of a character at the end of the head is not an error in the text.
    if (bytes.length <= HEAD_BYTES) return undefined;
    text = new TextDecoder("utf-8").decode(bytes.subarray(0, HEAD_BYTES));
  }
  let at = 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at])) at++;
    if (text.startsWith("<?", at)) at = after(text, at, "?>");
    else if (text.startsWith("<!--", at)) at = after(text, at + 4, "-->");
    else if (text.startsWith("<!DOCTYPE", at)) {
      const close = text.indexOf(">", at);
      const subset = text.indexOf("[", at);
      if (subset >= 0 && (close < 0 || subset < close)) {
        const subsetEnd = text.indexOf("]", subset);
        at = subsetEnd < 0 ? -1 : after(text, subsetEnd, ">");
      } else at = close < 0 ? -1 : close + 1;
    } else break;
    if (at < 0) return undefined;
  }
  if (!/^<svg[\s>/]/.test(text.slice(at, at + 5))) return undefined;
  const end = text.indexOf(">", at);
  if (end < 0) return undefined;
  const tag = text.slice(at, end);
  const info: SvgInfo = { format: "svg", mimeType: "image/svg+xml" };
  const numbers = attribute(tag, "viewBox")?.trim().split(/[\s,]+/).map(Number);
  if (numbers?.length === 4 && numbers.every(Number.isFinite) && numbers[2] > 0 && numbers[3] > 0) {
    info.viewBox = { x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3] };
  }
  const width = pixels(attribute(tag, "width"));
  const height = pixels(attribute(tag, "height"));
  const box = info.viewBox;
  // A missing edge follows the viewBox's proportions, as a renderer would draw it.
  info.width = width ??
    (height !== undefined && box ? height * box.width / box.height : box?.width);
  info.height = height ??
    (width !== undefined && box ? width * box.height / box.width : box?.height);
  if (info.width === undefined) delete info.width;
  if (info.height === undefined) delete info.height;
  return info;
}

/** Strict base64 decoding: anything that is not clean base64 is refused, not guessed at. */

import { decodeBase64 } from "./codec_base64.ts";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard base64, or returns undefined when `text` is not valid base64. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (clean.length === 0 || clean.length % 4 !== 0 || !BASE64.test(clean)) return undefined;
  try {
    return decodeBase64(clean);
  } catch {
    return undefined;
  }
}

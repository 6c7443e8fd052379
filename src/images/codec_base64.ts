/** Base64 through the runtime's native `Uint8Array.fromBase64` / `toBase64` (fast, strict). */

import { rawJsonString } from "../json_frame.ts";

interface NativeBase64 {
  fromBase64(text: string, options?: { lastChunkHandling?: "strict" }): Uint8Array;
}

/** Decodes base64 (ASCII whitespace is skipped); throws on anything else that is not base64. */
export function decodeBase64(text: string): Uint8Array {
  return (Uint8Array as unknown as NativeBase64).fromBase64(text, { lastChunkHandling: "strict" });
}

/** Decodes base64, or returns undefined when `text` is empty or not valid base64. */
export function tryDecodeBase64(text: string): Uint8Array | undefined {
  try {
    const bytes = decodeBase64(text);
    return bytes.length ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return (bytes as unknown as { toBase64(): string }).toBase64();
}

// base64 is ASCII, which UTF-8 decodes on its fast path.
const ASCII = new TextDecoder();

/** The exact base64 each decoded image arrived as, for as long as the image is alive. */
const arrivedAs = new WeakMap<Uint8Array, string | Uint8Array>();

/**
 * Decodes base64 that arrived from the API, as a string or as its ASCII bytes, and remembers
 * that text so `base64ForJson` can send it on unchanged instead of encoding the image again.
 */
export function decodeArrivedBase64(text: string | Uint8Array): Uint8Array | undefined {
  const bytes = tryDecodeBase64(typeof text === "string" ? text : ASCII.decode(text));
  // Canonical padded base64 has exactly this length; anything else held skipped whitespace.
  if (bytes && text.length === Math.ceil(bytes.length / 3) * 4) arrivedAs.set(bytes, text);
  return bytes;
}

/** `bytes` as base64 for a JSON-RPC frame: the text it arrived as when known, else encoded. */
export function base64ForJson(bytes: Uint8Array): string {
  const text = arrivedAs.get(bytes);
  if (typeof text === "string") return text;
  return text ? rawJsonString(text) : encodeBase64(bytes);
}

/**
 * Reads an image API answer from its bytes. The base64 fields (megabytes each) are decoded
 * straight from their byte ranges instead of going through a whole-body string and
 * `JSON.parse`, which doubled the large strings per call and kept the server's memory growing.
 */

import { decodeArrivedBase64 } from "../images/codec_base64.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first, from); i !== -1; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  while (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09) i++;
  return i;
}

/** The answer's JSON without its base64 fields, and those fields decoded (undefined if invalid). */
export interface ParsedImageAnswer {
  json: Record<string, unknown>;
  images: (Uint8Array | undefined)[];
}

/** Parses `bytes` as JSON, lifting out every string value of `key` as decoded base64. */
export function parseImageAnswer(bytes: Uint8Array, key: string): ParsedImageAnswer {
  const marker = new TextEncoder().encode(`"${key}"`);
  const kept: Uint8Array[] = [];
  const images: (Uint8Array | undefined)[] = [];
  let from = 0;
  for (let at = indexOf(bytes, marker, 0); at !== -1; at = indexOf(bytes, marker, from)) {
    let i = skipSpace(bytes, at + marker.length);
    if (bytes[i] !== 0x3a) {
      from = at + marker.length;
      continue;
    }
    i = skipSpace(bytes, i + 1);
    if (bytes[i] !== QUOTE) {
      from = at + marker.length;
      continue;
    }
    const start = i + 1;
    const end = bytes.indexOf(QUOTE, start);
    if (end === -1) throw new SyntaxError("Unterminated string in JSON (a base64 field)");
    const value = bytes.subarray(start, end);
    // JSON may escape "/" as "\/": rare, so only tried when plain decoding fails.
    images.push(
      decodeArrivedBase64(value) ??
        (value.includes(BACKSLASH) ? decodeEscaped(bytes.subarray(start - 1, end + 1)) : undefined),
    );
    kept.push(bytes.subarray(from, start));
    from = end;
  }
  kept.push(bytes.subarray(from));
  const decoder = new TextDecoder();
  const text = kept.map((part, i) => decoder.decode(part, { stream: i < kept.length - 1 })).join(
    "",
  );
  const json = JSON.parse(text);
  if (typeof json !== "object" || json === null) {
    throw new SyntaxError("The answer is not a JSON object");
  }
  return { json, images };
}

function decodeEscaped(quoted: Uint8Array): Uint8Array | undefined {
  return decodeArrivedBase64(JSON.parse(new TextDecoder().decode(quoted)));
}

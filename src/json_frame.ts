/**
 * JSON-RPC frames whose largest strings are written as the bytes they already are. An image
 * result carries megabytes of base64 that arrived as ASCII bytes in the API's answer; turning
 * them into a string, escaping that string into the JSON text and encoding it back to UTF-8
 * cost ~55 ms and ~70 MB of transient memory per 4K image. Instead such a value travels as a
 * `RawJsonString` and the frame is written as the JSON around it plus those very bytes.
 *
 * @module
 */

import { concatBytes, releaseBytes } from "./bytes.ts";

/** Text that is valid inside a JSON string as it is (base64, say), as bytes in pieces. */
export class RawJsonString {
  constructor(readonly parts: readonly Uint8Array[]) {}
}

/**
 * Wraps `parts` for a field that the MCP types declare as a string. Only this server's
 * transport (`encodeFrame`) can write the result, which is where every tool result goes.
 */
export function rawJsonString(parts: readonly Uint8Array[]): string {
  return new RawJsonString(parts) as unknown as string;
}

/** Random, so no prompt or file name echoed in a result can forge a placeholder. */
const TOKEN = `@@raw-${crypto.randomUUID()}-`;
const TOKEN_PATTERN = new RegExp(`"${TOKEN}(\\d+)"`);
const encoder = new TextEncoder();

/** Writes of at least this size: fewer, larger writes move megabytes faster than many. */
const BLOCK = 1 << 20;

/** Joins consecutive small parts into blocks of about `BLOCK` bytes; large parts stay as they are. */
function coalesce(parts: Uint8Array[]): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (group.length === 1) blocks.push(group[0]);
    else if (group.length > 1) blocks.push(concatBytes(group));
    group = [];
    size = 0;
  };
  for (const part of parts) {
    if (part.length >= BLOCK) {
      flush();
      blocks.push(part); // already large: written as it is
      continue;
    }
    group.push(part);
    size += part.length;
    if (size >= BLOCK) flush();
  }
  flush();
  return blocks;
}

/** One message ready to write: its parts in order, and the raw strings it carries. */
export interface Frame {
  parts: Uint8Array[];
  raw: readonly RawJsonString[];
}

/** `message` as one newline-terminated JSON line, in parts to write one after another. */
export function encodeFrame(message: unknown): Frame {
  const raw: RawJsonString[] = [];
  const text = JSON.stringify(message, (_key, value) => {
    if (!(value instanceof RawJsonString)) return value;
    raw.push(value);
    return TOKEN + (raw.length - 1);
  }) + "\n";
  if (raw.length === 0) return { parts: [encoder.encode(text)], raw };
  // split() with a capture group alternates: JSON text, index, JSON text, index, ..., JSON text.
  const pieces = text.split(TOKEN_PATTERN);
  const quote = encoder.encode('"');
  const parts = coalesce(
    pieces.flatMap((piece, i) =>
      i % 2 === 0 ? [encoder.encode(piece)] : [quote, ...raw[Number(piece)].parts, quote]
    ),
  );
  return { parts, raw };
}

/** Gives back the memory of a written frame's raw strings (those in releasable buffers). */
export function releaseFrame(frame: Frame): void {
  for (const raw of frame.raw) for (const part of raw.parts) releaseBytes(part);
}

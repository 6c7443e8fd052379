/**
 * JSON-RPC frames whose largest strings are written as the bytes they already are. An image
 * result carries megabytes of base64 that arrived as ASCII bytes in the API's answer; turning
 * them into a string, escaping that string into the JSON text and encoding it back to UTF-8
 * cost ~55 ms and ~70 MB of transient memory per 4K image. Instead such a value travels as a
 * `RawJsonString` and the frame is written as the JSON around it plus those very bytes.
 *
 * @module
 */

import { type ByteSink, concatBytes, writeAll } from "./bytes.ts";

/** Bytes in pieces, produced as they are taken or not. */
export type Pieces = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Text that is valid inside a JSON string as it is (base64, say), as bytes in pieces. The pieces
 * may be produced as they are written (a generator that reuses one buffer, or reads a file):
 * each is written before the next is taken, and only once.
 */
export class RawJsonString {
  constructor(
    readonly parts: Pieces,
    /** Gives back the memory the text was read from, once the frame is written. */
    readonly release: () => void = () => {},
  ) {}
}

/**
 * Wraps `parts` for a field that the MCP types declare as a string. Only this server's
 * transport (`encodeFrame`) can write the result, which is where every tool result goes.
 */
export function rawJsonString(parts: Pieces, release?: () => void): string {
  return new RawJsonString(parts, release) as unknown as string;
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

/** A frame's bytes in order: fixed, or produced as they are written. */
export type FramePart = Uint8Array | Pieces;

/** One message ready to write: its parts in order, and the raw strings it carries. */
export interface Frame {
  parts: FramePart[];
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
  const parts: FramePart[] = [];
  let fixed: Uint8Array[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (i % 2 === 0) {
      fixed.push(encoder.encode(piece));
      continue;
    }
    const value = raw[Number(piece)].parts;
    if (Array.isArray(value)) fixed.push(quote, ...value, quote);
    else {
      parts.push(...coalesce([...fixed, quote]), value);
      fixed = [quote];
    }
  }
  parts.push(...coalesce(fixed));
  return { parts, raw };
}

/** Writes `frame` in order; each produced piece is written before the next is taken. */
export async function writeFrame(sink: ByteSink, frame: Frame): Promise<void> {
  for (const part of frame.parts) {
    if (part instanceof Uint8Array) await writeAll(sink, part);
    else for await (const piece of part) await writeAll(sink, piece);
  }
}

/** Gives back the memory of a written frame's raw strings. */
export function releaseFrame(frame: Frame): void {
  for (const raw of frame.raw) raw.release();
}

/**
 * Gives back what the raw strings in `message` hold (memory, an open file) when it will never be
 * written: the SDK drops the result of a request cancelled while its handler ran.
 */
export function releaseUnsent(message: unknown): void {
  // The walk `encodeFrame` does; the text it builds is thrown away (a cancel is rare).
  JSON.stringify(message, (_key, value) => {
    if (!(value instanceof RawJsonString)) return value;
    value.release();
    return "";
  });
}

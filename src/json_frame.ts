/**
 * JSON-RPC frames whose largest strings are written as the bytes they already are. An image
 * result carries megabytes of base64 that arrived as ASCII bytes in the API's answer; turning
 * them into a string, escaping that string into the JSON text and encoding it back to UTF-8
 * cost ~55 ms and ~70 MB of transient memory per 4K image. Instead such a value travels as a
 * `RawJsonString` and the frame is written as the JSON around it plus those very bytes.
 *
 * @module
 */

/** Text that is already valid inside a JSON string without escaping (base64, say), as bytes. */
export class RawJsonString {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Wraps `bytes` for a field that the MCP types declare as a string. Only this server's
 * transport (`encodeFrame`) can write the result, which is where every tool result goes.
 */
export function rawJsonString(bytes: Uint8Array): string {
  return new RawJsonString(bytes) as unknown as string;
}

/** Random, so no prompt or file name echoed in a result can forge a placeholder. */
const TOKEN = `@@raw-${crypto.randomUUID()}-`;
const TOKEN_PATTERN = new RegExp(`"${TOKEN}(\\d+)"`);
const encoder = new TextEncoder();

/** `message` as one newline-terminated JSON line, in parts to write one after another. */
export function encodeFrame(message: unknown): Uint8Array[] {
  const raw: Uint8Array[] = [];
  const text = JSON.stringify(message, (_key, value) => {
    if (!(value instanceof RawJsonString)) return value;
    raw.push(value.bytes);
    return TOKEN + (raw.length - 1);
  }) + "\n";
  if (raw.length === 0) return [encoder.encode(text)];
  // split() with a capture group alternates: JSON text, index, JSON text, index, ..., JSON text.
  const pieces = text.split(TOKEN_PATTERN);
  const quote = encoder.encode('"');
  return pieces.flatMap((piece, i) =>
    i % 2 === 0 ? [encoder.encode(piece)] : [quote, raw[Number(piece)], quote]
  );
}

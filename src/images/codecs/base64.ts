/** Base64 through the runtime's native `Uint8Array.fromBase64` / `toBase64` (fast, strict). */

import {
  concatBytes,
  growableBytes,
  pooledBytes,
  releaseBytes,
  resizeBytes,
  trimBytes,
} from "../../bytes.ts";

type LastChunk = { lastChunkHandling?: "strict" | "stop-before-partial" };
interface NativeBase64 {
  fromBase64(text: string, options?: LastChunk): Uint8Array;
}
interface NativeSetBase64 {
  setFromBase64(text: string, options?: LastChunk): { read: number; written: number };
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

/** base64 is ASCII, which UTF-8 decodes on its fast path. */
export const ASCII: TextDecoder = new TextDecoder();

/** Bytes decoded from base64, and that text when it is canonical (to send on unchanged). */
export interface ArrivedBase64 {
  bytes: Uint8Array;
  arrivedAs?: string;
}

/**
 * Decodes base64 that arrived from the API as a string (a streamed event), keeping that text
 * beside the bytes when `base64ForJson` may send it on unchanged instead of encoding again.
 */
export function decodeArrivedBase64(text: string): ArrivedBase64 | undefined {
  const bytes = tryDecodeBase64(text);
  if (!bytes) return undefined;
  return isCanonical(text.length, bytes.length) ? { bytes, arrivedAs: text } : { bytes };
}

/** Canonical padded base64 has exactly this length; anything else held whitespace or escapes. */
function isCanonical(textLength: number, byteLength: number): boolean {
  return textLength === Math.ceil(byteLength / 3) * 4;
}

/**
 * The most text kept beside its image for full inline (a 1024x1024 answer is 2 to 4 MB): larger
 * images are encoded again as their frame is written (`base64ForJson`), which costs a few
 * milliseconds and spares holding a 4K image twice (23 MB of text on top of 17 MB).
 */
const KEEP_TEXT_MAX = 5 << 20;

/**
 * Decodes base64 that arrives in pieces (a JSON string value read off the network) straight
 * into one buffer, so an answer never exists whole as bytes and again as a string. JSON's `\/`
 * escape is undone; any other backslash makes the value invalid.
 */
export class Base64Decoder {
  #out: Uint8Array;
  /** Bytes in `#out`, decoded since the last `drain`. */
  #written = 0;
  /** Bytes handed over by `drain`. */
  #drained = 0;
  #carry = "";
  #escape = false;
  #bad = false;
  /** A padded group was read: the value must end there. */
  #padded = false;
  #rawLength = 0;
  /** The text as it arrived, in one buffer (kept for full inline only). */
  #text?: Uint8Array;
  /** After `end`: the kept text, when it is canonical base64 of the bytes. */
  #arrivedAs?: Uint8Array;
  readonly #textCapacity: number;

  get #outCapacity(): number {
    return Math.ceil(this.#textCapacity / 4) * 3;
  }

  /**
   * `capacity`: the most text expected (buffers are sized from it; only what is written becomes
   * resident, and they grow when short); `keepText`: keep the text too, in one buffer.
   */
  constructor(capacity: number, keepText = false) {
    this.#textCapacity = Math.max(4, capacity);
    this.#out = pooledBytes(0, this.#outCapacity);
    if (keepText && capacity <= KEEP_TEXT_MAX) this.#text = pooledBytes(0, this.#textCapacity);
  }

  /**
   * Decodes the next piece of base64 text, given as its ASCII bytes (not kept by reference) and,
   * when the caller has it already, as a string.
   */
  write(piece: Uint8Array, pieceText = ASCII.decode(piece)): void {
    if (this.#bad || piece.length === 0) return;
    if (this.#text) this.#keep(piece);
    this.#rawLength += piece.length;
    let text = (this.#escape ? "\\" : "") + pieceText;
    this.#escape = text.endsWith("\\");
    if (this.#escape) text = text.slice(0, -1);
    if (text.includes("\\")) text = text.replaceAll("\\/", "/");
    if (text.includes("\\")) return this.#fail();
    if (this.#carry) {
      // Complete the carried group with the piece's first characters on their own: joining the
      // carry to the whole piece made the decoder copy it (64 KB a piece, all garbage).
      const take = 4 - (this.#carry.length % 4 || 4);
      this.#decode(this.#carry + text.slice(0, take), "stop-before-partial");
      text = text.slice(take);
    }
    this.#decode(this.#carry + text, "stop-before-partial");
    if (this.#carry.length > 64) this.#fail(); // nothing decodable: not base64
  }

  /** Bytes decoded so far, drained or not. */
  get decoded(): number {
    return this.#drained + this.#written;
  }

  /** Bytes decoded since the last drain. */
  get pending(): number {
    return this.#written;
  }

  /**
   * Hands over the bytes decoded since the last drain, to be written elsewhere before the next
   * `write` (they are a view of the buffer, which is then filled again from its start). Text
   * kept for full inline is given up: the image is no longer whole in memory.
   */
  drain(): Uint8Array {
    const bytes = this.#out.subarray(0, this.#written);
    this.#drained += this.#written;
    this.#written = 0;
    releaseBytes(this.#text);
    this.#text = undefined;
    return bytes;
  }

  /** Gives back the buffer's memory past `length` bytes, after a drain. */
  compact(length: number): void {
    if (this.#written === 0 && this.#out.length > length) resizeBytes(this.#out, length);
  }

  /**
   * The decoded bytes (those since the last drain, when it drained), or undefined when the text
   * was empty or not valid base64.
   */
  end(): Uint8Array | undefined {
    if (!this.#bad && (this.#escape || this.#carry)) this.#decode(this.#carry, "strict");
    if (this.#bad || this.#carry || this.#escape || this.decoded === 0) {
      releaseBytes(this.#out);
      releaseBytes(this.#text);
      return undefined;
    }
    trimBytes(this.#out, this.#written);
    const bytes = this.#out.subarray(0, this.#written);
    if (this.#text && isCanonical(this.#rawLength, bytes.length)) {
      this.#arrivedAs = this.#text.subarray(0, this.#rawLength);
    } else releaseBytes(this.#text);
    this.#text = undefined;
    return bytes;
  }

  /**
   * After `end`: the text the bytes arrived as, when it was kept and is canonical base64 (for
   * `base64ForJson`); the caller owns it from then on.
   */
  arrivedAs(): Uint8Array | undefined {
    const text = this.#arrivedAs;
    this.#arrivedAs = undefined;
    return text;
  }

  /** Appends `piece` to the kept text. */
  #keep(piece: Uint8Array): void {
    const used = this.#rawLength;
    if (used + piece.length > this.#text!.length) {
      this.#text = ensure(this.#text!, used, used + piece.length, this.#textCapacity);
    }
    this.#text!.set(piece, used);
  }

  #decode(text: string, lastChunkHandling: "strict" | "stop-before-partial"): void {
    if (this.#padded && text.trim()) return this.#fail(); // nothing may follow the padding
    const needed = this.#written + Math.ceil(text.length / 4) * 3;
    if (needed > this.#out.length) {
      this.#out = ensure(this.#out, this.#written, needed, this.#outCapacity);
    }
    try {
      const target = this.#out.subarray(this.#written) as unknown as NativeSetBase64;
      const { read, written } = target.setFromBase64(text, { lastChunkHandling });
      this.#written += written;
      this.#carry = text.slice(read);
      this.#padded ||= text.slice(0, read).trimEnd().endsWith("=");
    } catch {
      this.#fail();
    }
  }

  #fail(): void {
    this.#bad = true;
  }
}

/**
 * `bytes` (of which `used` are filled) grown to at least `length`, in place or moved. Doubling
 * keeps resizes rare, up to the expected size: pages grown into and given back again cost a
 * decommit (~40 ms for 60 MB here).
 */
function ensure(bytes: Uint8Array, used: number, length: number, expected: number): Uint8Array {
  if (resizeBytes(bytes, Math.max(length, Math.min(expected, bytes.length * 2)))) return bytes;
  const grown = growableBytes(length, length * 2);
  grown.set(bytes.subarray(0, used));
  releaseBytes(bytes);
  return grown;
}

/** Image bytes per `toBase64` call: 64 KB of text, a string V8 allocates like any small one. */
const ENCODE_STEP = 3 << 14;
/** Text per piece written: 16 steps, 1 MB. */
const PIECE = (ENCODE_STEP / 3) * 4 * 16;

/**
 * The base64 of bytes that come in pieces of any length (one image in memory, or a file read
 * piece by piece), in pieces of up to 1 MB, encoded as they are taken, all in one buffer: the
 * caller writes each piece before it takes the next.
 */
export async function* base64Pieces(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const piece = pooledBytes(PIECE);
  const encoder = new TextEncoder();
  let filled = 0;
  function* encode(groups: Uint8Array[]): Generator<Uint8Array> {
    for (const group of groups) {
      if (PIECE - filled < (ENCODE_STEP / 3) * 4) {
        yield piece.subarray(0, filled);
        filled = 0;
      }
      filled += encoder.encodeInto(encodeBase64(group), piece.subarray(filled)).written;
    }
  }
  /** The last 0-2 bytes so far: base64 encodes whole groups of three. */
  let carry: Uint8Array = new Uint8Array(0);
  try {
    for await (const bytes of source) {
      const groups: Uint8Array[] = [];
      let at = 0;
      if (carry.length) {
        at = Math.min(3 - carry.length, bytes.length);
        carry = concatBytes([carry, bytes.subarray(0, at)]);
        if (carry.length < 3) continue;
        groups.push(carry);
      }
      const whole = at + Math.floor((bytes.length - at) / 3) * 3;
      for (let from = at; from < whole; from += ENCODE_STEP) {
        groups.push(bytes.subarray(from, Math.min(from + ENCODE_STEP, whole)));
      }
      carry = bytes.slice(whole);
      yield* encode(groups);
    }
    yield* encode(carry.length ? [carry] : []);
    if (filled) yield piece.subarray(0, filled);
  } finally {
    releaseBytes(piece);
  }
}

/**
 * `bytes` as base64 for a tool result: `arrivedAs`, the text they arrived as, when known (a
 * buffer of it is given back once read), else encoded now.
 */
export function base64ForJson(bytes: Uint8Array, arrivedAs?: string | Uint8Array): string {
  if (typeof arrivedAs === "string") return arrivedAs;
  if (!arrivedAs) return encodeBase64(bytes);
  const string = ASCII.decode(arrivedAs);
  releaseBytes(arrivedAs);
  return string;
}

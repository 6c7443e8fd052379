/**
 * Reads an image API answer as it arrives. Each base64 field (megabytes) is decoded piece by
 * piece straight into one buffer; only the small JSON around those fields is parsed as JSON, so
 * an image never exists as the whole body, again as a string, and again decoded.
 *
 * @module
 */

import { concatBytes, releaseBytes } from "../bytes.ts";
import { ASCII, Base64Decoder } from "../images/codecs/base64.ts";
import { ImagePayload, releaseAll } from "../images/storage/received.ts";

/** Decoded images at least this large go to a file as they arrive; a 1024x1024 PNG stays. */
export const SPILL_AT = 6 << 20;
/** Bytes written to a spilled image's file at a time. */
const SPILL_BLOCK = 1 << 20;

/** A file a large image is written to as it arrives. */
export interface SpillTarget {
  /** Appends `bytes`, which are only valid until the promise settles. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the file; the image in it. */
  finish(): ImagePayload;
  /** Closes and removes the file. */
  discard(): Promise<void>;
}

/**
 * What an answer's images are handed to: the caller decides how many are wanted, whether their
 * text is kept, where a large one goes, and when reading may begin.
 */
export interface ImageReceiver {
  /** Decode at most this many images; later ones are skipped as they arrive, undecoded. */
  readonly maxImages?: number;
  /** Keep each image's base64 text too, to send it on as it is (full inline). */
  readonly keepBase64?: boolean;
  /**
   * A file for an image of `SPILL_AT` bytes or more; without it every image stays in memory.
   * With a `sizeHint`, an image goes to a file from its first byte when that much of the
   * answer is still to come (in an answer of several images, a small one may go to a file too).
   */
  spillTarget?(): SpillTarget;
  /** Resolves when an answer's body may be read (the caller's concurrency limit). */
  reading?(): Promise<void>;
  /** A partial image of a streamed answer, in arrival order. */
  partial?(bytes: Uint8Array, index: number): Promise<void>;
}

const QUOTE = 0x22;
const COLON = 0x3a;
const EMPTY = new Uint8Array(0);

/** `receiver` taking every image of an answer, whatever its `maxImages`. */
export function everyImage(receiver: ImageReceiver = {}): ImageReceiver {
  return {
    keepBase64: receiver.keepBase64,
    spillTarget: receiver.spillTarget?.bind(receiver),
    reading: receiver.reading?.bind(receiver),
    partial: receiver.partial?.bind(receiver),
  };
}

/** The answer's JSON without its base64 fields, and those fields decoded (undefined if invalid). */
export interface ParsedImageAnswer {
  json: Record<string, unknown>;
  images: (ImagePayload | undefined)[];
  /** Base64 fields beyond `maxImages`, skipped undecoded (their JSON value reads as ""). */
  dropped: number;
}

/** How to read one answer. */
export interface ImageAnswerOptions {
  /** The field that holds base64 images: `b64_json` (Images API) or `result` (Responses). */
  key: string;
  /** The answer's size in bytes when known, to size the image buffers once. */
  sizeHint?: number;
  /** Where the images go; without one, all of them are decoded into memory. */
  receiver?: ImageReceiver;
}

/** The value being decoded, and the file it goes to once it is large; none when skipped. */
interface OpenValue {
  decoder?: Base64Decoder;
  spill?: SpillTarget;
}

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

/**
 * The byte index of the first `"` in `bytes`, found in their UTF-8 `text` (a string search is
 * ~25 times faster than `Uint8Array.prototype.indexOf` here, and the base64 has to become a string
 * anyway). Indices agree while everything before the quote is ASCII; when they do not, the byte
 * at the string's index is not a quote, and the bytes are searched instead.
 */
function quoteAt(bytes: Uint8Array, text: string): number {
  const at = text.indexOf('"');
  return at === -1 || bytes[at] === QUOTE ? at : bytes.indexOf(QUOTE);
}

/** Takes an answer's bytes in any pieces; `end()` gives the parsed answer. */
export class ImageAnswerReader {
  readonly #marker: Uint8Array;
  readonly #kept: Uint8Array[] = [];
  readonly #images: (ImagePayload | undefined)[] = [];
  /** File work that must be done before the next piece is read (`flush`). */
  #work: (() => Promise<void>)[] = [];
  readonly #spills: SpillTarget[] = [];
  readonly #receiver: ImageReceiver;
  /** JSON text not yet known to hold no complete field name. */
  #pending: Uint8Array = EMPTY;
  #scanFrom = 0;
  #value?: OpenValue;
  /** Bytes read before the current chunk. */
  #seen = 0;
  #dropped = 0;

  constructor(readonly options: ImageAnswerOptions) {
    this.#marker = new TextEncoder().encode(`"${options.key}"`);
    this.#receiver = options.receiver ?? {};
  }

  /** Reads the next piece of the answer. */
  push(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.length) rest = this.#value ? this.#inValue(rest) : this.#outside(rest);
    this.#seen += chunk.length;
  }

  /**
   * Writes what the last piece spilled; due after every `push` when spilling, since a spilled
   * block is a view of the decoder's buffer that the next piece overwrites.
   */
  async flush(): Promise<void> {
    for (const work of this.#work.splice(0)) await work();
  }

  /** Removes every file this answer spilled to, and drops its images: reading it failed. */
  async discard(): Promise<void> {
    this.#work = [];
    await Promise.all(this.#spills.map((spill) => spill.discard()));
    await releaseAll(this.#images);
    this.#images.length = 0;
  }

  /**
   * The JSON and the decoded images, after the last `flush`; throws `SyntaxError` on a truncated
   * or invalid answer.
   */
  end(): ParsedImageAnswer {
    if (this.#value) throw new SyntaxError("Unterminated string in JSON (a base64 field)");
    this.#kept.push(this.#pending);
    const decoder = new TextDecoder();
    const text = this.#kept
      .map((part, i) => decoder.decode(part, { stream: i < this.#kept.length - 1 }))
      .join("");
    const json = JSON.parse(text);
    if (typeof json !== "object" || json === null) {
      throw new SyntaxError("The answer is not a JSON object");
    }
    return { json, images: this.#images, dropped: this.#dropped };
  }

  /** Scans JSON text for `"key": "`; returns what follows the opening quote of a value. */
  #outside(chunk: Uint8Array): Uint8Array {
    // Always a new array: `chunk` may be a read buffer that is about to be reused.
    const text = this.#pending = concatBytes([this.#pending, chunk]);
    for (;;) {
      const at = indexOf(text, this.#marker, this.#scanFrom);
      if (at === -1) {
        // Set aside what cannot hold the start of a field name, so scanning stays linear.
        const keepFrom = Math.max(0, text.length - this.#marker.length + 1);
        this.#kept.push(text.slice(0, keepFrom));
        this.#pending = text.slice(keepFrom);
        this.#scanFrom = 0;
        return EMPTY;
      }
      const colon = skipSpace(text, at + this.#marker.length);
      const quote = text[colon] === COLON ? skipSpace(text, colon + 1) : colon;
      if (quote >= text.length) {
        this.#scanFrom = at; // the rest of `"key": "` is still to come
        return EMPTY;
      }
      if (text[colon] === COLON && text[quote] === QUOTE) {
        // Copied: a view would keep the whole network chunk alive.
        this.#kept.push(text.slice(0, quote + 1));
        this.#pending = EMPTY;
        this.#scanFrom = 0;
        if (this.#images.length >= (this.#receiver.maxImages ?? Infinity)) {
          this.#value = {};
          return text.subarray(quote + 1);
        }
        const remaining = this.options.sizeHint ? this.options.sizeHint - this.#seen : 0;
        const large = (remaining * 3) / 4 >= SPILL_AT && this.#receiver.spillTarget !== undefined;
        // Sized for the rest of the answer (or 32 MB), or for a spilled block: only what is
        // written becomes resident.
        const capacity = large ? (SPILL_BLOCK * 4) / 3 : remaining > 0 ? remaining : 1 << 25;
        this.#value = {
          decoder: new Base64Decoder(capacity, this.#receiver.keepBase64 && !large),
          spill: large ? this.#spillFile() : undefined,
        };
        return text.subarray(quote + 1);
      }
      this.#scanFrom = at + 1; // the name of something else, or a value that is not a string
    }
  }

  #spillFile(): SpillTarget {
    const spill = this.#receiver.spillTarget!();
    this.#spills.push(spill);
    return spill;
  }

  /** Feeds base64 text to the current value until its closing quote. */
  #inValue(chunk: Uint8Array): Uint8Array {
    const value = this.#value!;
    const { decoder } = value;
    if (!decoder) return this.#skipValue(chunk);
    const text = ASCII.decode(chunk);
    const end = quoteAt(chunk, text);
    if (end === -1) {
      decoder.write(chunk, text);
      this.#spillIfDue(value, decoder);
      return EMPTY;
    }
    decoder.write(chunk.subarray(0, end), text.slice(0, end));
    this.#endValue(value, decoder);
    this.#value = undefined;
    this.#kept.push(new Uint8Array([QUOTE]));
    return chunk.subarray(end + 1);
  }

  /** Passes over a skipped value up to its closing quote. */
  #skipValue(chunk: Uint8Array): Uint8Array {
    const end = chunk.indexOf(QUOTE);
    if (end === -1) return EMPTY;
    this.#value = undefined;
    this.#dropped++;
    this.#kept.push(new Uint8Array([QUOTE]));
    return chunk.subarray(end + 1);
  }

  /** Queues the decoded bytes for the value's file once there are enough of them. */
  #spillIfDue(value: OpenValue, decoder: Base64Decoder): void {
    if (!value.spill) {
      if (this.#receiver.spillTarget === undefined || decoder.decoded < SPILL_AT) return;
      value.spill = this.#spillFile(); // the answer's size was not known: large after all
    }
    if (decoder.pending < SPILL_BLOCK) return;
    const bytes = decoder.drain();
    const spill = value.spill;
    this.#work.push(async () => {
      await spill.write(bytes);
      decoder.compact((SPILL_BLOCK * 3) / 2);
    });
  }

  /** Ends the current value: its image in memory, or its file once the last bytes are in. */
  #endValue(value: OpenValue, decoder: Base64Decoder): void {
    const bytes = decoder.end();
    const spill = value.spill;
    if (!spill) {
      return void this.#images.push(bytes && ImagePayload.inMemory(bytes, decoder.arrivedAs()));
    }
    const index = this.#images.push(undefined) - 1;
    this.#work.push(async () => {
      if (!bytes) return await spill.discard(); // invalid base64: nothing to keep
      await spill.write(bytes);
      releaseBytes(bytes);
      this.#images[index] = spill.finish();
    });
  }
}

/** A reader that fills our buffer, when the body is a byte stream (fetch bodies are). */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return undefined; // not a byte stream: read its chunks as they come
  }
}

/** Size of the one buffer a body is read through. */
const READ_BUFFER = 1 << 16;

/**
 * Reads an answer from a response body as it arrives, through one reused buffer, so a 23 MB
 * answer leaves no 23 MB of network chunks behind (the decoder copies what it keeps).
 */
export async function readImageAnswer(
  body: ReadableStream<Uint8Array> | null,
  options: ImageAnswerOptions,
): Promise<ParsedImageAnswer> {
  await options.receiver?.reading?.();
  const reader = new ImageAnswerReader(options);
  try {
    const byob = body && byobReader(body);
    if (byob) {
      let buffer = new ArrayBuffer(READ_BUFFER);
      for (;;) {
        const { value, done } = await byob.read(new Uint8Array(buffer));
        if (done || !value) break;
        reader.push(value);
        await reader.flush();
        buffer = value.buffer as ArrayBuffer;
      }
    } else if (body) {
      for await (const chunk of body) {
        reader.push(chunk);
        await reader.flush();
      }
    }
    return reader.end();
  } catch (error) {
    await reader.discard();
    throw error;
  }
}

/**
 * An image the API returned, as it flows from the reader to saving, the preview and the result:
 * its bytes in memory or its file, what is known of it, and how to release it. A large image
 * lives in a temporary file in the call's output folder from the moment it arrives, so that it
 * costs the buffer it passes through rather than its size in memory, and saving moves it.
 *
 * @module
 */

import { releaseBytes, writeAll } from "../../bytes.ts";
import { createFileAtomic, describeFsError, placeFileAtomic, tempPath } from "../../fs_atomic.ts";
import { ToolError } from "../../errors.ts";
import { base64ForJson } from "../codecs/base64.ts";
import { type ImageInfo, sniffImage } from "../codecs/sniff.ts";

/** Bytes of a spilled image kept in memory to read its header. */
const HEAD_BYTES = 64 << 10;

/** One image: in memory, or in a file (temporary until it is placed). */
export class ImagePayload {
  /** Its size in bytes. */
  readonly size: number;
  /** Its first bytes (all of them when in memory), enough to read its header. */
  readonly head: Uint8Array;
  #memory?: Uint8Array;
  #path?: string;
  /** The file is a temporary one of this call's: releasing removes it. */
  #temporary = false;
  /** The base64 text the image arrived as, kept to send it on unchanged (full inline). */
  #arrivedAs?: string | Uint8Array;
  #info?: ImageInfo | null;

  private constructor(size: number, head: Uint8Array) {
    this.size = size;
    this.head = head;
  }

  /** An image held in memory, with the canonical base64 text it arrived as when kept. */
  static inMemory(bytes: Uint8Array, arrivedAs?: string | Uint8Array): ImagePayload {
    const payload = new ImagePayload(bytes.length, bytes);
    payload.#memory = bytes;
    payload.#arrivedAs = arrivedAs;
    return payload;
  }

  /** An image in the temporary file at `path`, of `size` bytes beginning with `head`. */
  static inTemporaryFile(path: string, size: number, head: Uint8Array): ImagePayload {
    const payload = new ImagePayload(size, head);
    payload.#path = path;
    payload.#temporary = true;
    return payload;
  }

  /** Its bytes when it is held in memory. */
  get memory(): Uint8Array | undefined {
    return this.#memory;
  }

  /** Its file when it is in one. */
  get path(): string | undefined {
    return this.#path;
  }

  /** What its header says (format, dimensions), or undefined when it is no image we know. */
  get info(): ImageInfo | undefined {
    if (this.#info === undefined) this.#info = sniffImage(this.head) ?? null;
    return this.#info ?? undefined;
  }

  /** Its bytes whole, read from its file when it is in one. */
  bytes(): Promise<Uint8Array> {
    return this.#memory ? Promise.resolve(this.#memory) : Deno.readFile(this.#path!);
  }

  /**
   * Its bytes in pieces of up to `size`; a file's are views of one reused buffer, each valid
   * until the next is taken.
   */
  pieces(size = 1 << 16): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
    return this.#memory ? [this.#memory] : filePieces(this.#path!, size);
  }

  /** Its base64 for a tool result: the text it arrived as when known, else encoded now. */
  async base64(): Promise<string> {
    const arrived = this.#arrivedAs;
    this.#arrivedAs = undefined;
    return base64ForJson(await this.bytes(), arrived);
  }

  /**
   * Writes the image to a new file at `path` atomically (one in a temporary file is moved there,
   * not copied), and reads it from there on; throws `AlreadyExists` rather than replace a file.
   */
  async place(path: string): Promise<void> {
    if (this.#memory) return await createFileAtomic(path, this.#memory);
    await placeFileAtomic(this.#path!, path);
    this.#path = path;
    this.#temporary = false;
  }

  /**
   * Gives back its memory and removes its temporary file; a placed file stays. The one place a
   * call's images are released, once their result is built; calling it again does nothing.
   */
  async release(): Promise<void> {
    releaseBytes(this.#memory);
    this.#memory = undefined;
    if (typeof this.#arrivedAs !== "string") releaseBytes(this.#arrivedAs);
    this.#arrivedAs = undefined;
    if (this.#temporary) {
      this.#temporary = false;
      await Deno.remove(this.#path!).catch(() => {});
    }
  }
}

/** Releases every payload of `images` (holes are images that failed to decode). */
export async function releaseAll(images: readonly (ImagePayload | undefined)[]): Promise<void> {
  await Promise.all(images.map((image) => image?.release()));
}

/** The bytes of the file at `path` (or of an open file) in pieces, through one reused buffer. */
export async function* filePieces(
  from: string | Deno.FsFile,
  size = 1 << 16,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  using opened = typeof from === "string" ? await Deno.open(from) : undefined;
  const file = opened ?? (from as Deno.FsFile);
  const buffer = new Uint8Array(size);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    yield buffer.subarray(0, n);
  }
}

/** One image being written to a temporary file in `dir` as it arrives. */
export class SpillFile {
  readonly path: string;
  #file?: Deno.FsFile;
  /** Whether this created the file: a name taken by another is never removed. */
  #created = false;
  #size = 0;
  #head?: Uint8Array;

  constructor(readonly dir: string) {
    this.path = tempPath(dir);
  }

  /** Appends `bytes` (copied only for the head). */
  async write(bytes: Uint8Array): Promise<void> {
    try {
      if (!this.#file) {
        await Deno.mkdir(this.dir, { recursive: true });
        this.#file = await Deno.open(this.path, { write: true, createNew: true });
        this.#created = true;
      }
      this.#head ??= bytes.slice(0, HEAD_BYTES);
      await writeAll(this.#file, bytes);
      this.#size += bytes.length;
    } catch (error) {
      throw new ToolError(`Could not save the image in ${this.dir}: ${describeFsError(error)}`);
    }
  }

  /** Closes the file; the image in it, which removes it when released. */
  finish(): ImagePayload {
    this.#file?.close();
    this.#file = undefined;
    return ImagePayload.inTemporaryFile(this.path, this.#size, this.#head ?? new Uint8Array());
  }

  /** Closes and removes the file, if this created it. */
  async discard(): Promise<void> {
    if (!this.#created) return;
    this.#file?.close();
    this.#file = undefined;
    await Deno.remove(this.path).catch(() => {});
  }
}

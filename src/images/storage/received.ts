/**
 * Images as the API returned them: in memory, or, when large, written to a temporary file in the
 * call's output folder as they arrived. A 3840x2160 PNG is ~17 MB; held in memory it was the
 * largest part of the server's peak, while on disk it costs the buffer it passes through.
 *
 * @module
 */

import { releaseBytes, writeAll } from "../../bytes.ts";
import { createFileAtomic, describeFsError, placeFileAtomic, tempPath } from "../../fs_atomic.ts";
import { ToolError } from "../../errors.ts";

/** Decoded images at least this large go to a file as they arrive; a 1024x1024 PNG stays. */
export const SPILL_AT = 6 << 20;
/** Bytes written to a spilled image's file at a time. */
export const SPILL_BLOCK = 1 << 20;
/** Bytes of a spilled image kept in memory to read its header. */
const HEAD_BYTES = 64 << 10;

/** An image in a temporary file, with its size and first bytes. */
export class SpilledImage {
  constructor(readonly path: string, readonly size: number, readonly head: Uint8Array) {}
}

/** An image the API returned. */
export type ReceivedImage = Uint8Array | SpilledImage;

/** The image's size in bytes. */
export function imageSize(image: ReceivedImage): number {
  return image instanceof SpilledImage ? image.size : image.length;
}

/** The image's first bytes (all of them when in memory), enough to read its header. */
export function imageHead(image: ReceivedImage): Uint8Array {
  return image instanceof SpilledImage ? image.head : image;
}

/** The image's bytes whole, read from its file when spilled. */
export function imageBytes(image: ReceivedImage): Promise<Uint8Array> {
  return image instanceof SpilledImage ? Deno.readFile(image.path) : Promise.resolve(image);
}

/**
 * The bytes of a spilled image's file (or of an open file) in pieces of up to `size`, each a
 * view of one reused buffer, valid until the next is taken.
 */
export async function* imagePieces(
  from: SpilledImage | Deno.FsFile,
  size = 1 << 16,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  using opened = from instanceof SpilledImage ? await Deno.open(from.path) : undefined;
  const file = opened ?? (from as Deno.FsFile);
  const buffer = new Uint8Array(size);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    yield buffer.subarray(0, n);
  }
}

/**
 * Writes the image to a new file at `path` atomically (a spilled one is moved there, not copied);
 * throws `AlreadyExists` rather than replace a file.
 */
export function placeImage(image: ReceivedImage, path: string): Promise<void> {
  return image instanceof SpilledImage
    ? placeFileAtomic(image.path, path)
    : createFileAtomic(path, image);
}

/** The image after `placeImage` put it at `path`: a spilled one is read from there now. */
export function movedTo(image: ReceivedImage, path: string): ReceivedImage {
  return image instanceof SpilledImage ? new SpilledImage(path, image.size, image.head) : image;
}

/** Gives back an image's memory, or removes its temporary file (once placed, it is gone). */
export async function discardImage(image: ReceivedImage | undefined): Promise<void> {
  if (image instanceof SpilledImage) await Deno.remove(image.path).catch(() => {});
  else releaseBytes(image);
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

  /** Closes the file and describes the image in it. */
  finish(): SpilledImage {
    this.#file?.close();
    this.#file = undefined;
    return new SpilledImage(this.path, this.#size, this.#head ?? new Uint8Array());
  }

  /** Closes and removes the file, if this created it. */
  async discard(): Promise<void> {
    if (!this.#created) return;
    this.#file?.close();
    this.#file = undefined;
    await Deno.remove(this.path).catch(() => {});
  }
}

/** Byte helpers shared by the transport, downloads and tests. */

/** Anything with `Deno.FsFile`'s `write`, which may write less than it is given. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes all of `bytes` to `sink`, however many writes it takes. */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await sink.write(bytes.subarray(done));
}

/** Joins byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A buffer of `length` bytes that can grow in place up to `capacity`, and whose memory
 * `releaseBytes` gives back at once. For the megabyte buffers one call uses and drops: left to
 * the garbage collector they linger, and sixteen calls' worth of them was most of the server's
 * peak memory. Untouched pages are never resident, so a generous capacity costs address space
 * only.
 */
export function growableBytes(length: number, capacity = length): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(length, { maxByteLength: Math.max(1, length, capacity) }));
}

/** Grows or shrinks a `growableBytes` buffer in place; false when it cannot (capacity). */
export function resizeBytes(bytes: Uint8Array, length: number): boolean {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || !buffer.resizable || length > buffer.maxByteLength) {
    return false;
  }
  buffer.resize(length);
  return true;
}

/** The size of a pooled buffer: the base64 of a 1024x1024 answer (2 to 4 MB) fits. */
const POOL_BYTES = 5 << 20;
/** Idle buffers kept: one call's base64 text and its decoded image. */
const POOL_KEEP = 2;
const idle: ArrayBuffer[] = [];
const lent = new WeakSet<ArrayBuffer>();

/**
 * Like `growableBytes`, from a small pool of buffers whose pages stay committed between uses: a
 * fresh resizable buffer faults in every page on its first write and gives them back when it
 * shrinks, and those page faults are a large part of a call's own time (docs/performance.md).
 * Its length may start above `length` (what was used before), so the caller keeps count of what
 * it wrote; `releaseBytes` returns it.
 * Anything larger than a pooled buffer gets a fresh one, and the idle ones are given back first
 * so that a large answer does not come on top of them.
 */
export function pooledBytes(length: number, capacity = length): Uint8Array<ArrayBuffer> {
  if (capacity > POOL_BYTES) {
    for (const buffer of idle.splice(0)) buffer.resize(0);
    return growableBytes(length, capacity);
  }
  const buffer = idle.pop() ?? new ArrayBuffer(0, { maxByteLength: POOL_BYTES });
  if (buffer.byteLength < length) buffer.resize(length);
  lent.add(buffer);
  return new Uint8Array(buffer);
}

/**
 * Gives back the memory of a buffer past its first `length` bytes (a pooled buffer keeps its
 * pages for the next use); false when it cannot be resized.
 */
export function trimBytes(bytes: Uint8Array, length: number): boolean {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || !buffer.resizable || length > buffer.byteLength) {
    return false;
  }
  if (!lent.has(buffer)) buffer.resize(length);
  return true;
}

/**
 * Gives a `growableBytes` buffer's memory back now (it reads as empty after), or a
 * `pooledBytes` one to its pool (once: a second release of the same buffer does nothing);
 * others are left alone.
 */
export function releaseBytes(bytes: Uint8Array | undefined): void {
  const buffer = bytes?.buffer;
  if (!(buffer instanceof ArrayBuffer) || !buffer.resizable) return;
  if (!lent.delete(buffer)) {
    // A growable buffer, or a pooled one already given back.
    if (!idle.includes(buffer)) buffer.resize(0);
    return;
  }
  if (idle.length < POOL_KEEP) idle.push(buffer);
  else buffer.resize(0);
}

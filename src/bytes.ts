/** Byte helpers shared by the transport, downloads and tests. */

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

/** Gives a `growableBytes` buffer's memory back now (it reads as empty after); others are left alone. */
export function releaseBytes(bytes: Uint8Array | undefined): void {
  const buffer = bytes?.buffer;
  if (buffer instanceof ArrayBuffer && buffer.resizable) buffer.resize(0);
}

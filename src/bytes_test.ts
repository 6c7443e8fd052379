import assert from "node:assert/strict";
import {
  concatBytes,
  growableBytes,
  pooledBytes,
  releaseBytes,
  resizeBytes,
  trimBytes,
} from "./bytes.ts";

Deno.test("a released buffer is shrunk to nothing through any view; other buffers are left alone", () => {
  const bytes = growableBytes(16 << 20).fill(1);
  releaseBytes(bytes.subarray(0, 10));
  // Shrinking a resizable buffer decommits its pages: the memory is back without a GC.
  assert.equal(bytes.buffer.byteLength, 0);
  assert.equal(bytes.length, 0);
  const plain = new Uint8Array([1, 2, 3]);
  releaseBytes(plain);
  releaseBytes(undefined);
  assert.deepEqual(plain, new Uint8Array([1, 2, 3]));
  assert.deepEqual(concatBytes([plain, plain]), new Uint8Array([1, 2, 3, 1, 2, 3]));
  assert.equal(resizeBytes(plain, 2), false, "a plain buffer is not resized");
  const growing = growableBytes(2, 8);
  assert.ok(resizeBytes(growing, 8) && growing.length === 8 && !resizeBytes(growing, 9));
});

Deno.test("pooled buffers come back with their pages, once, and make way for a large one", () => {
  const first = pooledBytes(3 << 20);
  first.fill(7);
  releaseBytes(first);
  releaseBytes(first); // a second release of the same buffer does nothing
  const again = pooledBytes(0, 3 << 20);
  assert.equal(again.buffer, first.buffer, "the released buffer is reused");
  assert.ok(again.length >= 3 << 20, "with its pages still committed");
  const other = pooledBytes(1 << 20);
  assert.notEqual(other.buffer, again.buffer, "a buffer is never lent twice");
  assert.ok(trimBytes(other, 10) && other.length >= 1 << 20, "trimming keeps a pooled buffer");
  releaseBytes(other);
  releaseBytes(again);
  const large = pooledBytes(0, 32 << 20);
  assert.equal(first.length, 0, "idle buffers are given back before a large one is made");
  assert.ok(large.buffer.maxByteLength >= 32 << 20);
  releaseBytes(large);
  assert.equal(large.length, 0);
});

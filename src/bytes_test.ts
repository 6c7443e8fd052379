import assert from "node:assert/strict";
import { concatBytes, growableBytes, releaseBytes, resizeBytes } from "./bytes.ts";

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

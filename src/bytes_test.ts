import assert from "node:assert/strict";
import { concatBytes, releasableBytes, releaseBytes } from "./bytes.ts";

Deno.test("released buffers give their memory back at once; other buffers are left alone", () => {
  const rss = () => Deno.memoryUsage().rss;
  const buffers = Array.from({ length: 8 }, () => releasableBytes(16 << 20).fill(1));
  const before = rss();
  for (const bytes of buffers) releaseBytes(bytes.subarray(0, 10));
  assert.ok(before - rss() > 100 << 20, `RSS fell by ${(before - rss()) >> 20} MB`);
  assert.equal(buffers[0].length, 0);
  const plain = new Uint8Array([1, 2, 3]);
  releaseBytes(plain);
  releaseBytes(undefined);
  assert.deepEqual(plain, new Uint8Array([1, 2, 3]));
  assert.deepEqual(concatBytes([plain, plain]), new Uint8Array([1, 2, 3, 1, 2, 3]));
});

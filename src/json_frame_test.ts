import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { concatBytes, growableBytes } from "./bytes.ts";
import { encodeFrame, rawJsonString, releaseFrame } from "./json_frame.ts";

const text = (parts: Uint8Array[]) => new TextDecoder().decode(concatBytes(parts));
const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("a frame without raw strings is JSON.stringify plus a newline, in one part", () => {
  const message = { jsonrpc: "2.0", id: 1, result: { text: 'quote " and é' } };
  const parts = encodeFrame(message).parts;
  assert.equal(parts.length, 1);
  assert.equal(text(parts), JSON.stringify(message) + "\n");
});

Deno.test("raw strings are written as their bytes, in place, and parse back as strings", () => {
  const message = {
    id: 7,
    content: [
      { type: "image", data: rawJsonString([ascii("AQ"), ascii("ID")]), mimeType: "image/png" },
      { type: "text", text: "between" },
      { type: "image", data: rawJsonString([ascii("BAUG")]), mimeType: "image/png" },
    ],
  };
  const parts = encodeFrame(message).parts;
  const big = new Uint8Array(2 << 20).fill(0x41);
  const frame = encodeFrame({ data: rawJsonString([big]) }).parts;
  assert.ok(frame.includes(big), "a megabyte-sized piece is written as it is, not copied");
  assert.equal(JSON.parse(text(frame)).data.length, big.length);
  const line = text(parts);
  assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"));
  assert.deepEqual(JSON.parse(line), {
    id: 7,
    content: [
      { type: "image", data: "AQID", mimeType: "image/png" },
      { type: "text", text: "between" },
      { type: "image", data: "BAUG", mimeType: "image/png" },
    ],
  });
});

Deno.test("any text around raw strings survives, including look-alike placeholders", () => {
  fc.assert(fc.property(fc.string(), fc.string(), fc.base64String(), (a, b, data) => {
    const message = { a, raw: rawJsonString([ascii(data)]), b: `"@@raw-${b}-0"` };
    assert.deepEqual(JSON.parse(text(encodeFrame(message).parts)), { ...message, raw: data });
  }));
});

Deno.test("a written frame gives back its raw strings' releasable buffers, and only those", () => {
  const held = growableBytes(1 << 20).fill(0x41);
  const plain = ascii("AQID");
  const frame = encodeFrame({ a: rawJsonString([held.subarray(0, 8)]), b: rawJsonString([plain]) });
  assert.equal(JSON.parse(text(frame.parts)).a, "AAAAAAAA");
  releaseFrame(frame);
  assert.equal(held.buffer.byteLength, 0);
  assert.equal(text([plain]), "AQID");
});

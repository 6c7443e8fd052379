import assert from "node:assert/strict";
import { RawJsonString } from "../json_frame.ts";
import { base64ForJson, decodeArrivedBase64, encodeBase64 } from "./codec_base64.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("base64 that arrived as bytes is sent on as those bytes, not encoded again", () => {
  const arrived = ascii("AAECAwQF");
  const bytes = decodeArrivedBase64(arrived)!;
  assert.deepEqual(bytes, new Uint8Array([0, 1, 2, 3, 4, 5]));
  const data = base64ForJson(bytes) as unknown;
  assert.ok(data instanceof RawJsonString);
  assert.equal(data.bytes, arrived);
});

Deno.test("base64 that arrived as a string is sent on as that string", () => {
  const bytes = decodeArrivedBase64("AAECAwQF")!;
  assert.equal(base64ForJson(bytes), "AAECAwQF");
});

Deno.test("non-canonical arrivals (whitespace inside) are encoded afresh; other bytes too", () => {
  const bytes = decodeArrivedBase64(ascii("AAEC AwQF"))!;
  assert.deepEqual(bytes, new Uint8Array([0, 1, 2, 3, 4, 5]));
  assert.equal(base64ForJson(bytes), "AAECAwQF");
  assert.equal(base64ForJson(new Uint8Array([255])), encodeBase64(new Uint8Array([255])));
  assert.equal(decodeArrivedBase64(ascii("not base64!")), undefined);
});

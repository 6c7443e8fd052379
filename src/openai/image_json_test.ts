import assert from "node:assert/strict";
import { encodeBase64 } from "../images/codec_base64.ts";
import { parseImageAnswer } from "./image_json.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("lifts every base64 field out, in order, and parses the rest as JSON", () => {
  const a = new Uint8Array([1, 2, 3, 250]);
  const b = new Uint8Array([9, 8, 7]);
  const body = JSON.stringify({
    created: 1,
    data: [{ b64_json: encodeBase64(a) }, { b64_json: encodeBase64(b) }],
    usage: { output_tokens: 5, note: 'a "b64_json" mention in a string' },
  });
  const { json, images } = parseImageAnswer(bytes(body), "b64_json");
  assert.deepEqual(images, [a, b]);
  assert.deepEqual((json.usage as { output_tokens: number }).output_tokens, 5);
  assert.equal((json.data as { b64_json: string }[])[0].b64_json, "");
});

Deno.test("an escaped slash is legal JSON and still decodes; invalid base64 is undefined", () => {
  const data = new Uint8Array([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]); // base64 "//79/Pv6"
  const escaped = `{"data":[{"b64_json":"${encodeBase64(data).replaceAll("/", "\\/")}"}]}`;
  assert.deepEqual(parseImageAnswer(bytes(escaped), "b64_json").images, [data]);
  assert.deepEqual(
    parseImageAnswer(bytes('{"data":[{"b64_json":"not base64!"}]}'), "b64_json").images,
    [undefined],
  );
});

Deno.test("truncated answers are SyntaxErrors; the Responses route's key works the same", () => {
  assert.throws(
    () => parseImageAnswer(bytes('{"data":[{"b64_json":"AAAA'), "b64_json"),
    SyntaxError,
  );
  assert.throws(
    () => parseImageAnswer(bytes('{"data":[{"b64_json":"AAAA"}'), "b64_json"),
    SyntaxError,
  );
  const { json, images } = parseImageAnswer(
    bytes('{"output":[{"type":"image_generation_call","result":"AQID"}]}'),
    "result",
  );
  assert.deepEqual(images, [new Uint8Array([1, 2, 3])]);
  assert.equal((json.output as { type: string }[])[0].type, "image_generation_call");
});

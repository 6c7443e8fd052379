import assert from "node:assert/strict";
import { encodeBase64 } from "../images/codec_base64.ts";
import fc from "npm:fast-check@4.10.2";
import { ImageAnswerReader, type ParsedImageAnswer, readImageAnswer } from "./image_json.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: Iterable<number>[]) => new Uint8Array(parts.flatMap((p) => [...p]));

/** Reads a whole answer held in memory, in one piece. */
function parseImageAnswer(body: Uint8Array, key: string): ParsedImageAnswer {
  const reader = new ImageAnswerReader({ key });
  reader.push(body);
  return reader.end();
}

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

Deno.test("non-ASCII text in a value makes it invalid and the JSON after it still parses", () => {
  for (const junk of ["é", "日本", "\u{1F600}", "AA\u{1F600}AA"]) {
    const body = `{"data":[{"b64_json":"AQID${junk}"},{"b64_json":"BAUG"}],"usage":{"n":7}}`;
    // Bytes that are not UTF-8 at all, too: a lone continuation byte before the quote.
    const raw = [bytes(body), concat(bytes('{"data":[{"b64_json":"AQ'), [0x80], bytes('"}]}'))];
    const { json, images } = parseImageAnswer(raw[0], "b64_json");
    assert.deepEqual(images, [undefined, new Uint8Array([4, 5, 6])], junk);
    assert.deepEqual(json.usage, { n: 7 });
    assert.deepEqual(parseImageAnswer(raw[1], "b64_json").images, [undefined]);
  }
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

Deno.test("any split of an answer into pieces reads the same as the whole", () => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
    fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }),
    fc.boolean(),
    (images, cuts, escapeSlashes) => {
      let body = JSON.stringify(
        {
          created: 1,
          data: images.map((image) => ({ "b64_json": encodeBase64(image), other: "b64_json" })),
          usage: { total_tokens: 3 },
        },
        null,
        1,
      );
      if (escapeSlashes) body = body.replaceAll("/", "\\/");
      const whole = bytes(body);
      const reader = new ImageAnswerReader({ key: "b64_json", sizeHint: whole.length });
      let at = 0;
      for (const cut of cuts) {
        reader.push(whole.subarray(at, Math.min(whole.length, at + cut)));
        at = Math.min(whole.length, at + cut);
      }
      reader.push(whole.subarray(at));
      const { json, images: decoded } = reader.end();
      assert.deepEqual(decoded, images);
      assert.deepEqual((json.usage as { total_tokens: number }).total_tokens, 3);
    },
  ));
});

Deno.test("a body that never names the key is read in linear time", () => {
  const reader = new ImageAnswerReader({ key: "b64_json" });
  const piece = bytes(`"filler",`.repeat(8000));
  const started = performance.now();
  reader.push(bytes('{"a":['));
  for (let i = 0; i < 200; i++) reader.push(piece);
  reader.push(bytes('"end"]}'));
  assert.equal((reader.end().json.a as string[]).length, 1_600_001);
  assert.ok(performance.now() - started < 5000);
});

/** A byte stream that serves `whole` in pieces of the given sizes into the reader's own buffer. */
function byteStream(whole: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0, next = 0;
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 64, // default readers get a view to fill too
    pull(controller) {
      if (at >= whole.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const view = controller.byobRequest!.view as Uint8Array;
      const n = Math.min(sizes[next++ % sizes.length], view.byteLength, whole.length - at);
      view.set(whole.subarray(at, at + n));
      at += n;
      controller.byobRequest!.respond(n);
    },
  });
}

Deno.test("a body read through one reused buffer gives the same answer, however it is cut", async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
    fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }),
    fc.boolean(),
    async (images, sizes, keepBase64) => {
      const body = bytes(JSON.stringify(
        {
          data: images.map((image) => ({ "b64_json": encodeBase64(image) })),
          usage: { total_tokens: 3 },
        },
        null,
        1,
      ));
      const answer = await readImageAnswer(byteStream(body, sizes), {
        key: "b64_json",
        keepBase64,
      });
      assert.deepEqual(answer.images, images);
      assert.equal((answer.json.usage as { total_tokens: number }).total_tokens, 3);
    },
  ));
});

Deno.test("a body that is not a byte stream is read chunk by chunk", async () => {
  const body = bytes(JSON.stringify({ data: [{ b64_json: "AQID" }] }));
  const stream = ReadableStream.from([body.subarray(0, 7), body.subarray(7)]);
  const answer = await readImageAnswer(stream, { key: "b64_json" });
  assert.deepEqual(answer.images, [new Uint8Array([1, 2, 3])]);
});

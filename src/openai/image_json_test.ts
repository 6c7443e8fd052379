import assert from "node:assert/strict";
import { encodeBase64 } from "../images/codecs/base64.ts";
import fc from "npm:fast-check@4.10.2";
import { dirname } from "node:path";
import { type ImagePayload, SpillFile } from "../images/storage/received.ts";
import {
  ImageAnswerReader,
  type ImageReceiver,
  type ParsedImageAnswer,
  readImageAnswer,
  SPILL_AT,
} from "./image_json.ts";

/** The bytes of images held in memory (undefined for a hole or one in a file). */
function inMemory(images: readonly (ImagePayload | undefined)[]): (Uint8Array | undefined)[] {
  return images.map((image) => image?.memory);
}

/** A receiver that writes large images to temporary files in `dir`. */
function spillingTo(dir: string): ImageReceiver {
  return { spillTarget: () => new SpillFile(dir) };
}

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
  assert.deepEqual(inMemory(images), [a, b]);
  assert.deepEqual((json.usage as { output_tokens: number }).output_tokens, 5);
  assert.equal((json.data as { b64_json: string }[])[0].b64_json, "");
});

Deno.test("an escaped slash is legal JSON and still decodes; invalid base64 is undefined", () => {
  const data = new Uint8Array([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]); // base64 "//79/Pv6"
  const escaped = `{"data":[{"b64_json":"${encodeBase64(data).replaceAll("/", "\\/")}"}]}`;
  assert.deepEqual(inMemory(parseImageAnswer(bytes(escaped), "b64_json").images), [data]);
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
    assert.deepEqual(inMemory(images), [undefined, new Uint8Array([4, 5, 6])], junk);
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
  assert.deepEqual(inMemory(images), [new Uint8Array([1, 2, 3])]);
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
      assert.deepEqual(inMemory(decoded), images);
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
        receiver: { keepBase64 },
      });
      assert.deepEqual(inMemory(answer.images), images);
      assert.equal((answer.json.usage as { total_tokens: number }).total_tokens, 3);
    },
  ));
});

Deno.test("a body that is not a byte stream is read chunk by chunk", async () => {
  const body = bytes(JSON.stringify({ data: [{ b64_json: "AQID" }] }));
  const stream = ReadableStream.from([body.subarray(0, 7), body.subarray(7)]);
  const answer = await readImageAnswer(stream, { key: "b64_json" });
  assert.deepEqual(inMemory(answer.images), [new Uint8Array([1, 2, 3])]);
});

/** A large image's bytes: above `SPILL_AT`, patterned so a misplaced block shows. */
function largeImage(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 2654435761) >>> 24);
}

/** `body` as a stream of 64 KB chunks, then, when `breakAt` is given, a reset at that byte. */
function chunks(body: Uint8Array, breakAt?: number): ReadableStream<Uint8Array> {
  const end = breakAt ?? body.length;
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < end; at += 1 << 16) {
    pieces.push(body.slice(at, Math.min(at + (1 << 16), end)));
  }
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(pieces[i++]);
      else if (breakAt === undefined) controller.close();
      else controller.error(new TypeError("connection reset"));
    },
  });
}

Deno.test("large images go to a file in the spill folder as they arrive; small ones stay", async () => {
  const dir = await Deno.makeTempDir();
  const large = largeImage(SPILL_AT + 1234567);
  const small = largeImage(3000);
  const body = bytes(JSON.stringify({
    data: [{ b64_json: encodeBase64(large) }, { b64_json: encodeBase64(small) }],
    usage: { total_tokens: 9 },
  }));
  for (const sizeHint of [body.length, undefined]) {
    const { images, json } = await readImageAnswer(chunks(body), {
      key: "b64_json",
      sizeHint,
      receiver: spillingTo(dir),
    });
    assert.deepEqual(images[1]?.memory, small, "a small image stays in memory");
    const spilled = images[0]!;
    assert.ok(spilled.path !== undefined, `spilled with sizeHint ${sizeHint}`);
    assert.equal(dirname(spilled.path), dir);
    assert.equal(spilled.size, large.length);
    assert.deepEqual(spilled.head, large.subarray(0, spilled.head.length));
    assert.deepEqual(await Deno.readFile(spilled.path), large);
    assert.deepEqual(json.usage, { total_tokens: 9 });
    await Deno.remove(spilled.path);
  }
  const memoryOnly = await readImageAnswer(chunks(body), { key: "b64_json" });
  assert.deepEqual(memoryOnly.images[0]?.memory, large, "without a spill folder, everything stays");
  await Deno.remove(dir);
});

Deno.test("a large answer that breaks, is truncated or is not base64 leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  const large = encodeBase64(largeImage(SPILL_AT * 2));
  const whole = bytes(JSON.stringify({ data: [{ b64_json: large }, { b64_json: large }] }));
  for (const sizeHint of [whole.length, undefined]) {
    for (const breakAt of [SPILL_AT, (whole.length >> 1) + 100, whole.length - 2]) {
      await assert.rejects(
        readImageAnswer(chunks(whole, breakAt), {
          key: "b64_json",
          sizeHint,
          receiver: spillingTo(dir),
        }),
        TypeError,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], [], `broken at ${breakAt} (${sizeHint})`);
    }
    const truncated = whole.subarray(0, whole.length - 3);
    await assert.rejects(
      readImageAnswer(chunks(truncated), { key: "b64_json", sizeHint, receiver: spillingTo(dir) }),
      SyntaxError,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], `truncated (${sizeHint})`);
    const invalid = bytes(`{"data":[{"b64_json":"${large.slice(0, -9)}!${large.slice(-8)}"}]}`);
    const answer = await readImageAnswer(chunks(invalid), {
      key: "b64_json",
      sizeHint,
      receiver: spillingTo(dir),
    });
    assert.deepEqual(answer.images, [undefined], "invalid base64 is no image");
    assert.deepEqual([...Deno.readDirSync(dir)], [], `invalid (${sizeHint})`);
  }
  await Deno.remove(dir);
});

Deno.test("base64 fields beyond maxImages are skipped undecoded and counted, in any pieces", () => {
  const images = [1, 2, 3, 4].map((i) => new Uint8Array(300).fill(i));
  const body = bytes(JSON.stringify({
    data: images.map((image) => ({ b64_json: encodeBase64(image) })),
    usage: { output_tokens: 4 },
  }));
  const cases: { maxImages?: number; kept: number; dropped: number }[] = [
    { kept: 4, dropped: 0 },
    { maxImages: 4, kept: 4, dropped: 0 },
    { maxImages: 1, kept: 1, dropped: 3 },
    { maxImages: 3, kept: 3, dropped: 1 },
  ];
  for (const { maxImages, kept, dropped } of cases) {
    for (const piece of [7, 64, body.length]) {
      const reader = new ImageAnswerReader({ key: "b64_json", receiver: { maxImages } });
      for (let at = 0; at < body.length; at += piece) reader.push(body.slice(at, at + piece));
      const answer = reader.end();
      const label = `maxImages ${maxImages}, pieces of ${piece}`;
      assert.deepEqual(inMemory(answer.images), images.slice(0, kept), label);
      assert.equal(answer.dropped, dropped, label);
      assert.deepEqual(answer.json.usage, { output_tokens: 4 }, label);
    }
  }
  assert.throws(
    () => {
      const reader = new ImageAnswerReader({ key: "b64_json", receiver: { maxImages: 0 } });
      reader.push(bytes('{"data":[{"b64_json":"AAAA'));
      reader.end();
    },
    SyntaxError,
    "a skipped value cut short is still a truncated answer",
  );
});

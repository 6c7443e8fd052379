import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { concatBytes, growableBytes } from "../../bytes.ts";
import {
  Base64Decoder,
  base64ForJson,
  base64Pieces,
  decodeArrivedBase64,
  encodeBase64,
} from "./base64.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

function decodeInPieces(text: string, cuts: number[], keepText = false, capacity = 1) {
  const decoder = new Base64Decoder(capacity, keepText);
  let at = 0;
  for (const cut of cuts) {
    decoder.write(ascii(text.slice(at, at + cut)));
    at = Math.min(text.length, at + cut);
  }
  decoder.write(ascii(text.slice(at)));
  return decoder.end();
}

Deno.test("base64 decoded in any pieces, into any starting capacity, equals the whole", () => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 60 }),
    fc.integer({ min: 1, max: 400 }),
    (bytes, cuts, capacity) => {
      assert.deepEqual(decodeInPieces(encodeBase64(bytes), cuts, false, capacity), bytes);
      const escaped = encodeBase64(bytes).replaceAll("/", "\\/");
      assert.deepEqual(decodeInPieces(escaped, cuts, false, capacity), bytes);
    },
  ));
});

Deno.test("anything but base64 (or an escape other than \\/) is undefined, as is nothing", () => {
  for (const bad of ["not base64!", "AAAA\\nAAAA", "AAA", "AA==AA==", "AAAA\\", ""]) {
    assert.equal(decodeInPieces(bad, [2, 3]), undefined, bad);
  }
});

Deno.test("nothing may follow padding, wherever the pieces are cut; whitespace may", () => {
  for (const cuts of [[4], [2, 2], [1, 3], [5], [4, 1], [3, 1, 1]]) {
    assert.equal(decodeInPieces("AA==AAAA", cuts), undefined, `cut at ${cuts}`);
    assert.deepEqual(decodeInPieces("AA== \r\n", cuts), new Uint8Array([0]), `cut at ${cuts}`);
    assert.deepEqual(decodeInPieces("AA E CAw QF", cuts), new Uint8Array([0, 1, 2, 3, 4, 5]));
  }
});

/** Everything `parts` produce, copied as they come (a producer may reuse its buffer). */
async function collect(parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(concatBytes(await Array.fromAsync(parts, (p) => p.slice())));
}

Deno.test("base64 that arrived as bytes is sent on as that text, not encoded again", () => {
  const pieces = [ascii("AAEC"), ascii("AwQF")];
  const decoder = new Base64Decoder(6, true);
  for (const piece of pieces) decoder.write(piece);
  const bytes = decoder.end()!;
  assert.deepEqual(bytes, new Uint8Array([0, 1, 2, 3, 4, 5]));
  assert.equal(base64ForJson(bytes, decoder.arrivedAs()), "AAECAwQF");
});

Deno.test("base64 that arrived as a string is sent on as that string", () => {
  const { bytes, arrivedAs } = decodeArrivedBase64("AAECAwQF")!;
  assert.equal(base64ForJson(bytes, arrivedAs), "AAECAwQF");
});

Deno.test("non-canonical arrivals (whitespace, escapes) are encoded afresh; other bytes too", () => {
  for (const text of ["AAEC AwQF", "AAEC\\/w==".replace("AAEC", "AAE/")]) {
    const decoder = new Base64Decoder(1, true);
    decoder.write(ascii(text.slice(0, 3)));
    decoder.write(ascii(text.slice(3)));
    const bytes = decoder.end()!;
    assert.ok(bytes, text);
    assert.equal(base64ForJson(bytes, decoder.arrivedAs()), encodeBase64(bytes));
  }
  assert.equal(decodeArrivedBase64("AAEC AwQF")?.arrivedAs, undefined, "no text kept");
  assert.equal(base64ForJson(new Uint8Array([255])), encodeBase64(new Uint8Array([255])));
});

Deno.test("base64 produced in pieces equals the whole encoding, at any length", async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
    assert.equal(await collect(base64Pieces([bytes])), encodeBase64(bytes));
  }));
  for (const length of [(3 << 14) * 16, (3 << 14) * 16 + 1, 5_000_001]) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 2654435761) >>> 24);
    assert.equal(await collect(base64Pieces([bytes])), encodeBase64(bytes), `${length} bytes`);
  }
});

Deno.test("bytes that come in pieces of any length encode as the whole would", async () => {
  const cut = (bytes: Uint8Array, sizes: number[]) => {
    const pieces = [];
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = sizes[i % sizes.length] || 1;
      pieces.push(bytes.subarray(at, at + size));
      at += size;
    }
    return pieces;
  };
  const property = fc.asyncProperty(
    fc.uint8Array({ maxLength: 3000 }),
    fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 8 }),
    async (bytes, sizes) => {
      const pieces = cut(bytes, sizes);
      assert.deepEqual(concatBytes(pieces), bytes, "the cut is a partition");
      async function* arriving() {
        for (const piece of pieces) yield piece;
      }
      assert.equal(await collect(base64Pieces(arriving())), encodeBase64(bytes));
    },
  );
  await fc.assert(property);
  const large = new Uint8Array(3_000_001).map((_, i) => (i * 2654435761) >>> 24);
  const odd = cut(large, [65_537, 1, 2, 786_431]);
  assert.equal(await collect(base64Pieces(odd)), encodeBase64(large));
});

Deno.test("a drained decoder hands over every byte once, and gives up kept text", () => {
  const whole = new Uint8Array(5000).map((_, i) => (i * 7919) & 0xff);
  const text = encodeBase64(whole);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 900 }),
      fc.integer({ min: 1, max: 3000 }),
      (cut, every) => {
        const decoder = new Base64Decoder(64, true);
        const drained: Uint8Array[] = [];
        for (let at = 0; at < text.length; at += cut) {
          decoder.write(ascii(text.slice(at, at + cut)));
          if (decoder.pending >= every) drained.push(decoder.drain().slice());
        }
        const total = decoder.decoded;
        const tail = decoder.end()!;
        assert.deepEqual(concatBytes([...drained, tail]), whole);
        assert.equal(total, whole.length);
        if (drained.length) {
          assert.equal(
            base64ForJson(tail, decoder.arrivedAs()),
            encodeBase64(tail),
            "no text kept",
          );
        }
      },
    ),
  );
  const empty = new Base64Decoder(8);
  empty.write(ascii("AAAA"));
  empty.drain();
  assert.deepEqual(empty.end(), new Uint8Array(0), "drained to the end: an empty tail");
});

Deno.test("a large image without its text is encoded whole", () => {
  const bytes = growableBytes(3 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  assert.equal(base64ForJson(bytes), encodeBase64(bytes));
});

Deno.test("a large answer's text is not kept; a small one's is", () => {
  const kept = new Base64Decoder(4 << 20, true);
  kept.write(ascii("AAEC"));
  const keptBytes = kept.end()!;
  const keptText = kept.arrivedAs();
  assert.ok(keptText, "the text it arrived as is kept");
  assert.equal(base64ForJson(keptBytes, keptText), "AAEC", "the text it arrived as");
  assert.equal(keptBytes.length, 3, "the image itself stays");
  const big = new Base64Decoder(24 << 20, true);
  big.write(ascii("AAEC"));
  const bigBytes = big.end()!;
  assert.equal(big.arrivedAs(), undefined, "a large answer's text is not kept");
  assert.equal(base64ForJson(bigBytes), "AAEC", "encoded again from its bytes");
});

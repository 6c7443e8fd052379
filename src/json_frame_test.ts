import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { concatBytes, growableBytes, releaseBytes } from "./bytes.ts";
import {
  encodeFrame,
  type FramePart,
  rawJsonString,
  releaseFrame,
  releaseUnsent,
  writeFrame,
} from "./json_frame.ts";

/**
 * A frame's text, when its produced parts are synchronous; produced pieces are copied as taken,
 * since they may share one buffer.
 */
const text = (parts: FramePart[]) =>
  new TextDecoder().decode(
    concatBytes(
      parts.flatMap((p) =>
        p instanceof Uint8Array ? [p] : Array.from(p as Iterable<Uint8Array>, (x) => x.slice())
      ),
    ),
  );
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

Deno.test("a written frame gives back its raw strings' memory, each through its own release", () => {
  const held = growableBytes(1 << 20).fill(0x41);
  const plain = ascii("AQID");
  const frame = encodeFrame({
    a: rawJsonString([held.subarray(0, 8)], () => releaseBytes(held)),
    b: rawJsonString([plain]),
  });
  assert.equal(JSON.parse(text(frame.parts)).a, "AAAAAAAA");
  releaseFrame(frame);
  assert.equal(held.buffer.byteLength, 0);
  assert.equal(text([plain]), "AQID");
});

/** A sink that takes `delayMs` per write, at most 3 bytes of it, and records them, copied. */
function slowSink(delayMs: number) {
  const written: Uint8Array[] = [];
  let busy = false;
  const sink = {
    async write(chunk: Uint8Array) {
      assert.ok(!busy, "one write at a time");
      busy = true;
      await new Promise((r) => setTimeout(r, delayMs));
      written.push(chunk.slice(0, 3));
      busy = false;
      return Math.min(3, chunk.length);
    },
  };
  return { sink, written };
}

Deno.test("produced pieces are taken one at a time, each once the one before is written", async () => {
  for (const kind of ["sync", "async"]) {
    const { sink, written } = slowSink(2);
    const shared = new Uint8Array(4);
    let before = "";
    const pieces = function* (): Generator<Uint8Array> {
      for (const piece of ["AAEC", "AwQF", "Bgc="]) {
        if (before) {
          const out = new TextDecoder().decode(concatBytes(written));
          assert.ok(out.endsWith(before), "the one before is out");
        }
        before = piece;
        shared.set(ascii(piece));
        yield shared.subarray(0, piece.length);
      }
    };
    const read = async function* (): AsyncGenerator<Uint8Array> {
      for (const piece of pieces()) yield await Promise.resolve(piece);
    };
    const data = rawJsonString(kind === "sync" ? pieces() : read());
    const frame = encodeFrame({ before: "x", data, after: [1] });
    assert.equal(frame.parts.length, 3, "JSON before, the produced value, JSON after");
    await writeFrame(sink, frame);
    const line = new TextDecoder().decode(concatBytes(written));
    assert.deepEqual(JSON.parse(line), { before: "x", data: "AAECAwQFBgc=", after: [1] }, kind);
    assert.ok(line.endsWith("\n"));
  }
});

Deno.test("a failed write fails the frame, with no rejection left unhandled", async () => {
  const sink = { write: () => Promise.reject(new Error("pipe closed")) };
  const frame = encodeFrame({ a: "x", data: rawJsonString([ascii("AQID")].values()), b: "y" });
  await assert.rejects(writeFrame(sink, frame), /pipe closed/);
});

Deno.test("a result that is never sent gives back each of its raw strings, once", () => {
  const released: string[] = [];
  const raw = (name: string) => rawJsonString([ascii("AQID")], () => released.push(name));
  const result = {
    content: [{ type: "image", data: raw("first") }, { type: "text", text: "x" }],
    structuredContent: { nested: [[raw("second")]] },
  };
  releaseUnsent(result);
  assert.deepEqual(released, ["first", "second"]);
  assert.equal(result.content[1].text, "x", "everything else is left as it was");
});

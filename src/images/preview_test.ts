import assert from "node:assert/strict";
import { makePng } from "../../tests/fake/png.ts";
import { INLINE_MAX_BASE64, inlineImages, previewRefusal, type SourceImage } from "./preview.ts";
import { sniffImage } from "./codecs/sniff.ts";
import { ImagePayload } from "./storage/received.ts";

function source(bytes: Uint8Array): SourceImage {
  return { image: ImagePayload.inMemory(bytes), info: sniffImage(bytes)! };
}

/** `png` with its header claiming `width` x `height`. */
function claiming(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  new DataView(out.buffer).setUint32(16, width);
  new DataView(out.buffer).setUint32(20, height);
  return out;
}

const small = makePng(64, 48);
/** Over 5 MB of base64: noise does not compress. */
const large = makePng(1300, 1300, { noise: 255 });
/** Wider than a preview, so it must be decoded; its IDAT data is no zlib stream. */
const corrupt = makePng(1600, 40);
corrupt.fill(0xa5, 41, 200);

Deno.test("an image that cannot be shown is a note, never an error", async () => {
  const cases: { name: string; bytes: Uint8Array; note: RegExp }[] = [
    {
      name: "corrupt pixel data",
      bytes: corrupt,
      note:
        /^image 1 is not shown inline: its preview failed \(.+\); the file is saved as the API sent it$/,
    },
    {
      name: "a header claiming 2147483647x1",
      bytes: claiming(small, 2147483647, 1),
      note: /^image 1 is not shown inline: its header claims 2147483647x1, beyond the 8192 px edge/,
    },
    {
      name: "a header claiming 8000x8000",
      bytes: claiming(small, 8000, 8000),
      note:
        /^image 1 is not shown inline: its header claims 8000x8000, more than the 16777216 pixels/,
    },
  ];
  for (const { name, bytes, note } of cases) {
    for (const mode of ["preview", "full"] as const) {
      const started = performance.now();
      const inline = await inlineImages([source(bytes)], { mode, budgetBytes: 600_000 });
      assert.ok(performance.now() - started < 2000, `${name}, ${mode}: at once`);
      if (name === "corrupt pixel data" && mode === "full") {
        assert.equal(inline.images[0].kind, "original", "full sends the bytes as they are");
        continue;
      }
      assert.deepEqual(inline.images, [], `${name}, ${mode}`);
      assert.equal(inline.notes.length, 1, `${name}, ${mode}`);
      assert.match(inline.notes[0], note, `${name}, ${mode}`);
    }
  }
});

Deno.test("full inline keeps each image under 5 MB of base64 and the call under 8 MB", async () => {
  assert.ok(large.length * 4 / 3 > INLINE_MAX_BASE64.image, "the large image is over the cap");
  const one = await inlineImages([source(large)], { mode: "full", budgetBytes: 600_000 });
  assert.equal(one.images[0].kind, "preview");
  assert.ok(one.images[0].bytes <= 600_000);
  assert.match(
    one.notes[0],
    /^image 1 is shown as a preview, not in full: its \d+\.\d MB of base64 is over the 5\.2 MB one inline image may take/,
  );
  const medium = makePng(1000, 1000, { noise: 255 }); // ~4 MB of base64
  const three = await inlineImages([source(medium), source(medium), source(small)], {
    mode: "full",
    budgetBytes: 600_000,
  });
  assert.deepEqual(three.images.map((i) => i.kind), ["original", "preview", "original"]);
  assert.match(
    three.notes[0],
    /^image 2 is shown as a preview, not in full: it would take the call's inline images past 8\.4 MB of base64/,
  );
  const total = three.images.reduce((sum, i) => sum + Math.ceil(i.bytes / 3) * 4, 0);
  assert.ok(total <= INLINE_MAX_BASE64.call, `${total} characters of base64`);
});

Deno.test("a preview budget above the safe cap is held to it", async () => {
  const inline = await inlineImages([source(large)], { mode: "preview", budgetBytes: 50_000_000 });
  assert.equal(inline.images[0].kind, "preview", "not the 5 MB original");
  assert.ok(Math.ceil(inline.images[0].bytes / 3) * 4 <= INLINE_MAX_BASE64.image);
});

Deno.test("previewRefusal allows what the API makes and refuses what no API image is", () => {
  const cases: [number, number, boolean][] = [
    [3840, 2160, true],
    [1024, 1536, true],
    [8192, 2048, true],
    [8193, 1, false],
    [2147483647, 1, false],
    [1, 2147483647, false],
    [4097, 4096, false],
    [16000, 16000, false],
  ];
  for (const [width, height, allowed] of cases) {
    assert.equal(previewRefusal({ width, height }) === undefined, allowed, `${width}x${height}`);
  }
});

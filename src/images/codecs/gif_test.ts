import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { Frame, GIF } from "npm:imagescript@1.3.1";
import {
  encodeGif,
  type GifFrameSpec,
  makeAnimatedGif,
  webPalette,
} from "../../../tests/fake/gif.ts";
import { decodeGifFirstFrame, GifError, lzwDecode, readGif, sniffGif } from "./gif.ts";

function b64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** What the first frame of `spec` looks like on a transparent canvas, computed from the spec. */
function expectedRgba(
  width: number,
  height: number,
  palette: Uint8Array,
  frame: GifFrameSpec,
): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  const table = frame.palette ?? palette;
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const cx = (frame.left ?? 0) + x, cy = (frame.top ?? 0) + y;
      if (cx >= width || cy >= height) continue;
      const index = frame.indices[y * frame.width + x];
      if (index === frame.transparentIndex) continue;
      out.set([...table.subarray(index * 3, index * 3 + 3), 255], (cy * width + cx) * 4);
    }
  }
  return out;
}

Deno.test("decodes the well-known one-pixel GIFs written by other encoders", () => {
  // 1x1, global table black/white, graphic control extension marking index 0 transparent.
  const transparent = decodeGifFirstFrame(
    b64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
  );
  assert.deepEqual([transparent.width, transparent.height, [...transparent.data]], [1, 1, [
    0,
    0,
    0,
    0,
  ]]);
  // 1x1 GIF89a without extensions: index 0 of a white/black table.
  const white = decodeGifFirstFrame(b64("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="));
  assert.deepEqual([...white.data], [255, 255, 255, 255]);
  assert.deepEqual(readGif(b64("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=")), {
    format: "gif",
    mimeType: "image/gif",
    width: 1,
    height: 1,
    frames: 1,
    durationMs: 0,
    loops: undefined,
    hasAlpha: false,
  });
});

const palette16 = Uint8Array.from({ length: 48 }, (_, i) => (i * 37) & 0xff);

const FRAMES: [string, { width: number; height: number; frame: GifFrameSpec; version?: "87a" }][] =
  [
    ["2 colours", {
      width: 5,
      height: 3,
      frame: { width: 5, height: 3, indices: Uint8Array.from({ length: 15 }, (_, i) => i % 2) },
    }],
    ["interlaced rows", {
      width: 7,
      height: 19,
      frame: {
        width: 7,
        height: 19,
        interlaced: true,
        indices: Uint8Array.from({ length: 133 }, (_, i) => Math.floor(i / 7) % 16),
      },
    }],
    ["a local table over the global one", {
      width: 4,
      height: 4,
      frame: {
        width: 4,
        height: 4,
        palette: Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]),
        indices: Uint8Array.from({ length: 16 }, (_, i) => i % 3),
      },
    }],
    ["a transparent index", {
      width: 6,
      height: 2,
      frame: {
        width: 6,
        height: 2,
        transparentIndex: 3,
        indices: Uint8Array.of(0, 3, 3, 1, 2, 3, 3, 3, 0, 0, 1, 15),
      },
    }],
    ["a frame smaller than the screen, offset", {
      width: 10,
      height: 8,
      frame: {
        width: 6,
        height: 5,
        left: 2,
        top: 1,
        indices: Uint8Array.from({ length: 30 }, (_, i) => i % 16),
      },
    }],
    ["a frame reaching past the screen, clipped at its edge", {
      width: 10,
      height: 8,
      frame: {
        width: 6,
        height: 5,
        left: 7,
        top: 5,
        indices: Uint8Array.from({ length: 30 }, (_, i) => i % 16),
      },
    }],
    ["GIF87a", {
      width: 3,
      height: 3,
      version: "87a",
      frame: { width: 3, height: 3, indices: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9) },
    }],
  ];

Deno.test("first frames decode exactly: colour tables, interlacing, transparency, offsets", async () => {
  for (const [name, { width, height, frame, version }] of FRAMES) {
    const bytes = encodeGif({ width, height, palette: palette16, frames: [frame], version });
    const decoded = decodeGifFirstFrame(bytes);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [width, height, 4], name);
    const expected = expectedRgba(width, height, palette16, frame);
    assert.deepEqual(decoded.data, expected, name);
    // A second, independent decoder reads the test encoder's bytes the same way (the spec
    // leaves frames reaching past the screen undefined, so those are compared with ours only).
    if ((frame.left ?? 0) + frame.width > width || (frame.top ?? 0) + frame.height > height) {
      continue;
    }
    const [first] = await GIF.decode(bytes, true);
    const canvas = new Uint8Array(width * height * 4);
    for (let y = 0; y < first.height; y++) {
      for (let x = 0; x < first.width; x++) {
        const cx = first.xOffset + x, cy = first.yOffset + y;
        if (cx < width && cy < height) {
          canvas.set(
            first.bitmap.subarray((y * first.width + x) * 4, (y * first.width + x) * 4 + 4),
            (cy * width + cx) * 4,
          );
        }
      }
    }
    assert.deepEqual(canvas, expected, `imagescript on ${name}`);
  }
});

Deno.test("a frame long enough to fill the code table twice decodes through the clear codes", () => {
  let state = 7;
  const indices = Uint8Array.from({ length: 320 * 240 }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  });
  const frame = { width: 320, height: 240, indices };
  const palette = webPalette();
  const decoded = decodeGifFirstFrame(
    encodeGif({ width: 320, height: 240, palette, frames: [frame] }),
  );
  assert.deepEqual(decoded.data, expectedRgba(320, 240, palette, frame));
});

Deno.test("GIFs encoded by imagescript decode to the same first frame as imagescript reads", async () => {
  const frames = [0, 1, 2].map((f) => {
    const frame = new Frame(37, 21, 150);
    for (let i = 0; i < 37 * 21; i++) {
      const x = i % 37, y = Math.floor(i / 37);
      frame.bitmap.set([
        (x * 7 + f * 40) & 255,
        (y * 12) & 255,
        (x * y) & 255,
        (x + y) % 9 === 0 ? 0 : 255,
      ], i * 4);
    }
    return frame;
  });
  const bytes = await new GIF(frames, -1).encode(90);
  const [reference] = await GIF.decode(bytes, true);
  const ours = decodeGifFirstFrame(bytes);
  assert.equal(ours.width, reference.width);
  assert.deepEqual(
    ours.data,
    new Uint8Array(reference.bitmap.buffer, reference.bitmap.byteOffset, reference.bitmap.length),
  );
  assert.deepEqual({ ...readGif(bytes), loops: undefined }, {
    format: "gif",
    mimeType: "image/gif",
    width: 37,
    height: 21,
    frames: 3,
    durationMs: 450,
    loops: undefined,
    hasAlpha: true,
  });
});

Deno.test("the fake API's animated GIF reports its frames, timing and looping", () => {
  const bytes = makeAnimatedGif({ width: 96, height: 64, frames: 9, delayMs: 200 });
  assert.deepEqual(readGif(bytes), {
    format: "gif",
    mimeType: "image/gif",
    width: 96,
    height: 64,
    frames: 9,
    durationMs: 1800,
    loops: 0,
    hasAlpha: false,
  });
  assert.deepEqual(sniffGif(bytes), readGif(bytes));
  const first = decodeGifFirstFrame(bytes);
  assert.ok(first.data.every((v, i) => i % 4 !== 3 || v === 255), "every pixel opaque");
});

Deno.test("property: any frame the test encoder writes decodes back exactly", () => {
  const spec = fc.record({
    width: fc.integer({ min: 1, max: 40 }),
    height: fc.integer({ min: 1, max: 40 }),
    colours: fc.constantFrom(2, 3, 4, 16, 100, 256),
    interlaced: fc.boolean(),
    transparent: fc.boolean(),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(spec, ({ width, height, colours, interlaced, transparent, seed }) => {
      let state = seed >>> 0 || 1;
      const indices = Uint8Array.from({ length: width * height }, () => {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        // Runs of one colour, as real images have, exercise the longer dictionary strings.
        return ((state >>> 0) % 5 === 0 ? (state >>> 8) : 0) % colours;
      });
      const palette = Uint8Array.from({ length: colours * 3 }, (_, i) => (i * 29 + seed) & 0xff);
      const frame: GifFrameSpec = {
        width,
        height,
        indices,
        interlaced,
        transparentIndex: transparent ? 0 : undefined,
      };
      const bytes = encodeGif({ width, height, palette, frames: [frame, frame] });
      assert.deepEqual(
        decodeGifFirstFrame(bytes).data,
        expectedRgba(width, height, palette, frame),
      );
      assert.equal(readGif(bytes).frames, 2);
    }),
    { numRuns: 300 },
  );
});

Deno.test("broken GIFs are refused with what is wrong, and sniffing never throws", () => {
  const good = makeAnimatedGif({ width: 16, height: 16, frames: 3 });
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode("GIF88a............"), /does not start with GIF87a or GIF89a/],
    [good.subarray(0, 10), /ends inside its header/],
    [good.subarray(0, 300), /ends inside its global colour table/],
    [good.subarray(0, 13 + 768 + 19 + 8 + 10 + 1 + 5), /ends inside frame 1's image data/],
    [good.subarray(0, good.length - 1), /ends inside its block list \(no trailer\)/],
    [Uint8Array.of(...good.subarray(0, 13 + 768 + 19), 0x99), /unknown block 0x99/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => readGif(bytes),
      (e: Error) => e instanceof GifError && message.test(e.message),
    );
    assert.equal(sniffGif(bytes), undefined);
  }
  const huge = encodeGif({
    width: 65535,
    height: 65535,
    palette: palette16,
    frames: [{ width: 1, height: 1, indices: Uint8Array.of(1) }],
  });
  assert.throws(() => decodeGifFirstFrame(huge), /65535x65535, over the 16,777,216 pixels/);
  assert.equal(decodeGifFirstFrame(huge, { maxPixels: 65535 * 65535 + 1 }).width, 65535);
  assert.equal(sniffGif(huge)?.width, 65535);
});

Deno.test("LZW data that uses a code before defining it is refused; an early end stops", () => {
  // Code size 2, so 3-bit codes LSB first: clear (4), then code 7, which nothing defined.
  assert.throws(() => lzwDecode(Uint8Array.of(0x3c, 0x00), 2, new Uint8Array(4)), /code 7/);
  // clear, 1, 2, end: two of ten indices arrive, the rest stays 0.
  const out = new Uint8Array(10);
  assert.equal(lzwDecode(Uint8Array.of(0x8c, 0x0a), 2, out), 2);
  assert.deepEqual([...out.subarray(0, 3)], [1, 2, 0]);
  // clear, 1, then the data runs out mid-code.
  assert.equal(lzwDecode(Uint8Array.of(0x8c), 2, new Uint8Array(10)), 1);
});

Deno.test("property: reading arbitrary or spliced bytes never throws anything but GifError", () => {
  const real = makeAnimatedGif({ width: 12, height: 10, frames: 2 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat({ max: real.length }), (noise, cut) => {
      for (
        const bytes of [
          noise,
          real.subarray(0, cut),
          Uint8Array.of(...real.subarray(0, cut), ...noise),
        ]
      ) {
        sniffGif(bytes);
        for (const read of [readGif, decodeGifFirstFrame]) {
          try {
            read(bytes);
          } catch (e) {
            assert.ok(e instanceof GifError, String(e));
          }
        }
      }
    }),
    { numRuns: 1000 },
  );
});

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { makePng } from "../../tests/fake/png.ts";
import { describeBytes, sniffImage } from "./sniff.ts";

Deno.test("sniffs PNG, JPEG and WebP dimensions from real files", async () => {
  const png = sniffImage(makePng(1536, 1024, { noise: 0 }))!;
  assert.deepEqual([png.format, png.width, png.height, png.hasAlpha], ["png", 1536, 1024, false]);
  const rgba = sniffImage(makePng(1024, 1024, { alpha: true, noise: 0 }))!;
  assert.equal(rgba.hasAlpha, true);
  const { Image } = await import("npm:imagescript@1.3.1");
  const image = new Image(640, 480);
  const jpeg = sniffImage(await image.encodeJPEG(80))!;
  assert.deepEqual([jpeg.format, jpeg.width, jpeg.height], ["jpeg", 640, 480]);
  const webp = sniffImage(await image.encodeWEBP(80))!;
  assert.deepEqual([webp.format, webp.width, webp.height], ["webp", 640, 480]);
});

Deno.test("text named .png is not an image", () => {
  const text = new TextEncoder().encode("hello, this is text");
  assert.equal(sniffImage(text), undefined);
  assert.match(describeBytes(text), /first bytes are 68 65 6c 6c 6f/);
});

Deno.test("property: sniffing arbitrary or truncated bytes never throws", () => {
  const real = makePng(1024, 1024, { noise: 0 }).subarray(0, 200);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 200 }), (bytes, cut) => {
      sniffImage(bytes);
      sniffImage(real.subarray(0, cut));
      const spliced = new Uint8Array([...real.subarray(0, 16), ...bytes]);
      const info = sniffImage(spliced);
      if (info) assert.ok(info.width > 0 && info.height > 0);
    }),
    { numRuns: 2000 },
  );
});

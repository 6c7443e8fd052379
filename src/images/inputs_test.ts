import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { loadConfig } from "../config.ts";
import { encodeBase64 } from "./codec_base64.ts";
import { ToolError } from "../errors.ts";
import { makePng } from "../../tests/fake/png.ts";
import { loadImage } from "./inputs.ts";

const config = loadConfig({ cwd: "/", env: () => undefined });
const options = { label: "images[0]", maxBytes: 1_000_000, config, cwd: "/" };

Deno.test("a valid data URL loads; its type comes from the bytes", async () => {
  const png = makePng(1024, 1024, { noise: 0 });
  const loaded = await loadImage(`data:image/jpeg;base64,${encodeBase64(png)}`, options);
  assert.equal(loaded.info.format, "png");
});

Deno.test("property: any data URL either loads as an image or fails with a ToolError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.base64String().map((b) => `data:image/png;base64,${b}`),
        fc.uint8Array({ maxLength: 64 }).map((b) => `data:image/webp;base64,${encodeBase64(b)}`),
        fc.string().map((s) => `data:image/png;base64,${s}`),
      ),
      async (source) => {
        if (!source.startsWith("data:")) source = `data:${source}`;
        try {
          const loaded = await loadImage(source, options);
          assert.ok(loaded.info.width > 0);
        } catch (error) {
          assert.ok(error instanceof ToolError, `unexpected ${error}`);
          assert.match(error.message, /^images\[0\] \(/);
        }
      },
    ),
    { numRuns: 500 },
  );
});

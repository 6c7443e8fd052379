import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "npm:fast-check@4.10.2";
import { loadConfig } from "../../config.ts";
import { encodeBase64 } from "../codecs/base64.ts";
import { ToolError } from "../../errors.ts";
import { makePng } from "../../../tests/fake/png.ts";
import { loadImage } from "./read.ts";

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

Deno.test("a path input expands ~/ and is refused when it lies in a secret folder", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "gi2-inputs-home-" }));
  try {
    await Deno.mkdir(join(home, ".aws"));
    await Deno.writeTextFile(join(home, ".aws", "credentials"), "sk-secret-value\n");
    await Deno.writeFile(join(home, "photo.png"), makePng(64, 64, { noise: 0 }));
    const env: Record<string, string> = { HOME: home };
    const withHome = { ...options, config: loadConfig({ cwd: "/", env: (n) => env[n] }) };
    const loaded = await loadImage("~/photo.png", withHome);
    assert.deepEqual([loaded.info.width, loaded.label], [64, "images[0] (~/photo.png)"]);
    const refused: [string, RegExp][] = [
      ["~/.aws/credentials", /^images\[0\] \(~\/\.aws\/credentials\): .* is refused: it lies in/],
      ["~/.aws/../.aws/credentials", /is refused: it lies in .*\/\.aws, a folder of keys/],
      [`file://${home}/.aws/credentials`, /is refused: it lies in .*\/\.aws, a folder of keys/],
      ["~/missing.png", /^images\[0\] \(~\/missing\.png\): no such file .*\/missing\.png\.$/],
    ];
    for (const [source, expected] of refused) {
      await assert.rejects(
        loadImage(source, withHome),
        (e) => e instanceof ToolError && expected.test(e.message) && !/sk-|73 6b/.test(e.message),
        source,
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a malformed URL is an error naming the input, not the runtime's Invalid URL", async () => {
  for (const source of ["https://exa mple.com/a.png", "https://[::1/a.png", "https://"]) {
    await assert.rejects(
      loadImage(source, options),
      (e) =>
        e instanceof ToolError &&
        e.message === `images[0] (${source}): not a valid URL.`,
      source,
    );
  }
});

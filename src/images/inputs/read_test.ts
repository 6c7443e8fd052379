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

Deno.test("a link moved to a secret folder between the check and the read reads nothing", async () => {
  const dir = await Deno.makeTempDir();
  const home = join(dir, "home");
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.writeFile(join(home, ".ssh", "key.png"), makePng(64, 64, { noise: 1 }));
  await Deno.writeFile(join(dir, "ok.png"), makePng(64, 64, { noise: 0 }));
  const link = join(dir, "in.png");
  await Deno.symlink(join(dir, "ok.png"), link);
  const config = loadConfig({ cwd: dir, env: (name) => name === "HOME" ? home : undefined });
  const { open, readFile } = Deno;
  const swap = async (path: string | URL) => {
    if (String(path) !== link) return;
    await Deno.remove(link);
    await Deno.symlink(join(home, ".ssh", "key.png"), link);
  };
  // The swap lands after the check has passed, just before the file is read, however it is.
  Deno.open = async (path, openOptions) => (await swap(path), await open(path, openOptions));
  Deno.readFile = async (
    path,
    readOptions,
  ) => (await swap(path), await readFile(path, readOptions));
  try {
    await assert.rejects(
      loadImage("in.png", { ...options, config }),
      (error: Error) =>
        error instanceof ToolError &&
        /^images\[0\] \(in\.png\): .*in\.png changed while it was being read/.test(error.message),
    );
  } finally {
    Object.assign(Deno, { open, readFile });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file read by path is the file that was checked, byte for byte", async () => {
  const dir = await Deno.makeTempDir();
  const png = makePng(300, 200, { noise: 1 });
  await Deno.writeFile(join(dir, "a.png"), png);
  await Deno.symlink(join(dir, "a.png"), join(dir, "link.png"));
  try {
    const config = loadConfig({ cwd: dir, env: () => undefined });
    for (const source of ["a.png", "link.png", join(dir, "a.png")]) {
      const loaded = await loadImage(source, { ...options, config });
      assert.deepEqual(loaded.bytes, png, source);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
